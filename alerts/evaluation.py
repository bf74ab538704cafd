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

from django.db import connection
from django.db.models import QuerySet

from insights.models import Finding, FindingStatus
from kinds import lambda_function
from monitoring.models import ErrorGroup, ErrorGroupStatus, Resource

from .models import AlertRule

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}

# Metrics read from raw invocations over the window (SQL expression per metric).
INVOCATION_METRICS = {
    "errors": "count(*) FILTER (WHERE status IN ('error', 'timeout', 'out_of_memory'))",
    "error_rate": "100.0 * count(*) FILTER (WHERE status IN ('error', 'timeout', 'out_of_memory')) / NULLIF(count(*), 0)",
    "timeouts": "count(*) FILTER (WHERE status = 'timeout')",
    "out_of_memory": "count(*) FILTER (WHERE status = 'out_of_memory')",
    "cold_starts": "count(*) FILTER (WHERE cold_start)",
    "duration_max": "max(duration_ms)",
    "duration_avg": "avg(duration_ms)",
    "memory_use": "max(100.0 * max_memory_used_mb / NULLIF(memory_size_mb, 0))",
    "cost": "sum(cost_usd)",
}
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
    qs = Resource.objects.filter(organization=rule.organization, gone_at=None)
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
    with connection.cursor() as cursor:
        if rule.metric in INVOCATION_METRICS:
            cursor.execute(
                f"SELECT resource_id, floor(extract(epoch FROM started_at - %s) / %s)::int AS w, "  # noqa: S608
                f"{INVOCATION_METRICS[rule.metric]} FROM monitoring_invocation "
                "WHERE resource_id = ANY(%s) AND started_at >= %s AND started_at < %s GROUP BY 1, 2",
                [start, width.total_seconds(), ids, start, now],
            )
        elif rule.metric in POINT_METRICS:
            metric, stat, agg = POINT_METRICS[rule.metric]
            cursor.execute(
                f"SELECT resource_id, floor(extract(epoch FROM ts - %s) / %s)::int AS w, {agg}(value) "  # noqa: S608
                "FROM monitoring_metricpoint WHERE resource_id = ANY(%s) AND metric = %s AND stat = %s "
                "AND ts >= %s AND ts < %s GROUP BY 1, 2",
                [start, width.total_seconds(), ids, metric, stat, start, now],
            )
        elif rule.metric == "api_5xx_rate":
            cursor.execute(
                "SELECT resource_id, floor(extract(epoch FROM ts - %s) / %s)::int AS w, "
                "100.0 * sum(value) FILTER (WHERE metric IN ('AWS/ApiGateway:5XXError', 'AWS/ApiGateway:5xx')) "
                "/ NULLIF(sum(value) FILTER (WHERE metric = 'AWS/ApiGateway:Count'), 0) "
                "FROM monitoring_metricpoint WHERE resource_id = ANY(%s) AND stat = 'Sum' AND ts >= %s AND ts < %s "
                "GROUP BY 1, 2",
                [start, width.total_seconds(), ids, start, now],
            )
        else:
            return out
        for rid, w, value in cursor.fetchall():
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
    groups: Iterable[ErrorGroup] = ErrorGroup.objects.filter(
        organization=rule.organization, resource__in=resources, status=ErrorGroupStatus.OPEN
    ).select_related("resource")
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
        for pk in ErrorGroup.objects.filter(organization=rule.organization, status=ErrorGroupStatus.OPEN).values_list(
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
