"""CloudWatch metrics against the sandbox AWS: values stored equal values put, and a second
poll asks only for new periods."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import kinds
from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from aws import clients
from devtools.sandbox.catalog import functions
from devtools.sandbox.seed import admin_client, create_resources
from kinds import load_balancer
from monitoring.collection.metrics import LATE_DATA, MAX_QUERIES
from monitoring.collection.orchestrator import collect_metrics, collect_unit
from monitoring.models import MetricCheckpoint, MetricPoint, Resource

pytestmark = pytest.mark.django_db
REGION = "ca-central-1"  # only this module writes metrics here (moto's state is process-wide)


@pytest.fixture
def account(owner: Any, sandbox: Any) -> AwsAccount:
    if not admin_client("lambda", sandbox.endpoint, REGION).list_functions()["Functions"]:
        create_resources(sandbox.endpoint, REGION, functions(6, seed=21))
    account = aws_account_start(organization=owner.organization, name="Metrics")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=[REGION])
    assert aws_account_validate(account=account).ok
    collect_unit(account, REGION)  # discovery, so the resources exist
    MetricPoint.objects.all().delete()
    MetricCheckpoint.objects.all().delete()
    return account


def minute(offset: int) -> datetime:
    return datetime.now(tz=UTC).replace(second=0, microsecond=0) - timedelta(minutes=offset)


def client_for(account: AwsAccount) -> Any:
    return lambda service: clients.customer_client(account, REGION, service)


def value(account: AwsAccount, resource_id: int, metric: str, stat: str, ts: datetime) -> float:
    return MetricPoint.objects.get(
        account_id=account.pk, resource_id=resource_id, metric=metric, stat=stat, ts=ts
    ).value


def test_values_stored_equal_the_values_put_for_every_statistic(account: AwsAccount, sandbox: Any) -> None:
    cw = admin_client("cloudwatch", sandbox.endpoint, REGION)
    fns = list(Resource.objects.filter(account=account, kind="lambda.function").order_by("name"))
    queues = list(Resource.objects.filter(account=account, kind="sqs.queue").order_by("name"))
    t = minute(10)
    for i, fn in enumerate(fns):
        dims = [{"Name": "FunctionName", "Value": fn.name}]
        durations = [float(10 * (k + 1) + i) for k in range(20)]  # 20 distinct values per function
        cw.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": t, "Value": 20 + i},
                {"MetricName": "Errors", "Dimensions": dims, "Timestamp": t, "Value": i},
                {
                    "MetricName": "Duration",
                    "Dimensions": dims,
                    "Timestamp": t,
                    "Values": durations,
                    "Counts": [1.0] * 20,
                },
                {"MetricName": "ConcurrentExecutions", "Dimensions": dims, "Timestamp": t, "Value": 3 + i},
            ],
        )
    for i, queue in enumerate(queues):
        cw.put_metric_data(
            Namespace="AWS/SQS",
            MetricData=[
                {
                    "MetricName": "ApproximateAgeOfOldestMessage",
                    "Dimensions": [{"Name": "QueueName", "Value": queue.name}],
                    "Timestamp": t,
                    "Value": 100.0 * (i + 1),
                },
                {
                    "MetricName": "NumberOfMessagesSent",
                    "Dimensions": [{"Name": "QueueName", "Value": queue.name}],
                    "Timestamp": t,
                    "Value": 7.0 + i,
                },
            ],
        )

    # A load balancer's host counts exist per target group only: each is asked, the sum stored.
    alb = Resource.objects.get(account=account, kind=load_balancer.ALB, name="shop-alb")
    lb_dims = [{"Name": "LoadBalancer", "Value": load_balancer.dimension(alb.arn)}]
    for unhealthy, target_group in zip((1, 2), alb.config["target_groups"], strict=True):
        dims = [*lb_dims, {"Name": "TargetGroup", "Value": target_group["dimension"]}]
        cw.put_metric_data(
            Namespace="AWS/ApplicationELB",
            MetricData=[{"MetricName": "UnHealthyHostCount", "Dimensions": dims, "Timestamp": t, "Value": unhealthy}],
        )
    cw.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[{"MetricName": "RequestCount", "Dimensions": lb_dims, "Timestamp": t, "Value": 42}],
    )

    summary = collect_metrics(client_for(account), account, REGION, datetime.now(tz=UTC))

    assert value(account, alb.pk, "AWS/ApplicationELB:UnHealthyHostCount", "Maximum", t) == 3.0
    assert value(account, alb.pk, "AWS/ApplicationELB:RequestCount", "Sum", t) == 42.0
    for i, fn in enumerate(fns):
        durations = sorted(float(10 * (k + 1) + i) for k in range(20))
        assert value(account, fn.pk, "AWS/Lambda:Invocations", "Sum", t) == 20 + i
        assert value(account, fn.pk, "AWS/Lambda:Errors", "Sum", t) == i
        assert value(account, fn.pk, "AWS/Lambda:Duration", "Average", t) == pytest.approx(sum(durations) / 20)
        assert value(account, fn.pk, "AWS/Lambda:Duration", "Maximum", t) == durations[-1]
        assert value(account, fn.pk, "AWS/Lambda:Duration", "p95", t) == durations[math.ceil(0.95 * 20) - 1]
        assert value(account, fn.pk, "AWS/Lambda:Duration", "p99", t) == durations[math.ceil(0.99 * 20) - 1]
        assert value(account, fn.pk, "AWS/Lambda:ConcurrentExecutions", "Maximum", t) == 3 + i
    for i, queue in enumerate(queues):
        assert value(account, queue.pk, "AWS/SQS:ApproximateAgeOfOldestMessage", "Maximum", t) == 100.0 * (i + 1)
        assert value(account, queue.pk, "AWS/SQS:NumberOfMessagesSent", "Sum", t) == 7.0 + i
    assert summary.calls == math.ceil(summary.queries / MAX_QUERIES)
    assert (
        summary.queries
        == sum(
            kind.queries_for(r)
            for kind in kinds.all_kinds()
            for r in Resource.objects.filter(account=account, kind=kind.id)
        )
        + 3
    )  # the account-level metrics


def test_a_second_poll_asks_only_for_new_periods_and_stores_no_duplicates(account: AwsAccount, sandbox: Any) -> None:
    cw = admin_client("cloudwatch", sandbox.endpoint, REGION)
    fn = Resource.objects.filter(account=account, kind="lambda.function").first()
    assert fn is not None
    dims = [{"Name": "FunctionName", "Value": fn.name}]
    now = datetime.now(tz=UTC)
    cw.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[{"MetricName": "Invocations", "Dimensions": dims, "Timestamp": minute(3), "Value": 5}],
    )

    first = collect_metrics(client_for(account), account, REGION, now)
    stored = MetricPoint.objects.count()
    later = now + timedelta(seconds=90)
    second = collect_metrics(client_for(account), account, REGION, later)

    first_end = datetime.fromisoformat(first.window[1])  # type: ignore[index]
    assert datetime.fromisoformat(second.window[0]) == first_end - LATE_DATA  # type: ignore[index]
    assert second.kinds == ["lambda.function"]  # only the kind whose 60 s interval passed
    assert MetricPoint.objects.count() == stored  # the re-read overlap duplicated nothing
    cp = MetricCheckpoint.objects.get(account=account, region=REGION, kind="lambda.function")
    assert cp.collected_until == datetime.fromisoformat(second.window[1])  # type: ignore[index]


def test_an_account_can_poll_a_kind_less_often(account: AwsAccount) -> None:
    now = datetime.now(tz=UTC)
    collect_metrics(client_for(account), account, REGION, now)
    account.metric_intervals = {"lambda.function": 600}
    account.save(update_fields=["metric_intervals"])

    second = collect_metrics(client_for(account), account, REGION, now + timedelta(minutes=2))

    assert "lambda.function" not in second.kinds
    assert "sqs.queue" in second.kinds  # still on its own 120 s interval
