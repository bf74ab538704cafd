"""What an account collects beyond its resources, against the sandbox AWS: the account-level
metrics of each region apart, Lambda's account settings, every enabled region when asked for
"all", and the include/exclude filters applied before anything is collected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.api_tokens import api_token_create
from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_filters_update, aws_account_validate
from aws import clients
from devtools.sandbox import server as sandbox_server
from devtools.sandbox.seed import admin_client
from insights.engine import insights_run
from insights.models import Finding, FindingStatus
from kinds import REQUIRED_ACTIONS
from monitoring.collection.orchestrator import collect_unit, regions_due, regions_refresh
from monitoring.models import AccountRegion, LogCheckpoint, MetricPoint, Resource
from monitoring.tests.conftest import connect

pytestmark = pytest.mark.django_db

REGION_A, REGION_B = "me-central-1", "il-central-1"  # the account-level metrics test's own
FILTER_REGION = "eu-central-2"  # the filters test's own
PEAK = "AWS/Lambda:ConcurrentExecutions"


@pytest.fixture
def low_limit_in_b() -> Iterator[None]:
    sandbox_server.LAMBDA_CONCURRENCY_LIMITS[REGION_B] = 50
    yield
    sandbox_server.LAMBDA_CONCURRENCY_LIMITS.pop(REGION_B, None)


def _put_account_metric(sandbox: Any, region: str, name: str, value: float) -> None:
    """A datapoint of the account's own series: no dimension, as Lambda publishes them."""
    admin_client("cloudwatch", sandbox.endpoint, region).put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": name, "Value": value, "Unit": "Count", "Timestamp": timezone.now() - timedelta(minutes=2)}
        ],
    )


# --- account-level metrics, one series per region ------------------------------------------------


def test_each_region_keeps_its_own_account_level_series(
    account: AwsAccount, sandbox: Any, owner: Any, low_limit_in_b: None
) -> None:
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=[REGION_A, REGION_B])
    assert aws_account_validate(account=account).ok
    account.refresh_from_db()
    _put_account_metric(sandbox, REGION_A, "ConcurrentExecutions", 40)
    _put_account_metric(sandbox, REGION_B, "ConcurrentExecutions", 45)
    _put_account_metric(sandbox, REGION_B, "UnreservedConcurrentExecutions", 45)

    for region in (REGION_A, REGION_B):
        collect_unit(account, region)

    stored = {
        p.region: p.value
        for p in MetricPoint.objects.filter(account_id=account.pk, resource_id=0, metric=PEAK, stat="Maximum")
    }
    assert stored == {REGION_A: 40.0, REGION_B: 45.0}  # the second region did not overwrite the first

    # The API serves each region's series; a region is required for the account's own.
    secret = api_token_create(organization=owner.organization, name="t", by=owner.user)[1]
    headers = {"Authorization": f"Bearer {secret}"}
    query: dict[str, Any] = {"account": account.pk, "metric": PEAK, "stat": "Maximum", "period": "24h"}
    for region, value in ((REGION_A, 40.0), (REGION_B, 45.0)):
        answer = Client().get(reverse("api:metrics"), {**query, "region": region}, headers=headers).json()
        assert answer["region"] == region
        assert [p["value"] for p in answer["points"]] == [value]
    missing = Client().get(reverse("api:metrics"), query, headers=headers)
    assert missing.status_code == 400 and "region" in missing.json()["error"]

    # lambda:GetAccountSettings, once per region at discovery: AWS's default quota in A, a low one in B.
    limits = {
        r.region: (r.lambda_concurrency_limit, r.lambda_unreserved_concurrency) for r in AccountRegion.objects.all()
    }
    assert limits == {REGION_A: (1000, 1000), REGION_B: (50, 50)}

    # The account checks run per region, on that region's limit and peak.
    insights_run(account)
    open_findings = {
        (f.check_id, f.region)
        for f in Finding.objects.filter(account=account, resource=None, status=FindingStatus.OPEN)
    }
    assert open_findings == {
        ("account-concurrency-limit-low", REGION_B),
        ("account-concurrency-near-limit", REGION_B),  # 45 of 50
        ("account-unreserved-concurrency-near-limit", REGION_B),
    }
    near = Finding.objects.get(account=account, check_id="account-concurrency-near-limit")
    assert near.evidence["peak_concurrency"] == 45.0 and near.evidence["concurrency_limit"] == 50.0

    page = owner.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).content.decode()
    assert f"{REGION_A}: limit 1000" in page and f"{REGION_B}: limit 50" in page


# --- all enabled regions --------------------------------------------------------------------------


def test_all_regions_collects_every_enabled_region_found_at_each_discovery(
    account: AwsAccount, sandbox: Any, owner: Any
) -> None:
    connect(account, sandbox, "us-east-1")
    AwsAccount.objects.filter(pk=account.pk).update(all_regions=True)
    account.refresh_from_db()
    assert regions_due(account, timezone.now())

    with clients.recording() as recorder:
        found = regions_refresh(account)

    # The sandbox (moto) does not answer account:ListRegions; ec2:DescribeRegions stands in.
    assert recorder.calls[("account", "ListRegions")] == 1
    assert recorder.calls[("ec2", "DescribeRegions")] == 1
    account.refresh_from_db()
    assert found and account.regions == found and len(found) >= 17  # AWS enables 17 by default
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(found)
    assert not [r for r in found if r.startswith(("us-gov-", "cn-"))]  # other partitions, other accounts
    assert not regions_due(account, timezone.now())
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert regions_due(account, timezone.now())  # listed again at the next discovery

    page = owner.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).content.decode()
    assert f"All enabled regions ({len(found)})" in page and "eu-west-1" in page


def test_all_regions_is_chosen_in_the_wizard_and_listed_when_validating(
    account: AwsAccount, sandbox: Any, owner: Any
) -> None:
    client = owner.client()
    url = reverse("accounts:aws_account_setup", args=[account.pk])
    bad = client.post(url, {"name": "S", "role_arn": sandbox.state.role_arn, "regions": "all, us-east-1"})
    assert "Not AWS region names" in bad.content.decode()
    response = client.post(url, {"name": "S", "role_arn": sandbox.state.role_arn, "regions": "ALL"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.all_regions and account.regions_found_at is not None
    assert "us-east-1" in account.regions and len(account.regions) >= 17


def test_when_neither_region_api_answers_the_regions_stay_and_the_page_says_why(
    account: AwsAccount, sandbox: Any
) -> None:
    role = sandbox.make_role(
        "NoRegions",
        external_id=account.external_id,
        actions=[a for a in REQUIRED_ACTIONS if a not in {"account:ListRegions", "ec2:DescribeRegions"}],
    )
    connect(account, sandbox, "us-east-1", role_arn=role)
    AwsAccount.objects.filter(pk=account.pk).update(all_regions=True)
    account.refresh_from_db()

    assert regions_refresh(account) is None

    account.refresh_from_db()
    assert account.regions == ["us-east-1"]
    problem = next(p for p in account.problems if p["collector"] == "regions")
    assert "ec2:DescribeRegions" in problem["message"] and "account:ListRegions" in problem["message"]


# --- include / exclude filters --------------------------------------------------------------------


def _seed_filter_region(sandbox: Any) -> None:
    lam = admin_client("lambda", sandbox.endpoint, FILTER_REGION)
    if lam.list_functions()["Functions"]:
        return
    role = f"arn:aws:iam::{sandbox.state.account_id}:role/sandbox-lambda-exec"
    for name, tags in (
        ("shop-api-handler", {"env": "prod"}),
        ("shop-dev-handler", {"env": "dev"}),
        ("batch-report", {"env": "prod"}),
    ):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Tags=tags,
        )
    sqs = admin_client("sqs", sandbox.endpoint, FILTER_REGION)
    sqs.create_queue(QueueName="shop-orders")
    sqs.create_queue(QueueName="tmp-queue")


def _names(account: AwsAccount) -> set[str]:
    return set(Resource.objects.filter(account=account, gone_at=None).values_list("name", flat=True))


def test_filters_keep_excluded_resources_from_every_detail_metric_and_log_call(
    account: AwsAccount, sandbox: Any, owner: Any
) -> None:
    _seed_filter_region(sandbox)
    connect(account, sandbox, FILTER_REGION)
    aws_account_filters_update(account=account, include=["shop-*"], exclude=["env=dev"])
    account.refresh_from_db()

    with clients.recording() as recorder:
        summary = collect_unit(account, FILTER_REGION)

    assert _names(account) == {"shop-api-handler", "shop-orders"}
    calls = recorder.calls
    # batch-report and tmp-queue: excluded by name from the listing, never read.
    # shop-dev-handler: excluded by the region's tags (one tag:GetResources), never read.
    assert calls[("resourcegroupstaggingapi", "GetResources")] == 1  # every kind's tags
    assert ("lambda", "ListTags") not in calls
    assert calls[("lambda", "GetFunctionConcurrency")] == 1
    assert calls[("lambda", "GetPolicy")] == 1
    assert calls[("sqs", "GetQueueAttributes")] == 1
    assert not LogCheckpoint.objects.filter(resource__account=account).exclude(resource__name="shop-api-handler")
    assert (
        summary.metrics["queries"]
        == sum(len(spec.stats) for r in Resource.objects.filter(account=account) for spec in _kind(r).metrics) + 3
    )  # + the account-level series
    assert AccountRegion.objects.get(account=account, region=FILTER_REGION).excluded_resources == 3
    page = owner.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).content.decode()
    assert "3 resources excluded by filters" in page

    # A stored resource the filters now exclude stops being collected, is hidden, and says why.
    aws_account_filters_update(account=account, include=["shop-*"], exclude=["env=dev", "shop-api-*"])
    account.refresh_from_db()
    collect_unit(account, FILTER_REGION)
    handler = Resource.objects.get(account=account, name="shop-api-handler")
    assert handler.excluded and handler.gone_at is not None
    assert _names(account) == {"shop-orders"}
    client = owner.client()
    assert "shop-api-handler" not in client.get(reverse("monitoring:resources")).content.decode()
    detail = client.get(reverse("monitoring:resource_detail", args=[handler.pk])).content.decode()
    assert "excluded by filters" in detail

    # Lifting the filters brings everything back, the excluded one with its history.
    aws_account_filters_update(account=account, include=[], exclude=[])
    account.refresh_from_db()
    collect_unit(account, FILTER_REGION)
    assert _names(account) == {"shop-api-handler", "shop-dev-handler", "batch-report", "shop-orders", "tmp-queue"}
    handler.refresh_from_db()
    assert not handler.excluded and handler.gone_at is None


def _kind(resource: Resource) -> Any:
    import kinds

    return kinds.get(resource.kind)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("include", "=prod", "no tag key"),
        ("exclude", "env=", "no value after"),
        ("include", "bad\x01name", "control characters"),
        ("exclude", "x" * 300, "longer than 256"),
        ("include", "\n".join(f"f{i}" for i in range(51)), "At most 50"),
        ("exclude", "{key}=1".format(key="k" * 200), "is not a tag key"),
    ],
)
def test_bad_filters_are_form_errors(account: AwsAccount, owner: Any, field: str, value: str, message: str) -> None:
    response = owner.client().post(reverse("accounts:aws_account_filters", args=[account.pk]), {field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    account.refresh_from_db()
    assert account.include_filters == [] and account.exclude_filters == []


def test_filters_are_saved_by_managers_only_and_within_the_organisation(
    account: AwsAccount, owner: Any, teammate: Any, outsider: Any
) -> None:
    url = reverse("accounts:aws_account_filters", args=[account.pk])
    assert teammate.client().post(url, {"include": "a-*"}).status_code == 403
    assert outsider.client().post(url, {"include": "a-*"}).status_code == 404
    response = owner.client().post(url, {"include": "orders-*\n\n team = payments \norders-*", "exclude": "*-dev"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.include_filters == ["orders-*", "team=payments"]
    assert account.exclude_filters == ["*-dev"]
    page = teammate.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).content.decode()
    assert "<code>team=payments</code>" in page
