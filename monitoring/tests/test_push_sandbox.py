"""Against the sandbox (moto server): our calls are counted per account × region × day, and
the subscription-filter check reports log groups that have no room for ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from accounts.services import aws_account_ingestion_set
from aws import clients, usage
from monitoring.ingest.account_views import subscription_check

REGION = "mx-central-1"


def connect(account: Any, sandbox: Any, region: str) -> Any:
    """The role, without the whole validation: moto lacks some services in this region."""
    type(account).objects.filter(pk=account.pk).update(
        role_arn=sandbox.state.role_arn, regions=[region], status="connected", aws_account_id="123456789012"
    )
    account.refresh_from_db()
    return account


@pytest.mark.django_db
def test_calls_and_metrics_requested_are_counted(account: Any, sandbox: Any) -> None:
    account = connect(account, sandbox, REGION)
    before = usage.usage_of(account.pk, days=1).get(REGION, {})
    base = next(iter(before.values()), {})
    cw = clients.customer_client(account, REGION, "cloudwatch")
    now = datetime.now(UTC)
    queries = [
        {
            "Id": f"m{n}",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations"},
                "Period": 60,
                "Stat": "Sum",
            },
        }
        for n in range(3)
    ] + [{"Id": "total", "Expression": "m0 + m1"}]
    cw.get_metric_data(MetricDataQueries=queries, StartTime=now - timedelta(hours=1), EndTime=now)
    clients.customer_client(account, REGION, "logs").describe_log_groups()

    (counts,) = usage.usage_of(account.pk, days=1)[REGION].values()

    assert counts["call:cloudwatch:GetMetricData"] - base.get("call:cloudwatch:GetMetricData", 0) == 1
    assert counts["metrics:GetMetricData"] - base.get("metrics:GetMetricData", 0) == 3  # expressions are free
    assert counts["call:logs:DescribeLogGroups"] - base.get("call:logs:DescribeLogGroups", 0) == 1


@pytest.mark.django_db
def test_the_check_reports_log_groups_with_two_filters_already(owner: Any, account: Any, sandbox: Any) -> None:
    from monitoring.models import Resource

    account = connect(account, sandbox, REGION)
    aws_account_ingestion_set(account=account, mode="push")
    import boto3

    admin = boto3.client(
        "logs", region_name=REGION, endpoint_url=sandbox.endpoint, aws_access_key_id="x", aws_secret_access_key="x"
    )
    now = datetime.now(UTC)
    for name in ("full-fn", "free-fn"):
        admin.create_log_group(logGroupName=f"/aws/lambda/{name}")
        Resource.objects.create(
            organization=account.organization,
            account=account,
            region=REGION,
            kind="lambda.function",
            arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
            name=name,
            first_seen=now,
            last_seen=now,
        )

    # The customer's own two filters, to Firehose streams of theirs.
    def aws(service: str) -> Any:
        return boto3.client(
            service, region_name=REGION, endpoint_url=sandbox.endpoint, aws_access_key_id="x", aws_secret_access_key="x"
        )

    aws("s3").create_bucket(Bucket="their-logs", CreateBucketConfiguration={"LocationConstraint": REGION})
    for n in range(2):
        stream = aws("firehose").create_delivery_stream(
            DeliveryStreamName=f"theirs-{n}",
            ExtendedS3DestinationConfiguration={
                "RoleARN": sandbox.state.role_arn,
                "BucketARN": "arn:aws:s3:::their-logs",
            },
        )["DeliveryStreamARN"]
        admin.put_subscription_filter(
            logGroupName="/aws/lambda/full-fn",
            filterName=f"theirs-{n}",
            filterPattern="",
            destinationArn=stream,
            roleArn=sandbox.state.role_arn,
        )

    response = owner.client().post(
        reverse("monitoring:aws_account_subscriptions", args=[account.pk]), {"region": REGION}
    )

    assert response.status_code == 302
    found = {g.log_group: g for g in subscription_check(account, REGION) or []}
    assert found["/aws/lambda/full-fn"].full
    assert not found["/aws/lambda/free-fn"].full
    page = owner.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).content.decode()
    assert "/aws/lambda/full-fn" in page
