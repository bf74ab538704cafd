"""EventBridge rule checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

KIND = "events.rule"
FN = "arn:aws:lambda:eu-west-1:123456789012:function:orders"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:orders"
DLQ = "arn:aws:sqs:eu-west-1:123456789012:orders-events-dlq"


def target(arn: str = FN, dlq: str | None = DLQ, retries: int | None = None) -> dict[str, Any]:
    return {
        "id": "t1",
        "arn": arn,
        "dead_letter_target": dlq,
        "maximum_retry_attempts": retries,
        "maximum_event_age_s": None,
    }


def rule(targets: list[dict[str, Any]] | None = None, metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "event_bus": "default",
        "state": "ENABLED",
        "schedule": "rate(5 minutes)",
        "event_pattern": None,
        "targets": targets if targets is not None else [target()],
        **cfg,
    }
    names = {"invocations": "Invocations:Sum", "failed": "FailedInvocations:Sum"}
    return make(KIND, config, metrics={f"AWS/Events:{names[k]}": v for k, v in (metrics or {}).items()})


CASES = [
    Case(
        "eventbridge-failed-invocations",
        rule(metrics={"invocations": 2016, "failed": 12}),
        {"failed_invocations": 12.0, "invocations": 2016.0, "failure_rate_percent": 0.6},
        rule(metrics={"invocations": 2016}),
    ),
    Case(
        "eventbridge-target-no-dlq",
        rule([target(), target(QUEUE, dlq=None)]),
        {"targets": [QUEUE], "target_count": 2},
        rule(),
    ),
    Case(
        "eventbridge-target-retries-disabled",
        rule([target(retries=0)]),
        {"targets": [FN], "target_count": 1},
        rule([target(retries=10)]),
    ),
    Case(
        "eventbridge-rule-no-targets",
        rule([]),
        {"state": "ENABLED", "target_count": 0},
        rule(),
    ),
    Case(
        "eventbridge-rule-disabled",
        rule(state="DISABLED"),
        {"state": "DISABLED", "schedule": "rate(5 minutes)"},
        rule(),
    ),
]


def test_every_eventbridge_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("eventbridge")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_disabled_rule_without_targets_is_not_reported_as_missing_targets() -> None:
    result = evaluate("eventbridge-rule-no-targets", rule([], state="DISABLED"))
    assert result is not None and result.passed


def test_failed_invocations_need_metrics() -> None:
    assert evaluate("eventbridge-failed-invocations", rule()) is None
