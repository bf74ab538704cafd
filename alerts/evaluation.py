"""Alert rule evaluation: which subjects breach each rule now.

`breaches` is pure (values in, decision out); `rules_evaluate` reads the values, and the
incident service turns decisions into transitions (one open incident per rule × subject,
auto-resolved when the condition clears).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet

from insights.models import Finding, FindingStatus
from kinds import lambda_function
from monitoring.models import ErrorGroup, ErrorGroupStatus, Resource
from monitoring.selectors import (
    INVOCATION_WINDOW_FIGURES,
    api_5xx_rate_window_values,
    error_groups_of,
    invocation_window_values,
    live_resources,
    metric_window_values,
)

from .models import AlertRule

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}

# Metrics read from raw invocations over the window (computed by monitoring's selectors).
INVOCATION_METRICS = frozenset(INVOCATION_WINDOW_FIGURES)
# Metrics read from CloudWatch points: (metric, stat, aggregate).
POINT_METRICS = {
    "throttles": ("AWS/Lambda:Throttles", "Sum", "sum"),
    "iterator_age": ("AWS/Lambda:IteratorAge", "Maximum", "max"),
    "sqs_age": ("AWS/SQS:ApproximateAgeOfOldestMessage", "Maximum", "max"),
}


@dataclass(frozen=True)
class Breach:
    subject: str
    resource: Resource | None
    value: float | None
    title: str
    summary: str


def breaches(values: Sequence[float | None], op: str, threshold: float, needed: int) -> bool:
    """M of N: at least `needed` of the windows' values breach (a window without data does not)."""
    compare = OPERATORS[op]
    return sum(1 for v in values if v is not None and compare(v, threshold)) >= needed


def targets(rule: AlertRule) -> QuerySet[Resource]:
    qs = live_resources(organization=rule.organization)
    if rule.target == AlertRule.Target.ACCOUNT and rule.target_account_id:
        qs = qs.filter(account_id=rule.target_account_id)
    elif rule.target == AlertRule.Target.KIND and rule.target_kind:
        qs = qs.filter(kind=rule.target_kind)
    elif rule.target == AlertRule.Target.PROJECT and rule.target_project:
        qs = qs.filter(pk__in=rule.target_project.resources().values("pk"))
    elif rule.target == AlertRule.Target.RESOURCES:
        qs = qs.filter(pk__in=rule.target_resources.values("pk"))
    return qs


def window_values(rule: AlertRule, resources: list[Resource], now: datetime) -> dict[int, list[float | None]]:
    """{resource id: [value of each of the N windows, oldest first]}."""
    ids = [r.pk for r in resources]
    width = timedelta(minutes=rule.window_minutes)
    n = max(1, rule.evaluation_periods)
    start = now - width * n
    out: dict[int, list[float | None]] = {rid: [None] * n for rid in ids}
    if not ids:
        return out
    if rule.metric in INVOCATION_METRICS:
        rows = invocation_window_values(figure=rule.metric, resource_ids=ids, start=start, end=now, width=width)
    elif rule.metric in POINT_METRICS:
        metric, stat, agg = POINT_METRICS[rule.metric]
        rows = metric_window_values(
            metric=metric, stat=stat, aggregate=agg, resource_ids=ids, start=start, end=now, width=width
        )
    elif rule.metric == "api_5xx_rate":
        rows = api_5xx_rate_window_values(resource_ids=ids, start=start, end=now, width=width)
    else:
        return out
    for rid, w, value in rows:
        if 0 <= w < n:
            out[rid][w] = float(value) if value is not None else None
    return out


def threshold_breaches(rule: AlertRule, now: datetime) -> list[Breach]:
    resources = list(targets(rule))
    if rule.metric in INVOCATION_METRICS:
        resources = [r for r in resources if r.kind == lambda_function.KIND]
    values = window_values(rule, resources, now)
    label = dict(rule._meta.get_field("metric").choices or []).get(rule.metric, rule.metric)
    out = []
    for r in resources:
        series = values.get(r.pk, [])
        if rule.threshold is not None and breaches(
            series, rule.operator, rule.threshold, max(1, rule.breaching_periods)
        ):
            latest = next((v for v in reversed(series) if v is not None), None)
            shown = f"{latest:,.2f}".rstrip("0").rstrip(".") if latest is not None else "—"
            out.append(
                Breach(
                    subject=f"r{r.pk}",
                    resource=r,
                    value=latest,
                    title=f"{label} {rule.operator} {rule.threshold:g} on {r.name}",
                    summary=f"{label} was {shown} over the last {rule.window_minutes} minutes "
                    f"({rule.breaching_periods} of {rule.evaluation_periods} windows breaching; threshold {rule.operator} {rule.threshold:g}).",
                )
            )
    return out


def error_group_breaches(rule: AlertRule, since: datetime) -> list[Breach]:
    """Open groups first seen (or reopened as regressions) since the rule last looked."""
    resources = targets(rule).values("pk")
    groups: Iterable[ErrorGroup] = error_groups_of(organization=rule.organization, status=ErrorGroupStatus.OPEN).filter(
        resource__in=resources
    )
    if rule.error_kinds:
        groups = [g for g in groups if g.kind in rule.error_kinds]
    out = []
    for g in groups:
        if g.first_seen < since and not (g.regression and (g.status_changed_at or g.first_seen) >= since):
            continue
        what = "Regression" if g.regression else "New error"
        out.append(
            Breach(
                subject=f"g{g.pk}",
                resource=g.resource,
                value=float(g.count),
                title=f"{what} on {g.resource.name}: {g.error_type or g.get_kind_display()}",
                summary=(g.sample_message or g.message)[:300],
            )
        )
    return out


def open_error_group_subjects(rule: AlertRule) -> set[str]:
    return {
        f"g{pk}"
        for pk in error_groups_of(organization=rule.organization, status=ErrorGroupStatus.OPEN).values_list(
            "pk", flat=True
        )
    }


def finding_breaches(rule: AlertRule, since: datetime) -> list[Breach]:
    minimum = SEVERITY_RANK.get(rule.finding_severity or "info", 0)
    findings = Finding.objects.filter(
        organization=rule.organization, status=FindingStatus.OPEN, first_seen__gte=since
    ).select_related("resource")
    if rule.target_kind:
        findings = findings.filter(resource__kind=rule.target_kind)
    return [
        Breach(
            subject=f"f{f.pk}",
            resource=f.resource,
            value=None,
            title=f"New {f.severity} finding: {f.check_id}" + (f" on {f.resource.name}" if f.resource else ""),
            summary=f.message,
        )
        for f in findings
        if SEVERITY_RANK.get(f.severity, 0) >= minimum
    ]


def open_finding_subjects(rule: AlertRule) -> set[str]:
    return {
        f"f{pk}"
        for pk in Finding.objects.filter(organization=rule.organization, status=FindingStatus.OPEN).values_list(
            "pk", flat=True
        )
    }


def describe(rule: AlertRule) -> dict[str, Any]:
    return {"rule": rule.name, "condition": rule.condition, "metric": rule.metric, "threshold": rule.threshold}
