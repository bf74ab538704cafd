"""AppSync GraphQL API checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids
from kinds.appsync_api import KIND

NS = "AWS/AppSync"
TODAY = "2025-06-01"


def api(metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "api_id": "orders1234",
        "api_type": "GRAPHQL",
        "visibility": "GLOBAL",
        "authentication_type": "AMAZON_COGNITO_USER_POOLS",
        "additional_authentication_types": ["API_KEY"],
        "logging": {"field_log_level": "ERROR", "exclude_verbose_content": True},
        "xray_enabled": True,
        "waf_web_acl": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/1",
        "api_keys": [{"description": "public catalogue", "expires": "2025-11-30T00:00:00+00:00"}],
        "data_sources": [{"name": "orders", "type": "AMAZON_DYNAMODB", "lambda_function": None}],
        "cache": {"type": "SMALL", "behavior": "PER_RESOLVER_CACHING", "ttl_s": 60},
        **cfg,
    }
    return make(KIND, config, metrics={f"{NS}:{k}": v for k, v in (metrics or {}).items()}, today=TODAY)


CASES = [
    Case("appsync-logging-off", api(logging=None), {"logging": None}, api()),
    Case(
        "appsync-field-logs-all",
        api({"Requests:Sum": 250000}, logging={"field_log_level": "ALL"}),
        {"field_log_level": "ALL", "requests": 250000.0},
        api({"Requests:Sum": 250000}),
    ),
    Case("appsync-xray-off", api(xray_enabled=False), {"xray_enabled": False}, api()),
    Case(
        "appsync-api-key-only",
        api(authentication_type="API_KEY", additional_authentication_types=[]),
        {"authentication_type": "API_KEY"},
        api(),
    ),
    Case(
        "appsync-api-key-expiring",
        api(api_keys=[{"description": "web", "expires": "2025-06-06T10:00:00+00:00"}]),
        {"api_keys": 1, "expiring": [{"description": "web", "expires": "2025-06-06T10:00:00+00:00", "days_left": 5}]},
        api(),
        ("“web” expires in 5 day(s)",),
    ),
    Case("appsync-no-waf", api(waf_web_acl=None), {"waf_web_acl": None}, api()),
    Case(
        "appsync-5xx-errors",
        api({"Requests:Sum": 2000, "5XXError:Sum": 60}),
        {"requests": 2000.0, "errors_5xx": 60.0, "error_rate_percent": 3.0},
        api({"Requests:Sum": 2000, "5XXError:Sum": 1}),
    ),
    Case(
        "appsync-latency-high",
        api({"Latency:p95": 1800}),
        {"latency_p95_ms": 1800.0, "threshold_ms": 1000.0},
        api({"Latency:p95": 120}),
    ),
    Case(
        "appsync-caching-off",
        api({"Requests:Sum": 500000}, cache=None),
        {"requests": 500000.0, "cache": None},
        api({"Requests:Sum": 500000}),
    ),
]


def test_every_appsync_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("appsync")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_an_expired_key_is_reported_as_expired() -> None:
    result = evaluate(
        "appsync-api-key-expiring", api(api_keys=[{"description": "", "expires": "2025-05-20T00:00:00+00:00"}])
    )
    assert result is not None and not result.passed
    assert result.message == "An API key expired 12 day(s) ago."


def test_field_level_none_counts_as_logging_off() -> None:
    result = evaluate("appsync-logging-off", api(logging={"field_log_level": "NONE"}))
    assert result is not None and not result.passed


def test_a_private_api_needs_no_waf_and_a_quiet_api_no_cache() -> None:
    assert evaluate("appsync-no-waf", api(visibility="PRIVATE", waf_web_acl=None)) is None
    assert evaluate("appsync-caching-off", api({"Requests:Sum": 50}, cache=None)) is None
