"""Account-level Lambda checks, one input per account × region: concurrency against the
regional limit. The limit and the unreserved pool come from lambda:GetAccountSettings
(read at each discovery), the peaks from the account-level CloudWatch metrics of that region."""

from __future__ import annotations

from collections.abc import Mapping

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import fmt, metric, number, percent

KIND = "account"
SERVICE = "account"
DOCS_CONCURRENCY = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html"


@check(
    id="account-concurrency-near-limit",
    title="Lambda concurrency close to the account limit",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="All functions of the account share one concurrency limit per region. Peak concurrency went above 80 % of "
    "it: a burst on any one function will throttle the others, including unrelated critical paths.",
    fix="Request a higher 'Concurrent executions' quota in Service Quotas (Lambda), reserve concurrency for critical "
    "functions, cap noisy ones, and shorten durations (concurrency = requests per second × duration).",
    docs_url=DOCS_CONCURRENCY,
    thresholds={"usage_percent": 80.0},
)
def concurrency_near_limit(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    limit = number(inp.config.get("concurrency_limit"))
    peak = metric(inp, "AWS/Lambda:ConcurrentExecutions:Maximum")
    if not limit or peak is None:
        return None
    usage = percent(peak, limit)
    evidence = {
        "peak_concurrency": peak,
        "concurrency_limit": limit,
        "usage_percent": usage,
        "threshold_percent": th["usage_percent"],
    }
    sentence = f"Peak concurrency {fmt(peak)} is {fmt(usage)} % of the {fmt(limit)} limit"
    if usage > th["usage_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['usage_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="account-unreserved-concurrency-near-limit",
    title="Unreserved Lambda concurrency pool nearly used up",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Functions without reserved concurrency share what the reservations leave (at least 100). Their peak went "
    "above 80 % of that pool, so they are close to being throttled even if the account total looks fine.",
    fix="Lower reservations that are never used, request a higher account concurrency quota, or reserve "
    "concurrency for the busiest unreserved functions.",
    docs_url="https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html",
    thresholds={"usage_percent": 80.0},
)
def unreserved_near_limit(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    pool = number(inp.config.get("unreserved_concurrency"))
    peak = metric(inp, "AWS/Lambda:UnreservedConcurrentExecutions:Maximum")
    if not pool or peak is None:
        return None
    usage = percent(peak, pool)
    evidence = {
        "peak_unreserved_concurrency": peak,
        "unreserved_concurrency": pool,
        "usage_percent": usage,
        "threshold_percent": th["usage_percent"],
    }
    sentence = f"Peak unreserved concurrency {fmt(peak)} is {fmt(usage)} % of the {fmt(pool)} unreserved pool"
    if usage > th["usage_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['usage_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="account-concurrency-limit-low",
    title="Lambda concurrency limit below the default 1,000",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="info",
    why="New accounts can start with a concurrency limit well below the usual 1,000 per region, which AWS raises "
    "only on request or gradually with usage. A traffic spike or load test then throttles everything.",
    fix="Request a quota increase for 'Concurrent executions' in Service Quotas → AWS Lambda before going to "
    "production traffic.",
    docs_url="https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    thresholds={"min_limit": 1000},
)
def concurrency_limit_low(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    limit = number(inp.config.get("concurrency_limit"))
    if not limit:
        return None
    evidence = {"concurrency_limit": limit, "threshold": th["min_limit"]}
    if limit < th["min_limit"]:
        return Result(
            False, evidence, f"The account's concurrency limit is {fmt(limit)}, below {fmt(th['min_limit'])}."
        )
    return Result(True, evidence, f"The account's concurrency limit is {fmt(limit)}.")
