"""Reads for the dashboard pages: KPIs, trends and top lists from rollups (never raw
invocations for long windows, DESIGN §6), and figures as plain dicts for plotly.js.

Periods end on the next hour boundary so that hourly rollups cover them exactly: the
numbers are the same whichever page or API asks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization

from .histogram import merge, percentile
from .models import Rollup

PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass(frozen=True)
class Period:
    key: str
    start: datetime
    end: datetime

    @property
    def previous(self) -> Period:
        length = self.end - self.start
        return Period(self.key, self.start - length, self.start)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


def parse_period(params: Any, now: datetime | None = None) -> Period:
    """?period=1h|24h|7d|30d, or ?start=…&end=… (ISO dates or times, UTC); default 24h."""
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    key = params.get("period", "24h")
    if key == "custom":
        try:
            start = _parse_time(params.get("start", ""))
            custom_end = _parse_time(params.get("end", "")) if params.get("end") else end
        except ValueError:
            return Period("24h", end - PERIODS["24h"], end)
        start = start.replace(minute=0, second=0, microsecond=0)
        custom_end = custom_end.replace(minute=0, second=0, microsecond=0)
        if custom_end <= start:
            custom_end = start + timedelta(hours=1)
        return Period("custom", start, min(custom_end, end))
    length = PERIODS.get(key, PERIODS["24h"])
    return Period(key if key in PERIODS else "24h", end - length, end)


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Scope:
    organization: Organization
    account: int | None = None
    region: str = ""

    @classmethod
    def from_query(cls, organization: Organization, params: Any) -> Scope:
        account = params.get("account", "")
        return cls(organization, int(account) if str(account).isdigit() else None, params.get("region", "")[:32])

    def rollups(self, period: Period, *, period_kind: str = "hour") -> QuerySet[Rollup]:
        qs = Rollup.objects.filter(
            organization_id=self.organization.pk, period=period_kind, bucket__gte=period.start, bucket__lt=period.end
        )
        if self.account:
            qs = qs.filter(account_id=self.account)
        if self.region:
            qs = qs.filter(resource__region=self.region)
        return qs


def _sum(rows: list[Rollup], field: str) -> float:
    return sum(getattr(r, field) for r in rows)


def kpis(scope: Scope, period: Period) -> dict[str, Any]:
    rows = list(scope.rollups(period))
    invocations = int(_sum(rows, "invocations"))
    errors = int(_sum(rows, "errors"))
    histogram = merge(r.histogram for r in rows)
    return {
        "invocations": invocations,
        "errors": errors,
        "error_rate": round(100 * errors / invocations, 2) if invocations else 0.0,
        "timeouts": int(_sum(rows, "timeouts")),
        "out_of_memory": int(_sum(rows, "out_of_memory")),
        "cold_starts": int(_sum(rows, "cold_starts")),
        "throttles": throttles(scope, period),
        "duration_p50_ms": percentile(histogram, 50),
        "duration_p95_ms": percentile(histogram, 95),
        "duration_p99_ms": percentile(histogram, 99),
        "cost_usd": _sum(rows, "cost_usd"),
        "gb_seconds": _sum(rows, "gb_seconds"),
    }


def throttles(scope: Scope, period: Period) -> int:
    sql = (
        "SELECT COALESCE(sum(p.value), 0) FROM monitoring_metricpoint p "
        "JOIN monitoring_resource r ON r.id = p.resource_id "
        "WHERE r.organization_id = %s AND p.metric = 'AWS/Lambda:Throttles' AND p.stat = 'Sum' "
        "AND p.ts >= %s AND p.ts < %s"
    )
    params: list[Any] = [scope.organization.pk, period.start, period.end]
    if scope.account:
        sql += " AND p.account_id = %s"
        params.append(scope.account)
    if scope.region:
        sql += " AND r.region = %s"
        params.append(scope.region)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def kpis_with_change(scope: Scope, period: Period) -> dict[str, dict[str, Any]]:
    """Each KPI with its value over the previous period of the same length and the change."""
    now, before = kpis(scope, period), kpis(scope, period.previous)
    out = {}
    for key, value in now.items():
        old = before.get(key)
        change = None
        if isinstance(value, int | float) and isinstance(old, int | float) and old:
            change = round(100 * (value - old) / old, 1)
        out[key] = {"value": value, "previous": old, "change_percent": change}
    return out


def trend(scope: Scope, period: Period) -> dict[str, list[Any]]:
    """Per hour (per day beyond 3 days): invocations, errors, p95 duration, cost."""
    if period.hours > 72:
        floored = Period(period.key, period.start.replace(hour=0), period.end)
        return series_from(list(scope.rollups(floored, period_kind="day")), floored, step=timedelta(days=1))
    return series_from(list(scope.rollups(period)), period)


def series_from(rows: list[Rollup], period: Period, step: timedelta = timedelta(hours=1)) -> dict[str, list[Any]]:
    """A series per bucket (hour or day) of the period, summing the rows of each bucket."""
    buckets: dict[datetime, list[Rollup]] = defaultdict(list)
    for r in rows:
        buckets[r.bucket].append(r)
    series: dict[str, list[Any]] = {"t": [], "invocations": [], "errors": [], "p95": [], "cost": []}
    t = period.start
    while t < period.end:
        group = buckets.get(t, [])
        series["t"].append(t.isoformat())
        series["invocations"].append(int(_sum(group, "invocations")))
        series["errors"].append(int(_sum(group, "errors")))
        series["p95"].append(percentile(merge(r.histogram for r in group), 95))
        series["cost"].append(round(_sum(group, "cost_usd"), 6))
        t += step
    return series


def summarise(rows: list[Rollup]) -> dict[str, Any]:
    invocations = int(_sum(rows, "invocations"))
    errors = int(_sum(rows, "errors"))
    histogram = merge(r.histogram for r in rows)
    return {
        "invocations": invocations,
        "errors": errors,
        "error_rate": round(100 * errors / invocations, 2) if invocations else 0.0,
        "cold_starts": int(_sum(rows, "cold_starts")),
        "p50": percentile(histogram, 50),
        "p95": percentile(histogram, 95),
        "p99": percentile(histogram, 99),
        "cost": _sum(rows, "cost_usd"),
    }


def top_functions(scope: Scope, period: Period, limit: int = 5) -> dict[str, list[dict[str, Any]]]:
    per: dict[int, list[Rollup]] = defaultdict(list)
    for r in scope.rollups(period).select_related("resource"):
        per[r.resource_id].append(r)
    rows: list[dict[str, Any]] = []
    for group in per.values():
        histogram = merge(r.histogram for r in group)
        rows.append(
            {
                "resource": group[0].resource,
                "invocations": int(_sum(group, "invocations")),
                "errors": int(_sum(group, "errors")),
                "cold_starts": int(_sum(group, "cold_starts")),
                "p95": percentile(histogram, 95),
                "cost": _sum(group, "cost_usd"),
            }
        )

    def top(key: str) -> list[dict[str, Any]]:
        return sorted((r for r in rows if r[key]), key=lambda r: float(r[key]), reverse=True)[:limit]

    return {"errors": top("errors"), "duration": top("p95"), "cost": top("cost"), "cold_starts": top("cold_starts")}


# --- figures: plain dicts (a plotly Figure object costs 6–12 ms each) ---------------------------

LAYOUT = {
    "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
    "height": 220,
    "showlegend": True,
    "legend": {"orientation": "h", "y": -0.25},
    "xaxis": {"type": "date"},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
}


def figure_invocations(series: dict[str, list[Any]], markers: list[datetime] | None = None) -> dict[str, Any]:
    shapes = [
        {"type": "line", "x0": m.isoformat(), "x1": m.isoformat(), "yref": "paper", "y0": 0, "y1": 1,
         "line": {"color": "#7c3aed", "dash": "dot", "width": 1}}
        for m in (markers or [])
    ]  # fmt: skip
    return {
        "data": [
            {
                "type": "bar",
                "name": "Invocations",
                "x": series["t"],
                "y": series["invocations"],
                "marker": {"color": "#93c5fd"},
            },
            {"type": "bar", "name": "Errors", "x": series["t"], "y": series["errors"], "marker": {"color": "#ef4444"}},
        ],
        "layout": {**LAYOUT, "barmode": "overlay", "shapes": shapes},
    }


def figure_duration(series: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "p95 duration (ms)",
                "x": series["t"],
                "y": series["p95"],
                "line": {"color": "#2563eb"},
            }
        ],
        "layout": LAYOUT,
    }


def figure_cost(series: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "fill": "tozeroy",
                "name": "Cost (USD)",
                "x": series["t"],
                "y": series["cost"],
                "line": {"color": "#16a34a"},
            }
        ],
        "layout": LAYOUT,
    }
