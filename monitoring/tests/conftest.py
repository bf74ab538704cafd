"""Collection against the sandbox AWS: an account connected to it, functions of a region of
the test's own (moto's state is global to the session), and traffic with a ledger."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pytest

from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from devtools.sandbox.catalog import functions
from devtools.sandbox.seed import admin_client, create_resources
from devtools.sandbox.traffic import TrafficGenerator
from monitoring.models import Invocation

_REGION_OWNERS: dict[str, str] = {}


def seeded_region(sandbox: Any, region: str, count: int = 8) -> list[Any]:
    """Functions of our own in a region no other test writes logs to. Two tests sharing one
    would see each other's functions and traffic, so a second claimant fails right away."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    owner = _REGION_OWNERS.setdefault(region, test)
    assert owner == test, f"{region} is already the sandbox region of {owner}: give {test} a region of its own"
    specs = functions(count, seed=11)
    lam = admin_client("lambda", sandbox.endpoint, region)
    if not lam.list_functions()["Functions"]:
        create_resources(sandbox.endpoint, region, specs)
    return specs


@pytest.fixture
def account(owner: Any, sandbox: Any) -> AwsAccount:
    account = aws_account_start(organization=owner.organization, name="Sandbox")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    return account


def connect(account: AwsAccount, sandbox: Any, region: str, role_arn: str | None = None) -> AwsAccount:
    aws_account_configure(account=account, role_arn=role_arn or sandbox.state.role_arn, regions=[region])
    assert aws_account_validate(account=account).ok
    account.refresh_from_db()
    return account


def traffic(sandbox: Any, region: str, specs: list[Any], seed: int, per_minute: float = 400) -> TrafficGenerator:
    return TrafficGenerator(
        specs,
        logs=admin_client("logs", sandbox.endpoint, region),
        cloudwatch=admin_client("cloudwatch", sandbox.endpoint, region),
        seed=seed,
        per_minute=per_minute,
    )


def generate(
    sandbox: Any, region: str, specs: list[Any], ticks: int, seed: int, now: datetime | None = None
) -> dict[str, Any]:
    generator = traffic(sandbox, region, specs, seed)
    for _ in range(ticks):
        generator.tick(20, now=now)
    return generator.ledger.as_dict()


def stored_counts(account: AwsAccount) -> dict[str, Any]:
    invocations = Invocation.objects.filter(account_id=account.pk)
    by_status: dict[str, dict[str, int]] = {}
    for row in invocations.values("resource__name", "status"):
        by_status.setdefault(row["resource__name"], {}).setdefault(row["status"], 0)
        by_status[row["resource__name"]][row["status"]] += 1
    return {
        "total": invocations.count(),
        "by_status": by_status,
        "cold_starts": invocations.filter(cold_start=True).count(),
        "complete": invocations.filter(complete=True).count(),
    }
