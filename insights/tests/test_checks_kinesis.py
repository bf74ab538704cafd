"""Kinesis Data Streams checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

KIND = "kinesis.stream"
NAMES = {
    "age": "AWS/Kinesis:GetRecords.IteratorAgeMilliseconds:Maximum",
    "incoming": "AWS/Kinesis:IncomingRecords:Sum",
    "write_exceeded": "AWS/Kinesis:WriteProvisionedThroughputExceeded:Sum",
    "read_exceeded": "AWS/Kinesis:ReadProvisionedThroughputExceeded:Sum",
}


def stream(metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "mode": "PROVISIONED",
        "open_shards": 2,
        "retention_hours": 24,
        "encryption": "KMS",
        "enhanced_monitoring": [],
        **cfg,
    }
    return make(KIND, config, metrics={NAMES[k]: v for k, v in (metrics or {}).items()})


CASES = [
    Case(
        "kinesis-iterator-age-high",
        stream({"age": 600000}),
        {"iterator_age_ms": 600000.0, "threshold_ms": 60000.0},
        stream({"age": 1200}),
    ),
    Case(
        "kinesis-iterator-age-near-retention",
        stream({"age": 18 * 3600 * 1000}),
        {"iterator_age_ms": 64800000.0, "retention_hours": 24.0, "share_of_retention_percent": 75.0},
        stream({"age": 600000}),
    ),
    Case(
        "kinesis-write-throughput-exceeded",
        stream({"incoming": 9500, "write_exceeded": 500}),
        {"throttled_records": 500.0, "incoming_records": 9500.0, "throttled_percent": 5.0, "open_shards": 2},
        stream({"incoming": 10000, "write_exceeded": 5}),
    ),
    Case(
        "kinesis-read-throughput-exceeded",
        stream({"incoming": 100, "read_exceeded": 250}),
        {"throttled_reads": 250.0, "threshold": 10},
        stream({"incoming": 100}),
    ),
    Case(
        "kinesis-no-encryption",
        stream(encryption="NONE"),
        {"encryption": "NONE"},
        stream(),
    ),
    Case(
        "kinesis-retention-minimum",
        stream(retention_hours=24),
        {"retention_hours": 24.0, "threshold_hours": 48},
        stream(retention_hours=168),
    ),
    Case(
        "kinesis-unused",
        stream({"incoming": 0}),
        {"incoming_records": 0.0, "open_shards": 2, "mode": "PROVISIONED"},
        stream({"incoming": 12}),
    ),
]


def test_every_kinesis_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("kinesis")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_write_throttling_needs_a_sample() -> None:
    assert evaluate("kinesis-write-throughput-exceeded", stream({"incoming": 10, "write_exceeded": 5})) is None
