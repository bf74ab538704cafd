"""Collection you can trust, against the sandbox AWS server with faults injected: exactly
once under re-reads, one poison event isolated, a killed worker, late events, GetMetricData
down, idle functions, a throttle, a deleted role."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import AwsAccount
from aws import clients
from devtools.sandbox import faults
from devtools.sandbox.seed import admin_client
from monitoring.collection.orchestrator import UnitBusy, collect_logs, collect_once, collect_unit
from monitoring.models import ErrorGroup, Invocation, LogCheckpoint, LogLine, Resource, Rollup
from monitoring.store import invocations as ingest

from .conftest import connect, generate, seeded_region, stored_counts, traffic

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_faults() -> Any:
    faults.clear()
    yield
    faults.clear()


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def put_events(sandbox: Any, region: str, function: str, stream: str, events: list[tuple[int, str]]) -> None:
    logs = admin_client("logs", sandbox.endpoint, region)
    group = f"/aws/lambda/{function}"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events, key=lambda e: e[0])],
    )


def put_invoked(sandbox: Any, region: str, function: str, at: datetime, count: int = 1) -> None:
    admin_client("cloudwatch", sandbox.endpoint, region).put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
                "Timestamp": at,
                "Value": count,
                "Unit": "Count",
            }
        ],
    )


def short_invocation(rid: str, t: int, *, billed: int = 5, memory: str = "128") -> list[tuple[int, str]]:
    return [
        (t, f"START RequestId: {rid} Version: $LATEST\n"),
        (t + 1, f"2026-01-01T00:00:00.000Z\t{rid}\tINFO\thello\n"),
        (t + 4, f"END RequestId: {rid}\n"),
        (
            t + 4,
            f"REPORT RequestId: {rid}\tDuration: 4.00 ms\tBilled Duration: {billed} ms\t"
            f"Memory Size: {memory} MB\tMax Memory Used: 40 MB\t\n",
        ),
    ]


def client_for(account: AwsAccount, region: str) -> Any:
    return lambda service: clients.customer_client(account, region, service)


def rollups_equal_raw(fn: Resource) -> None:
    raw = Invocation.objects.filter(resource=fn)
    hourly = Rollup.objects.filter(resource=fn, period="hour")
    assert sum(r.invocations for r in hourly) == raw.count()
    assert sum(r.errors for r in hourly) == raw.exclude(status__in=["success", "unknown"]).count()
    assert sum(sum(r.histogram.values()) for r in hourly) == raw.exclude(duration_ms=None).count()
    assert (
        sum(g.count for g in ErrorGroup.objects.filter(resource=fn))
        == raw.exclude(status__in=["success", "unknown"]).count()
    )


def test_a_window_boundary_cutting_a_150_second_invocation_keeps_one_row_and_its_start(
    account: Any, sandbox: Any
) -> None:
    region = "ap-northeast-2"
    specs = seeded_region(sandbox, region, count=2)
    connect(account, sandbox, region)
    collect_unit(account, region)  # discovery
    name = specs[0].name
    fn = Resource.objects.get(account=account, region=region, name=name)
    t0 = (datetime.now(tz=UTC) - timedelta(minutes=20)).replace(microsecond=0)
    rid = "1b0c0000-0000-4000-8000-000000000150"
    long_run = [(ms(t0), f"START RequestId: {rid} Version: $LATEST\n")]
    long_run += [(ms(t0) + s * 1000, f"2026-01-01T00:00:00.000Z\t{rid}\tINFO\tstep {s}\n") for s in range(10, 150, 10)]
    long_run += [
        (ms(t0) + 150_000, f"END RequestId: {rid}\n"),
        (
            ms(t0) + 150_000,
            f"REPORT RequestId: {rid}\tDuration: 150000.00 ms\tBilled Duration: 150000 ms\t"
            "Memory Size: 512 MB\tMax Memory Used: 90 MB\tStatus: timeout\n",
        ),
    ]
    put_events(sandbox, region, name, "2026/12/01/[$LATEST]long", long_run)
    put_invoked(sandbox, region, name, t0)
    # Later short invocations make the function due again, so each poll re-reads a window
    # that starts 2 minutes before its last event: after the long one's START.
    for k, at in enumerate([170, 230, 290]):
        put_events(
            sandbox,
            region,
            name,
            "2026/12/01/[$LATEST]short",
            short_invocation(f"5e0c0000-0000-4000-8000-00000000000{k}", ms(t0) + at * 1000),
        )
        put_invoked(sandbox, region, name, t0 + timedelta(seconds=at))

    polls = [t0 + timedelta(seconds=s) for s in (60, 155, 200, 260, 320)]
    for when in polls:
        collect_logs(client_for(account, region), [fn], region, when)
        rows = Invocation.objects.filter(resource=fn, request_id=rid)
        assert rows.count() == 1, when
        assert rows.get().started_at == t0  # never moved by a view that starts after the START

    row = Invocation.objects.get(resource=fn, request_id=rid)
    assert (row.attempt, row.status, row.complete, row.duration_ms) == (1, "timeout", True, 150000.0)
    assert row.start_source == "start"
    assert Invocation.objects.filter(resource=fn).count() == 4
    assert ErrorGroup.objects.get(resource=fn).count == 1
    rollups_equal_raw(fn)
    cp = LogCheckpoint.objects.get(resource=fn)
    assert cp.last_event_ms == ms(t0) + 290_004  # the third short one's END


def test_a_view_that_saw_only_lines_is_completed_by_the_full_view(owner: Any) -> None:
    from accounts.services import aws_account_start
    from monitoring.parsing.lambda_logs import parse_events

    account = aws_account_start(organization=owner.organization, name="Synthetic")
    now = datetime.now(tz=UTC)
    fn = Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:123456789012:function:long", name="long", config={"memory_mb": 128},
        first_seen=now, last_seen=now,
    )  # fmt: skip
    rid = "2c0d0000-0000-4000-8000-000000000001"
    t = ms(now - timedelta(minutes=30))
    events = [
        {"timestamp": t, "message": f"START RequestId: {rid} Version: $LATEST\n", "logStreamName": "s", "eventId": "a"},
        {"timestamp": t + 60_000, "message": "working\n", "logStreamName": "s", "eventId": "b"},
        {
            "timestamp": t + 61_000,
            "message": f"2026-01-01T00:00:00.000Z\t{rid}\tINFO\tstill working\n",
            "logStreamName": "s",
            "eventId": "c",
        },
        {"timestamp": t + 90_000, "message": f"END RequestId: {rid}\n", "logStreamName": "s", "eventId": "d"},
        {
            "timestamp": t + 90_000,
            "message": f"REPORT RequestId: {rid}\tDuration: 90000.00 ms\tBilled Duration: 90000 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
            "logStreamName": "s",
            "eventId": "e",
        },
    ]
    middle = ingest.invocations_store(resource=fn, result=parse_events(events[2:3]))
    assert middle.invocations_new == 1
    assert Invocation.objects.get(resource=fn).start_source == "lines"
    tail = ingest.invocations_store(resource=fn, result=parse_events(events[1:]))
    full = ingest.invocations_store(resource=fn, result=parse_events(events))

    assert (tail.invocations_new, full.invocations_new) == (0, 0)
    row = Invocation.objects.get(resource=fn)
    assert (row.started_at, row.start_source, row.complete) == (
        datetime.fromtimestamp(t / 1000, tz=UTC),
        "start",
        True,
    )
    rollups_equal_raw(fn)


def test_a_start_corrected_into_the_previous_day_leaves_no_count_in_the_next(owner: Any) -> None:
    from accounts.services import aws_account_start
    from monitoring.parsing.lambda_logs import parse_events

    account = aws_account_start(organization=owner.organization, name="Synthetic")
    now = datetime.now(tz=UTC)
    fn = Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:123456789012:function:quiet", name="quiet", config={"memory_mb": 128},
        first_seen=now, last_seen=now,
    )  # fmt: skip
    rid = "2c0d0000-0000-4000-8000-000000000002"
    t = ms((now - timedelta(days=2)).replace(hour=23, minute=59, second=30, microsecond=0))  # 30 s before a day
    events = [
        {"timestamp": t, "message": f"START RequestId: {rid} Version: $LATEST\n", "logStreamName": "s", "eventId": "a"},
        {
            "timestamp": t + 61_000,
            "message": f"2026-01-01T00:00:00.000Z\t{rid}\tINFO\tstill working\n",
            "logStreamName": "s",
            "eventId": "b",
        },
        {"timestamp": t + 90_000, "message": f"END RequestId: {rid}\n", "logStreamName": "s", "eventId": "c"},
        {
            "timestamp": t + 90_000,
            "message": f"REPORT RequestId: {rid}\tDuration: 90000.00 ms\tBilled Duration: 90000 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 40 MB\tStatus: timeout\n",
            "logStreamName": "s",
            "eventId": "d",
        },
    ]
    ingest.invocations_store(resource=fn, result=parse_events(events[1:2]))  # only a line: the next day
    ingest.invocations_store(resource=fn, result=parse_events(events))  # the START: the day before

    row = Invocation.objects.get(resource=fn)
    assert (row.started_at, row.start_source) == (datetime.fromtimestamp(t / 1000, tz=UTC), "start")
    assert list(Rollup.objects.filter(resource=fn, period="hour").values_list("bucket", "invocations")) == [
        (row.started_at.replace(minute=0, second=0), 1)
    ]
    assert list(Rollup.objects.filter(resource=fn, period="day").values_list("bucket", "invocations")) == [
        (row.started_at.replace(hour=0, minute=0, second=0), 1)
    ]
    rollups_equal_raw(fn)


def test_the_database_refuses_a_second_row_for_one_invocation(owner: Any) -> None:
    from django.db import IntegrityError, transaction

    from accounts.services import aws_account_start
    from monitoring.store.partitions import ensure_partitions

    account = aws_account_start(organization=owner.organization, name="Synthetic")
    now = datetime.now(tz=UTC)
    ensure_partitions("monitoring_invocation", [now.date()])
    fn = Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:123456789012:function:dup", name="dup", first_seen=now, last_seen=now,
    )  # fmt: skip
    fields = dict(
        organization_id=owner.organization.pk, account_id=account.pk, resource=fn, request_id="r-1",
        attempt=1, status="success", log_stream="s",
    )  # fmt: skip
    Invocation.objects.create(started_at=now, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invocation.objects.create(started_at=now + timedelta(seconds=3), **fields)


def test_a_poison_event_is_skipped_and_reported_while_the_other_functions_are_stored(
    account: Any, sandbox: Any, monkeypatch: Any
) -> None:
    region = "ap-northeast-1"
    specs = seeded_region(sandbox, region, count=4)
    connect(account, sandbox, region)
    when = datetime.now(tz=UTC) - timedelta(minutes=10)
    ledger = generate(sandbox, region, specs, ticks=2, seed=21, now=when)
    absurd, unencodable, poisoned = specs[0].name, specs[1].name, specs[2].name
    t = ms(when) + 500
    put_events(
        sandbox, region, absurd, "2026/12/01/[$LATEST]odd",
        short_invocation("7a000000-0000-4000-8000-000000000001", t, memory="99999999999"),
    )  # fmt: skip
    surrogate = "payload \ud800 cut in half"
    put_events(
        sandbox, region, unencodable, "2026/12/01/[$LATEST]odd",
        [(t, "START RequestId: 7b000000-0000-4000-8000-000000000002 Version: $LATEST\n"),
         (t + 1, f"2026-01-01T00:00:00.000Z\t7b000000-0000-4000-8000-000000000002\tINFO\t{surrogate}\n"),
         *short_invocation("7b000000-0000-4000-8000-000000000002", t)[2:]],
    )  # fmt: skip
    put_events(
        sandbox, region, poisoned, "2026/12/01/[$LATEST]odd",
        short_invocation("7c000000-0000-4000-8000-000000000003", t, billed=4242),
    )  # fmt: skip
    real_cost = ingest.invocation_cost

    def cost(**kwargs: Any) -> float:  # a value no column can hold, for that one invocation
        if kwargs.get("billed_ms") == 4242:
            raise OverflowError("math range error")
        return real_cost(**kwargs)

    monkeypatch.setattr(ingest, "invocation_cost", cost)

    summary = collect_unit(account, region).as_dict()

    stored = stored_counts(account)
    assert stored["total"] == ledger["total_invocations"] + 2  # everything but the poison
    odd = Invocation.objects.get(request_id="7a000000-0000-4000-8000-000000000001")
    assert (odd.memory_size_mb, odd.status, odd.duration_ms) == (None, "success", 4.0)
    line = LogLine.objects.get(request_id="7b000000-0000-4000-8000-000000000002", message__contains="payload")
    assert line.message.endswith("payload ? cut in half")
    assert len(line.message) == len(
        f"2026-01-01T00:00:00.000Z\t7b000000-0000-4000-8000-000000000002\tINFO\t{surrogate}"
    )
    assert not Invocation.objects.filter(request_id="7c000000-0000-4000-8000-000000000003").exists()
    assert summary["logs"]["skipped_invocations"] == 1
    account.refresh_from_db()
    [problem] = [p for p in account.problems if p["kind"] == "skipped"]
    assert poisoned in problem["message"] and "7c000000-0000-4000-8000-000000000003" in problem["message"]
    assert "OverflowError" in problem["message"]
    assert account.status == AwsAccount.Status.CONNECTED
    fn = Resource.objects.get(account=account, name=poisoned)
    assert LogCheckpoint.objects.get(resource=fn).last_event_ms >= t + 4

    # The next poll advances: new traffic is stored, the report stays on the account page.
    more = traffic(sandbox, region, specs, seed=22)
    more.tick(20, now=datetime.now(tz=UTC))
    collect_unit(account, region)
    assert (
        stored_counts(account)["total"] == ledger["total_invocations"] + 2 + more.ledger.as_dict()["total_invocations"]
    )
    account.refresh_from_db()
    assert any(p["kind"] == "skipped" and poisoned in p["message"] for p in account.problems)


def test_late_events_are_collected_by_the_sweep_and_counted(account: Any, sandbox: Any) -> None:
    region = "eu-west-3"
    specs = seeded_region(sandbox, region, count=2)
    connect(account, sandbox, region)
    now = datetime.now(tz=UTC)
    name = specs[0].name
    generate(sandbox, region, specs[:1], ticks=1, seed=31, now=now - timedelta(seconds=5))
    collect_unit(account, region)  # reads to now; stamps the sweep
    before = Invocation.objects.filter(account_id=account.pk).count()

    # Events stamped 3 and 10 minutes ago reach CloudWatch Logs only now.
    late = [
        *short_invocation("8a000000-0000-4000-8000-000000000003", ms(now - timedelta(minutes=3))),
        *short_invocation("8a000000-0000-4000-8000-000000000010", ms(now - timedelta(minutes=10))),
    ]
    put_events(sandbox, region, name, "2026/12/01/[$LATEST]late", late)

    regular = collect_unit(account, region).as_dict()  # no sweep due yet: the overlap alone
    assert regular["logs"]["late_sweep"] is False
    AwsAccount.objects.filter(pk=account.pk).update(
        last_collected={**AwsAccount.objects.get(pk=account.pk).last_collected,
                        f"logs_sweep:{region}": (now - timedelta(minutes=6)).isoformat()}
    )  # fmt: skip
    account.refresh_from_db()
    swept = collect_unit(account, region).as_dict()

    assert swept["logs"]["late_sweep"] is True
    assert Invocation.objects.filter(request_id__startswith="8a000000").count() == 2
    assert Invocation.objects.filter(account_id=account.pk).count() == before + 2
    assert regular["logs"]["late_log_events"] + swept["logs"]["late_log_events"] == len(late)
    assert LogLine.objects.filter(request_id__startswith="8a000000").count() == len(late)
    again = collect_unit(account, region).as_dict()
    assert again["logs"]["invocations"] == 0


def test_a_checkpoint_behind_stored_lines_re_reads_them_and_the_function_goes_on(account: Any, sandbox: Any) -> None:
    region = "ap-southeast-3"
    specs = seeded_region(sandbox, region, count=2)
    connect(account, sandbox, region)
    now = datetime.now(tz=UTC)
    first = generate(sandbox, region, specs, ticks=1, seed=81, now=now - timedelta(minutes=6))
    collect_unit(account, region)
    lines = LogLine.objects.filter(account_id=account.pk).count()
    # The checkpoints fall behind what is stored (a re-read asked for, or a second writer
    # that stored the same events first): lines after them are already there.
    for cp in LogCheckpoint.objects.filter(resource__account=account, resource__region=region):
        back = 8 * 60_000
        LogCheckpoint.objects.filter(pk=cp.pk).update(
            last_event_ms=cp.last_event_ms - back, resume_from_ms=cp.resume_from_ms - back, polled_to_ms=cp.polled_to_ms - back
        )  # fmt: skip

    reread = collect_unit(account, region).as_dict()

    assert not [p for p in reread["problems"] if p["kind"] == "error"], reread["problems"]
    assert (reread["logs"]["invocations"], reread["logs"]["log_lines"]) == (0, 0)
    assert LogLine.objects.filter(account_id=account.pk).count() == lines
    second = generate(sandbox, region, specs, ticks=1, seed=82, now=datetime.now(tz=UTC))
    collect_unit(account, region)
    stored = stored_counts(account)
    assert stored["total"] == first["total_invocations"] + second["total_invocations"]
    assert stored["cold_starts"] == sum(first["cold_starts"].values()) + sum(second["cold_starts"].values())


def test_a_late_sweep_cut_short_by_a_throttle_is_done_again_by_the_next_run(account: Any, sandbox: Any) -> None:
    import time_machine

    region = "eu-west-2"
    specs = seeded_region(sandbox, region, count=1)
    connect(account, sandbox, region)
    t0 = (datetime.now(tz=UTC) - timedelta(minutes=40)).replace(second=0, microsecond=0)
    rid = "9a000000-0000-4000-8000-000000000011"
    swept: dict[int, bool] = {}
    with time_machine.travel(t0, tick=False) as clock:
        for minute in range(19):
            clock.move_to(t0 + timedelta(minutes=minute))
            generate(sandbox, region, specs, ticks=1, seed=90 + minute, now=t0 + timedelta(minutes=minute))
            if minute == 11:
                # Stamped 30 s before the first run, ingested 11.5 minutes later: within the
                # 15 minutes the sweep is there for, and past what the run's overlap re-reads.
                put_events(
                    sandbox, region, specs[0].name, "2026/12/01/[$LATEST]late", short_invocation(rid, ms(t0) - 30_000)
                )
            if minute == 15:  # the sweep is due, and the first FilterLogEvents is throttled
                faults.inject(operation="FilterLogEvents", region=region)
            summary = collect_unit(account, region).as_dict()
            faults.clear()
            swept[minute] = summary["logs"]["late_sweep"]
            if minute == 15:
                assert any(p["kind"] == "throttled" for p in summary["problems"])

    assert Invocation.objects.filter(request_id=rid).count() == 1
    assert [m for m, done in swept.items() if done] == [0, 5, 10, 16]


def test_logs_still_arrive_when_get_metric_data_fails(account: Any, sandbox: Any) -> None:
    region = "ap-northeast-3"
    specs = seeded_region(sandbox, region, count=4)
    connect(account, sandbox, region)
    now = datetime.now(tz=UTC)
    first = generate(sandbox, region, specs, ticks=1, seed=41, now=now - timedelta(minutes=8))
    collect_unit(account, region)
    assert stored_counts(account)["total"] == first["total_invocations"]

    second = generate(sandbox, region, specs, ticks=1, seed=42, now=now - timedelta(seconds=2))
    faults.inject(operation="GetMetricData", code="InternalFailure", status=400, message="boom", region=region)
    summary = collect_unit(account, region).as_dict()

    assert stored_counts(account)["total"] == first["total_invocations"] + second["total_invocations"]
    assert summary["logs"]["metrics_fallback"] is True
    assert "GetMetricData" not in summary["api_calls"].get("cloudwatch", {}) or summary["problems"]
    assert any("log groups active in the last hour" in p["message"] for p in summary["problems"])


def test_an_idle_function_costs_no_log_call(account: Any, sandbox: Any) -> None:
    region = "sa-east-1"
    specs = seeded_region(sandbox, region, count=6)
    connect(account, sandbox, region)
    generate(sandbox, region, specs, ticks=1, seed=51, now=datetime.now(tz=UTC) - timedelta(minutes=12))
    collect_unit(account, region)

    busy = specs[:2]
    generate(sandbox, region, busy, ticks=1, seed=52, now=datetime.now(tz=UTC))
    summary = collect_unit(account, region).as_dict()
    assert summary["api_calls"]["logs"]["FilterLogEvents"] == len(busy)
    assert summary["logs"]["log_groups_idle"] == len(specs) - len(busy)

    # Right away, only the busy ones' last minute may still be settling; the idle ones cost nothing.
    again = collect_unit(account, region).as_dict()
    assert again["api_calls"].get("logs", {}).get("FilterLogEvents", 0) <= len(busy)
    # A read after that minute has settled takes what came late; after it nobody is read.
    later = datetime.now(tz=UTC) + timedelta(minutes=3)
    functions = list(Resource.objects.filter(account=account, region=region, kind="lambda.function"))
    settled = collect_logs(client_for(account, region), functions, region, later)
    assert settled.functions_polled <= len(busy)
    with clients.recording() as recorder:
        quiet = collect_logs(client_for(account, region), functions, region, later + timedelta(minutes=1))
    assert recorder.calls.get(("logs", "FilterLogEvents"), 0) == 0
    assert quiet.functions_idle == len(specs)


def test_a_throttled_filter_log_events_ends_the_run_and_the_next_resumes(account: Any, sandbox: Any) -> None:
    region = "ap-south-1"
    specs = seeded_region(sandbox, region, count=5)
    connect(account, sandbox, region)
    ledger = generate(sandbox, region, specs, ticks=1, seed=61, now=datetime.now(tz=UTC) - timedelta(minutes=5))
    throttle = faults.inject(operation="FilterLogEvents", region=region)

    throttled = collect_unit(account, region).as_dict()

    assert throttled["api_calls"]["logs"]["FilterLogEvents"] == 1  # one call, retried by botocore, then stop
    [problem] = [p for p in throttled["problems"] if p["kind"] == "throttled"]
    assert "wait for the next run" in problem["message"]
    assert stored_counts(account)["total"] == 0
    assert throttle.hits >= 2  # botocore retried the one call before giving up

    faults.clear()
    resumed = collect_unit(account, region).as_dict()
    assert stored_counts(account)["total"] == ledger["total_invocations"]
    assert not [p for p in resumed["problems"] if p["kind"] == "throttled"]


def test_a_deleted_role_is_named_as_such_and_the_account_recovers(account: Any, sandbox: Any) -> None:
    region = "us-east-2"
    seeded_region(sandbox, region, count=2)
    role_name = "DashbirdDeletedLater"
    role_arn = sandbox.make_role(role_name)
    connect(account, sandbox, region, role_arn=role_arn)
    assert not collect_unit(account, region).error  # credentials now cached

    iam = admin_client("iam", sandbox.endpoint, region)
    iam.delete_role_policy(RoleName=role_name, PolicyName="DashbirdReadOnly")
    iam.delete_role(RoleName=role_name)
    summary = collect_unit(account, region)

    assert "AWS refused to let us assume" in summary.error
    assert role_arn in summary.error and account.external_id in summary.error
    assert sandbox.state.platform_principal in summary.error
    account.refresh_from_db()
    assert account.status == AwsAccount.Status.ERROR
    assert account.last_error == summary.error
    assert not [p for p in account.problems if p["kind"] == "permission"]  # no pile of "permission missing"

    assert sandbox.make_role(role_name) == role_arn
    healed = collect_unit(account, region)
    assert not healed.error
    account.refresh_from_db()
    assert (account.status, account.last_error) == (AwsAccount.Status.CONNECTED, "")
    assert not [p for p in account.problems if p.get("collector") == "access"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_holds_the_unit_less_than_a_minute(account: Any, sandbox: Any, owner: Any) -> None:
    region = "ap-southeast-1"
    specs = seeded_region(sandbox, region, count=3)
    connect(account, sandbox, region)
    ledger = generate(sandbox, region, specs, ticks=1, seed=71, now=datetime.now(tz=UTC) - timedelta(minutes=3))
    fault = faults.inject(operation="FilterLogEvents", code="", delay=30.0, region=region, times=1)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{quote(db['HOST'] or '127.0.0.1', safe='')}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "PLATFORM_AWS_PRINCIPAL": sandbox.state.platform_principal,
        "AWS_CALL_RATE_SCALE": "100",
        "COLLECT_LOCK_SECONDS": "10",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "collect", "--once", "--account", str(account.pk)],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while fault.hits == 0 and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        assert fault.hits == 1, worker.stdout.read().decode() if worker.poll() is not None and worker.stdout else ""
        os.kill(worker.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()

    with pytest.raises(UnitBusy, match="being collected by worker"):
        collect_unit(account, region)
    [unit] = collect_once([account.pk])["units"]
    assert "busy" in unit
    page = owner.client().get(f"/settings/aws/{account.pk}/")
    assert b"collecting" in page.content

    while True:
        attempt_at = time.monotonic()
        try:
            summary = collect_unit(account, region)
            break
        except UnitBusy:
            assert attempt_at - killed_at < 20
            time.sleep(0.5)
    taken_over_after = attempt_at - killed_at
    assert taken_over_after < 12
    assert not summary.error
    stored = stored_counts(account)
    assert stored["total"] == ledger["total_invocations"]
    assert stored["by_status"] == ledger["by_status"]
    print(f"unit taken over {taken_over_after:.1f} s after SIGKILL (lock TTL 10 s)")


def test_the_unit_lock_renews_itself_while_the_run_progresses(settings: Any) -> None:
    from monitoring.collection.orchestrator import unit_lock

    settings.COLLECT_LOCK_SECONDS = 12
    with unit_lock(424242, "xx-test-1") as lock:
        ttl_at_start = lock.client.pttl(lock.key)
        time.sleep(2.1)
        lock.touch()
        assert lock.client.pttl(lock.key) > ttl_at_start - 500  # renewed, not running down
        info = json.loads(lock.client.get(f"{lock.key}:holder") or "{}")
        assert info["worker"].endswith(f":{os.getpid()}")
        with pytest.raises(UnitBusy), unit_lock(424242, "xx-test-1"):
            pass
    assert not lock.client.exists(lock.key)
