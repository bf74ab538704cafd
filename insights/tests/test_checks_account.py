"""Account-level Lambda concurrency checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

PEAK = "AWS/Lambda:ConcurrentExecutions:Maximum"
UNRESERVED_PEAK = "AWS/Lambda:UnreservedConcurrentExecutions:Maximum"


def account(limit: int | None = 1000, unreserved: int | None = 900, **metrics: float) -> Any:
    keys = {"peak": PEAK, "unreserved_peak": UNRESERVED_PEAK}
    return make(
        "account",
        {"concurrency_limit": limit, "unreserved_concurrency": unreserved},
        metrics={keys[k]: v for k, v in metrics.items()},
    )


CASES = [
    Case(
        "account-concurrency-near-limit",
        account(peak=900),
        {"peak_concurrency": 900.0, "concurrency_limit": 1000.0, "usage_percent": 90.0, "threshold_percent": 80.0},
        account(peak=500),
        ("Peak concurrency 900 is 90 % of the 1,000 limit, above 80 %.",),
    ),
    Case(
        "account-unreserved-concurrency-near-limit",
        account(unreserved=100, unreserved_peak=95),
        {"peak_unreserved_concurrency": 95.0, "unreserved_concurrency": 100.0, "usage_percent": 95.0},
        account(unreserved=100, unreserved_peak=10),
    ),
    Case(
        "account-concurrency-limit-low",
        account(limit=10, unreserved=10),
        {"concurrency_limit": 10.0, "threshold": 1000},
        account(limit=1000),
    ),
]


def test_every_account_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("account")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_unknown_limit_is_not_applicable() -> None:
    assert evaluate("account-concurrency-near-limit", account(limit=None, peak=900)) is None
    assert evaluate("account-concurrency-near-limit", account()) is None
