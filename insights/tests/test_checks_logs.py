"""Log-group checks of Lambda functions."""

from __future__ import annotations

from typing import Any

import pytest

from insights.checks import InvocationStats
from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

KIND = "lambda.function"
BASE: dict[str, Any] = {
    "runtime": "python3.12",
    "log_group": "/aws/lambda/orders",
    "log_group_exists": True,
    "log_retention_days": 30,
}


def fn(**cfg: Any) -> Any:
    metrics = cfg.pop("metrics", None)
    stats = cfg.pop("stats", None)
    return make(KIND, {**BASE, **cfg}, metrics=metrics, stats=stats)


CASES = [
    Case(
        "logs-retention-not-set",
        fn(log_retention_days=None),
        {"log_group": "/aws/lambda/orders", "retention_days": None},
        fn(log_retention_days=30),
        ("never expire",),
    ),
    Case(
        "logs-retention-very-long",
        fn(log_retention_days=3653),
        {"log_group": "/aws/lambda/orders", "retention_days": 3653, "threshold_days": 365},
        fn(log_retention_days=90),
    ),
    Case(
        "logs-group-missing",
        fn(log_group_exists=False, log_retention_days=None, metrics={"AWS/Lambda:Invocations:Sum": 50}),
        {"log_group": "/aws/lambda/orders", "invocations": 50.0},
        fn(),
    ),
]


def test_every_logs_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("logs")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_retention_unknown_when_log_groups_could_not_be_listed() -> None:
    # Discovery stores log_group_exists None (and retention None) when DescribeLogGroups failed.
    assert evaluate("logs-retention-not-set", fn(log_group_exists=None, log_retention_days=None)) is None
    assert evaluate("logs-retention-not-set", fn(log_group_exists=False, log_retention_days=None)) is None


def test_missing_group_of_a_never_invoked_function_is_expected() -> None:
    assert evaluate("logs-group-missing", fn(log_group_exists=False)) is None
    assert evaluate("logs-group-missing", fn(log_group_exists=False, stats=InvocationStats())) is None
    from_logs = evaluate("logs-group-missing", fn(log_group_exists=False, stats=InvocationStats(invocations=3)))
    assert from_logs is not None and not from_logs.passed
