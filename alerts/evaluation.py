"""Alert rule evaluation: which subjects breach each rule now.

`breaches` is pure (values in, decision out); `rules_evaluate` reads the values, and the
incident service turns decisions into transitions (one open incident per rule × subject,
auto-resolved when the condition clears).
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet

from insights.models import Anomaly, Finding, FindingStatus
from monitoring.models import ErrorGroup, ErrorGroupStatus, Resource
from monitoring.resource_page import format_number
from monitoring.selectors import (
    INVOCATION_WINDOW_FIGURES,
    api_5xx_rate_window_values,
    error_groups_of,
    invocation_window_values,
    live_resources,
    metric_window_values,
)

from . import metrics as alert_metrics
from .models import AlertRule

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
MISSING_DATA = ("ok", "breaching", "keep")


@dataclass(frozen=True)
class Breach:
    subject: str
    resource: Resource | None
    value: float | None
    title: str
    summary: str


def window_breaches(value: float, op: str, threshold: float, upper: float | None = None) -> bool:
    if op == "outside":
        return value < threshold or (upper is not None and value > upper)
    return bool(OPERATORS[op](value, threshold))


def decide(
    values: Sequence[float | None],
    op: str,
    threshold: float,
    needed: int,
    *,
    upper: float | None = None,
    missing: str = "ok",
) -> bool | None:
    """M of N over the windows' values, oldest first (None: the window has no data point).

    Missing data, as the rule says: "ok" (a window without data does not breach),
    "breaching" (it does), "keep" (it counts neither way: breaching when `needed` windows
    with data breach, clear when enough windows with data do not breach that `needed`
    cannot be reached, else None: keep the current state).
    """
    if missing not in MISSING_DATA:
        raise ValueError(f"unknown missing-data treatment {missing!r}")
    hits = sum(1 for v in values if v is not None and window_breaches(v, op, threshold, upper))
    empty = sum(1 for v in values if v is None)
    if missing == "breaching":
        hits += empty
    if hits >= needed:
        return True
    if missing == "keep" and len(values) - empty - hits > len(values) - needed:
        return False
    if missing == "keep":
        return None
    return False


def breaches(values: Sequence[float | None], op: str, threshold: float, needed: int) -> bool:
    """M of N: at least `needed` of the windows' values breach (a window without data does not)."""
    return bool(decide(values, op, threshold, needed))


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
    """{resource id: [value of each of the N windows, oldest first]}.

    The windows end at the start of the current minute: CloudWatch stamps a period with its
    start, so the minute under way has no point yet and would read as missing data."""
    ids = [r.pk for r in resources]
    width = timedelta(minutes=rule.window_minutes)
    n = max(1, rule.evaluation_periods)
    now = now.replace(second=0, microsecond=0)
    start = now - width * n
    out: dict[int, list[float | None]] = {rid: [None] * n for rid in ids}
    described = alert_metrics.get(rule.metric)
    if not ids or described is None:
        return out
    source = alert_metrics.DERIVED[rule.metric].source if described.derived else "cloudwatch"
    if source == "invocations":
        figure = alert_metrics.invocation_figure(rule.metric, rule.statistic)
        if figure not in INVOCATION_WINDOW_FIGURES:
            raise ValueError(f"{described.label} cannot be computed as {rule.statistic or 'that'}")
        rows = invocation_window_values(figure=figure, resource_ids=ids, start=start, end=now, width=width)
    elif source == "api_5xx":
        rows = api_5xx_rate_window_values(resource_ids=ids, start=start, end=now, width=width)
    else:
        if rule.statistic not in described.statistics:
            raise ValueError(f"{described.label} is not collected as {rule.statistic or 'no statistic'}")
        rows = metric_window_values(
            metric=rule.metric,
            stat=rule.statistic,
            aggregate=alert_metrics.POINT_AGGREGATE[rule.statistic],
            resource_ids=ids,
            start=start,
            end=now,
            width=width,
        )
    for rid, w, value in rows:
        if 0 <= w < n:
            out[rid][w] = float(value) if value is not None else None
    return out


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def comparison_text(rule: AlertRule) -> str:
    """ "SQS ApproximateAgeOfOldestMessage maximum > 300": what is compared, without the window."""
    described = alert_metrics.get(rule.metric)
    label = described.label if described else rule.metric
    if rule.statistic:
        label += f" {alert_metrics.statistic_label(rule.statistic)}"
    unit = described.unit if described else ""
    unit = unit if unit in ("", "%") else f" {unit}"  # "> 5%", "> 900 ms"
    if rule.operator == AlertRule.Operator.OUTSIDE:
        return f"{label} outside {_number(rule.threshold or 0)}–{_number(rule.threshold_upper or 0)}{unit}"
    return f"{label} {rule.operator} {_number(rule.threshold or 0)}{unit}"


def condition_text(rule: AlertRule) -> str:
    """ "… > 300 over 5 min (2 of 3 windows), missing data breaching"."""
    text = f"{comparison_text(rule)} over {rule.window_minutes} min"
    if rule.evaluation_periods > 1:
        text += f" ({rule.breaching_periods} of {rule.evaluation_periods} windows)"
    if rule.missing_data != AlertRule.MissingData.OK:
        text += f", missing data {rule.get_missing_data_display().removeprefix('treat as ')}"
    return text


def rule_summary(rule: AlertRule) -> str:
    """The rules list's one-line description of a rule's condition."""
    if rule.condition == AlertRule.Condition.THRESHOLD:
        return condition_text(rule)
    if rule.condition == AlertRule.Condition.ERROR_OCCURRENCE:
        kinds_text = ", ".join(rule.error_kinds) if rule.error_kinds else "any error"
        return f"Every occurrence of {kinds_text}, at most {rule.max_notifications_per_hour} notifications an hour"
    if rule.condition == AlertRule.Condition.ANOMALY:
        return anomaly_text(rule)
    return rule.get_condition_display()


def anomaly_text(rule: AlertRule) -> str:
    """ "Anomaly on SQS ApproximateAgeOfOldestMessage maximum", "Anomaly on any metric"."""
    if not rule.metric:
        return "Anomaly on any metric"
    described = alert_metrics.get(rule.metric)
    label = described.label if described else rule.metric
    return f"Anomaly on {label}" + (f" {alert_metrics.statistic_label(rule.statistic)}" if rule.statistic else "")


def threshold_breaches(rule: AlertRule, now: datetime) -> tuple[list[Breach], set[str]]:
    """The subjects that breach now, and those whose state stays as it is (missing data kept)."""
    described = alert_metrics.get(rule.metric)
    if described is None:
        raise ValueError(f"the metric {rule.metric!r} is not collected for any resource kind")
    resources = [r for r in targets(rule) if r.kind in described.kinds]
    values = window_values(rule, resources, now)
    condition, comparison = condition_text(rule), comparison_text(rule)
    out, kept = [], set()
    for r in resources:
        series = values.get(r.pk, [])
        if rule.threshold is None:
            continue
        decision = decide(
            series,
            rule.operator,
            rule.threshold,
            max(1, rule.breaching_periods),
            upper=rule.threshold_upper,
            missing=rule.missing_data,
        )
        if decision is None:
            kept.add(f"r{r.pk}")
        if not decision:
            continue
        latest = next((v for v in reversed(series) if v is not None), None)
        shown = _number(latest) if latest is not None else "no data"
        out.append(
            Breach(
                subject=f"r{r.pk}",
                resource=r,
                value=latest,
                title=f"{comparison} on {r.name}"[:300],
                summary=f"Latest value: {shown}. Condition: {condition}.",
            )
        )
    return out, kept


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


def occurrence_breaches(rule: AlertRule, since: datetime) -> list[Breach]:
    """Every open group of the chosen kinds that occurred since the rule last looked; its
    value is the group's count, so the incident service tells each new occurrence apart."""
    groups: Iterable[ErrorGroup] = error_groups_of(organization=rule.organization, status=ErrorGroupStatus.OPEN).filter(
        resource__in=targets(rule).values("pk"), last_seen__gte=since
    )
    if rule.error_kinds:
        groups = [g for g in groups if g.kind in rule.error_kinds]
    return [
        Breach(
            subject=f"g{g.pk}",
            resource=g.resource,
            value=float(g.count),
            title=f"Error on {g.resource.name}: {g.error_type or g.get_kind_display()}"[:300],
            summary=(g.sample_message or g.message)[:300],
        )
        for g in groups
    ]


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


# An anomaly incident holds while its figure was anomalous in one of the last two complete
# hours: detection runs hourly a few minutes past the hour, and judges complete hours only.
ANOMALY_HOLD = timedelta(hours=2)


def _anomalies_of(rule: AlertRule, now: datetime) -> list[Anomaly]:
    since = now.replace(minute=0, second=0, microsecond=0) - ANOMALY_HOLD
    anomalies = Anomaly.objects.filter(
        organization=rule.organization, hour__gte=since, resource__in=targets(rule).values("pk")
    ).select_related("resource")
    if rule.metric:
        watched = alert_metrics.anomaly_metric(rule.metric, rule.statistic)
        if watched is None:
            raise ValueError(f"anomalies are not computed for {rule.metric!r} {rule.statistic}".strip())
        anomalies = anomalies.filter(metric=watched)
    return list(anomalies.order_by("hour"))


def _anomaly_subject(a: Anomaly) -> str:
    subject = f"a{a.resource_id}:{a.metric}"
    if len(subject) <= 64:  # Incident.subject's length
        return subject
    return f"a{a.resource_id}:{hashlib.sha256(a.metric.encode()).hexdigest()[:24]}"


def anomaly_breaches(rule: AlertRule, now: datetime) -> list[Breach]:
    """One breach per resource × figure anomalous in the last complete hours (the newest hour
    gives its value); the incident resolves once its hours are back in their band."""
    latest: dict[str, Anomaly] = {}
    for a in _anomalies_of(rule, now):
        latest[_anomaly_subject(a)] = a
    return [
        Breach(
            subject=subject,
            resource=a.resource,
            value=a.observed,
            title=f"Anomaly on {a.resource.name}: {a.label} {'above' if a.direction == 'up' else 'below'} normal"[:300],
            summary=(
                f"{a.label} was {a.observed_text} in the hour from {a.hour:%Y-%m-%d %H:00} UTC; "
                f"normal for that hour is {a.band_text} (expected {format_number(a.expected)})."
            ),
        )
        for subject, a in latest.items()
    ]


def describe(rule: AlertRule) -> dict[str, Any]:
    return {"rule": rule.name, "condition": rule.condition, "metric": rule.metric, "threshold": rule.threshold}
