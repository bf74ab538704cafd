"""The configuration keys the checks may read (test_checks_registry.CONFIG_KEYS) are exactly
what discovery stores, kind by kind, against the sandbox AWS: so that the registry test's
"every input a check reads is collected" rests on what collection really produces."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from insights.engine import insights_run
from insights.models import Finding, FindingStatus
from insights.tests.test_checks_registry import CONFIG_KEYS
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import Resource

pytestmark = pytest.mark.django_db


def test_the_configuration_keys_checks_read_are_the_ones_discovery_stores(owner: Any, sandbox: Any) -> None:
    account = aws_account_start(organization=owner.organization, name="Sandbox")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=["us-east-1"])
    assert aws_account_validate(account=account).ok

    collect_unit(account, "us-east-1")

    stored: dict[str, set[str]] = {}
    for resource in Resource.objects.filter(account=account):
        stored.setdefault(resource.kind, set()).update(resource.config)
    assert stored == {kind: set(keys) for kind, keys in CONFIG_KEYS.items() if kind != "account"}

    # And the two inputs that used to be missing reach their checks.
    insights_run(account)
    public = Finding.objects.get(account=account, check_id="lambda-public-policy", status=FindingStatus.OPEN)
    assert public.resource is not None and public.resource.name == "payments-webhook"
    assert public.evidence == {"statements": ["FunctionURLAllowPublicAccess"], "principals": ["*"]}
    low = Finding.objects.filter(account=account, check_id="account-concurrency-limit-low")
    assert not low.filter(status=FindingStatus.OPEN).exists()  # the sandbox's quota is AWS's default 1,000
