"""The sandbox's history (devtools/sandbox/history.py): written in bulk for an account connected
to the sandbox, judged by the anomaly detector, which flags exactly the scheduled anomalies;
a second run writes nothing and changes no count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import Count, Sum

from accounts.models import AwsAccount
from accounts.services import aws_account_start
from devtools.sandbox.catalog import functions
from devtools.sandbox.history import Traffic, history_write
from devtools.sandbox.seed import admin_client, create_resources
from devtools.sandbox.traffic import anomaly_hour
from insights.anomalies.services import anomalies_detect
from insights.models import Anomaly
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import MetricPoint, Resource, Rollup
from monitoring.tests.conftest import connect

pytestmark = pytest.mark.django_db
REGION = "ap-southeast-4"  # only this module writes here (moto's state is process-wide)
END = datetime(2026, 3, 18, 15, tzinfo=UTC)  # a Wednesday afternoon
DAYS = 17  # 14 days of baseline for each of the 3 judged
JUDGED = [END - timedelta(hours=h) for h in range(72, 0, -1)]
TRAFFIC = Traffic(seed=4, per_minute=20)


@pytest.fixture
def account(owner: Any, sandbox: Any) -> AwsAccount:
    account = aws_account_start(organization=owner.organization, name="Sandbox")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    return account


def counts(account: AwsAccount) -> dict[str, Any]:
    rollups = Rollup.objects.filter(account_id=account.pk).aggregate(
        rows=Count("id"), invocations=Sum("invocations"), cost=Sum("cost_usd")
    )
    points = MetricPoint.objects.filter(account_id=account.pk).aggregate(rows=Count("id"), total=Sum("value"))
    found = {**{f"rollup_{k}": v for k, v in rollups.items()}, **{f"point_{k}": v for k, v in points.items()}}
    # Sums of floats, to 12 digits: the database adds them up in the order it reads them.
    return {k: float(f"{v:.12g}") if isinstance(v, float) else v for k, v in found.items()}


def flagged(resource: Resource, metric: str) -> list[tuple[datetime, str]]:
    rows = Anomaly.objects.filter(resource=resource, metric=metric, hour__in=JUDGED).order_by("hour")
    return [(a.hour, a.direction) for a in rows]


def scheduled(name: str, effect: str, direction: str) -> list[tuple[datetime, str]]:
    return [(h, direction) for h in JUDGED if anomaly_hour(TRAFFIC.seed, name, effect, h)]


def test_the_history_gives_the_detector_exactly_the_scheduled_anomalies_and_a_rerun_changes_nothing(
    account: AwsAccount, sandbox: Any, capsys: Any
) -> None:
    specs = functions(4, seed=21)
    if not admin_client("lambda", sandbox.endpoint, REGION).list_functions()["Functions"]:
        create_resources(sandbox.endpoint, REGION, specs)
    connect(account, sandbox, REGION)
    collect_unit(account, REGION, steps=["discovery"])

    first = history_write(
        account=account, region=REGION, endpoint=sandbox.endpoint, specs=specs, traffic=TRAFFIC, end=END, days=DAYS
    )
    written = counts(account)
    detection = anomalies_detect(account=account, now=END, hours=len(JUDGED))
    with capsys.disabled():
        print(f"\nhistory: {first}; detection: {detection}")

    assert first.function_hours == 4 * DAYS * 24 and first.metric_hours == DAYS * 24
    by_name = {r.name: r for r in Resource.objects.filter(account=account)}
    slow_fn, quiet_fn = by_name[specs[0].name], by_name[specs[1].name]
    # The functions' scheduled latency step and traffic drop, and the load balancer's and the
    # GraphQL API's: each flagged at its hours, and at no other.
    expected = {
        (slow_fn, "duration_p95_ms"): scheduled(specs[0].name, "latency", "up"),
        (quiet_fn, "invocations"): scheduled(specs[1].name, "drop", "down"),
        (by_name["shop-alb"], "AWS/ApplicationELB:TargetResponseTime:p95"): scheduled("shop-alb", "latency", "up"),
        (by_name["shop-graphql"], "AWS/AppSync:Requests:Sum"): scheduled("shop-graphql", "drop", "down"),
    }
    for (resource, metric), hours in expected.items():
        assert hours, f"no {metric} anomaly scheduled for {resource.name} in the judged days: pick another seed"
        assert flagged(resource, metric) == hours, f"{resource.name} {metric}"
    # Charts over the whole span: daily rollups too (the first and last days partly), and a
    # queue's series by 5 minutes over the last two days, by the hour before.
    assert Rollup.objects.filter(resource=slow_fn, period="day").count() == DAYS + 1
    queue = Resource.objects.filter(account=account, kind="sqs.queue").first()
    assert queue is not None
    sent = MetricPoint.objects.filter(resource_id=queue.pk, metric="AWS/SQS:NumberOfMessagesSent", stat="Sum")
    assert sent.filter(period=300).count() == 2 * 24 * 12
    assert sent.filter(period=3600).count() == (DAYS - 2) * 24

    again = history_write(
        account=account, region=REGION, endpoint=sandbox.endpoint, specs=specs, traffic=TRAFFIC, end=END, days=DAYS
    )
    assert (again.function_hours, again.invocations, again.metric_points) == (0, 0, 0)
    assert counts(account) == written

    # A resource without data (one found since: a sandbox started afresh gives some new ids)
    # gets its history, and only it.
    queue_points = MetricPoint.objects.filter(resource_id=queue.pk)
    lost = queue_points.count()
    queue_points.delete()
    refilled = history_write(
        account=account, region=REGION, endpoint=sandbox.endpoint, specs=specs, traffic=TRAFFIC, end=END, days=DAYS
    )
    assert (refilled.invocations, refilled.metric_points) == (0, lost) and counts(account) == written
