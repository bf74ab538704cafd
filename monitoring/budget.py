"""The per-account CloudWatch API budget (docs/own-cost.md, "A budget"): what the plan starts
from (each resource's queries, base interval and activity in the last day; the part no
metrics interval changes), the plan (`own_cost.budget_plan`, pure) stored on the resources,
and what the account page shows of it.

The plan is made again when the budget is saved and every hour (activity moves), and the
metrics step (`orchestrator.collect_metrics`) polls a resource at `poll_multiplier` × its
kind's interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

import kinds
from accounts.models import AwsAccount
from kinds import lambda_function

from .collection.metrics import ACCOUNT_KIND, build_queries
from .collection.orchestrator import poll_interval
from .models import Resource
from .own_cost import BudgetPlan, Polled, budget_plan, monthly_usd

ACTIVITY_WINDOW = timedelta(days=1)


def _activity(account: AwsAccount, resources: list[Resource], now: datetime) -> dict[int, float]:
    """Per resource, the sum over the last day of its kind's activity series, from the
    stored metric points."""
    wanted = {r.pk: kinds.get(r.kind).activity_series for r in resources}
    metrics = sorted({s.rsplit(":", 1)[0] for s in wanted.values() if s})
    if not metrics:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resource_id, metric, stat, sum(value) FROM monitoring_metricpoint "
            "WHERE account_id = %s AND resource_id = ANY(%s) AND metric = ANY(%s) AND ts >= %s "
            "GROUP BY resource_id, metric, stat",
            [account.pk, list(wanted), metrics, now - ACTIVITY_WINDOW],
        )
        sums = {(rid, f"{metric}:{stat}"): float(v or 0) for rid, metric, stat, v in cursor.fetchall()}
    return {pk: sums.get((pk, series or ""), 0.0) for pk, series in wanted.items()}


@dataclass
class PlanInputs:
    resources: list[Resource]
    polled: list[Polled]
    fixed_usd: float
    fixed_parts: list[tuple[str, float]] = field(default_factory=list)  # (what, USD a month)


PLAN_FIELDS = (
    "id", "organization_id", "account_id", "region", "kind", "arn", "name", "config", "poll_multiplier", "poll_activity",
)  # fmt: skip


def _parted_kinds() -> list[str]:
    """The kinds whose metrics have a part dimension: their queries depend on each resource's
    configuration."""
    return [k for k in kinds.ids() if any(spec.per is not None for spec in kinds.get(k).metrics)]


def plan_inputs(account: AwsAccount, now: datetime | None = None) -> PlanInputs:
    """The resources collected in the account's regions, each with its queries, base interval
    and activity (read from the last day's metric points), and what no metrics interval
    changes: the logs step's Invocations query (one metric per function per log poll, in
    every region) and the account-level series."""
    now = now or timezone.now()
    # Only what the plan reads. A kind whose metrics have no part dimension takes the same
    # queries for every resource: its configuration (a JSON document to decode per resource,
    # ten thousand of them for as many functions) is not read.
    parted = _parted_kinds()
    collected = Resource.objects.filter(account=account, gone_at=None, kind__in=kinds.ids(), region__in=account.regions)
    same_queries = collected.exclude(kind__in=parted)
    resources = [
        *collected.filter(kind__in=parted).only(*PLAN_FIELDS),
        *same_queries.only(*(f for f in PLAN_FIELDS if f != "config")),
    ]
    resources.sort(key=lambda r: (r.kind, r.name))  # the model's order, as one query gave it
    activity = _activity(account, resources, now)
    per_kind = {k: (kinds.get(k).queries_per_resource, poll_interval(account, k)) for k in {r.kind for r in resources}}
    polled = [
        Polled(
            resource_id=r.pk,
            name=r.name,
            kind=r.kind,
            queries=kinds.get(r.kind).queries_for(r) if r.kind in parted else per_kind[r.kind][0],
            base_seconds=per_kind[r.kind][1],
            activity=activity.get(r.pk, 0.0),
        )
        for r in resources
    ]
    parts = _fixed_parts(account, functions=sum(1 for r in resources if r.kind == lambda_function.KIND))
    return PlanInputs(resources, polled, sum(usd for _, usd in parts), parts)


def _fixed_parts(account: AwsAccount, *, functions: int) -> list[tuple[str, float]]:
    """What no metrics interval changes: the logs step's Invocations query (one metric per
    function per log poll, in every region) and the account-level series."""
    account_queries = len(build_queries(ACCOUNT_KIND, [None])) * len(account.regions)
    return [
        (
            f"the log polls' Invocations query: {functions} function(s) every {settings.LOGS_POLL_SECONDS} s",
            monthly_usd(functions, settings.LOGS_POLL_SECONDS),
        ),
        (
            f"the account-level series: {account_queries} metric(s) every {poll_interval(account, ACCOUNT_KIND)} s",
            monthly_usd(account_queries, poll_interval(account, ACCOUNT_KIND)),
        ),
    ]


@transaction.atomic
def poll_plan_update(*, account: AwsAccount, now: datetime | None = None) -> BudgetPlan:
    """Make the account's plan and store it on its resources (only the rows that change)."""
    inputs = plan_inputs(account, now)
    budget = float(account.cloudwatch_budget_usd) if account.cloudwatch_budget_usd is not None else None
    plan = budget_plan(inputs.polled, fixed_usd=inputs.fixed_usd, budget_usd=budget)
    by_id = {p.resource_id: p for p in inputs.polled}
    changed = []
    for r in inputs.resources:
        multiplier = plan.multipliers.get(r.pk, 1)
        activity = by_id[r.pk].activity
        if r.poll_multiplier != multiplier or r.poll_activity != activity:
            r.poll_multiplier, r.poll_activity = multiplier, activity
            changed.append(r)
    Resource.objects.bulk_update(changed, ["poll_multiplier", "poll_activity"], batch_size=500)
    # Resources of regions no longer collected keep no multiplier.
    Resource.objects.filter(account=account).exclude(pk__in=[r.pk for r in inputs.resources]).exclude(
        poll_multiplier=1
    ).update(poll_multiplier=1)
    return plan


def poll_plans_update_all(now: datetime | None = None) -> int:
    """Every account with a budget, or with resources a removed budget left slowed."""
    accounts = AwsAccount.objects.filter(cloudwatch_budget_usd__isnull=False) | AwsAccount.objects.filter(
        pk__in=Resource.objects.filter(poll_multiplier__gt=1).values("account_id")
    )
    n = 0
    for account in accounts.distinct():
        poll_plan_update(account=account, now=now)
        n += 1
    return n


def budget_view(account: AwsAccount) -> dict[str, Any]:
    """What the account page's cost section shows: the budget, the projection at the base
    intervals and with the plan in effect, what no interval changes, and the resources
    polled less often with their activity and interval.

    The figures of `plan_inputs`' resources, read as counts: a kind whose queries are the
    same for every resource costs the same at the same multiplier, so its resources are
    counted per (kind, multiplier) in SQL (ten thousand functions are a row or two); only
    the resources of kinds with part dimensions (their queries depend on each one's
    configuration) and the slowed ones (the page lists them) are read as rows."""
    parted = _parted_kinds()
    collected = Resource.objects.filter(account=account, gone_at=None, kind__in=kinds.ids(), region__in=account.regions)
    # (kind, queries of one resource, multiplier, how many)
    groups: list[tuple[str, int, int, int]] = [
        (kind, kinds.get(kind).queries_per_resource, multiplier, n)
        for kind, multiplier, n in collected.exclude(kind__in=parted)
        .order_by()
        .values_list("kind", "poll_multiplier")
        .annotate(n=Count("pk"))
    ]
    queries: dict[int, int] = {}
    for r in collected.filter(kind__in=parted).only(*PLAN_FIELDS):
        queries[r.pk] = kinds.get(r.kind).queries_for(r)
        groups.append((r.kind, queries[r.pk], r.poll_multiplier, 1))
    base_seconds = {kind: poll_interval(account, kind) for kind in {kind for kind, *_ in groups}}
    parts = _fixed_parts(account, functions=sum(n for kind, _, _, n in groups if kind == lambda_function.KIND))
    fixed = sum(usd for _, usd in parts)
    base = fixed + sum(n * monthly_usd(q, base_seconds[kind]) for kind, q, _, n in groups)
    planned = fixed + sum(n * monthly_usd(q, base_seconds[kind] * m) for kind, q, m, n in groups)
    slowed: list[dict[str, Any]] = []
    for r in collected.filter(poll_multiplier__gt=1):  # the page links them
        q = queries.get(r.pk, kinds.get(r.kind).queries_per_resource)
        seconds = base_seconds[r.kind]
        slowed.append(
            {
                "resource": r,
                "activity": r.poll_activity,
                "base_seconds": seconds,
                "multiplier": r.poll_multiplier,
                "seconds": seconds * r.poll_multiplier,
                "saved_usd": monthly_usd(q, seconds) - monthly_usd(q, seconds * r.poll_multiplier),
            }
        )
    slowed.sort(key=lambda row: (-row["multiplier"], row["activity"] or 0, row["resource"].name))
    budget = float(account.cloudwatch_budget_usd) if account.cloudwatch_budget_usd is not None else None
    return {
        "budget_usd": budget,
        "base_usd": base,
        "planned_usd": planned,
        "fixed_usd": fixed,
        "fixed_parts": parts,
        "over": budget is not None and planned > budget + 1e-9,
        "fixed_over": budget is not None and fixed > budget,
        "slowed": slowed,
        "resources": sum(n for *_, n in groups),
    }
