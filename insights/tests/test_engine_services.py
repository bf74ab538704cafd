"""ECS services and Firehose delivery streams end to end against the sandbox AWS: discovered,
their CloudWatch metrics collected, and checked (the sandbox seeds healthy and broken ones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from devtools.sandbox.traffic import TrafficGenerator
from insights.engine import insights_run
from insights.models import Finding
from kinds import ecs_service, firehose_stream
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import MetricPoint, Resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner: Any, sandbox: Any) -> AwsAccount:
    account = aws_account_start(organization=owner.organization, name="Sandbox")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=["us-east-1"])
    assert aws_account_validate(account=account).ok
    return account


def service_traffic(sandbox: Any, minutes: int) -> None:
    """The services' metrics only (no function): one datum per metric per minute."""
    generator = TrafficGenerator(
        [], logs=sandbox.admin("logs"), cloudwatch=sandbox.admin("cloudwatch"), seed=5, per_minute=0
    )
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    for back in range(minutes, 0, -1):
        generator.tick(60, now=now - timedelta(minutes=back))


def points(account: AwsAccount, kind: str, name: str, metric: str, stat: str) -> list[float]:
    resource = Resource.objects.get(account=account, kind=kind, name=name)
    rows = MetricPoint.objects.filter(account_id=account.pk, resource_id=resource.pk, metric=metric, stat=stat)
    return [row.value for row in rows.order_by("ts")]


def test_ecs_services_and_delivery_streams_are_discovered_measured_and_checked(
    account: AwsAccount, sandbox: Any, owner: Any
) -> None:
    service_traffic(sandbox, minutes=5)

    summary = collect_unit(account, "us-east-1")
    found = {(f["check"], f["resource"]) for f in insights_run(account).failing}

    assert summary.resources[ecs_service.KIND] == 4 and summary.resources[firehose_stream.KIND] == 2
    cpu = points(account, ecs_service.KIND, "api", "AWS/ECS:CPUUtilization", "Average")
    assert len(cpu) >= 5 and all(70 < v <= 100 for v in cpu)  # other tests tick traffic here too
    assert (
        points(account, ecs_service.KIND, "web", "ECS/ContainerInsights:RunningTaskCount", "Average")[-5:] == [2.0] * 5
    )
    assert points(account, ecs_service.KIND, "worker", "AWS/ECS:CPUUtilization", "Average") == []  # no task runs
    success = points(account, firehose_stream.KIND, "app-logs", "AWS/Firehose:DeliveryToS3.Success", "Average")
    assert len(success) >= 5 and set(success) == {0.72}
    assert len(points(account, firehose_stream.KIND, "clickstream-archive", "AWS/Firehose:IncomingRecords", "Sum")) >= 5

    assert {
        ("ecs-tasks-below-desired", "worker"),
        ("ecs-fargate-platform-outdated", "worker"),
        ("ecs-public-ip", "worker"),
        ("ecs-container-without-logging", "worker"),
        ("ecs-no-container-insights", "worker"),
        ("ecs-cpu-high", "api"),
        ("ecs-no-auto-scaling", "api"),
        ("ecs-over-provisioned", "reports"),
        ("firehose-delivery-failing", "app-logs"),
        ("firehose-data-freshness-high", "app-logs"),
        ("firehose-throttled", "app-logs"),
        ("firehose-no-encryption", "app-logs"),
        ("firehose-no-error-logging", "app-logs"),
        ("firehose-no-error-output-prefix", "app-logs"),
        ("firehose-small-buffer", "app-logs"),
    } <= found
    healthy = {resource for _, resource in found if resource in {"web", "clickstream-archive"}}
    assert healthy == set(), sorted(f for f in found if f[1] in {"web", "clickstream-archive"})
    failing = Finding.objects.get(check_id="firehose-delivery-failing", resource__name="app-logs")
    assert failing.evidence["success_percent"] == 72.0

    # Their pages and the resources list show them (the kinds' sections render there).
    client = owner.client()
    listing = client.get(reverse("monitoring:resources")).content.decode()
    assert "shop · FARGATE · 2/2 tasks" in listing and "Direct PUT → S3" in listing
    for kind, name in [(ecs_service.KIND, "worker"), (firehose_stream.KIND, "app-logs")]:
        resource = Resource.objects.get(account=account, kind=kind, name=name)
        page = client.get(reverse("monitoring:resource_detail", args=[resource.pk]))
        assert page.status_code == 200 and name in page.content.decode()
