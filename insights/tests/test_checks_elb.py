"""Application and Network Load Balancer checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids
from kinds.load_balancer import ALB, NLB

APP = "AWS/ApplicationELB"
NET = "AWS/NetworkELB"


def group(name: str = "web", **cfg: Any) -> dict[str, Any]:
    return {
        "name": name,
        "dimension": f"targetgroup/{name}/1",
        "target_type": "ip",
        "health_check_enabled": True,
        "health_check_interval_s": 30,
        "has_targets": True,
        "lambda_functions": [],
        **cfg,
    }


HTTPS = {"port": 443, "protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}
REDIRECT = {"port": 80, "protocol": "HTTP", "default_action": "redirect", "redirect_protocol": "HTTPS"}


def alb(metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "type": "application",
        "scheme": "internet-facing",
        "availability_zones": ["eu-west-1a", "eu-west-1b"],
        "listeners": [REDIRECT, HTTPS],
        "target_groups": [group()],
        "deletion_protection": True,
        "access_logs": True,
        "drop_invalid_header_fields": True,
        **cfg,
    }
    return make(ALB, config, metrics={f"{APP}:{k}": v for k, v in (metrics or {}).items()})


def nlb(metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "type": "network",
        "scheme": "internal",
        "availability_zones": ["eu-west-1a", "eu-west-1b"],
        "listeners": [{"port": 443, "protocol": "TLS", "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}],
        "target_groups": [group(protocol="TCP")],
        "deletion_protection": True,
        "access_logs": True,
        **cfg,
    }
    return make(NLB, config, metrics={f"{NET}:{k}": v for k, v in (metrics or {}).items()})


CASES = [
    Case(
        "elb-alb-unhealthy-targets",
        alb({"UnHealthyHostCount:Maximum": 2}),
        {"unhealthy_hosts_max": 2.0},
        alb({"UnHealthyHostCount:Maximum": 0}),
    ),
    Case(
        "elb-nlb-unhealthy-targets",
        nlb({"UnHealthyHostCount:Maximum": 1}),
        {"unhealthy_hosts_max": 1.0},
        nlb({"UnHealthyHostCount:Maximum": 0}),
    ),
    Case(
        "elb-alb-no-targets",
        alb(target_groups=[group(has_targets=False), group("spare", has_targets=False)]),
        {"target_groups": ["web", "spare"]},
        alb(target_groups=[group(has_targets=False), group("live")]),
        ("any of its 2 target group(s)",),
    ),
    Case("elb-nlb-no-targets", nlb(target_groups=[]), {"target_groups": []}, nlb()),
    Case("elb-alb-access-logs-off", alb(access_logs=False), {"access_logs": False}, alb()),
    Case("elb-nlb-access-logs-off", nlb(access_logs=False), {"access_logs": False}, nlb()),
    Case("elb-alb-deletion-protection-off", alb(deletion_protection=False), {"deletion_protection": False}, alb()),
    Case("elb-nlb-deletion-protection-off", nlb(deletion_protection=False), {"deletion_protection": False}, nlb()),
    Case(
        "elb-alb-old-tls-policy",
        alb(listeners=[REDIRECT, {**HTTPS, "ssl_policy": "ELBSecurityPolicy-2016-08"}]),
        {"listeners": {"HTTPS:443": "ELBSecurityPolicy-2016-08"}},
        alb(),
        ("HTTPS:443 (ELBSecurityPolicy-2016-08)",),
    ),
    Case(
        "elb-nlb-old-tls-policy",
        nlb(listeners=[{"port": 443, "protocol": "TLS", "ssl_policy": "ELBSecurityPolicy-TLS-1-1-2017-01"}]),
        {"listeners": {"TLS:443": "ELBSecurityPolicy-TLS-1-1-2017-01"}},
        nlb(),
    ),
    Case(
        "elb-alb-idle",
        alb({"UnHealthyHostCount:Maximum": 0}),
        {"requests": 0.0, "monthly_cost_usd": 16.43},
        alb({"RequestCount:Sum": 12}),
    ),
    Case(
        "elb-nlb-idle",
        nlb({"ActiveFlowCount:Maximum": 0}),
        {"new_flows_and_bytes": 0.0},
        nlb({"NewFlowCount:Sum": 3, "ProcessedBytes:Sum": 4096}),
    ),
    Case(
        "elb-alb-http-not-redirected",
        alb(listeners=[{"port": 80, "protocol": "HTTP", "default_action": "forward"}, HTTPS]),
        {"not_redirected": ["HTTP:80"]},
        alb(),
    ),
    Case(
        "elb-alb-target-5xx-rate-high",
        alb({"RequestCount:Sum": 1000, "HTTPCode_Target_5XX_Count:Sum": 40}),
        {"requests": 1000.0, "target_5xx": 40.0, "error_rate_percent": 4.0},
        alb({"RequestCount:Sum": 1000, "HTTPCode_Target_5XX_Count:Sum": 2}),
    ),
    Case(
        "elb-alb-response-time-high",
        alb({"TargetResponseTime:p95": 2.5}),
        {"target_response_time_p95_s": 2.5, "threshold_s": 1.0},
        alb({"TargetResponseTime:p95": 0.2}),
    ),
    Case(
        "elb-alb-lambda-health-checks",
        alb(target_groups=[group("fn", target_type="lambda", health_check_interval_s=35)]),
        {"health_checked": ["fn"], "invocations_per_month_per_node": 74057},
        alb(target_groups=[group("fn", target_type="lambda", health_check_enabled=False)]),
    ),
    Case(
        "elb-alb-invalid-headers-kept",
        alb(drop_invalid_header_fields=False),
        {"drop_invalid_header_fields": False},
        alb(),
    ),
    Case(
        "elb-nlb-single-az",
        nlb(availability_zones=["eu-west-1a"]),
        {"availability_zones": ["eu-west-1a"]},
        nlb(),
    ),
]


def test_every_load_balancer_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("elb")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_an_internal_alb_may_serve_plain_http() -> None:
    plain = [{"port": 80, "protocol": "HTTP", "default_action": "forward"}]
    assert evaluate("elb-alb-http-not-redirected", alb(scheme="internal", listeners=plain)) is None


def test_target_groups_not_read_leave_no_targets_undecided() -> None:
    assert (
        evaluate("elb-alb-no-targets", alb(target_groups=[group(has_targets=False), group(has_targets=None)])) is None
    )


def test_nlb_access_logs_matter_only_with_a_tls_listener() -> None:
    tcp_only = nlb(access_logs=False, listeners=[{"port": 5432, "protocol": "TCP"}])
    assert evaluate("elb-nlb-access-logs-off", tcp_only) is None


def test_the_error_rate_needs_a_sample_and_the_idle_check_some_metric() -> None:
    assert (
        evaluate("elb-alb-target-5xx-rate-high", alb({"RequestCount:Sum": 20, "HTTPCode_Target_5XX_Count:Sum": 9}))
        is None
    )
    assert evaluate("elb-alb-idle", alb()) is None
