"""API Gateway checks, REST and HTTP APIs."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

REST = "apigateway.restapi"
HTTP = "apigateway.httpapi"
WAF = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/api/1"


def rest_stage(name: str = "prod", **kw: Any) -> dict[str, Any]:
    return {
        "name": name,
        "deployment_id": "d1",
        "tracing_enabled": True,
        "access_logs": True,
        "cache_enabled": False,
        "logging_level": "ERROR",
        "metrics_enabled": True,
        "throttling_rate_limit": 100.0,
        "throttling_burst_limit": 200,
        "web_acl": WAF,
        **kw,
    }


def http_stage(name: str = "$default", **kw: Any) -> dict[str, Any]:
    return {
        "name": name,
        "auto_deploy": True,
        "access_logs": True,
        "throttling_rate_limit": 100.0,
        "throttling_burst_limit": 200,
        "detailed_metrics": False,
        **kw,
    }


def rest(stages: list[dict[str, Any]] | None = None, metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "api_id": "a1b2c3",
        "endpoint_types": ["REGIONAL"],
        "minimum_compression_size": 1024,
        "api_key_source": "HEADER",
        "has_resource_policy": False,
        "authorizers": [{"name": "cognito", "type": "COGNITO_USER_POOLS"}],
        "stages": stages if stages is not None else [rest_stage()],
        **cfg,
    }
    return make(REST, config, metrics=metrics)


def http(stages: list[dict[str, Any]] | None = None, metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "api_id": "h1h2h3",
        "protocol": "HTTP",
        "endpoint": "https://h1h2h3.execute-api.eu-west-1.amazonaws.com",
        "disable_execute_api_endpoint": False,
        "authorizers": [{"name": "jwt", "type": "JWT"}],
        "stages": stages if stages is not None else [http_stage()],
        **cfg,
    }
    return make(HTTP, config, metrics=metrics)


def m(**values: float) -> dict[str, float]:
    names = {
        "count": "Count:Sum",
        "e5": "5XXError:Sum",
        "e4": "4XXError:Sum",
        "h5": "5xx:Sum",
        "h4": "4xx:Sum",
        "p99": "Latency:p99",
        "ip95": "IntegrationLatency:p95",
    }
    return {f"AWS/ApiGateway:{names[k]}": v for k, v in values.items()}


CASES = [
    Case(
        "apigateway-rest-5xx-rate-high",
        rest(metrics=m(count=1000, e5=30)),
        {"error_rate_percent": 3.0, "errors": 30.0, "requests": 1000.0, "threshold_percent": 1.0},
        rest(metrics=m(count=1000, e5=5)),
        ("5XX error rate 3 % (30 of 1,000) over 7 days is above 1 %.",),
    ),
    Case(
        "apigateway-rest-4xx-rate-high",
        rest(metrics=m(count=1000, e4=250)),
        {"error_rate_percent": 25.0, "errors": 250.0, "requests": 1000.0, "threshold_percent": 10.0},
        rest(metrics=m(count=1000)),
    ),
    Case(
        "apigateway-rest-latency-high",
        rest(metrics=m(count=1000, p99=8000)),
        {"latency_p99_ms": 8000.0, "threshold_ms": 5000.0, "requests": 1000.0},
        rest(metrics=m(count=1000, p99=900)),
    ),
    Case(
        "apigateway-rest-integration-latency-near-timeout",
        rest(metrics=m(count=1000, ip95=27000)),
        {"integration_latency_p95_ms": 27000.0, "integration_timeout_ms": 29000.0, "share_of_timeout_percent": 93.1},
        rest(metrics=m(count=1000, ip95=3000)),
    ),
    Case(
        "apigateway-rest-no-access-logs",
        rest([rest_stage("prod"), rest_stage("dev", access_logs=False)]),
        {"stages": ["dev"], "stage_count": 2},
        rest(),
    ),
    Case(
        "apigateway-rest-no-tracing",
        rest([rest_stage("prod", tracing_enabled=False)]),
        {"stages": ["prod"], "stage_count": 1},
        rest(),
    ),
    Case(
        "apigateway-rest-no-authorizer",
        rest(authorizers=[]),
        {"authorizers": 0, "has_resource_policy": False},
        rest(),
    ),
    Case(
        "apigateway-rest-no-throttling",
        rest([rest_stage("prod", throttling_rate_limit=None, throttling_burst_limit=None)]),
        {"stages": ["prod"], "stage_count": 1},
        rest(),
    ),
    Case(
        "apigateway-rest-compression-off",
        rest(minimum_compression_size=None),
        {"minimum_compression_size": None},
        rest(),
    ),
    Case(
        "apigateway-rest-no-waf",
        rest([rest_stage("prod", web_acl=None)]),
        {"stages": ["prod"], "stage_count": 1},
        rest(),
    ),
    Case(
        "apigateway-http-5xx-rate-high",
        http(metrics=m(count=500, h5=25)),
        {"error_rate_percent": 5.0, "errors": 25.0, "requests": 500.0, "threshold_percent": 1.0},
        http(metrics=m(count=500, h5=1)),
    ),
    Case(
        "apigateway-http-4xx-rate-high",
        http(metrics=m(count=500, h4=100)),
        {"error_rate_percent": 20.0, "errors": 100.0, "requests": 500.0},
        http(metrics=m(count=500, h4=10)),
    ),
    Case(
        "apigateway-http-latency-high",
        http(metrics=m(count=500, p99=6500)),
        {"latency_p99_ms": 6500.0, "threshold_ms": 5000.0},
        http(metrics=m(count=500, p99=200)),
    ),
    Case(
        "apigateway-http-integration-latency-near-timeout",
        http(metrics=m(count=500, ip95=28500)),
        {"integration_latency_p95_ms": 28500.0, "integration_timeout_ms": 30000.0, "share_of_timeout_percent": 95.0},
        http(metrics=m(count=500, ip95=1000)),
    ),
    Case(
        "apigateway-http-no-access-logs",
        http([http_stage(access_logs=False)]),
        {"stages": ["$default"], "stage_count": 1},
        http(),
    ),
    Case(
        "apigateway-http-no-authorizer",
        http(authorizers=[]),
        {"authorizers": 0},
        http(),
    ),
    Case(
        "apigateway-http-no-throttling",
        http([http_stage(throttling_rate_limit=None)]),
        {"stages": ["$default"], "stage_count": 1},
        http(),
    ),
]


def test_every_apigateway_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("apigateway")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_error_rate_needs_a_sample() -> None:
    assert evaluate("apigateway-rest-5xx-rate-high", rest(metrics=m(count=2, e5=1))) is None
    assert evaluate("apigateway-http-5xx-rate-high", http(metrics=m(h5=3))) is None


def test_rest_and_http_metric_names_differ() -> None:
    # An HTTP API has "5xx"; the REST name must not be read for it.
    assert evaluate("apigateway-http-5xx-rate-high", http(metrics=m(count=500, e5=100))).passed  # type: ignore[union-attr]


def test_private_api_needs_no_authorizer_or_waf() -> None:
    private = rest([rest_stage(web_acl=None)], authorizers=[], endpoint_types=["PRIVATE"])
    result = evaluate("apigateway-rest-no-authorizer", private)
    assert result is not None and result.passed
    assert evaluate("apigateway-rest-no-waf", private) is None


def test_api_without_stages_is_not_applicable() -> None:
    assert evaluate("apigateway-rest-no-access-logs", rest([])) is None
    assert evaluate("apigateway-http-no-throttling", http([])) is None
