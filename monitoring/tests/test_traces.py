"""Traces in the database: the budget of the traces step, why an invocation has no trace,
retention, and the service map's scoping and input."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AwsAccount
from accounts.services import aws_account_start
from kinds import lambda_function
from monitoring.collection.orchestrator import collect_traces
from monitoring.models import Invocation, Resource, Trace, TraceCheckpoint
from monitoring.store.partitions import ensure_partitions_for, partition_name, partitions

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return aws_account_start(organization=owner.organization, name="Prod")


def function(account: AwsAccount, name: str, tracing: str = "Active") -> Resource:
    now = timezone.now()
    return Resource.objects.create(
        organization=account.organization, account=account, region="us-east-1", kind=lambda_function.KIND,
        arn=f"arn:aws:lambda:us-east-1:1:function:{name}", name=name, config={"tracing": tracing},
        first_seen=now, last_seen=now,
    )  # fmt: skip


def invocation(
    fn: Resource, n: int, *, minutes_ago: float = 5, status: str = "success", traced: bool = True
) -> Invocation:
    when = timezone.now() - timedelta(minutes=minutes_ago)
    ensure_partitions_for("monitoring_invocation", [when])
    return Invocation.objects.create(
        organization_id=fn.organization_id, account_id=fn.account_id, resource=fn, request_id=f"r-{fn.pk}-{n}",
        status=status, started_at=when, duration_ms=100 + n, complete=True, log_stream="s",
        xray_trace_id=f"1-5e000000-{n:024x}" if traced else None,
    )  # fmt: skip


def segment(fn: Resource, trace_id: str) -> dict[str, Any]:
    return {
        "id": "a", "trace_id": trace_id, "name": fn.name, "start_time": 1000.0, "end_time": 1000.2,
        "subsegments": [{"id": "b", "name": "DynamoDB", "namespace": "aws", "start_time": 1000.01,
                         "end_time": 1000.03, "aws": {"operation": "GetItem", "table_name": "t"}}],
    }  # fmt: skip


class FakeXRay:
    def __init__(self, fn: Resource) -> None:
        self.fn = fn
        self.asked: list[list[str]] = []

    def batch_get_traces(self, TraceIds: list[str], **_: Any) -> dict[str, Any]:
        self.asked.append(TraceIds)
        return {
            "Traces": [
                {"Id": t, "Segments": [{"Id": "a", "Document": json.dumps(segment(self.fn, t))}]} for t in TraceIds
            ],
            "UnprocessedTraceIds": [],
        }


def test_the_hourly_budget_takes_failures_first_and_then_stops(account: AwsAccount, settings: Any) -> None:
    settings.XRAY_TRACES_PER_HOUR, settings.XRAY_TRACES_PER_RUN, settings.XRAY_SAMPLE_RATE = 7, 100, 1.0
    fn = function(account, "orders")
    failed = [invocation(fn, n, status="error") for n in range(3)]
    for n in range(3, 20):
        invocation(fn, n)
    xray = FakeXRay(fn)
    summary = collect_traces(lambda service: xray, account, "us-east-1", [fn], timezone.now())
    assert (summary["traces_chosen"], summary["xray_calls"]) == (7, 2)
    assert [len(batch) for batch in xray.asked] == [5, 2]
    stored = Trace.objects.filter(resource_id=fn.pk)
    assert stored.count() == 7
    assert {t.invocation_id for t in stored.filter(reason="failed")} == {i.pk for i in failed}

    # Newer invocations, but the hour's budget is spent: no call at all.
    invocation(fn, 50, minutes_ago=1.5, status="timeout")
    summary = collect_traces(lambda service: xray, account, "us-east-1", [fn], timezone.now())
    assert (summary["trace_budget"], summary["xray_calls"]) == (0, 0)
    assert len(xray.asked) == 2


def test_the_execution_page_says_why_there_is_no_trace(owner: Any, account: AwsAccount) -> None:
    client = owner.client()
    off = function(account, "legacy", tracing="PassThrough")
    on = function(account, "orders")

    def page(inv: Invocation) -> str:
        return client.get(reverse("monitoring:invocation_detail", args=[inv.pk])).content.decode()

    assert "Tracing is off for this function" in page(invocation(off, 1, traced=False))
    assert "Not sampled" in page(invocation(on, 2, traced=False))
    waiting = invocation(on, 3)
    assert "Not fetched yet" in page(waiting)
    TraceCheckpoint.objects.create(account=account, region="us-east-1", considered_to=timezone.now(),
                                   last_run_at=timezone.now())  # fmt: skip
    assert "Outside the sampling budget" in page(waiting)
    ensure_partitions_for("monitoring_trace", [waiting.started_at])
    Trace.objects.create(
        organization_id=on.organization_id, account_id=account.pk, resource_id=on.pk, invocation_id=waiting.pk,
        trace_id=waiting.xray_trace_id or "", started_at=waiting.started_at, fetched_at=timezone.now(),
        reason="sample", found=False, spans=[],
    )  # fmt: skip
    assert "X-Ray had no trace" in page(waiting)


def test_traces_go_with_their_day_s_partition(owner: Any, account: AwsAccount) -> None:
    fn = function(account, "orders")
    old = timezone.now() - timedelta(days=40)
    ensure_partitions_for("monitoring_trace", [old])
    Trace.objects.create(
        organization_id=fn.organization_id, account_id=account.pk, resource_id=fn.pk, invocation_id=1,
        trace_id="1-a-b", started_at=old, fetched_at=old, reason="failed", spans=[{"name": "x", "start": 1.0}],
    )  # fmt: skip
    call_command("prunedata", stdout=StringIO())
    assert partition_name("monitoring_trace", old.date()) not in [n for n, _ in partitions("monitoring_trace")]
    assert not Trace.objects.exists()


def test_the_service_map_is_scoped_and_refuses_bad_input(owner: Any, outsider: Any, account: AwsAccount) -> None:
    fn = function(account, "orders")
    inv = invocation(fn, 1)
    ensure_partitions_for("monitoring_trace", [inv.started_at])
    Trace.objects.create(
        organization_id=fn.organization_id, account_id=account.pk, resource_id=fn.pk, invocation_id=inv.pk,
        trace_id="1-a-b", started_at=inv.started_at, fetched_at=timezone.now(), reason="failed",
        spans=[{"name": "orders", "start": 1.0, "end": 1.1, "parent": None},
               {"name": "DynamoDB", "namespace": "aws", "operation": "GetItem", "start": 1.0, "end": 1.05,
                "parent": 0, "throttle": True, "error": True}, "not a span"],
    )  # fmt: skip
    html = owner.client().get(reverse("monitoring:service_map"), {"period": "24h"}).content.decode()
    assert 'data-edge="orders→DynamoDB"' in html and "100.0 %" in html
    theirs = outsider.client().get(reverse("monitoring:service_map"), {"account": account.pk}).content.decode()
    assert "orders" not in theirs
    assert owner.client().get(reverse("monitoring:service_map"), {"account": "x'"}).status_code == 400
    assert owner.client().get(reverse("monitoring:service_map"), {"period": "forever"}).status_code == 400


def test_a_later_run_fetches_a_slowest_only_when_it_beats_the_hour_so_far(
    account: AwsAccount, settings: Any, time_machine: Any
) -> None:
    settings.XRAY_SAMPLE_RATE = 0.0
    time_machine.move_to(timezone.now().replace(minute=30), tick=False)
    fn = function(account, "orders")
    xray = FakeXRay(fn)
    invocation(fn, 100, minutes_ago=20)  # duration 200 ms
    collect_traces(lambda service: xray, account, "us-east-1", [fn], timezone.now())
    assert list(Trace.objects.values_list("reason", flat=True)) == ["slowest"]
    time_machine.move_to(timezone.now() + timedelta(minutes=5), tick=False)
    invocation(fn, 50, minutes_ago=3)  # 150 ms: not the hour's slowest
    collect_traces(lambda service: xray, account, "us-east-1", [fn], timezone.now())
    assert Trace.objects.count() == 1
    time_machine.move_to(timezone.now() + timedelta(minutes=5), tick=False)
    invocation(fn, 300, minutes_ago=3)  # 400 ms: the slowest so far
    collect_traces(lambda service: xray, account, "us-east-1", [fn], timezone.now())
    assert Trace.objects.count() == 2


def test_a_running_invocation_holds_the_window_back(account: AwsAccount, settings: Any) -> None:
    settings.XRAY_SAMPLE_RATE = 1.0
    fn = function(account, "orders")
    running = invocation(fn, 1, minutes_ago=10)
    Invocation.objects.filter(pk=running.pk).update(complete=False, xray_trace_id=None)
    invocation(fn, 2, minutes_ago=5)
    xray = FakeXRay(fn)
    collect_traces(lambda service: xray, account, "us-east-1", [fn], timezone.now())
    assert not xray.asked  # the one after it waits
    Invocation.objects.filter(pk=running.pk).update(complete=True, xray_trace_id="1-5e000000-77")
    collect_traces(lambda service: xray, account, "us-east-1", [fn], timezone.now())
    assert sorted(Trace.objects.values_list("trace_id", flat=True)) == sorted(["1-5e000000-77", f"1-5e000000-{2:024x}"])


def test_the_overview_links_to_the_service_map_of_its_scope(owner: Any, account: AwsAccount) -> None:
    html = owner.client().get(reverse("monitoring:overview"), {"account": account.pk}).content.decode()
    assert f'href="{reverse("monitoring:service_map")}?period=24h&account={account.pk}"' in html
