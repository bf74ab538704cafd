"""Step Functions state machine checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

KIND = "states.statemachine"
NAMES = {
    "started": "ExecutionsStarted:Sum",
    "failed": "ExecutionsFailed:Sum",
    "timed_out": "ExecutionsTimedOut:Sum",
    "throttled": "ExecutionThrottled:Sum",
}


def machine(metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "type": "STANDARD",
        "role": "arn:aws:iam::123456789012:role/sfn",
        "status": "ACTIVE",
        "logging_level": "ERROR",
        "logging_include_execution_data": False,
        "tracing": True,
        "revision_id": None,
        "definition_sha": "abc",
        **cfg,
    }
    return make(KIND, config, metrics={f"AWS/States:{NAMES[k]}": v for k, v in (metrics or {}).items()})


CASES = [
    Case(
        "stepfunctions-executions-failed",
        machine({"started": 400, "failed": 20}),
        {"failure_rate_percent": 5.0, "failed": 20.0, "started": 400.0, "threshold_percent": 1.0},
        machine({"started": 400, "failed": 1}),
    ),
    Case(
        "stepfunctions-executions-timed-out",
        machine({"started": 400, "timed_out": 3}),
        {"timed_out": 3.0, "started": 400.0},
        machine({"started": 400}),
    ),
    Case(
        "stepfunctions-executions-throttled",
        machine({"started": 400, "throttled": 7}),
        {"throttled": 7.0},
        machine({"started": 400}),
    ),
    Case(
        "stepfunctions-logging-off",
        machine(type="EXPRESS", logging_level="OFF"),
        {"logging_level": "OFF", "type": "EXPRESS"},
        machine(),
        ("EXPRESS state machine",),
    ),
    Case(
        "stepfunctions-tracing-off",
        machine(tracing=False),
        {"tracing": False},
        machine(),
    ),
    Case(
        "stepfunctions-logs-include-execution-data",
        machine(logging_level="ALL", logging_include_execution_data=True),
        {"logging_include_execution_data": True, "logging_level": "ALL"},
        machine(logging_level="ALL"),
    ),
]


def test_every_stepfunctions_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("stepfunctions")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_failure_rate_needs_a_sample() -> None:
    assert evaluate("stepfunctions-executions-failed", machine({"started": 3, "failed": 1})) is None
