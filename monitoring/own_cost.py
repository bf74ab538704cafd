"""What the monitoring itself costs the customer, from the calls we counted (aws/usage.py)
and a price table (pure). Prices are US East (N. Virginia), the table's sources and what
it leaves out are in docs/own-cost.md; regions priced differently cost somewhat more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

GB = 1024**3


@dataclass(frozen=True)
class Rate:
    label: str
    usd: float
    per: float  # units the price is for
    unit: str


# counter (aws/usage.py) -> its price. Counters not listed cost nothing per request
# (Lambda, CloudWatch Logs and most control-plane reads are not billed per call).
RATES: dict[str, Rate] = {
    "metrics:GetMetricData": Rate("CloudWatch GetMetricData", 0.01, 1_000, "metrics requested"),
    "call:cloudwatch:ListMetrics": Rate("CloudWatch ListMetrics", 0.01, 1_000, "requests"),
    "call:cloudwatch:GetMetricStatistics": Rate("CloudWatch GetMetricStatistics", 0.01, 1_000, "requests"),
    "call:sqs:*": Rate("SQS API requests", 0.40, 1_000_000, "requests"),
    "call:xray:BatchGetTraces": Rate("X-Ray traces retrieved (5 a call, at most)", 0.50 * 5, 1_000_000, "calls"),
    "push:billed_bytes": Rate("Firehose ingestion (5 KB per record minimum)", 0.029, GB, "bytes"),
    "push:bytes": Rate("Firehose delivery to our endpoint (data transfer out)", 0.09, GB, "bytes"),
}

# AWS's own per-second quotas per account × region (not our pace, which takes a share):
# the share of them we use is what the customer's tools no longer have.
QUOTAS: dict[str, float] = {
    "call:logs:FilterLogEvents": 5,
    "call:cloudwatch:GetMetricData": 50,
    "call:lambda:*": 15,
}


def _rate_key(counter: str, table: dict[str, Rate] | dict[str, float]) -> str | None:
    if counter in table:
        return counter
    if counter.startswith("call:"):
        wildcard = counter.rsplit(":", 1)[0] + ":*"
        if wildcard in table:
            return wildcard
    return None


@dataclass
class Line:
    label: str
    per_day: float
    unit: str
    monthly_usd: float


@dataclass
class OwnCost:
    days: int
    calls: list[tuple[str, str, float]] = field(default_factory=list)  # (service, operation, per day)
    lines: list[Line] = field(default_factory=list)
    quota_shares: list[tuple[str, float]] = field(default_factory=list)  # (what, percent)

    @property
    def monthly_usd(self) -> float:
        return sum(line.monthly_usd for line in self.lines)


def own_cost(days: dict[str, dict[str, int]]) -> OwnCost:
    """One region's counters per day → the average per day over the days seen, and what a
    30-day month of that costs."""
    n = max(1, len(days))
    totals: dict[str, int] = defaultdict(int)
    for counters in days.values():
        for name, value in counters.items():
            totals[name] += value
    out = OwnCost(days=len(days))
    priced: dict[str, float] = defaultdict(float)
    for name, total in sorted(totals.items()):
        per_day = total / n
        if name.startswith("call:"):
            _, service, operation = name.split(":", 2)
            out.calls.append((service, operation, per_day))
        key = _rate_key(name, RATES)
        if key is not None:
            priced[key] += per_day
    for key, per_day in priced.items():
        rate = RATES[key]
        out.lines.append(Line(rate.label, per_day, rate.unit, per_day * 30 * rate.usd / rate.per))
    shares: dict[str, float] = defaultdict(float)
    for name, total in totals.items():
        key = _rate_key(name, QUOTAS)
        if key is not None:
            shares[key] += 100 * total / n / (QUOTAS[key] * 86_400)
    out.quota_shares = sorted(((k.removeprefix("call:"), v) for k, v in shares.items()), key=lambda kv: -kv[1])
    out.calls.sort(key=lambda c: -c[2])
    return out


# --- The CloudWatch API budget (docs/own-cost.md, "A budget") ---------------------------------

# GetMetricData: $0.01 per 1,000 metrics requested (RATES above); a 30-day month.
METRIC_USD = RATES["metrics:GetMetricData"].usd / RATES["metrics:GetMetricData"].per
MONTH_SECONDS = 30 * 86_400
# How much longer than its kind's interval a resource may be polled: the steps the budget
# takes, one at a time.
STEPS = (1, 2, 5, 15)


def monthly_usd(queries: float, interval_seconds: float) -> float:
    """What asking `queries` metrics every `interval_seconds` costs in a 30-day month."""
    return queries * MONTH_SECONDS / interval_seconds * METRIC_USD


@dataclass(frozen=True)
class Polled:
    """One resource as the budget sees it."""

    resource_id: int
    name: str
    kind: str
    queries: int  # GetMetricData queries one poll of it asks
    base_seconds: int  # its kind's poll interval for the account
    activity: float  # invocations / requests / messages in the last day (Kind.activity_series)

    def monthly_usd(self, multiplier: int = 1) -> float:
        return monthly_usd(self.queries, self.base_seconds * multiplier)


@dataclass
class BudgetPlan:
    budget_usd: float | None
    fixed_usd: float  # what no metrics interval changes: the logs step's Invocations queries, the account series
    base_usd: float  # the projection with every resource at its base interval
    planned_usd: float  # the projection with the multipliers
    multipliers: dict[int, int] = field(default_factory=dict)  # resource id -> 1, 2, 5 or 15

    @property
    def over(self) -> bool:
        return self.budget_usd is not None and self.planned_usd > self.budget_usd + 1e-9

    @property
    def slowed(self) -> int:
        return sum(1 for m in self.multipliers.values() if m > 1)


def budget_plan(resources: Sequence[Polled], *, fixed_usd: float, budget_usd: float | None) -> BudgetPlan:
    """Which resources to poll less often so that the projected CloudWatch API cost fits the
    budget.

    1. The projection: the fixed part plus every resource's queries at its base interval.
       No budget, or a projection within it: every resource at 1×.
    2. Otherwise the least active resource (ties: the costlier first, then by name) moves up
       one step (1× → 2× → 5× → 15× its base interval) at a time until it reaches 15×, then
       the next least active, and so on; the projection is recomputed after each step, and
       the plan stops as soon as it fits. The most active keep their base interval unless
       the budget leaves no other way.
    3. With every resource at 15× and still over the budget (the fixed part alone may be
       over it), the plan says so (`over`)."""
    multipliers = {r.resource_id: 1 for r in resources}
    total = fixed_usd + sum(r.monthly_usd() for r in resources)
    plan = BudgetPlan(budget_usd, fixed_usd, total, total, multipliers)
    if budget_usd is None or total <= budget_usd:
        return plan
    order = sorted(resources, key=lambda r: (r.activity, -r.monthly_usd(), r.name, r.resource_id))
    for r in order:
        for step in STEPS[1:]:
            total += r.monthly_usd(step) - r.monthly_usd(multipliers[r.resource_id])
            multipliers[r.resource_id] = step
            if total <= budget_usd:
                plan.planned_usd = total
                return plan
    plan.planned_usd = total
    return plan
