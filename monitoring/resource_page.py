"""What a resource's page and the resources list show for any kind, read from its kind's
declarations (`kinds.Kind.sections`, `key_numbers`, `relations`): no kind is named here, so
a kind added to the registry gets its page and its list numbers with no change in this app.

Reads are bounded whatever the number of resources: one query for every metric chart of a
page, two for its related resources, one for the key numbers of a whole list page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

import kinds
from kinds import KeyNumber, Section

from . import dashboard
from .models import Resource
from .selectors import SeriesFigures, latest_metrics, metric_buckets, resources_by_arn, resources_naming

FALLBACK_SECTIONS = (Section("configuration", "Configuration", "config"),)


def sections_of(resource: Resource) -> tuple[Section, ...]:
    """The kind's sections in order (a kind no longer registered still shows its configuration)."""
    kind = kinds.REGISTRY.get(resource.kind)
    return kind.sections if kind and kind.sections else FALLBACK_SECTIONS


BYTE_UNITS = ("bytes", "KB", "MB", "GB", "TB")


def format_number(value: float | None, unit: str = "") -> str:
    """A figure for people: thousands separated, at most two decimals, with its unit; a
    "bytes" figure in the largest unit that keeps it at or above 1 (1,024 bytes = 1 KB)."""
    if value is None:
        return "—"
    if unit == "bytes":
        step = 0
        while abs(value) >= 1024 and step < len(BYTE_UNITS) - 1:
            value, step = value / 1024, step + 1
        unit = BYTE_UNITS[step]
    if float(value).is_integer() and abs(value) < 1e15:
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip() if unit != "%" else f"{text} %"


@dataclass
class Kpi:
    label: str
    display: str
    has_data: bool


@dataclass
class MetricSection:
    section: Section
    figure_id: str
    kpis: list[Kpi] = field(default_factory=list)
    has_data: bool = False


def _period_value(stat: str, buckets: Iterable[tuple[float, float, float, float, int]]) -> float | None:
    rows = list(buckets)
    if not rows:
        return None
    if stat == "Sum":
        return sum(r[0] for r in rows)
    if stat == "Minimum":
        return min(r[2] for r in rows)
    if stat == "Average":
        count = sum(r[4] for r in rows)
        return sum(r[3] * r[4] for r in rows) / count if count else None
    return max(r[1] for r in rows)  # Maximum, pNN: the worst minute of the period


def metric_sections(
    resource: Resource, sections: Iterable[Section], period: dashboard.Period, markers: list[datetime]
) -> tuple[list[MetricSection], dict[str, dict[str, Any]]]:
    """The page's metric sections with their KPIs (each series over the whole period) and
    their plotly figures by element id, from one query over the resource's stored points."""
    wanted = [s for s in sections if s.source == "metrics"]
    if not wanted:
        return [], {}
    step = dashboard.metric_step(period)
    window = dashboard.metric_window(period)
    keys = list(dict.fromkeys(key for s in wanted for key in s.series))
    stored = metric_buckets(resource, series=keys, start=window.start, end=window.end, step=step)
    buckets: dict[str, dict[datetime, float]] = {}
    totals: dict[str, float | None] = {}
    for key in keys:
        metric, stat = kinds.series_key(key)
        rows = stored.get((metric, stat), {})
        buckets[key] = {t: dashboard.bucket_value(stat, *row[:4]) for t, row in rows.items()}
        totals[key] = _period_value(stat, rows.values())
    out, figures = [], {}
    for section in wanted:
        series = dashboard.metric_series(buckets, list(section.series), window, step)
        labels = {key: kinds.series_label(key) for key in section.series}
        figure_id = f"fig-{section.id}"
        figures[figure_id] = dashboard.figure_metrics(series, labels, markers)
        kpis = [
            Kpi(labels[key], format_number(totals[key], section.unit), totals[key] is not None)
            for key in section.series
        ]
        out.append(MetricSection(section, figure_id, kpis, any(k.has_data for k in kpis)))
    return out, figures


# --- related resources ---------------------------------------------------------------------------


@dataclass
class Relation:
    role: str  # what the other resource is to this one: "Dead-letter queue", "Read by", …
    arn: str
    resource: Resource | None  # None: not a resource we monitor (shown as its ARN)


def relations(resource: Resource) -> list[Relation]:
    """What this resource's configuration names (its DLQ, its targets, its event sources…)
    and the resources whose configuration names it (a queue's consumers, a function's
    triggers), each resolved to the organisation's stored resource when we monitor it."""
    kind = kinds.REGISTRY.get(resource.kind)
    outgoing = kind.relations(resource.config or {}) if kind else []
    found = resources_by_arn(organization_id=resource.organization_id, arns={link.arn for link in outgoing})
    out = [Relation(link.role, link.arn, found.get(link.arn)) for link in outgoing if link.arn != resource.arn]
    for other in resources_naming(resource):
        other_kind = kinds.REGISTRY.get(other.kind)
        for link in other_kind.relations(other.config or {}) if other_kind else []:
            if link.arn == resource.arn:
                out.append(Relation(link.inverse, other.arn, other))
    return out


# --- the resources list's key numbers ----------------------------------------------------------

KEY_NUMBERS_WINDOW = timedelta(hours=1)


@dataclass
class KeyFigure:
    label: str
    display: str


def _key_number(number: KeyNumber, figures: dict[str, SeriesFigures]) -> float | None:
    def value(keys: tuple[str, ...]) -> float | None:
        found = [figures[k] for k in keys if k in figures]
        if not found:
            return None
        if number.aggregate == "latest":
            return sum(f.latest for f in found)
        if number.aggregate == "max":
            return max(f.high for f in found)
        return sum(f.total for f in found)

    top = value(number.series)
    if not number.per:
        return top
    bottom = value(number.per)
    if not bottom:
        return None  # no request, no rate
    return 100 * (top or 0) / bottom


def key_numbers(resources: Iterable[Resource], now: datetime | None = None) -> dict[int, list[KeyFigure]]:
    """{resource id: its kind's key numbers over the last hour} for a page of the list, in
    one query; a resource with no stored point in the hour shows none."""
    rows = [(r, kind) for r in resources if (kind := kinds.REGISTRY.get(r.kind)) is not None and kind.key_numbers]
    series = {key for _, kind in rows for key in kind.key_number_series}
    since = (now or timezone.now()) - KEY_NUMBERS_WINDOW
    stored = latest_metrics([r.pk for r, _ in rows], series=series, since=since)
    out: dict[int, list[KeyFigure]] = {}
    for r, kind in rows:
        figures = stored.get(r.pk)
        if figures:
            out[r.pk] = [KeyFigure(n.label, format_number(_key_number(n, figures), n.unit)) for n in kind.key_numbers]
    return out
