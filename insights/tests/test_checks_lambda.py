"""Lambda function checks: one failing and one passing input per check, with the evidence asserted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from insights.checks import InvocationStats, run_checks
from insights.checks.lambda_ import RUNTIME_DEPRECATION, recommended_memory_mb, secret_like
from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids
from kinds.lambda_function import policy_summary

KIND = "lambda.function"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:orders"
STREAM = "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"

LAMBDA: dict[str, Any] = {
    "runtime": "python3.12",
    "package_type": "Zip",
    "architecture": "x86_64",
    "memory_mb": 1024,
    "timeout_s": 30,
    "handler": "app.handler",
    "last_modified": "2024-01-01T10:00:00.000+0000",
    "layers": [],
    "env_var_names": ["LOG_LEVEL", "TABLE_NAME"],
    "vpc": None,
    "dead_letter_target": None,
    "tracing": "PassThrough",
    "snap_start": "None",
    "log_group": "/aws/lambda/orders",
    "log_group_exists": True,
    "log_retention_days": 30,
    "reserved_concurrency": None,
    "provisioned_concurrency": [],
    "event_source_mappings": [],
    "function_url": None,
    "async": None,
}


def fn(cfg: dict[str, Any] | None = None, **kw: Any) -> Any:
    return make(KIND, {**LAMBDA, **(cfg or {})}, **kw)


def st(**kw: Any) -> InvocationStats:
    return InvocationStats(**kw)


def mapping(source: str, **kw: Any) -> dict[str, Any]:
    return {
        "uuid": "u-1",
        "event_source_arn": source,
        "state": "Enabled",
        "batch_size": 10,
        "maximum_batching_window_s": 0,
        "function_response_types": [],
        "on_failure_destination": None,
        "maximum_retry_attempts": -1,
        "bisect_batch_on_error": False,
        **kw,
    }


OPEN_POLICY = {"Statement": [{"Sid": "open", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction"}]}
S3_POLICY = {
    "Statement": [
        {
            "Sid": "s3",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}},
        }
    ]
}

CASES = [
    Case(
        "lambda-error-rate-high",
        fn(stats=st(invocations=200, errors=8, timeouts=1, out_of_memory=1)),
        {"error_rate_percent": 5.0, "errors": 10, "invocations": 200, "threshold_percent": 1.0, "timeouts": 1},
        fn(stats=st(invocations=200, errors=1)),
        ("5 % (10 of 200) over 7 days",),
    ),
    Case(
        "lambda-error-rate-critical",
        fn(stats=st(invocations=200, errors=25)),
        {"error_rate_percent": 12.5, "errors": 25, "invocations": 200, "threshold_percent": 10.0},
        fn(stats=st(invocations=200, errors=10)),
        ("Error rate 12.5 % (25 of 200) over 7 days is above 10 %.",),
    ),
    Case(
        "lambda-timeouts",
        fn(stats=st(invocations=100, timeouts=3)),
        {"timeouts": 3, "invocations": 100, "timeout_rate_percent": 3.0, "timeout_s": 30.0},
        fn(stats=st(invocations=100)),
    ),
    Case(
        "lambda-duration-near-timeout",
        fn(stats=st(invocations=100, duration_p99_ms=29000.0)),
        {
            "duration_p99_ms": 29000.0,
            "timeout_ms": 30000.0,
            "share_of_timeout_percent": 96.67,
            "threshold_percent": 95.0,
        },
        fn(stats=st(invocations=100, duration_p99_ms=20000.0)),
    ),
    Case(
        "lambda-out-of-memory",
        fn(stats=st(invocations=100, out_of_memory=2, max_memory_used_mb=1024)),
        {"out_of_memory": 2, "invocations": 100, "memory_mb": 1024.0, "max_memory_used_mb": 1024},
        fn(stats=st(invocations=100, max_memory_used_mb=600)),
    ),
    Case(
        "lambda-memory-near-limit",
        fn(stats=st(invocations=100, max_memory_used_mb=1000)),
        {"max_memory_used_mb": 1000, "memory_mb": 1024.0, "memory_used_percent": 97.66, "threshold_percent": 95.0},
        fn(stats=st(invocations=100, max_memory_used_mb=900)),
    ),
    Case(
        "lambda-memory-overprovisioned",
        fn(
            stats=st(
                invocations=1000, max_memory_used_mb=200, gb_seconds=700000.0, cost_usd=700000 * 0.0000166667 + 0.0002
            )
        ),
        {
            "memory_mb": 1024.0,
            "max_memory_used_mb": 200,
            "memory_used_percent": 19.53,
            "recommended_memory_mb": 260,
            "monthly_saving_usd": 37.3,
        },
        fn(stats=st(invocations=1000, max_memory_used_mb=600, gb_seconds=700000.0)),
        ("260 MB would save about $37.30 a month",),
    ),
    Case(
        "lambda-cold-start-share-high",
        fn(stats=st(invocations=200, cold_starts=30)),
        {"cold_start_percent": 15.0, "cold_starts": 30, "invocations": 200, "threshold_percent": 10.0},
        fn(stats=st(invocations=200, cold_starts=10)),
    ),
    Case(
        "lambda-slow-init",
        fn(stats=st(invocations=100, cold_starts=10, init_duration_p95_ms=1800.0)),
        {"init_duration_p95_ms": 1800.0, "cold_starts": 10, "threshold_ms": 1000.0, "runtime": "python3.12"},
        fn(stats=st(invocations=100, cold_starts=10, init_duration_p95_ms=600.0)),
    ),
    Case(
        "lambda-throttles",
        fn(metrics={"AWS/Lambda:Invocations:Sum": 950, "AWS/Lambda:Throttles:Sum": 50}),
        {"throttles": 50.0, "invocations": 950.0, "throttle_rate_percent": 5.0, "threshold_percent": 1.0},
        fn(metrics={"AWS/Lambda:Invocations:Sum": 1000}),
    ),
    Case(
        "lambda-iterator-age-high",
        fn(metrics={"AWS/Lambda:IteratorAge:Maximum": 300000}),
        {"iterator_age_ms": 300000.0, "iterator_age_s": 300.0, "threshold_ms": 60000.0},
        fn(metrics={"AWS/Lambda:IteratorAge:Maximum": 5000}),
    ),
    Case(
        "lambda-async-events-dropped",
        fn(
            {"async": {"maximum_retry_attempts": 0, "maximum_event_age_s": 60}},
            metrics={"AWS/Lambda:AsyncEventsDropped:Sum": 12},
        ),
        {"dropped_events": 12.0, "maximum_retry_attempts": 0, "maximum_event_age_s": 60},
        fn(metrics={"AWS/Lambda:Invocations:Sum": 100}, related={"async_invoked": True}),
    ),
    Case(
        "lambda-dead-letter-errors",
        fn({"dead_letter_target": QUEUE}, metrics={"AWS/Lambda:DeadLetterErrors:Sum": 3}),
        {"dead_letter_errors": 3.0, "dead_letter_target": QUEUE},
        fn({"dead_letter_target": QUEUE}, metrics={"AWS/Lambda:Invocations:Sum": 10}),
    ),
    Case(
        "lambda-destination-delivery-failures",
        fn(metrics={"AWS/Lambda:DestinationDeliveryFailures:Sum": 4}),
        {"destination_delivery_failures": 4.0},
        fn({"async": {"on_failure_destination": QUEUE}}, metrics={"AWS/Lambda:Invocations:Sum": 10}),
    ),
    Case(
        "lambda-async-no-failure-destination",
        fn(related={"async_invoked": True}),
        {"dead_letter_target": None, "on_failure_destination": None},
        fn({"async": {"maximum_retry_attempts": 2, "on_failure_destination": QUEUE}}, related={"async_invoked": True}),
    ),
    Case(
        "lambda-runtime-deprecated",
        fn({"runtime": "python3.8"}, today="2025-01-01"),
        {"runtime": "python3.8", "deprecation_date": "2024-10-14", "days_since_deprecation": 79},
        fn({"runtime": "python3.12"}, today="2025-01-01"),
    ),
    Case(
        "lambda-runtime-deprecation-soon",
        fn({"runtime": "nodejs20.x"}, today="2026-01-01"),
        {"runtime": "nodejs20.x", "deprecation_date": "2026-04-30", "days_left": 119},
        fn({"runtime": "nodejs22.x"}, today="2026-01-01"),
    ),
    Case(
        "lambda-arm64-candidate",
        fn(stats=st(invocations=1000, gb_seconds=70000.0)),
        {"architecture": "x86_64", "runtime": "python3.12", "monthly_saving_usd": 1.0},
        fn({"architecture": "arm64"}),
    ),
    Case(
        "lambda-unused",
        fn(metrics={"AWS/Lambda:Invocations:Sum": 0}, today="2025-01-01"),
        {"invocations": 0.0, "window_days": 7},
        fn(metrics={"AWS/Lambda:Invocations:Sum": 5}, today="2025-01-01"),
    ),
    Case(
        "lambda-timeout-far-above-p99",
        fn({"timeout_s": 900}, stats=st(invocations=100, duration_p99_ms=2000.0, duration_max_ms=2500.0)),
        {"timeout_s": 900.0, "duration_p99_ms": 2000.0, "duration_max_ms": 2500.0, "suggested_timeout_s": 6},
        fn({"timeout_s": 10}, stats=st(invocations=100, duration_p99_ms=500.0, duration_max_ms=900.0)),
    ),
    Case(
        "lambda-reserved-concurrency-zero",
        fn({"reserved_concurrency": 0}),
        {"reserved_concurrency": 0},
        fn({"reserved_concurrency": 50}),
    ),
    Case(
        "lambda-provisioned-concurrency-spillover",
        fn(
            {"provisioned_concurrency": [{"qualifier": "live", "requested": 5, "allocated": 5, "status": "READY"}]},
            metrics={
                "AWS/Lambda:Invocations:Sum": 1000,
                "AWS/Lambda:ProvisionedConcurrencySpilloverInvocations:Sum": 250,
            },
        ),
        {"spillover_invocations": 250.0, "invocations": 1000.0, "spillover_percent": 25.0, "threshold_percent": 10.0},
        fn(
            {"provisioned_concurrency": [{"qualifier": "live", "requested": 5, "allocated": 5, "status": "READY"}]},
            metrics={
                "AWS/Lambda:Invocations:Sum": 1000,
                "AWS/Lambda:ProvisionedConcurrencySpilloverInvocations:Sum": 20,
            },
        ),
    ),
    Case(
        "lambda-java-without-snapstart",
        fn({"runtime": "java21", "snap_start": "None"}),
        {"runtime": "java21", "snap_start": "None"},
        fn({"runtime": "java21", "snap_start": "PublishedVersions"}),
    ),
    Case(
        "lambda-function-url-no-auth",
        fn({"function_url": {"auth_type": "NONE", "url": "https://abc.lambda-url.eu-west-1.on.aws/"}}),
        {"auth_type": "NONE"},
        fn({"function_url": {"auth_type": "AWS_IAM", "url": "https://abc.lambda-url.eu-west-1.on.aws/"}}),
    ),
    Case(
        "lambda-public-policy",
        fn({"resource_policy": policy_summary(json.dumps(OPEN_POLICY))}),
        {"statements": ["open"], "principals": ["*"]},
        fn({"resource_policy": policy_summary(json.dumps(S3_POLICY))}),
    ),
    Case(
        "lambda-secrets-in-environment",
        fn(
            {
                "env_var_names": [
                    "DB_HOST",
                    "DB_PASSWORD",
                    "DB_PASSWORD_SECRET_ARN",
                    "STRIPE_API_KEY",
                    "TOKENIZERS_PARALLELISM",
                ]
            }
        ),
        {"names": ["DB_PASSWORD", "STRIPE_API_KEY"]},
        fn({"env_var_names": ["DB_HOST", "DB_SECRET_ARN", "LOG_LEVEL"]}),
    ),
    Case(
        "lambda-no-tracing",
        fn({"tracing": "PassThrough"}),
        {"tracing": "PassThrough"},
        fn({"tracing": "Active"}),
    ),
    Case(
        "lambda-stream-mapping-no-failure-destination",
        fn({"event_source_mappings": [mapping(STREAM)]}),
        {"mappings": [{"event_source_arn": STREAM, "maximum_retry_attempts": -1}]},
        fn({"event_source_mappings": [mapping(STREAM, on_failure_destination=QUEUE)]}),
    ),
    Case(
        "lambda-batch-without-partial-failures",
        fn({"event_source_mappings": [mapping(QUEUE)]}),
        {"mappings": [{"event_source_arn": QUEUE, "batch_size": 10}]},
        fn({"event_source_mappings": [mapping(QUEUE, function_response_types=["ReportBatchItemFailures"])]}),
    ),
]


def test_every_lambda_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("lambda")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


# --- error rates ------------------------------------------------------------------------------------


def test_error_rate_needs_a_sample() -> None:
    assert evaluate("lambda-error-rate-high", fn(stats=st(invocations=2, errors=1))) is None
    assert evaluate("lambda-error-rate-critical", fn(stats=st(invocations=2, errors=1))) is None


def test_error_rate_warning_leaves_critical_range_to_the_critical_check() -> None:
    inp = fn(stats=st(invocations=200, errors=25))
    warning = evaluate("lambda-error-rate-high", inp)
    assert warning is not None and warning.passed and "critical" in warning.message
    critical = evaluate("lambda-error-rate-critical", inp)
    assert critical is not None and not critical.passed


def test_error_rate_from_metrics_without_logs() -> None:
    inp = fn(metrics={"AWS/Lambda:Invocations:Sum": 400, "AWS/Lambda:Errors:Sum": 20})
    result = evaluate("lambda-error-rate-high", inp)
    assert result is not None and not result.passed
    assert result.evidence["error_rate_percent"] == 5.0
    assert result.evidence["source"] == "metrics"


def test_overrides_reach_the_check_through_run_checks() -> None:
    inp = fn(stats=st(invocations=200, errors=8))
    by_id = {c.id: r for c, r in run_checks(inp)}
    assert by_id["lambda-error-rate-high"].passed is False
    by_id = {c.id: r for c, r in run_checks(inp, {"lambda-error-rate-high": {"error_rate_percent": 5.0}})}
    assert by_id["lambda-error-rate-high"].passed is True


# --- memory -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("used", "expected"), [(50, 128), (200, 260), (201, 262), (8000, 10240)])
def test_recommended_memory(used: int, expected: int) -> None:
    assert recommended_memory_mb(used) == expected


def test_overprovisioned_saving_from_gb_seconds_when_cost_unknown() -> None:
    result = evaluate(
        "lambda-memory-overprovisioned", fn(stats=st(invocations=1000, max_memory_used_mb=200, gb_seconds=700000.0))
    )
    assert result is not None and result.evidence["monthly_saving_usd"] == 37.3


def test_overprovisioned_not_at_the_smallest_size() -> None:
    result = evaluate(
        "lambda-memory-overprovisioned", fn({"memory_mb": 128}, stats=st(invocations=1000, max_memory_used_mb=40))
    )
    assert result is not None and result.passed


def test_duration_near_timeout_from_the_metric() -> None:
    inp = fn(metrics={"AWS/Lambda:Invocations:Sum": 500, "AWS/Lambda:Duration:p99": 29500})
    result = evaluate("lambda-duration-near-timeout", inp)
    assert result is not None and not result.passed and result.evidence["share_of_timeout_percent"] == 98.33


# --- async, runtimes, architecture ----------------------------------------------------------------------


def test_async_checks_need_to_know_the_invocation_type() -> None:
    assert evaluate("lambda-async-no-failure-destination", fn()) is None
    assert evaluate("lambda-async-no-failure-destination", fn(related={"async_invoked": False})) is None
    assert evaluate("lambda-async-events-dropped", fn(metrics={"AWS/Lambda:Invocations:Sum": 5})) is None


def test_deprecation_table_has_the_announced_dates() -> None:
    assert RUNTIME_DEPRECATION["python3.8"] == "2024-10-14"
    assert RUNTIME_DEPRECATION["python3.9"] == "2025-12-15"
    assert RUNTIME_DEPRECATION["nodejs16.x"] == "2024-06-12"
    assert RUNTIME_DEPRECATION["nodejs18.x"] == "2025-09-01"
    assert RUNTIME_DEPRECATION["java8.al2"] == "2026-06-30"


def test_soon_passes_once_deprecated_and_far_dates() -> None:
    deprecated = evaluate("lambda-runtime-deprecation-soon", fn({"runtime": "python3.8"}, today="2025-01-01"))
    assert deprecated is not None and deprecated.passed
    unknown = evaluate("lambda-runtime-deprecated", fn({"runtime": "python9.99"}, today="2025-01-01"))
    assert unknown is not None and unknown.passed
    assert (
        evaluate("lambda-runtime-deprecated", fn({"runtime": "container", "package_type": "Image"}, today="2025-01-01"))
        is None
    )


def test_arm64_not_suggested_with_layers_images_or_old_runtimes() -> None:
    assert evaluate("lambda-arm64-candidate", fn({"layers": ["arn:aws:lambda:eu-west-1:1:layer:numpy:3"]})) is None
    assert evaluate("lambda-arm64-candidate", fn({"package_type": "Image", "runtime": "container"})) is None
    old = evaluate("lambda-arm64-candidate", fn({"runtime": "go1.x"}))
    assert old is not None and old.passed


def test_unused_skips_recently_deployed_functions() -> None:
    inp = fn(
        {"last_modified": "2024-12-30T08:00:00.000+0000"}, metrics={"AWS/Lambda:Invocations:Sum": 0}, today="2025-01-01"
    )
    assert evaluate("lambda-unused", inp) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DB_PASSWORD", True),
        ("dbPassword", True),
        ("GITHUB_TOKEN", True),
        ("STRIPE_API_KEY", True),
        ("APIKEY", True),
        ("JWT_SECRET", True),
        ("GOOGLE_CREDENTIALS", True),
        ("RSA_PRIVATE_KEY", True),
        ("DB_PASS", True),
        ("DB_PASSWORD_SECRET_ARN", False),
        ("API_KEY_PARAMETER_NAME", False),
        ("TOKEN_URL", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("PASSENGER_TABLE", False),
        ("PASSWORD_MIN_LENGTH", False),
        ("KMS_KEY_ID", False),
        ("AWS_SESSION_TOKEN", False),
        ("LOG_LEVEL", False),
    ],
)
def test_secret_like(name: str, expected: bool) -> None:
    assert secret_like(name) is expected


def test_public_policy_not_applicable_without_policy_field() -> None:
    assert evaluate("lambda-public-policy", fn()) is None
    no_policy = evaluate("lambda-public-policy", fn({"resource_policy": None}))
    assert no_policy is not None and no_policy.passed
