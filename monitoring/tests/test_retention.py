"""Retention drops whole day partitions of raw data and keeps the rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.services import aws_account_start, organization_create, user_create_verified
from monitoring.models import Invocation, MetricPoint, Resource, Rollup
from monitoring.store.partitions import ensure_partitions_for, partition_name, partitions
from monitoring.store.retention import prune

pytestmark = pytest.mark.django_db


def function(org: Any, name: str) -> Resource:
    account = aws_account_start(organization=org, name=f"acct-{name}")
    now = datetime.now(tz=UTC)
    return Resource.objects.create(
        organization=org, account=account, region="us-east-1", kind="lambda.function",
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}", name=name, first_seen=now, last_seen=now,
    )  # fmt: skip


def invocation_at(fn: Resource, when: datetime, rid: str) -> None:
    ensure_partitions_for("monitoring_invocation", [when])
    ensure_partitions_for("monitoring_metricpoint", [when])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monitoring_invocation (organization_id, account_id, resource_id, request_id, attempt, status, "
            "started_at, cold_start, log_stream, complete) VALUES (%s, %s, %s, %s, 1, 'success', %s, false, 's', true)",
            [fn.organization_id, fn.account_id, fn.pk, rid, when],
        )
        cursor.execute(
            "INSERT INTO monitoring_metricpoint (account_id, resource_id, metric, stat, period, ts, value) "
            "VALUES (%s, %s, 'AWS/Lambda:Invocations', 'Sum', 60, %s, 1)",
            [fn.account_id, fn.pk, when],
        )
    Rollup.objects.create(
        organization_id=fn.organization_id, account_id=fn.account_id, resource=fn, period="day",
        bucket=when.replace(hour=0, minute=0, second=0, microsecond=0), invocations=1,
    )  # fmt: skip


def test_old_partitions_are_dropped_whole_and_rollups_stay(owner: Any) -> None:
    now = datetime.now(tz=UTC)
    fn = function(owner.organization, "keeper")
    old, recent = now - timedelta(days=20), now - timedelta(days=1)
    invocation_at(fn, old, "old-1")
    invocation_at(fn, recent, "recent-1")
    before = [name for name, _ in partitions("monitoring_invocation")]
    assert partition_name("monitoring_invocation", old.date()) in before

    out = StringIO()
    call_command("prunedata", stdout=out)

    after = [name for name, _ in partitions("monitoring_invocation")]
    assert partition_name("monitoring_invocation", old.date()) not in after
    assert partition_name("monitoring_invocation", recent.date()) in after
    assert partition_name("monitoring_invocation", old.date()) in out.getvalue()
    assert list(Invocation.objects.values_list("request_id", flat=True)) == ["recent-1"]
    assert MetricPoint.objects.count() == 1
    assert Rollup.objects.filter(resource=fn).count() == 2  # rollups outlive raw data


def test_a_shorter_retention_deletes_that_organisation_s_rows_only(owner: Any) -> None:
    now = datetime.now(tz=UTC)
    other = organization_create(name="Brief", owner=user_create_verified(email="b@brief.test", password="x" * 12))
    other.raw_retention_days = 7
    other.save()
    mine, theirs = function(owner.organization, "mine"), function(other, "theirs")
    ten_days_ago = now - timedelta(days=10)
    invocation_at(mine, ten_days_ago, "mine-1")
    invocation_at(theirs, ten_days_ago, "theirs-1")

    summary = prune(now=now)

    assert list(Invocation.objects.values_list("request_id", flat=True)) == ["mine-1"]
    assert summary.rows_deleted >= 2  # their invocation and metric point
    assert partition_name("monitoring_invocation", ten_days_ago.date()) in [
        n for n, _ in partitions("monitoring_invocation")
    ]


def test_rollups_past_their_retention_are_deleted(owner: Any) -> None:
    now = datetime.now(tz=UTC)
    fn = function(owner.organization, "ancient")
    Rollup.objects.create(
        organization_id=fn.organization_id, account_id=fn.account_id, resource=fn, period="day",
        bucket=now - timedelta(days=500), invocations=1,
    )  # fmt: skip

    assert prune(now=now).rollups_deleted == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_creating_the_same_new_day_both_go_on() -> None:
    """The first events of a new day, ingested by two workers at once: the second one's
    CREATE waits for the first transaction and must then find the day's partitions there,
    not fail its batch."""
    import threading

    from django.db import connections, transaction

    from monitoring.store.partitions import ensure_partitions

    day = datetime(2031, 5, 17, tzinfo=UTC).date()
    tables = ("monitoring_invocation", "monitoring_logblock")
    first_created = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                for table in tables:
                    ensure_partitions(table, [day])
                first_created.set()
                release_first.wait(10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            first_created.set()
            connections.close_all()

    def second() -> None:
        try:
            with transaction.atomic():
                for table in tables:
                    ensure_partitions(table, [day])  # blocks until the first commits
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    a = threading.Thread(target=first)
    a.start()
    assert first_created.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(1.0)  # the second is waiting on the first's uncommitted tables
    release_first.set()
    a.join(10)
    b.join(10)
    try:
        assert errors == []
        assert {partition_name(t, day) for t in tables} <= {n for t in tables for n, _ in partitions(t)}
    finally:
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f'DROP TABLE IF EXISTS "{partition_name(table, day)}"')
