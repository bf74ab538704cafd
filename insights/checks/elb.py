"""Application and Network Load Balancer checks: listeners (HTTPS redirect, TLS policy),
targets (health, none at all, Lambda health checks), errors and latency, access logs,
deletion protection, availability zones, idle load balancers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from insights.checks.base import Check, CheckInput, Evaluate, Result, check
from insights.checks.helpers import as_dict, as_list, count, days, fmt, metric, number, percent
from kinds.load_balancer import ALB, NLB

SERVICE = "elb"
DOCS = "https://docs.aws.amazon.com/elasticloadbalancing/latest/"
APP = "AWS/ApplicationELB"
NET = "AWS/NetworkELB"
NAMESPACE = {ALB: APP, NLB: NET}
LABEL = {ALB: "Application Load Balancer", NLB: "Network Load Balancer"}
SHORT = {ALB: "alb", NLB: "nlb"}
TYPE = {ALB: "application", NLB: "network"}

# A load balancer's hourly charge in us-east-1 (ALB and NLB alike), before capacity units:
# https://aws.amazon.com/elasticloadbalancing/pricing/ (checked 2025).
HOURLY_USD = 0.0225
HOURS_PER_MONTH = 730

# Predefined policies that still accept TLS 1.0 or 1.1 (ELB's security policy table).
OLD_TLS_POLICIES = {
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-2015-05",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
}


def _both(suffix: str, title: str, **fields: Any) -> Callable[[Evaluate], list[Check]]:
    """Register one evaluate function as a check of each kind: `elb-alb-…` and `elb-nlb-…`."""

    def wrap(evaluate: Evaluate) -> list[Check]:
        return [
            check(
                id=f"elb-{SHORT[kind]}-{suffix}",
                title=title.format(label=LABEL[kind]),
                service=SERVICE,
                kind=kind,
                docs_url=DOCS + f"{TYPE[kind]}/" + fields["page"].format(type=TYPE[kind]),
                **{k: v for k, v in fields.items() if k != "page"},
            )(evaluate)
            for kind in (ALB, NLB)
        ]

    return wrap


def _listeners(inp: CheckInput) -> list[Mapping[str, Any]] | None:
    if "listeners" not in inp.config or not isinstance(inp.config.get("listeners"), list):
        return None
    return [as_dict(x) for x in as_list(inp.config.get("listeners"))]


def _target_groups(inp: CheckInput) -> list[Mapping[str, Any]] | None:
    if not isinstance(inp.config.get("target_groups"), list):
        return None
    return [as_dict(g) for g in as_list(inp.config.get("target_groups"))]


def _listener_name(listener: Mapping[str, Any]) -> str:
    return f"{listener.get('protocol')}:{listener.get('port')}"


# --- both kinds ----------------------------------------------------------------------------------


@_both(
    "unhealthy-targets",
    "{label} has unhealthy targets",
    pillar="reliability",
    severity="critical",
    why="Targets failed their health checks: the load balancer stopped sending them traffic, so the rest carry "
    "it all, and when every target of a group is unhealthy the load balancer fails open or returns 5XX errors. "
    "Repeated failures usually mean crashing instances or tasks, a wrong health check path, or a security group.",
    fix="Open the target group's Targets tab for each target's health reason (Target.Timeout, "
    "Target.ResponseCodeMismatch, Target.FailedHealthChecks), fix the target or the health check path and port, "
    "and let the target's security group accept the load balancer's traffic on the health check port.",
    page="target-group-health-checks.html",
    thresholds={"max_unhealthy_hosts": 0},
)
def unhealthy_targets(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    unhealthy = metric(inp, f"{NAMESPACE.get(inp.kind, APP)}:UnHealthyHostCount:Maximum")
    if unhealthy is None:
        return None
    evidence = {"unhealthy_hosts_max": unhealthy, "threshold": th["max_unhealthy_hosts"]}
    if unhealthy > th["max_unhealthy_hosts"]:
        return Result(False, evidence, f"Up to {fmt(unhealthy)} target(s) were unhealthy at once over {days(inp)}.")
    return Result(True, evidence, f"No target was unhealthy over {days(inp)}.")


@_both(
    "no-targets",
    "{label} has no registered targets",
    pillar="reliability",
    severity="warning",
    why="No target group of the load balancer has a registered target (or it has no target group): every "
    "request or connection it receives fails (503 from an ALB, a reset from an NLB), while it is still billed "
    "by the hour.",
    fix="Register targets (or attach the Auto Scaling group or ECS service that should register them) in the "
    "target group the listeners forward to, or delete the load balancer if nothing should be behind it.",
    page="load-balancer-target-groups.html",
    thresholds={},
)
def no_targets(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    groups = _target_groups(inp)
    if groups is None:
        return None
    known = [g.get("has_targets") for g in groups]
    if any(v is True for v in known):
        with_targets = [str(g.get("name")) for g in groups if g.get("has_targets") is True]
        return Result(True, {"target_groups_with_targets": with_targets}, "Targets are registered.")
    if any(v is None for v in known):
        return None  # some groups were not read: cannot say
    evidence = {"target_groups": [str(g.get("name")) for g in groups]}
    if not groups:
        return Result(False, evidence, "The load balancer has no target group.")
    return Result(False, evidence, f"No target is registered in any of its {len(groups)} target group(s).")


@_both(
    "access-logs-off",
    "{label} access logs off",
    pillar="operational_excellence",
    severity="info",
    why="Without access logs there is no record of who called what, from where, with which result and latency: "
    "incidents, abuse and client errors cannot be investigated after the fact, and many compliance baselines "
    "require them.",
    fix="Enable access logs to an S3 bucket in the same region (load balancer → Attributes → Monitoring → Access "
    "logs, or the attribute access_logs.s3.enabled) with a bucket policy that lets the ELB service write, and a "
    "lifecycle rule to expire them.",
    page="load-balancer-access-logs.html",
    thresholds={},
)
def access_logs_off(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    enabled = inp.config.get("access_logs")
    if not isinstance(enabled, bool):
        return None
    if inp.kind == NLB:
        # A Network Load Balancer writes access logs only for TLS listeners.
        listeners = _listeners(inp) or []
        if not any(listener.get("protocol") == "TLS" for listener in listeners):
            return None
    if enabled:
        return Result(True, {"access_logs": True}, "Access logs are written to S3.")
    return Result(False, {"access_logs": False}, "Access logs are off.")


@_both(
    "deletion-protection-off",
    "{label} deletion protection off",
    pillar="reliability",
    severity="info",
    why="A load balancer without deletion protection can be deleted by one API call or a stack update that "
    "replaces it; its DNS name is then gone for good, and every client and DNS record pointing at it breaks.",
    fix="Turn on deletion protection (load balancer → Attributes → Deletion protection, the attribute "
    "deletion_protection.enabled, or DeletionProtection in your infrastructure code) on every load balancer "
    "that serves production traffic.",
    page="{type}-load-balancers.html#deletion-protection",
    thresholds={},
)
def deletion_protection_off(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    enabled = inp.config.get("deletion_protection")
    if not isinstance(enabled, bool):
        return None
    if enabled:
        return Result(True, {"deletion_protection": True}, "Deletion protection is on.")
    return Result(False, {"deletion_protection": False}, "Deletion protection is off.")


@_both(
    "old-tls-policy",
    "{label} accepts TLS 1.0 or 1.1",
    pillar="security",
    severity="warning",
    why="A secure listener uses a security policy that still accepts TLS 1.0 or 1.1, deprecated protocols with "
    "weak ciphers (RFC 8996). Clients can be downgraded to them, and PCI DSS and most baselines forbid them.",
    fix="Switch the listener to ELBSecurityPolicy-TLS13-1-2-2021-06 (TLS 1.2 and 1.3, the console's default) "
    "after checking that no client still needs TLS 1.1 (the access logs' ssl_protocol field tells).",
    page="describe-ssl-policies.html",
    thresholds={},
)
def old_tls_policy(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    listeners = _listeners(inp)
    secure = [x for x in listeners or [] if x.get("protocol") in {"HTTPS", "TLS"} and x.get("ssl_policy")]
    if not secure:
        return None
    old = {_listener_name(x): str(x.get("ssl_policy")) for x in secure if x.get("ssl_policy") in OLD_TLS_POLICIES}
    if old:
        names = ", ".join(f"{k} ({v})" for k, v in old.items())
        return Result(False, {"listeners": old}, f"Listener(s) {names} accept TLS 1.0 or 1.1.")
    return Result(True, {"listeners": {}}, "Every secure listener requires TLS 1.2 or later.")


@_both(
    "idle",
    "{label} idle",
    pillar="cost_optimization",
    severity="warning",
    why="The load balancer handled no request or connection over the window, yet it is billed every hour it "
    "exists (about $16 a month each before capacity units) and keeps its listeners, certificates and security "
    "groups around.",
    fix="Confirm nothing should reach it (DNS records, clients, the infrastructure code that created it), then "
    "delete it — after turning deletion protection off — or merge its listeners into a shared load balancer.",
    page="load-balancer-cloudwatch-metrics.html",
    thresholds={"max_requests": 0},
)
def idle(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if inp.kind == NLB:
        used = count(inp, f"{NET}:NewFlowCount:Sum")
        bytes_ = count(inp, f"{NET}:ProcessedBytes:Sum")
        if used is None or bytes_ is None:
            return None
        used += bytes_
        what = "new flows and bytes"
    else:
        used = count(inp, f"{APP}:RequestCount:Sum")
        if used is None:
            return None
        what = "requests"
    evidence = {what.replace(" ", "_"): used, "monthly_cost_usd": round(HOURLY_USD * HOURS_PER_MONTH, 2)}
    if used <= th["max_requests"]:
        return Result(
            False,
            evidence,
            f"No {what} over {days(inp)}, at about ${fmt(evidence['monthly_cost_usd'])} a month.",
        )
    return Result(True, evidence, f"{fmt(used)} {what} over {days(inp)}.")


# --- Application Load Balancers ------------------------------------------------------------------


@check(
    id="elb-alb-http-not-redirected",
    title="Internet-facing ALB serves plain HTTP",
    service=SERVICE,
    kind=ALB,
    pillar="security",
    severity="warning",
    why="An HTTP listener of an internet-facing load balancer forwards requests instead of redirecting them to "
    "HTTPS: credentials, cookies and data cross the internet in clear text and can be read or altered on the way.",
    fix="Change the HTTP listener's default action to a redirect (Protocol HTTPS, Port 443, HTTP_301), serve the "
    "application only on an HTTPS listener, and consider HSTS headers in the application.",
    docs_url=DOCS + "application/listener-update-rules.html",
    thresholds={},
)
def http_not_redirected(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    listeners = _listeners(inp)
    if listeners is None or inp.config.get("scheme") != "internet-facing":
        return None
    http = [x for x in listeners if x.get("protocol") == "HTTP"]
    if not http:
        return Result(True, {"http_listeners": []}, "The load balancer has no plain HTTP listener.")
    plain = [
        _listener_name(x)
        for x in http
        if not (x.get("default_action") == "redirect" and x.get("redirect_protocol") == "HTTPS")
    ]
    evidence = {"http_listeners": [_listener_name(x) for x in http], "not_redirected": plain}
    if plain:
        return Result(
            False, evidence, f"HTTP listener(s) {', '.join(plain)} serve requests without redirecting to HTTPS."
        )
    return Result(True, evidence, "Every HTTP listener redirects to HTTPS.")


@check(
    id="elb-alb-target-5xx-rate-high",
    title="ALB targets return many 5XX errors",
    service=SERVICE,
    kind=ALB,
    pillar="reliability",
    severity="warning",
    why="Over 1 % of the requests the load balancer forwarded got a 5XX answer from the targets themselves: "
    "users see server errors, and clients that retry add load to targets already failing.",
    fix="Look at the targets' logs for the failing requests (the access logs name the target and "
    "target_status_code), the deployments around the time the errors started, and the targets' CPU and memory; "
    "for Lambda targets, the function's errors and timeouts.",
    docs_url=DOCS + "application/load-balancer-troubleshooting.html",
    thresholds={"error_rate_percent": 1.0, "min_requests": 100},
)
def target_5xx_rate(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    requests = metric(inp, f"{APP}:RequestCount:Sum")
    errors = count(inp, f"{APP}:HTTPCode_Target_5XX_Count:Sum")
    if requests is None or errors is None or requests < th["min_requests"]:
        return None
    rate = percent(errors, requests)
    evidence = {"requests": requests, "target_5xx": errors, "error_rate_percent": rate}
    sentence = f"{fmt(errors)} of {fmt(requests)} requests ({fmt(rate)} %) got a 5XX from the targets over {days(inp)}"
    if rate > th["error_rate_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['error_rate_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="elb-alb-response-time-high",
    title="ALB targets respond slowly",
    service=SERVICE,
    kind=ALB,
    pillar="performance_efficiency",
    severity="warning",
    why="The 95th percentile of the targets' response time (from the load balancer sending a request to the "
    "first byte of the answer) went above one second: one request in twenty is slow for its users.",
    fix="Find the slow routes in the access logs (target_processing_time), then profile the targets: database "
    "queries, downstream calls, cold starts of Lambda targets, CPU saturation; scale out if the targets are busy.",
    docs_url=DOCS + "application/load-balancer-cloudwatch-metrics.html",
    thresholds={"p95_seconds": 1.0},
)
def response_time_high(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    p95 = metric(inp, f"{APP}:TargetResponseTime:p95")
    if p95 is None:
        return None
    evidence = {"target_response_time_p95_s": p95, "threshold_s": th["p95_seconds"]}
    sentence = f"Target response time p95 reached {fmt(round(p95, 3))} s over {days(inp)}"
    if p95 > th["p95_seconds"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['p95_seconds'])} s.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="elb-alb-lambda-health-checks",
    title="ALB health checks invoke Lambda targets",
    service=SERVICE,
    kind=ALB,
    pillar="cost_optimization",
    severity="info",
    why="A target group of Lambda functions has health checks on: each check is a billed invocation of the "
    "function (from every load balancer node), which also counts against its concurrency and fills its logs "
    "and metrics with requests that are not users'.",
    fix="Turn health checks off on Lambda target groups (Target group → Health checks → Edit; off is the default "
    "for Lambda) unless you route between several targets and need failover; then use a long interval.",
    docs_url=DOCS + "application/lambda-functions.html",
    thresholds={},
)
def lambda_health_checks(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    groups = [g for g in _target_groups(inp) or [] if g.get("target_type") == "lambda"]
    if not groups:
        return None
    checked = [g for g in groups if g.get("health_check_enabled") is True]
    evidence: dict[str, Any] = {"lambda_target_groups": [str(g.get("name")) for g in groups]}
    if not checked:
        return Result(True, evidence, "Health checks are off on every Lambda target group.")
    per_month = sum(30 * 86400 / (number(g.get("health_check_interval_s")) or 35) for g in checked)
    evidence.update(
        health_checked=[str(g.get("name")) for g in checked], invocations_per_month_per_node=round(per_month)
    )
    return Result(
        False,
        evidence,
        f"Health checks invoke the functions of {', '.join(evidence['health_checked'])}: about "
        f"{fmt(round(per_month))} invocations a month per load balancer node.",
    )


@check(
    id="elb-alb-invalid-headers-kept",
    title="ALB forwards invalid HTTP headers",
    service=SERVICE,
    kind=ALB,
    pillar="security",
    severity="info",
    why="The load balancer passes header fields with invalid names to the targets. Such headers are a building "
    "block of request smuggling and header-injection attacks against applications that parse them loosely.",
    fix="Set the attribute routing.http.drop_invalid_header_fields.enabled to true (load balancer → Attributes → "
    "Drop invalid header fields) after checking that no legitimate client sends such headers.",
    docs_url=DOCS + "application/application-load-balancers.html#load-balancer-attributes",
    thresholds={},
)
def invalid_headers_kept(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    dropped = inp.config.get("drop_invalid_header_fields")
    if not isinstance(dropped, bool):
        return None
    if dropped:
        return Result(True, {"drop_invalid_header_fields": True}, "Invalid header fields are dropped.")
    return Result(False, {"drop_invalid_header_fields": False}, "Invalid header fields reach the targets.")


# --- Network Load Balancers ----------------------------------------------------------------------


@check(
    id="elb-nlb-single-az",
    title="Network Load Balancer in a single Availability Zone",
    service=SERVICE,
    kind=NLB,
    pillar="reliability",
    severity="warning",
    why="The load balancer has a node in one Availability Zone only: when that zone has trouble, everything "
    "behind it is unreachable, whatever the number of targets.",
    fix="Add a subnet in at least one more Availability Zone (load balancer → Network mapping → Edit subnets) and "
    "register targets there; turn on cross-zone load balancing if targets are not spread evenly.",
    docs_url=DOCS + "network/network-load-balancers.html#availability-zones",
    thresholds={"min_zones": 2},
)
def single_az(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    zones = inp.config.get("availability_zones")
    if not isinstance(zones, list) or not zones:
        return None
    evidence = {"availability_zones": list(zones)}
    if len(zones) < th["min_zones"]:
        return Result(False, evidence, f"The load balancer runs in {len(zones)} Availability Zone ({zones[0]}).")
    return Result(True, evidence, f"The load balancer runs in {len(zones)} Availability Zones.")
