"""Load balancers and AppSync APIs end to end against the sandbox AWS: discovered, their
CloudWatch metrics collected, and checked (the sandbox seeds deliberate mistakes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from devtools.sandbox.catalog import functions
from devtools.sandbox.seed import admin_client, create_resources
from devtools.sandbox.service_traffic import ServiceTraffic
from insights.engine import insights_run
from kinds import appsync_api, load_balancer
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import MetricPoint, Resource

pytestmark = pytest.mark.django_db
REGION = "us-west-1"  # only this module writes load balancer and AppSync metrics here


@pytest.fixture
def account(owner: Any, sandbox: Any) -> AwsAccount:
    if not admin_client("lambda", sandbox.endpoint, REGION).list_functions()["Functions"]:
        create_resources(sandbox.endpoint, REGION, functions(3, seed=31))
    account = aws_account_start(organization=owner.organization, name="Load balancers")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=[REGION])
    assert aws_account_validate(account=account).ok
    return account


def test_an_alb_an_nlb_and_a_graphql_api_are_discovered_measured_and_checked(account: AwsAccount, sandbox: Any) -> None:
    traffic = ServiceTraffic(sandbox.endpoint, REGION, seed=5)
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    for minutes_ago in range(6, 0, -1):
        traffic.tick(60, now=now - timedelta(minutes=minutes_ago, seconds=-30))

    summary = collect_unit(account, REGION)

    assert summary.resources[load_balancer.ALB] == 2
    assert summary.resources[load_balancer.NLB] == 1
    assert summary.resources[appsync_api.KIND] == 2
    assert summary.problems == []
    shop = Resource.objects.get(account=account, kind=load_balancer.ALB, name="shop-alb")
    graphql = Resource.objects.get(account=account, kind=appsync_api.KIND, name="shop-graphql")
    nlb = Resource.objects.get(account=account, kind=load_balancer.NLB, name="tcp-nlb")

    def points(resource: Resource, metric: str, stat: str) -> list[float]:
        rows = MetricPoint.objects.filter(resource_id=resource.pk, metric=metric, stat=stat).order_by("ts")
        return [p.value for p in rows]

    requests = points(shop, "AWS/ApplicationELB:RequestCount", "Sum")
    assert len(requests) == 6 and all(500 <= r <= 700 for r in requests)  # 600 a minute
    assert set(points(shop, "AWS/ApplicationELB:UnHealthyHostCount", "Maximum")) == {1.0}
    assert set(points(shop, "AWS/ApplicationELB:HealthyHostCount", "Minimum")) == {2.0}  # 1 + 2 targets, 1 down
    assert points(shop, "AWS/ApplicationELB:TargetResponseTime", "p95")
    assert set(points(nlb, "AWS/NetworkELB:UnHealthyHostCount", "Maximum")) == {1.0}
    assert len(points(graphql, "AWS/AppSync:Requests", "Sum")) == 6
    assert min(points(graphql, "AWS/AppSync:Latency", "p95")) > 1000  # a slow API

    found = {(f["check"], f["resource"]) for f in insights_run(account).failing}

    assert {
        ("elb-alb-unhealthy-targets", "shop-alb"),
        ("elb-alb-target-5xx-rate-high", "shop-alb"),
        ("elb-alb-http-not-redirected", "shop-alb"),
        ("elb-alb-old-tls-policy", "shop-alb"),
        ("elb-alb-lambda-health-checks", "shop-alb"),
        ("elb-alb-access-logs-off", "shop-alb"),
        ("elb-alb-no-targets", "internal-alb"),
        ("elb-alb-idle", "internal-alb"),
        ("elb-nlb-single-az", "tcp-nlb"),
        ("elb-nlb-unhealthy-targets", "tcp-nlb"),
        ("appsync-api-key-only", "shop-graphql"),
        ("appsync-api-key-expiring", "shop-graphql"),
        ("appsync-logging-off", "shop-graphql"),
        ("appsync-xray-off", "shop-graphql"),
        ("appsync-5xx-errors", "shop-graphql"),
        ("appsync-latency-high", "shop-graphql"),
    } <= found
    assert {
        ("elb-alb-idle", "shop-alb"),
        ("elb-alb-no-targets", "shop-alb"),
        ("elb-alb-old-tls-policy", "internal-alb"),
        ("elb-alb-deletion-protection-off", "internal-alb"),
        ("elb-alb-access-logs-off", "internal-alb"),
        ("appsync-logging-off", "admin-graphql"),
        ("appsync-xray-off", "admin-graphql"),
        ("appsync-api-key-only", "admin-graphql"),
        ("appsync-latency-high", "admin-graphql"),
    } & found == set()
