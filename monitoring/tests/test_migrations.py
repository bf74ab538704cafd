"""Migrations that move stored data: what users had before still reads right after."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import AwsAccount
from monitoring.models import MetricCheckpoint
from monitoring.store.partitions import ensure_partitions

BEFORE = [("monitoring", "0007_kind_choices_from_registry")]
AFTER = [("monitoring", "0008_account_metrics_by_region")]


def _migrate(target: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


@pytest.mark.django_db(transaction=True)
def test_account_level_points_get_their_region_or_are_dropped_when_no_one_can_tell(owner: Any) -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    single = AwsAccount.objects.create(organization=owner.organization, name="One", regions=["eu-west-1"])
    multi = AwsAccount.objects.create(organization=owner.organization, name="Two", regions=["eu-west-1", "us-east-1"])
    _migrate(BEFORE)
    try:
        ensure_partitions("monitoring_metricpoint", [now.date()])
        with connection.cursor() as cursor:
            for account in (single, multi):
                cursor.execute(
                    "INSERT INTO monitoring_metricpoint (account_id, resource_id, metric, stat, period, ts, value) "
                    "VALUES (%s, 0, 'AWS/Lambda:ConcurrentExecutions', 'Maximum', 60, %s, 7), "
                    "(%s, 42, 'AWS/Lambda:Invocations', 'Sum', 60, %s, 3)",
                    [account.pk, now, account.pk, now],
                )
                MetricCheckpoint.objects.create(
                    account=account, region="eu-west-1", kind="account", collected_until=now, last_polled_at=now
                )
        _migrate(AFTER)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT account_id, resource_id, region, value FROM monitoring_metricpoint ORDER BY account_id, resource_id"
            )
            rows = cursor.fetchall()
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("monitoring"))

    assert rows == [
        (single.pk, 0, "eu-west-1", 7.0),  # one region: it was that region's series
        (single.pk, 42, "", 3.0),  # a resource's points are untouched
        (multi.pk, 42, "", 3.0),  # a mix of regions nobody can untangle: dropped…
    ]
    # …and read again from CloudWatch per region at the next poll.
    assert set(MetricCheckpoint.objects.values_list("account_id", flat=True)) == {single.pk}


@pytest.mark.django_db(transaction=True)
def test_rollups_stored_before_scope_rollups_get_their_memory_and_their_accounts_and_projects(owner: Any) -> None:
    from datetime import timedelta

    from monitoring.models import AccountRollup, Project, ProjectRollup, Resource, Rollup

    account = AwsAccount.objects.create(organization=owner.organization, name="Prod", regions=["eu-west-1"])
    fns = [
        Resource.objects.create(
            organization=owner.organization,
            account=account,
            region="eu-west-1",
            kind="lambda.function",
            arn=f"arn:aws:lambda:eu-west-1:1:function:{name}",
            name=name,
            tags={"team": "pay"} if i else {},
            first_seen=timezone.now(),
            last_seen=timezone.now(),
        )
        for i, name in enumerate(("search", "pay-api"))
    ]
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    long_ago = hour - timedelta(days=60)  # raw rows long gone: counts only
    _migrate([("monitoring", "0011_traces")])
    try:
        ensure_partitions("monitoring_invocation", [hour.date()])
        with connection.cursor() as cursor:
            for n, fn in enumerate(fns):
                for k in range(3):
                    cursor.execute(
                        "INSERT INTO monitoring_invocation (organization_id, account_id, resource_id, request_id, "
                        "attempt, status, started_at, start_source, duration_ms, memory_size_mb, max_memory_used_mb, "
                        "init_duration_ms, cold_start, log_stream, complete) VALUES "
                        "(%s, %s, %s, %s, 1, 'success', %s, 'start', 120, 512, %s, %s, %s, 's', true)",
                        [owner.organization.pk, account.pk, fn.pk, f"r{n}{k}", hour + timedelta(minutes=k),
                         100 + 10 * n + k, 300 if k == 0 else None, k == 0],
                    )  # fmt: skip
                for period, bucket in (("hour", hour), ("day", hour.replace(hour=0)), ("day", long_ago)):
                    cursor.execute(
                        "INSERT INTO monitoring_rollup (organization_id, account_id, resource_id, period, bucket, "
                        "invocations, errors, error_count, timeouts, out_of_memory, unknown, cold_starts, "
                        "duration_sum_ms, duration_max_ms, duration_count, histogram, billed_ms_sum, gb_seconds, "
                        "cost_usd) VALUES (%s, %s, %s, %s, %s, 3, 0, 0, 0, 0, 0, 1, 360, 120, 3, '{\"41\": 3}', "
                        "363, 0.1, 0.001)",
                        [owner.organization.pk, account.pk, fn.pk, period, bucket],
                    )
            cursor.execute(
                "INSERT INTO monitoring_project (organization_id, name, tag_key, tag_value, name_pattern, created_at) "
                "VALUES (%s, 'Payments', 'team', 'pay', '', now())",
                [owner.organization.pk],
            )
        _migrate([("monitoring", "0013_scope_rollups_backfill")])
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("monitoring"))

    hourly = Rollup.objects.get(resource=fns[1], period="hour")
    assert (hourly.memory_max_mb, sum(hourly.memory_histogram.values()), sum(hourly.init_histogram.values())) == (
        112, 3, 1,
    )  # fmt: skip
    assert Rollup.objects.get(resource=fns[1], period="day", bucket=hour.replace(hour=0)).memory_max_mb == 112
    assert Rollup.objects.get(resource=fns[1], period="day", bucket=long_ago).memory_max_mb is None
    rows = {(r.period, r.bucket): r.invocations for r in AccountRollup.objects.filter(account=account)}
    assert rows == {("hour", hour): 6, ("day", hour.replace(hour=0)): 6, ("day", long_ago): 6}
    project = Project.objects.get(organization=owner.organization)
    assert project.rollups_current
    assert {(r.period, r.bucket): r.invocations for r in ProjectRollup.objects.filter(project=project)} == {
        ("hour", hour): 3, ("day", hour.replace(hour=0)): 3, ("day", long_ago): 3,
    }  # fmt: skip
