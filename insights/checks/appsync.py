"""AppSync GraphQL API checks: logging and tracing, authorisation (API keys alone, keys about
to expire), WAF, server errors, latency and caching."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import as_dict, as_list, count, days, fmt, metric, percent, seconds
from kinds.appsync_api import KIND

SERVICE = "appsync"
DOCS = "https://docs.aws.amazon.com/appsync/latest/devguide/"
NS = "AWS/AppSync"


def _logging(inp: CheckInput) -> tuple[bool, Mapping[str, Any]] | None:
    """(logging on, its settings), or None when discovery did not say."""
    if "logging" not in inp.config:
        return None
    value = inp.config.get("logging")
    return (isinstance(value, Mapping), as_dict(value))


@check(
    id="appsync-logging-off",
    title="AppSync API without CloudWatch logs",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="warning",
    why="The API writes no logs to CloudWatch: when a query fails or a resolver errors, nothing records which "
    "request, which field, which data source or which error, and failures can only be guessed from the 4XX and "
    "5XX counts.",
    fix="Turn on logging (API → Settings → Logging) with a role AppSync can write logs with, field resolver log "
    "level ERROR (ALL only while debugging: it logs every field of every request), and exclude verbose content "
    "if requests carry personal data.",
    docs_url=DOCS + "monitoring.html#setup-and-configuration",
    thresholds={},
)
def logging_off(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    found = _logging(inp)
    if found is None:
        return None
    on, settings = found
    if not on:
        return Result(False, {"logging": None}, "CloudWatch logging is off.")
    level = settings.get("field_log_level")
    evidence = {"field_log_level": level}
    if level == "NONE":
        return Result(
            False, evidence, "Logging is on but field resolver logs are NONE: resolver errors are not recorded."
        )
    return Result(True, evidence, f"Logging is on, field resolver logs at {level}.")


@check(
    id="appsync-field-logs-all",
    title="AppSync logs every field of a busy API",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="Field resolver logging is ALL: every resolved field of every request writes log lines with its "
    "arguments, results and timings. On a busy API this costs more in CloudWatch Logs ingestion than the API "
    "itself and adds latency.",
    fix="Set the field resolver log level to ERROR (API → Settings → Logging) and turn ALL on only while "
    "debugging; exclude verbose content to keep request and response bodies out of the logs.",
    docs_url=DOCS + "monitoring.html#cwl",
    thresholds={"min_requests": 100000},
)
def field_logs_all(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    found = _logging(inp)
    requests = metric(inp, f"{NS}:Requests:Sum")
    if found is None or not found[0] or requests is None or requests < th["min_requests"]:
        return None
    level = found[1].get("field_log_level")
    evidence = {"field_log_level": level, "requests": requests}
    if level == "ALL":
        return Result(False, evidence, f"Every field of {fmt(requests)} requests over {days(inp)} was logged.")
    return Result(True, evidence, f"Field resolver logs at {level} for {fmt(requests)} requests over {days(inp)}.")


@check(
    id="appsync-xray-off",
    title="AppSync API not traced with X-Ray",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="info",
    why="X-Ray tracing is off: a slow or failing GraphQL request cannot be broken down into its resolvers and "
    "data sources (DynamoDB, Lambda, HTTP), so finding which field made it slow means guessing.",
    fix="Enable X-Ray tracing on the API (API → Settings → X-Ray, or xrayEnabled in your infrastructure code); "
    "sampling rules keep its cost bounded.",
    docs_url=DOCS + "x-ray-tracing.html",
    thresholds={},
)
def xray_off(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    enabled = inp.config.get("xray_enabled")
    if not isinstance(enabled, bool):
        return None
    if enabled:
        return Result(True, {"xray_enabled": True}, "X-Ray tracing is on.")
    return Result(False, {"xray_enabled": False}, "X-Ray tracing is off.")


@check(
    id="appsync-api-key-only",
    title="AppSync API authorised by API key alone",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="The API's only authorisation is an API key. The key is shipped in clients (web pages, mobile apps), "
    "identifies no user and cannot be scoped: anyone who reads it can call every operation it allows until it "
    "expires.",
    fix="Authorise users with Amazon Cognito user pools, OpenID Connect, IAM or a Lambda authorizer, and keep "
    "API keys (as an additional mode, with @aws_api_key on the few public fields) only for truly public data.",
    docs_url=DOCS + "security-authz.html",
    thresholds={},
)
def api_key_only(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    auth = inp.config.get("authentication_type")
    if not isinstance(auth, str):
        return None
    extra = [str(a) for a in as_list(inp.config.get("additional_authentication_types"))]
    evidence = {"authentication_type": auth, "additional_authentication_types": extra}
    if auth == "API_KEY" and not extra:
        return Result(False, evidence, "API keys are the only way to call the API.")
    return Result(True, evidence, f"Authorised by {' + '.join([auth, *extra])}.")


def _days_left(expires: Any, today: date) -> int | None:
    if not isinstance(expires, str):
        return None
    try:
        return (datetime.fromisoformat(expires).date() - today).days
    except ValueError:
        return None


@check(
    id="appsync-api-key-expiring",
    title="AppSync API key expiring soon",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="An API key of the API expires within two weeks (or has expired). From that moment every client still "
    "sending it gets 401 Unauthorized: a hard outage for web and mobile apps that ship the key.",
    fix="Extend the key's expiry (up to 365 days at a time: API → Settings → API keys → Edit, or `aws appsync "
    "update-api-key --expires`), or roll out a new key to clients before the old one expires.",
    docs_url=DOCS + "security-authz.html#api-key-authorization",
    thresholds={"days": 14},
)
def api_key_expiring(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    keys = inp.config.get("api_keys")
    if not isinstance(keys, list) or not keys or not inp.today:
        return None
    today = date.fromisoformat(inp.today)
    soon: list[dict[str, Any]] = []
    for key in keys:
        k = as_dict(key)
        left = _days_left(k.get("expires"), today)
        if left is not None and left <= th["days"]:
            soon.append({"description": k.get("description") or "", "expires": k.get("expires"), "days_left": left})
    evidence: dict[str, Any] = {"api_keys": len(keys), "expiring": soon}
    if not soon:
        return Result(True, evidence, f"No API key expires within {fmt(th['days'])} days.")
    first = min(soon, key=lambda k: int(k["days_left"]))
    left = int(first["days_left"])
    name = f"“{first['description']}”" if first["description"] else "An API key"
    when = f"in {left} day(s)" if left >= 0 else f"{-left} day(s) ago"
    verb = "expires" if left >= 0 else "expired"
    more = f" ({len(soon)} keys within {fmt(th['days'])} days)" if len(soon) > 1 else ""
    return Result(False, evidence, f"{name} {verb} {when}{more}.")


@check(
    id="appsync-no-waf",
    title="Public AppSync API without AWS WAF",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="info",
    why="A public GraphQL endpoint has no web ACL: nothing limits request rates per client, blocks known bad IPs "
    "or rejects oversized and deeply nested queries before they reach resolvers and their data sources.",
    fix="Associate an AWS WAF web ACL with the API (API → Settings → Web application firewall) with a rate-based "
    "rule and AWS managed rule groups; set a query depth limit on the API as well.",
    docs_url=DOCS + "WAF-Integration.html",
    thresholds={},
)
def no_waf(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if "waf_web_acl" not in inp.config or inp.config.get("visibility") != "GLOBAL":
        return None
    acl = inp.config.get("waf_web_acl")
    if acl:
        return Result(True, {"waf_web_acl": acl}, "A WAF web ACL protects the API.")
    return Result(False, {"waf_web_acl": None}, "No WAF web ACL protects the public API.")


@check(
    id="appsync-5xx-errors",
    title="AppSync API returns server errors",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Over 1 % of the API's requests ended in a 5XX error: AppSync or a resolver's data source failed "
    "(a Lambda error or timeout, DynamoDB throttling, an HTTP endpoint down), and clients got no data.",
    fix="Read the API's logs for the failing requests (errorType and the resolver's data source), then fix the "
    "data source: the function's errors, the table's capacity, the endpoint's health; add retries in clients.",
    docs_url=DOCS + "monitoring.html",
    thresholds={"error_rate_percent": 1.0, "min_requests": 100},
)
def server_errors(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    requests = metric(inp, f"{NS}:Requests:Sum")
    errors = count(inp, f"{NS}:5XXError:Sum")
    if requests is None or errors is None or requests < th["min_requests"]:
        return None
    rate = percent(errors, requests)
    evidence = {"requests": requests, "errors_5xx": errors, "error_rate_percent": rate}
    sentence = f"{fmt(errors)} of {fmt(requests)} requests ({fmt(rate)} %) failed with a 5XX over {days(inp)}"
    if rate > th["error_rate_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['error_rate_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="appsync-latency-high",
    title="AppSync API slow",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="The 95th percentile of the API's latency (from AppSync receiving a request to its answer) went above "
    "one second: one request in twenty feels slow, usually because of one slow resolver or an N+1 pattern of "
    "data source calls.",
    fix="Find the slow resolvers with X-Ray or field-level logs, batch data source calls (BatchGetItem, Lambda "
    "batch invoke), cache hot fields with the API cache, and keep Lambda resolvers warm where cold starts show.",
    docs_url=DOCS + "monitoring.html",
    thresholds={"p95_ms": 1000.0},
)
def latency_high(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    p95 = metric(inp, f"{NS}:Latency:p95")
    if p95 is None:
        return None
    evidence = {"latency_p95_ms": p95, "threshold_ms": th["p95_ms"]}
    sentence = f"Latency p95 reached {seconds(p95)} over {days(inp)}"
    if p95 > th["p95_ms"]:
        return Result(False, evidence, f"{sentence}, above {seconds(th['p95_ms'])}.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="appsync-caching-off",
    title="Busy AppSync API without a cache",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="info",
    why="The API served many requests with no server-side cache: every query runs its resolvers against the data "
    "sources again, adding latency and data source load (and cost) for answers that are often the same.",
    fix="Create an API cache (API → Caching) with per-resolver caching on the read-heavy, slowly changing fields "
    "and a TTL that matches how stale they may be; turn on encryption at rest and in transit.",
    docs_url=DOCS + "enabling-caching.html",
    thresholds={"min_requests": 100000},
)
def caching_off(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if "cache" not in inp.config:
        return None
    requests = metric(inp, f"{NS}:Requests:Sum")
    if requests is None or requests < th["min_requests"]:
        return None
    cache = inp.config.get("cache")
    evidence = {"requests": requests, "cache": cache}
    if cache:
        return Result(True, evidence, f"An API cache serves {fmt(requests)} requests over {days(inp)}.")
    return Result(False, evidence, f"{fmt(requests)} requests over {days(inp)} with no API cache.")
