"""Incremental discovery against the sandbox AWS (its own region, ca-west-1): the listings
every run, a function's details only when it is new, changed, or due for its daily refresh."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import pytest

from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from devtools.sandbox.seed import admin_client
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import Resource, ResourceChange

pytestmark = pytest.mark.django_db

REGION = "ca-west-1"
NAMES = ["inc-alpha", "inc-beta", "inc-gamma"]
DETAIL_CALLS = {
    "GetFunctionConcurrency",
    "ListProvisionedConcurrencyConfigs",
    "GetFunctionUrlConfig",
    "GetFunctionEventInvokeConfig",
    "GetPolicy",
    "ListTags",
}


@pytest.fixture(scope="module")
def functions(sandbox_aws: Any) -> Any:
    lam = admin_client("lambda", sandbox_aws.endpoint, REGION)
    for i, name in enumerate(NAMES):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=f"arn:aws:iam::{sandbox_aws.state.account_id}:role/sandbox-lambda-exec",
            Handler="app.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Tags={"team": "payments" if i else "search"},
        )
    lam.put_function_concurrency(FunctionName="inc-alpha", ReservedConcurrentExecutions=5)
    yield lam
    for name in NAMES:
        lam.delete_function(FunctionName=name)


@pytest.fixture
def account(owner: Any, sandbox: Any, functions: Any) -> AwsAccount:
    account = aws_account_start(organization=owner.organization, name="Incremental")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=[REGION])
    assert aws_account_validate(account=account).ok
    return account


def detail_calls(summary: Any) -> dict[str, int]:
    return {op: n for op, n in summary.api_calls.get("lambda", {}).items() if op in DETAIL_CALLS}


def fn(account: AwsAccount, name: str) -> Resource:
    return Resource.objects.get(account=account, kind="lambda.function", name=name)


def test_a_second_run_reads_no_details_of_unchanged_functions(account: AwsAccount) -> None:
    first = collect_unit(account, REGION)
    assert detail_calls(first)["GetFunctionConcurrency"] == 3
    assert first.changes["details_read"] == 3

    second = collect_unit(account, REGION)

    assert detail_calls(second) == {}
    assert second.changes["details_read"] == 0
    assert second.api_calls["lambda"]["ListFunctions"] == 1  # the listing, every run
    assert second.api_calls["resourcegroupstaggingapi"]["GetResources"] == 1  # the region's tags, every run
    # Nothing reused looks like a change, and the details read before are kept.
    assert not ResourceChange.objects.filter(resource__account=account).exists()
    assert fn(account, "inc-alpha").config["reserved_concurrency"] == 5
    assert fn(account, "inc-beta").tags == {"team": "payments"}


def test_a_changed_function_is_read_again_alone(account: AwsAccount, functions: Any) -> None:
    collect_unit(account, REGION)
    functions.update_function_configuration(FunctionName="inc-beta", MemorySize=1024)
    functions.put_function_concurrency(FunctionName="inc-beta", ReservedConcurrentExecutions=7)
    try:
        summary = collect_unit(account, REGION)
    finally:
        functions.delete_function_concurrency(FunctionName="inc-beta")

    assert detail_calls(summary)["GetFunctionConcurrency"] == 1
    assert summary.changes["details_read"] == 1
    beta = fn(account, "inc-beta")
    assert (beta.config["memory_mb"], beta.config["reserved_concurrency"]) == (1024, 7)
    assert ResourceChange.objects.get(resource=beta).diff["reserved_concurrency"] == [None, 7]


def test_tags_come_from_the_region_listing_at_every_run(account: AwsAccount, functions: Any) -> None:
    collect_unit(account, REGION)
    gamma_arn = fn(account, "inc-gamma").arn
    functions.tag_resource(Resource=gamma_arn, Tags={"env": "staging"})
    try:
        summary = collect_unit(account, REGION)
    finally:
        functions.untag_resource(Resource=gamma_arn, TagKeys=["env"])

    assert detail_calls(summary) == {}
    assert fn(account, "inc-gamma").tags == {"team": "payments", "env": "staging"}


def test_details_older_than_a_day_are_read_again(account: AwsAccount, functions: Any) -> None:
    collect_unit(account, REGION)
    alpha = fn(account, "inc-alpha")
    assert alpha.details_read_at is not None
    Resource.objects.filter(pk=alpha.pk).update(details_read_at=alpha.details_read_at - timedelta(hours=25))
    # Set where the listing cannot see it: only the daily refresh finds it.
    functions.put_function_concurrency(FunctionName="inc-alpha", ReservedConcurrentExecutions=9)
    try:
        summary = collect_unit(account, REGION)
    finally:
        functions.put_function_concurrency(FunctionName="inc-alpha", ReservedConcurrentExecutions=5)

    assert detail_calls(summary)["GetFunctionConcurrency"] == 1
    assert fn(account, "inc-alpha").config["reserved_concurrency"] == 9


def test_a_tag_filter_excludes_a_function_without_reading_it(account: AwsAccount) -> None:
    AwsAccount.objects.filter(pk=account.pk).update(exclude_filters=["team=search"])
    account.refresh_from_db()

    summary = collect_unit(account, REGION)

    assert detail_calls(summary)["GetFunctionConcurrency"] == 2
    assert not Resource.objects.filter(account=account, name="inc-alpha").exists()
    assert summary.resources["lambda.function"] == 2


def test_log_groups_are_read_with_the_details_not_listed_every_run(
    account: AwsAccount, sandbox: Any, settings: Any
) -> None:
    # A refresh so slow that no run here reads a function of the rolling slice.
    settings.DISCOVERY_DETAILS_REFRESH_HOURS = 24 * 365
    logs = admin_client("logs", sandbox.endpoint, REGION)
    logs.create_log_group(logGroupName="/aws/lambda/inc-alpha")
    logs.put_retention_policy(logGroupName="/aws/lambda/inc-alpha", retentionInDays=14)
    logs.create_log_group(logGroupName="/aws/lambda/inc-beta")
    try:
        first = collect_unit(account, REGION)
        assert first.api_calls["logs"]["DescribeLogGroups"] == 1  # the three functions' groups, one call
        alpha = fn(account, "inc-alpha").config
        assert (alpha["log_group_exists"], alpha["log_retention_days"]) == (True, 14)
        assert fn(account, "inc-gamma").config["log_group_exists"] is False

        # Nothing due but gamma, whose group is missing: looked for again (it appears at the
        # first invocation), and found; the others keep what was read.
        logs.put_retention_policy(logGroupName="/aws/lambda/inc-alpha", retentionInDays=30)
        logs.create_log_group(logGroupName="/aws/lambda/inc-gamma")
        second = collect_unit(account, REGION)
        assert second.api_calls["logs"]["DescribeLogGroups"] == 1
        assert fn(account, "inc-gamma").config["log_group_exists"] is True
        assert fn(account, "inc-alpha").config["log_retention_days"] == 14

        third = collect_unit(account, REGION)
        assert "DescribeLogGroups" not in third.api_calls.get("logs", {})  # every group known, none due

        # Alpha's refresh reads its group again: the new retention is a change.
        read_at = fn(account, "inc-alpha").details_read_at
        assert read_at is not None
        Resource.objects.filter(pk=fn(account, "inc-alpha").pk).update(details_read_at=read_at - timedelta(days=366))
        collect_unit(account, REGION)
        alpha_row = fn(account, "inc-alpha")
        assert alpha_row.config["log_retention_days"] == 30
        assert ResourceChange.objects.get(resource=alpha_row).diff["log_retention_days"] == [14, 30]
    finally:
        for name in NAMES:
            with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
                logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")
