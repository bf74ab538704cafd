"""The account page's log ingestion and own-cost sections (docs/push.md, docs/own-cost.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from django.urls import reverse

from accounts.models import AwsAccount, LogIngestion
from aws import usage
from monitoring.models import Resource
from monitoring.own_cost import own_cost

REGION = "mx-central-1"


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    account = AwsAccount.objects.create(organization=owner.organization, name="prod", regions=[REGION])
    now = datetime.now(UTC)
    for name in ("checkout", "refund"):
        Resource.objects.create(
            organization=owner.organization,
            account=account,
            region=REGION,
            kind="lambda.function",
            arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
            name=name,
            first_seen=now,
            last_seen=now,
        )
    return account


def _page(client: Any, account: AwsAccount) -> str:
    response = client.get(reverse("accounts:aws_account_detail", args=[account.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_an_admin_switches_to_push_and_gets_the_endpoint_key_and_stack(owner: Any, account: AwsAccount) -> None:
    client = owner.client()
    assert "Switch to push" in _page(client, account)

    response = client.post(reverse("monitoring:aws_account_ingestion", args=[account.pk]), {"action": "push"})

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.log_ingestion == LogIngestion.PUSH
    page = _page(client, account)
    assert f"/ingest/firehose/{account.push_token}" in page
    assert account.push_access_key in page
    assert "at most two subscription filters" in page

    stack = client.get(reverse("monitoring:aws_account_push_stack", args=[account.pk]), {"region": REGION})
    assert stack.status_code == 200
    template = yaml.safe_load(stack.content)
    filters = [r for r in template["Resources"].values() if r["Type"] == "AWS::Logs::SubscriptionFilter"]
    assert sorted(f["Properties"]["LogGroupName"] for f in filters) == ["/aws/lambda/checkout", "/aws/lambda/refund"]
    assert template["Parameters"]["AccessKey"]["NoEcho"] is True
    stream = template["Resources"]["DeliveryStream"]["Properties"]["HttpEndpointDestinationConfiguration"]
    assert stream["RequestConfiguration"]["CommonAttributes"][0]["AttributeName"] == "region"

    chosen = client.get(
        reverse("monitoring:aws_account_push_stack", args=[account.pk]),
        {"region": REGION, "log_group": "/aws/lambda/refund"},
    )
    assert b"/aws/lambda/checkout" not in chosen.content

    key = account.push_access_key
    client.post(reverse("monitoring:aws_account_ingestion", args=[account.pk]), {"action": "rotate"})
    account.refresh_from_db()
    assert account.push_access_key != key


@pytest.mark.django_db
def test_members_cannot_change_ingestion_and_outsiders_see_nothing(
    teammate: Any, outsider: Any, account: AwsAccount
) -> None:
    url = reverse("monitoring:aws_account_ingestion", args=[account.pk])
    assert teammate.client().post(url, {"action": "push"}).status_code == 403
    assert outsider.client().post(url, {"action": "push"}).status_code == 404
    stack = reverse("monitoring:aws_account_push_stack", args=[account.pk])
    assert outsider.client().get(stack, {"region": REGION}).status_code == 404
    account.refresh_from_db()
    assert account.log_ingestion == LogIngestion.POLL


@pytest.mark.django_db
def test_bad_input_is_a_4xx(owner: Any, account: AwsAccount) -> None:
    client = owner.client()
    url = reverse("monitoring:aws_account_ingestion", args=[account.pk])
    assert client.post(url, {"action": "sideways"}).status_code == 400
    account.refresh_from_db()
    assert account.log_ingestion == LogIngestion.POLL
    stack = reverse("monitoring:aws_account_push_stack", args=[account.pk])
    assert client.get(stack, {"region": REGION}).status_code == 404  # push never set up
    client.post(url, {"action": "push"})
    assert client.get(stack, {"region": "xx-nowhere-1"}).status_code == 404


@pytest.mark.django_db
def test_the_page_shows_our_calls_and_their_monthly_cost(owner: Any, account: AwsAccount) -> None:
    for _ in range(3):
        usage.record_call(account_id=account.pk, region=REGION, service="logs", operation="FilterLogEvents")
    usage.record_call(account_id=account.pk, region=REGION, service="cloudwatch", operation="GetMetricData")
    usage.record_metrics(account_id=account.pk, region=REGION, metrics=500)

    page = _page(owner.client(), account)

    assert "What monitoring costs this account" in page
    assert "FilterLogEvents" in page
    assert "CloudWatch GetMetricData" in page


def test_the_cost_of_a_day_s_calls_is_priced_per_metric_and_per_gb() -> None:
    day = {
        "call:cloudwatch:GetMetricData": 2_880,
        "metrics:GetMetricData": 1_000_000,
        "call:logs:FilterLogEvents": 43_200,
        "call:lambda:ListFunctions": 96,
        "push:billed_bytes": 1024**3,
        "push:bytes": 1024**3,
    }
    today = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()

    cost = own_cost({today: day})

    by_label = {line.label: line.monthly_usd for line in cost.lines}
    assert by_label["CloudWatch GetMetricData"] == pytest.approx(1_000 * 0.01 * 30)
    assert by_label["Firehose ingestion (5 KB per record minimum)"] == pytest.approx(0.029 * 30)
    assert cost.monthly_usd == pytest.approx(300 + 0.87 + 2.7)
    shares = dict(cost.quota_shares)
    assert shares["logs:FilterLogEvents"] == pytest.approx(100 * 43_200 / (5 * 86_400))
    assert ("lambda", "ListFunctions", 96) in cost.calls
