"""DynamoDB table checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

KIND = "dynamodb.table"

PROVISIONED: dict[str, Any] = {
    "billing_mode": "PROVISIONED",
    "read_capacity": 100,
    "write_capacity": 50,
    "global_secondary_indexes": [],
    "stream": None,
    "point_in_time_recovery": True,
    "deletion_protection": True,
    "sse": "AWS_OWNED",
    "table_class": "STANDARD",
}
ON_DEMAND = {**PROVISIONED, "billing_mode": "PAY_PER_REQUEST", "read_capacity": None, "write_capacity": None}

NAMES = {
    "read_throttles": "AWS/DynamoDB:ReadThrottleEvents:Sum",
    "write_throttles": "AWS/DynamoDB:WriteThrottleEvents:Sum",
    "consumed_read": "AWS/DynamoDB:ConsumedReadCapacityUnits:Sum",
    "consumed_write": "AWS/DynamoDB:ConsumedWriteCapacityUnits:Sum",
    "system_errors": "AWS/DynamoDB:SystemErrors:Sum",
    "read_peak": "derived:ConsumedReadCapacityUnits:peak_per_second",
    "write_peak": "derived:ConsumedWriteCapacityUnits:peak_per_second",
    "provisioned_read": "AWS/DynamoDB:ProvisionedReadCapacityUnits:Average",
}


def table(base: dict[str, Any] | None = None, metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    return make(KIND, {**(base or PROVISIONED), **cfg}, metrics={NAMES[k]: v for k, v in (metrics or {}).items()})


CASES = [
    Case(
        "dynamodb-throttling",
        table(metrics={"read_throttles": 40, "consumed_read": 1000}),
        {"read_throttle_events": 40.0, "write_throttle_events": 0.0, "billing_mode": "PROVISIONED"},
        table(metrics={"consumed_read": 1000}),
    ),
    Case(
        "dynamodb-pitr-disabled",
        table(point_in_time_recovery=False),
        {"point_in_time_recovery": False},
        table(),
    ),
    Case(
        "dynamodb-deletion-protection-off",
        table(deletion_protection=False),
        {"deletion_protection": False},
        table(),
    ),
    Case(
        "dynamodb-capacity-near-provisioned",
        table(metrics={"read_peak": 95.5, "write_peak": 10}),
        {
            "read_peak_per_second": 95.5,
            "read_capacity": 100.0,
            "read_utilization_percent": 95.5,
            "write_utilization_percent": 20.0,
            "threshold_percent": 80.0,
        },
        table(metrics={"read_peak": 50, "write_peak": 30}),
    ),
    Case(
        "dynamodb-capacity-overprovisioned",
        table(metrics={"read_peak": 5, "write_peak": 30}),
        {"read_peak_per_second": 5.0, "read_utilization_percent": 5.0, "write_utilization_percent": 60.0},
        table(metrics={"read_peak": 50, "write_peak": 30}),
    ),
    Case(
        "dynamodb-provisioned-check-autoscaling",
        table(),
        {"billing_mode": "PROVISIONED", "read_capacity": 100, "write_capacity": 50},
        table(ON_DEMAND),
    ),
    Case(
        "dynamodb-unused",
        table(metrics={"provisioned_read": 100}),
        {"consumed_read_units": 0.0, "consumed_write_units": 0.0},
        table(metrics={"consumed_read": 10, "consumed_write": 2}),
    ),
    Case(
        "dynamodb-system-errors",
        table(metrics={"system_errors": 3, "consumed_read": 10}),
        {"system_errors": 3.0},
        table(metrics={"consumed_read": 10}),
    ),
]


def test_every_dynamodb_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("dynamodb")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_capacity_checks_skip_on_demand_tables() -> None:
    for check_id in ("dynamodb-capacity-near-provisioned", "dynamodb-capacity-overprovisioned"):
        assert evaluate(check_id, table(ON_DEMAND, metrics={"read_peak": 500, "write_peak": 500})) is None


def test_tiny_tables_are_not_called_overprovisioned() -> None:
    assert (
        evaluate(
            "dynamodb-capacity-overprovisioned", table(read_capacity=5, write_capacity=5, metrics={"read_peak": 0})
        )
        is None
    )


def test_metric_checks_need_metrics() -> None:
    assert evaluate("dynamodb-throttling", table()) is None
    assert evaluate("dynamodb-unused", table(ON_DEMAND)) is None
