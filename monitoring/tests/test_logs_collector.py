"""Logs → invocations against the sandbox AWS: exact counts, and idempotent re-runs."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.services import aws_account_start
from devtools.sandbox.seed import admin_client
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import ErrorGroup, Invocation, LogLine, Resource, Rollup

from .conftest import connect, generate, seeded_region, stored_counts

pytestmark = pytest.mark.django_db


def test_collected_invocations_equal_what_the_generator_wrote_and_a_rerun_adds_nothing(
    account: Any, sandbox: Any
) -> None:
    region = "eu-west-1"
    specs = seeded_region(sandbox, region)
    connect(account, sandbox, region)
    ledger = generate(sandbox, region, specs, ticks=3, seed=5)

    first = collect_unit(account, region).as_dict()

    stored = stored_counts(account)
    assert stored["total"] == ledger["total_invocations"] > 50
    assert stored["by_status"] == ledger["by_status"]
    assert stored["cold_starts"] == sum(ledger["cold_starts"].values())
    assert stored["complete"] == stored["total"]
    assert first["logs"]["invocations"] == ledger["total_invocations"]
    assert first["logs"]["cold_starts"] == stored["cold_starts"]
    failing = sum(n for per in ledger["by_status"].values() for s, n in per.items() if s != "success")
    assert first["logs"]["errors"] == failing
    assert first["logs"]["skipped_lines"] == 0
    assert LogLine.objects.filter(account_id=account.pk).count() == ledger["log_events"]
    # The logs step's Invocations (which functions to read) and the metrics step's catalogue:
    # logs run first, so they ask CloudWatch rather than wait for this run's metrics.
    assert first["api_calls"]["cloudwatch"]["GetMetricData"] == 2

    lines_before = LogLine.objects.count()
    second = collect_unit(account, region).as_dict()

    assert stored_counts(account) == stored
    assert second["logs"]["invocations"] == 0
    assert LogLine.objects.count() == lines_before


def test_rollups_and_error_groups_match_the_raw_invocations(account: Any, sandbox: Any) -> None:
    region = "eu-central-1"
    specs = seeded_region(sandbox, region)
    connect(account, sandbox, region)
    generate(sandbox, region, specs, ticks=3, seed=9)

    collect_unit(account, region)
    collect_unit(account, region)  # re-read: rollups recomputed, still exact

    for fn in Resource.objects.filter(account=account, kind="lambda.function"):
        raw = Invocation.objects.filter(resource=fn)
        hourly = Rollup.objects.filter(resource=fn, period="hour")
        daily = Rollup.objects.filter(resource=fn, period="day")
        assert sum(r.invocations for r in hourly) == raw.count() == sum(r.invocations for r in daily)
        failing = raw.exclude(status__in=["success", "unknown"]).count()
        assert sum(r.errors for r in hourly) == failing
        assert sum(r.cold_starts for r in daily) == raw.filter(cold_start=True).count()
        assert sum(sum(r.histogram.values()) for r in hourly) == raw.exclude(duration_ms=None).count()
        cost = sum(i.cost_usd or 0 for i in raw)
        assert sum(r.cost_usd for r in hourly) == pytest.approx(cost, rel=1e-9)
        groups = ErrorGroup.objects.filter(resource=fn)
        assert sum(g.count for g in groups) == failing
        assert all(len(g.sample_invocation_ids) <= 10 for g in groups)


def test_collect_once_reports_logs_and_the_parselogs_view_agrees(account: Any, sandbox: Any, tmp_path: Any) -> None:
    region = "ap-southeast-2"
    specs = seeded_region(sandbox, region, count=3)
    connect(account, sandbox, region)
    generate(sandbox, region, specs, ticks=1, seed=2)

    out = StringIO()
    call_command("collect", once=True, account=[account.pk], stdout=out)
    summary = json.loads(out.getvalue())

    assert summary["logs"]["invocations"] == Invocation.objects.filter(account_id=account.pk).count() > 0
    assert {"errors", "cold_starts", "skipped_lines", "log_lines"} <= set(summary["logs"])

    fn = Resource.objects.filter(account=account, kind="lambda.function").first()
    assert fn is not None
    events = admin_client("logs", sandbox.endpoint, region).filter_log_events(logGroupName=f"/aws/lambda/{fn.name}")
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events, default=str))
    printed = StringIO()
    call_command("parselogs", str(path), stdout=printed)
    parsed = json.loads(printed.getvalue())
    assert len(parsed) == Invocation.objects.filter(resource=fn).count()


def test_removing_the_account_deletes_its_invocations_and_lines(account: Any, sandbox: Any) -> None:
    from accounts.services import aws_account_remove

    region = "us-west-2"
    specs = seeded_region(sandbox, region)
    connect(account, sandbox, region)
    generate(sandbox, region, specs, ticks=1, seed=3)
    collect_unit(account, region)
    assert Invocation.objects.filter(account_id=account.pk).exists()

    aws_account_remove(account=account)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM monitoring_invocation WHERE account_id = %s", [account.pk])
        assert cursor.fetchone() == (0,)
    assert not LogLine.objects.filter(account_id=account.pk).exists()
    from monitoring.models import MetricPoint

    assert not MetricPoint.objects.filter(account_id=account.pk).exists()


def test_log_lines_are_stored_byte_for_byte_and_only_once(owner: Any) -> None:
    from datetime import UTC, datetime

    from monitoring.parsing.lambda_logs import parse_events
    from monitoring.store.invocations import invocations_store

    account = aws_account_start(organization=owner.organization, name="Synthetic")
    now = datetime.now(tz=UTC)
    fn = Resource.objects.create(
        organization=owner.organization,
        account=account,
        region="us-east-1",
        kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:123456789012:function:tricky",
        name="tricky",
        config={"memory_mb": 128, "architecture": "arm64"},
        first_seen=now,
        last_seen=now,
    )
    rid = "0f0e0d0c-1111-4222-8333-444455556666"
    t = int(now.timestamp() * 1000)
    tricky = 'tab\there\\back slash\r\nnew "line" \\N not null'
    events = [
        {
            "timestamp": t,
            "message": f"START RequestId: {rid} Version: $LATEST\n",
            "logStreamName": "s",
            "eventId": "e1",
        },
        {
            "timestamp": t + 1,
            "message": f"2026-01-01T00:00:00.000Z\t{rid}\tINFO\t{tricky}\n",
            "logStreamName": "s",
            "eventId": "e2",
        },
        {"timestamp": t + 5, "message": f"END RequestId: {rid}\n", "logStreamName": "s", "eventId": "e3"},
        {
            "timestamp": t + 5,
            "message": f"REPORT RequestId: {rid}\tDuration: 4.21 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
            "logStreamName": "s",
            "eventId": "e4",
        },
    ]
    first = invocations_store(resource=fn, result=parse_events(events), new_after_ms=0)
    again = invocations_store(resource=fn, result=parse_events(events), new_after_ms=t + 5)

    assert (first.invocations_new, first.log_lines) == (1, 4)
    assert (again.invocations_new, again.log_lines) == (0, 0)
    stored = LogLine.objects.get(resource_id=fn.pk, event_id="e2").message
    assert tricky in stored
    inv = Invocation.objects.get(resource=fn)
    assert (inv.duration_ms, inv.billed_duration_ms, inv.status, inv.complete) == (4.21, 5.0, "success", True)
    assert inv.cost_usd == pytest.approx(5 / 1000 * 128 / 1024 * 0.0000133334 + 0.0000002)
    assert set(LogLine.objects.filter(resource_id=fn.pk).values_list("invocation_id", flat=True)) == {inv.pk}


def test_a_resolved_error_group_that_recurs_reopens_as_a_regression(owner: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from monitoring.parsing.lambda_logs import parse_events
    from monitoring.services import error_group_set_status
    from monitoring.store.invocations import invocations_store

    account = aws_account_start(organization=owner.organization, name="Synthetic")
    now = datetime.now(tz=UTC)
    fn = Resource.objects.create(
        organization=owner.organization,
        account=account,
        region="us-east-1",
        kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:123456789012:function:flaky",
        name="flaky",
        config={"memory_mb": 128},
        first_seen=now,
        last_seen=now,
    )

    def failing(rid: str, t: int, order: int) -> list[dict[str, Any]]:
        return [
            {
                "timestamp": t,
                "message": f"START RequestId: {rid} Version: $LATEST\n",
                "logStreamName": "s",
                "eventId": f"{rid}a",
            },
            {
                "timestamp": t + 2,
                "message": f"2026-01-01T00:00:00.000Z\t{rid}\tERROR\tInvoke Error \t"
                + json.dumps(
                    {
                        "errorType": "TypeError",
                        "errorMessage": f"Cannot read order {order}",
                        "stack": ["TypeError: x", "    at h (/var/task/index.js:3:9)"],
                    }
                )
                + "\n",
                "logStreamName": "s",
                "eventId": f"{rid}b",
            },
            {"timestamp": t + 3, "message": f"END RequestId: {rid}\n", "logStreamName": "s", "eventId": f"{rid}c"},
            {
                "timestamp": t + 3,
                "message": f"REPORT RequestId: {rid}\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
                "logStreamName": "s",
                "eventId": f"{rid}d",
            },
        ]

    t0 = int((now - timedelta(minutes=30)).timestamp() * 1000)
    invocations_store(resource=fn, result=parse_events(failing("a0000000-0000-4000-8000-000000000001", t0, 17)))
    invocations_store(
        resource=fn, result=parse_events(failing("a0000000-0000-4000-8000-000000000002", t0 + 1000, 4711))
    )
    group = ErrorGroup.objects.get(resource=fn)
    assert group.count == 2  # different order numbers, one bug
    assert group.error_type == "TypeError"
    assert error_group_set_status(group=group, status="resolved", now=now - timedelta(minutes=20))

    invocations_store(
        resource=fn, result=parse_events(failing("a0000000-0000-4000-8000-000000000003", t0 + 20 * 60_000, 9))
    )

    group.refresh_from_db()
    assert (group.status, group.regression, group.count) == ("open", True, 3)
    assert len(group.sample_invocation_ids) == 3
