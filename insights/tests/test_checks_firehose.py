"""Kinesis Data Firehose checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

KIND = "firehose.delivery_stream"
NAMES = {
    "incoming": "AWS/Firehose:IncomingRecords:Sum",
    "throttled": "AWS/Firehose:ThrottledRecords:Sum",
    "s3_success": "AWS/Firehose:DeliveryToS3.Success:Average",
    "s3_freshness": "AWS/Firehose:DeliveryToS3.DataFreshness:Maximum",
    "http_success": "AWS/Firehose:DeliveryToHttpEndpoint.Success:Average",
    "http_freshness": "AWS/Firehose:DeliveryToHttpEndpoint.DataFreshness:Maximum",
}


def stream(metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "type": "DirectPut",
        "status": "ACTIVE",
        "encryption": "ENABLED",
        "encryption_key_type": "AWS_OWNED_CMK",
        "destination": "S3",
        "destination_target": "arn:aws:s3:::archive",
        "buffer_size_mb": 64,
        "buffer_interval_s": 300,
        "compression": "GZIP",
        "error_output_prefix": "errors/",
        "error_logging": True,
        "error_log_group": "/aws/kinesisfirehose/orders",
        **cfg,
    }
    return make(KIND, config, metrics={NAMES[k]: v for k, v in (metrics or {}).items()})


CASES = [
    Case(
        "firehose-delivery-failing",
        stream({"s3_success": 0.72}),
        {"destination": "S3", "success_percent": 72.0, "threshold_percent": 99.0},
        stream({"s3_success": 1.0}),
        ("Only 72 %",),
    ),
    Case(
        "firehose-data-freshness-high",
        stream({"s3_freshness": 2400}),
        {"data_freshness_s": 2400.0, "buffer_interval_s": 300.0, "limit_s": 1200.0},
        stream({"s3_freshness": 310}),
    ),
    Case(
        "firehose-throttled",
        stream({"incoming": 9600, "throttled": 400}),
        {"throttled_records": 400.0, "incoming_records": 9600.0, "throttled_percent": 4.0},
        stream({"incoming": 9600, "throttled": 0}),
    ),
    Case(
        "firehose-no-encryption",
        stream(encryption="DISABLED", encryption_key_type=None),
        {"encryption": "DISABLED"},
        stream(),
    ),
    Case(
        "firehose-no-error-logging",
        stream(error_logging=False, error_log_group=None),
        {"error_logging": False},
        stream(),
    ),
    Case("firehose-no-error-output-prefix", stream(error_output_prefix=None), {"error_output_prefix": None}, stream()),
    Case(
        "firehose-small-buffer",
        stream(buffer_interval_s=10, buffer_size_mb=1),
        {"buffer_interval_s": 10.0, "buffer_size_mb": 1.0, "objects_per_day_at_least": 8640},
        stream(),
    ),
    Case("firehose-unused", stream({"incoming": 0}), {"incoming_records": 0.0}, stream({"incoming": 12})),
]


def test_every_firehose_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("firehose")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_delivery_is_judged_on_the_destination_s_own_metric() -> None:
    http = stream({"http_success": 0.5, "s3_success": 1.0}, destination="HTTP endpoint")
    result = evaluate("firehose-delivery-failing", http)
    assert result is not None and not result.passed and result.evidence["success_percent"] == 50.0
    # No delivery metric is catalogued for Redshift: the S3 staging figure says nothing of it.
    assert evaluate("firehose-delivery-failing", stream({"s3_success": 0.2}, destination="Redshift")) is None


def test_a_stream_reading_from_kinesis_is_encrypted_by_its_source() -> None:
    assert evaluate("firehose-no-encryption", stream(type="KinesisStreamAsSource", encryption="DISABLED")) is None


def test_throttling_needs_a_sample() -> None:
    assert evaluate("firehose-throttled", stream({"incoming": 10, "throttled": 5})) is None
