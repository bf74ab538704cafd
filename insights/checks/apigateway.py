"""API Gateway checks, REST APIs (v1) and HTTP APIs (v2) apart: their metric names and stage settings differ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import as_dict, as_list, count, days, fmt, metric, percent, seconds

SERVICE = "apigateway"
REST = "apigateway.restapi"
HTTP = "apigateway.httpapi"
DOCS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
NS = "AWS/ApiGateway"

# The maximum integration timeout: 29 s for REST APIs (Regional and private APIs may ask for more since June 2024,
# at the cost of throttling quota), 30 s for HTTP APIs.
REST_INTEGRATION_TIMEOUT_MS = 29000.0
HTTP_INTEGRATION_TIMEOUT_MS = 30000.0


# --- shared bodies ------------------------------------------------------------------------------------


def _stages(inp: CheckInput) -> list[Mapping[str, Any]] | None:
    if "stages" not in inp.config:
        return None
    return [as_dict(s) for s in as_list(inp.config.get("stages"))]


def _error_rate(inp: CheckInput, th: Mapping[str, float], metric_name: str, label: str) -> Result | None:
    requests = metric(inp, f"{NS}:Count:Sum")
    errors = count(inp, f"{NS}:{metric_name}:Sum")
    if requests is None or errors is None or requests < th["min_requests"] or requests <= 0:
        return None
    rate = percent(errors, requests)
    evidence = {
        "error_rate_percent": rate,
        "errors": errors,
        "requests": requests,
        "threshold_percent": th["error_rate_percent"],
    }
    sentence = f"{label} rate {fmt(rate)} % ({fmt(errors)} of {fmt(requests)}) over {days(inp)}"
    if rate > th["error_rate_percent"]:
        return Result(False, evidence, f"{sentence} is above {fmt(th['error_rate_percent'])} %.")
    return Result(True, evidence, f"{sentence} is within {fmt(th['error_rate_percent'])} %.")


def _latency(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    requests = metric(inp, f"{NS}:Count:Sum")
    p99 = metric(inp, f"{NS}:Latency:p99")
    if p99 is None or requests is None or requests < th["min_requests"]:
        return None
    evidence = {"latency_p99_ms": p99, "threshold_ms": th["latency_p99_ms"], "requests": requests}
    sentence = f"p99 latency {seconds(p99)} over {days(inp)}"
    if p99 > th["latency_p99_ms"]:
        return Result(False, evidence, f"{sentence} is above {seconds(th['latency_p99_ms'])}.")
    return Result(True, evidence, f"{sentence}.")


def _integration_latency(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    requests = metric(inp, f"{NS}:Count:Sum")
    p95 = metric(inp, f"{NS}:IntegrationLatency:p95")
    if p95 is None or requests is None or requests < th["min_requests"]:
        return None
    timeout = th["integration_timeout_ms"]
    share = percent(p95, timeout)
    evidence = {
        "integration_latency_p95_ms": p95,
        "integration_timeout_ms": timeout,
        "share_of_timeout_percent": share,
        "threshold_percent": th["timeout_share_percent"],
    }
    sentence = f"p95 integration latency {seconds(p95)} is {fmt(share)} % of the {seconds(timeout)} integration timeout"
    if share > th["timeout_share_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['timeout_share_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


def _stages_missing(inp: CheckInput, field: str, what: str) -> Result | None:
    stages = _stages(inp)
    if not stages:
        return None
    known = [s for s in stages if field in s]
    if not known:
        return None
    missing = [str(s.get("name")) for s in known if not s.get(field)]
    if missing:
        return Result(
            False,
            {"stages": missing, "stage_count": len(known)},
            f"{len(missing)} of {len(known)} stage(s) have no {what}: {', '.join(missing)}.",
        )
    return Result(True, {"stage_count": len(known)}, f"Every stage has {what}.")


def _is_private(inp: CheckInput) -> bool:
    # Only REST APIs have endpoint types (and resource policies); an HTTP API is regional.
    return inp.kind == REST and "PRIVATE" in as_list(inp.config.get("endpoint_types"))


def _no_authorizer(inp: CheckInput) -> Result | None:
    if "authorizers" not in inp.config:
        return None
    authorizers = [as_dict(a) for a in as_list(inp.config.get("authorizers"))]
    if authorizers:
        return Result(
            True,
            {"authorizers": [str(a.get("name")) for a in authorizers]},
            f"The API has {len(authorizers)} authorizer(s).",
        )
    if _is_private(inp):
        return Result(True, {"endpoint_types": ["PRIVATE"]}, "The API is private (reachable from your VPCs only).")
    evidence: dict[str, Any] = {"authorizers": 0}
    if inp.kind == REST:
        evidence["has_resource_policy"] = inp.config.get("has_resource_policy")
    return Result(
        False,
        evidence,
        "The API has no Lambda, Cognito or JWT authorizer: its routes are public unless they use IAM auth.",
    )


def _no_throttling(inp: CheckInput) -> Result | None:
    stages = _stages(inp)
    if not stages:
        return None
    missing = [str(s.get("name")) for s in stages if s.get("throttling_rate_limit") is None]
    if missing:
        return Result(
            False,
            {"stages": missing, "stage_count": len(stages)},
            f"{len(missing)} of {len(stages)} stage(s) have no throttling limit of their own: {', '.join(missing)}.",
        )
    limits = {str(s.get("name")): s.get("throttling_rate_limit") for s in stages}
    return Result(True, {"rate_limits": limits}, "Every stage sets a throttling rate limit.")


ERROR_5XX_WHY = (
    "5XX responses are failures on your side: the integration (often a Lambda function) errored, timed out or was "
    "throttled, or API Gateway could not reach it. Clients see errors and may retry, adding load."
)
ERROR_5XX_FIX = (
    "Break the errors down by integration (execution logs or access logs with $context.integrationErrorMessage), "
    "then fix the failing function or backend; a 504 points to the integration timeout, a 502 to a malformed "
    "Lambda proxy response."
)
ERROR_4XX_WHY = (
    "A high share of 4XX responses means clients send requests the API rejects: missing or expired credentials, "
    "throttling (429), validation errors or wrong paths. It hides real problems and can signal abuse or a broken "
    "client release."
)
ERROR_4XX_FIX = (
    "Group the access logs by status and path: 401/403 point to authorizer or key problems, 429 to throttling "
    "limits, 404 to clients calling removed routes; fix the client or the API contract accordingly."
)
LATENCY_WHY = (
    "The slowest 1 % of requests took over 5 seconds end to end. Users notice, and callers with their own timeouts "
    "give up and retry."
)
LATENCY_FIX = (
    "Compare Latency with IntegrationLatency: if the integration dominates, speed up the backend (cold starts, "
    "slow queries); otherwise look at authorizer latency (cache authorizer results) and payload sizes."
)
INTEGRATION_WHY = (
    "The integration's p95 latency is close to API Gateway's integration timeout: requests slightly slower than "
    "that are cut off with a 504 while the backend keeps working (and billing)."
)
INTEGRATION_FIX = (
    "Make the backend faster, or turn long work asynchronous: accept the request, queue the work (SQS, Step "
    "Functions) and let the client poll or receive a callback."
)
THROTTLE_WHY = (
    "Without a stage throttling limit the only protection is the account-wide regional limit (10,000 requests per "
    "second, shared by every API of the account): one runaway client or bot can exhaust it for all your APIs and "
    "scale your backends (and bill) without bound."
)


# --- REST APIs -------------------------------------------------------------------------------------


@check(
    id="apigateway-rest-5xx-rate-high",
    title="REST API 5XX error rate above 1 %",
    service=SERVICE,
    kind=REST,
    pillar="reliability",
    severity="warning",
    why=ERROR_5XX_WHY,
    fix=ERROR_5XX_FIX,
    docs_url=DOCS + "api-gateway-metrics-and-dimensions.html",
    thresholds={"error_rate_percent": 1.0, "min_requests": 50},
)
def rest_5xx(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _error_rate(inp, th, "5XXError", "5XX error")


@check(
    id="apigateway-rest-4xx-rate-high",
    title="REST API 4XX error rate above 10 %",
    service=SERVICE,
    kind=REST,
    pillar="operational_excellence",
    severity="warning",
    why=ERROR_4XX_WHY,
    fix=ERROR_4XX_FIX,
    docs_url=DOCS + "api-gateway-metrics-and-dimensions.html",
    thresholds={"error_rate_percent": 10.0, "min_requests": 50},
)
def rest_4xx(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _error_rate(inp, th, "4XXError", "4XX error")


@check(
    id="apigateway-rest-latency-high",
    title="REST API p99 latency high",
    service=SERVICE,
    kind=REST,
    pillar="performance_efficiency",
    severity="warning",
    why=LATENCY_WHY,
    fix=LATENCY_FIX,
    docs_url=DOCS + "api-gateway-metrics-and-dimensions.html",
    thresholds={"latency_p99_ms": 5000.0, "min_requests": 50},
)
def rest_latency(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _latency(inp, th)


@check(
    id="apigateway-rest-integration-latency-near-timeout",
    title="REST API integration latency near the 29 s timeout",
    service=SERVICE,
    kind=REST,
    pillar="reliability",
    severity="warning",
    why=INTEGRATION_WHY,
    fix=INTEGRATION_FIX,
    docs_url=DOCS + "limits.html",
    thresholds={
        "integration_timeout_ms": REST_INTEGRATION_TIMEOUT_MS,
        "timeout_share_percent": 90.0,
        "min_requests": 50,
    },
)
def rest_integration_latency(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _integration_latency(inp, th)


@check(
    id="apigateway-rest-no-access-logs",
    title="REST API stage without access logging",
    service=SERVICE,
    kind=REST,
    pillar="operational_excellence",
    severity="warning",
    why="Access logs are the only record of who called which route, with which status, latency and integration "
    "error. Without them, incidents and abuse cannot be investigated after the fact.",
    fix="Stage → Logs/tracing → Custom access logging: set a CloudWatch log group ARN and a JSON format with "
    "$context.requestId, status, integrationStatus and integrationErrorMessage (AccessLogSetting in templates).",
    docs_url=DOCS + "set-up-logging.html",
    thresholds={},
)
def rest_no_access_logs(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _stages_missing(inp, "access_logs", "access logging")


@check(
    id="apigateway-rest-no-tracing",
    title="REST API stage without X-Ray tracing",
    service=SERVICE,
    kind=REST,
    pillar="operational_excellence",
    severity="info",
    why="Without X-Ray on the stage, traces of the functions behind it start without the API Gateway segment: you "
    "cannot see time spent in authorizers, mapping templates or the integration call.",
    fix="Stage → Logs/tracing → Enable X-Ray tracing (`TracingEnabled: true`), with active tracing on the "
    "functions behind it.",
    docs_url=DOCS + "apigateway-xray.html",
    thresholds={},
)
def rest_no_tracing(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _stages_missing(inp, "tracing_enabled", "X-Ray tracing")


@check(
    id="apigateway-rest-no-authorizer",
    title="REST API without an authorizer",
    service=SERVICE,
    kind=REST,
    pillar="security",
    severity="warning",
    why="The API has no Lambda or Cognito authorizer. Unless its methods use IAM authorization (not visible here) "
    "or a resource policy restricts callers, anyone who knows the URL can call it and drive your backend's cost.",
    fix="Add a Cognito user pool or Lambda authorizer and attach it to the methods, or set AuthorizationType "
    "AWS_IAM on them; for partner access add API keys with a usage plan.",
    docs_url=DOCS + "apigateway-control-access-to-api.html",
    thresholds={},
)
def rest_no_authorizer(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _no_authorizer(inp)


@check(
    id="apigateway-rest-no-throttling",
    title="REST API stage without throttling",
    service=SERVICE,
    kind=REST,
    pillar="reliability",
    severity="info",
    why=THROTTLE_WHY,
    fix="Set a default method throttling rate and burst on each stage (Stage → Settings → Default method throttling, "
    "`MethodSettings: [{ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit, ThrottlingBurstLimit}]`), and "
    "usage plans per client.",
    docs_url=DOCS + "api-gateway-request-throttling.html",
    thresholds={},
)
def rest_no_throttling(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _no_throttling(inp)


@check(
    id="apigateway-rest-compression-off",
    title="REST API payload compression off",
    service=SERVICE,
    kind=REST,
    pillar="performance_efficiency",
    severity="info",
    why="Without a minimum compression size API Gateway never gzips responses: JSON payloads travel 5-10 times "
    "larger than needed, which slows mobile clients and raises data transfer.",
    fix="Set the API's minimum compression size (Settings → Content encoding, `MinimumCompressionSize: 1024`); "
    "clients that send Accept-Encoding: gzip then get compressed responses.",
    docs_url=DOCS + "api-gateway-gzip-compression-decompression.html",
    thresholds={},
)
def rest_compression_off(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if "minimum_compression_size" not in inp.config:
        return None
    size = inp.config.get("minimum_compression_size")
    evidence = {"minimum_compression_size": size}
    if size is None:
        return Result(False, evidence, "Response compression is off (no minimum compression size).")
    return Result(True, evidence, f"Responses from {fmt(size)} bytes are compressed.")


@check(
    id="apigateway-rest-no-waf",
    title="Public REST API stage without AWS WAF",
    service=SERVICE,
    kind=REST,
    pillar="security",
    severity="info",
    why="A public stage without a web ACL takes every request to your integration: SQL injection and scanner "
    "traffic, credential stuffing and floods all reach (and bill) the backend.",
    fix="Associate an AWS WAF web ACL with the stage (WAF → Web ACLs → Associated resources), starting with the "
    "AWS managed Core rule set and a rate-based rule.",
    docs_url=DOCS + "apigateway-control-access-aws-waf.html",
    thresholds={},
)
def rest_no_waf(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if _is_private(inp) or "endpoint_types" not in inp.config:
        return None
    return _stages_missing(inp, "web_acl", "web ACL")


# --- HTTP APIs -------------------------------------------------------------------------------------


@check(
    id="apigateway-http-5xx-rate-high",
    title="HTTP API 5xx error rate above 1 %",
    service=SERVICE,
    kind=HTTP,
    pillar="reliability",
    severity="warning",
    why=ERROR_5XX_WHY,
    fix=ERROR_5XX_FIX,
    docs_url=DOCS + "http-api-metrics.html",
    thresholds={"error_rate_percent": 1.0, "min_requests": 50},
)
def http_5xx(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _error_rate(inp, th, "5xx", "5xx error")


@check(
    id="apigateway-http-4xx-rate-high",
    title="HTTP API 4xx error rate above 10 %",
    service=SERVICE,
    kind=HTTP,
    pillar="operational_excellence",
    severity="warning",
    why=ERROR_4XX_WHY,
    fix=ERROR_4XX_FIX,
    docs_url=DOCS + "http-api-metrics.html",
    thresholds={"error_rate_percent": 10.0, "min_requests": 50},
)
def http_4xx(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _error_rate(inp, th, "4xx", "4xx error")


@check(
    id="apigateway-http-latency-high",
    title="HTTP API p99 latency high",
    service=SERVICE,
    kind=HTTP,
    pillar="performance_efficiency",
    severity="warning",
    why=LATENCY_WHY,
    fix=LATENCY_FIX,
    docs_url=DOCS + "http-api-metrics.html",
    thresholds={"latency_p99_ms": 5000.0, "min_requests": 50},
)
def http_latency(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _latency(inp, th)


@check(
    id="apigateway-http-integration-latency-near-timeout",
    title="HTTP API integration latency near the 30 s timeout",
    service=SERVICE,
    kind=HTTP,
    pillar="reliability",
    severity="warning",
    why=INTEGRATION_WHY,
    fix=INTEGRATION_FIX,
    docs_url=DOCS + "http-api-quotas.html",
    thresholds={
        "integration_timeout_ms": HTTP_INTEGRATION_TIMEOUT_MS,
        "timeout_share_percent": 90.0,
        "min_requests": 50,
    },
)
def http_integration_latency(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _integration_latency(inp, th)


@check(
    id="apigateway-http-no-access-logs",
    title="HTTP API stage without access logging",
    service=SERVICE,
    kind=HTTP,
    pillar="operational_excellence",
    severity="warning",
    why="HTTP APIs have no execution logs: access logs are the only record of requests, statuses and integration "
    "errors. Without them failed requests cannot be traced after the fact.",
    fix="Stage → Logging: set a CloudWatch log group and a JSON format including $context.requestId, "
    "$context.status and $context.integrationErrorMessage (`AccessLogSettings` in templates).",
    docs_url=DOCS + "http-api-logging.html",
    thresholds={},
)
def http_no_access_logs(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _stages_missing(inp, "access_logs", "access logging")


@check(
    id="apigateway-http-no-authorizer",
    title="HTTP API without an authorizer",
    service=SERVICE,
    kind=HTTP,
    pillar="security",
    severity="warning",
    why="The API has no JWT or Lambda authorizer. Unless routes use IAM authorization (not visible here), anyone "
    "who knows the endpoint can call every route and drive your backend's cost.",
    fix="Add a JWT authorizer (Cognito or any OIDC issuer) or a Lambda authorizer and attach it to the routes "
    "(`AuthorizationType: JWT` / `CUSTOM`), or use AWS_IAM on internal routes.",
    docs_url=DOCS + "http-api-access-control.html",
    thresholds={},
)
def http_no_authorizer(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _no_authorizer(inp)


@check(
    id="apigateway-http-no-throttling",
    title="HTTP API stage without throttling",
    service=SERVICE,
    kind=HTTP,
    pillar="reliability",
    severity="info",
    why=THROTTLE_WHY,
    fix="Set default route throttling on each stage (Stage → Throttling, `DefaultRouteSettings: "
    "{ThrottlingRateLimit, ThrottlingBurstLimit}`), with tighter route-level limits on expensive routes.",
    docs_url=DOCS + "http-api-throttling.html",
    thresholds={},
)
def http_no_throttling(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _no_throttling(inp)
