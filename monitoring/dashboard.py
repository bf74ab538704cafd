"""Reads for the dashboard pages: KPIs, trends and top lists from rollups (never raw
invocations for long windows, docs/architecture.md §6), and figures as plain dicts for plotly.js.

Periods end on the next hour boundary so that hourly rollups cover them exactly: the
numbers are the same whichever page or API asks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization
from web import params as params_module

from .histogram import merge, percentile
from .models import Project, Resource, Rollup

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


def parse_period(params: Any, *, organization: Organization, now: datetime | None = None) -> Period:
    """?period=1h|24h|7d|30d, or ?period=custom&start=…[&end=…] (ISO dates or times, UTC
    when no offset is given); default 24h.

    A custom period must start within the organisation's rollup retention (nothing older is
    stored, and a century-long window would cost seconds of work for an empty chart) and
    end after it starts; an end in the future is cut at the current hour. Anything else is
    `InvalidInput` (a 400).
    """
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    key = params_module.choice(params, "period", [*PERIODS, "custom"], default="24h")
    if key != "custom":
        return Period(key, end - PERIODS[key], end)
    start = params_module.moment(params, "start")
    if start is None:
        raise params_module.InvalidInput("A custom period needs start (and optionally end), e.g. start=2025-01-31.")
    custom_end = params_module.moment(params, "end") or end
    retention = timedelta(days=organization.rollup_retention_days)
    if not end - retention <= start < end:
        raise params_module.InvalidInput(
            f"start must be within the last {organization.rollup_retention_days} days "
            "(this organisation's rollup retention) and before now."
        )
    if custom_end <= start:
        raise params_module.InvalidInput("end must be after start.")
    start = start.replace(minute=0, second=0, microsecond=0)
    custom_end = min(custom_end, end).replace(minute=0, second=0, microsecond=0)
    return Period("custom", start, max(custom_end, start + timedelta(hours=1)))


def narrower_windows(period: Period, query: Any) -> list[tuple[str, str]]:
    """(label, query string) of the last 24 hours and the last hour of `period`, where
    shorter: what a search that ran out of time can try instead. `query` is a QueryDict."""
    out = []
    for key, label in (("24h", "the last 24 hours"), ("1h", "the last hour")):
        length = PERIODS[key]
        if period.end - period.start <= length:
            continue
        narrower = query.copy()
        if period.key in PERIODS:
            narrower["period"] = key
            for name in ("start", "end"):
                narrower.pop(name, None)
        else:
            narrower["period"] = "custom"
            narrower["start"] = (period.end - length).isoformat()
            narrower["end"] = period.end.isoformat()
            label += " of this window"
        out.append((label, narrower.urlencode()))
    return out


@dataclass(frozen=True)
class Scope:
    organization: Organization
    account: int | None = None
    region: str = ""
    project: int | None = None

    @classmethod
    def from_query(cls, organization: Organization, params: Any) -> Scope:
        return cls(
            organization,
            params_module.integer(params, "account"),
            params_module.text(params, "region", max_length=32),
            params_module.integer(params, "project"),
        )

    def resource_ids(self) -> list[int] | None:
        """The project's resources, or None when no project narrows the scope."""
        if not self.project:
            return None
        project = Project.objects.filter(organization=self.organization, pk=self.project).first()
        return list(project.resources().values_list("pk", flat=True)) if project else []

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


def rollup_kind(period: Period) -> str:
    """Hourly rollups up to 3 days; daily beyond (a 30-day window of 1,000 functions is
    30,000 daily rows instead of 720,000 hourly ones). Daily windows cover whole UTC days."""
    return "day" if period.hours > 72 else "hour"


def _window(period: Period) -> Period:
    if rollup_kind(period) == "day":
        return Period(period.key, period.start.replace(hour=0), period.end)
    return period


def _where(scope: Scope, period: Period) -> tuple[str, list[Any]]:
    window = _window(period)
    sql = "r.organization_id = %s AND r.period = %s AND r.bucket >= %s AND r.bucket < %s"
    params: list[Any] = [scope.organization.pk, rollup_kind(period), window.start, window.end]
    if scope.account:
        sql += " AND r.account_id = %s"
        params.append(scope.account)
    if scope.region:
        sql += " AND r.resource_id IN (SELECT id FROM monitoring_resource WHERE region = %s AND organization_id = %s)"
        params += [scope.region, scope.organization.pk]
    ids = scope.resource_ids()
    if ids is not None:
        sql += " AND r.resource_id = ANY(%s)"
        params.append(ids)
    return sql, params


SUMS = [
    "invocations", "errors", "timeouts", "out_of_memory", "cold_starts",
    "cost_usd", "gb_seconds", "duration_sum_ms", "duration_count",
]  # fmt: skip


def _histogram(where: str, params: list[Any], group: str = "") -> dict[Any, dict[int, int]]:
    """Histograms merged in SQL: {group value (or None): {bucket index: count}}."""
    select = f"{group}, " if group else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select}e.key::int, sum(e.value::bigint) FROM monitoring_rollup r, "  # noqa: S608 (fixed columns)
            f"jsonb_each_text(r.histogram) e WHERE {where} GROUP BY {select}e.key",
            params,
        )
        out: dict[Any, dict[int, int]] = defaultdict(dict)
        for row in cursor.fetchall():
            key = row[0] if group else None
            out[key][int(row[-2])] = int(row[-1])
    return out


def kpis(scope: Scope, period: Period, *, percentiles: bool = True) -> dict[str, Any]:
    where, params = _where(scope, period)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(f'COALESCE(sum(r.{c}), 0)' for c in SUMS)} FROM monitoring_rollup r WHERE {where}",  # noqa: S608
            params,
        )
        totals = dict(zip(SUMS, cursor.fetchone(), strict=True))
    # Merging histograms is the costly part (a JSON row per function-hour): skip it when the
    # caller needs no percentiles (the previous period's comparison).
    histogram = _histogram(where, params).get(None, {}) if percentiles else {}
    invocations, errors = int(totals["invocations"]), int(totals["errors"])
    return {
        "invocations": invocations,
        "errors": errors,
        "error_rate": round(100 * errors / invocations, 2) if invocations else 0.0,
        "timeouts": int(totals["timeouts"]),
        "out_of_memory": int(totals["out_of_memory"]),
        "cold_starts": int(totals["cold_starts"]),
        "throttles": throttles(scope, period),
        "duration_p50_ms": percentile(histogram, 50),
        "duration_p95_ms": percentile(histogram, 95),
        "duration_p99_ms": percentile(histogram, 99),
        "cost_usd": float(totals["cost_usd"]),
        "gb_seconds": float(totals["gb_seconds"]),
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
    ids = scope.resource_ids()
    if ids is not None:
        sql += " AND p.resource_id = ANY(%s)"
        params.append(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def kpis_with_change(scope: Scope, period: Period) -> dict[str, dict[str, Any]]:
    """Each KPI with its value over the previous period of the same length and the change."""
    now, before = kpis(scope, period), kpis(scope, period.previous, percentiles=False)
    out = {}
    for key, value in now.items():
        old = before.get(key)
        change = None
        if isinstance(value, int | float) and isinstance(old, int | float) and old:
            change = round(100 * (value - old) / old, 1)
        out[key] = {"value": value, "previous": old, "change_percent": change}
    return out


def trend(scope: Scope, period: Period) -> dict[str, list[Any]]:
    """Per hour (per day beyond 3 days): invocations, errors, p95 duration, cost — in SQL."""
    where, params = _where(scope, period)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.bucket, sum(r.invocations), sum(r.errors), sum(r.cost_usd), "  # noqa: S608
            f"sum(r.duration_sum_ms) / NULLIF(sum(r.duration_count), 0) FROM monitoring_rollup r WHERE {where} "
            "GROUP BY r.bucket",
            params,
        )
        sums = {row[0]: row[1:] for row in cursor.fetchall()}
    window = _window(period)
    step = timedelta(days=1) if rollup_kind(period) == "day" else timedelta(hours=1)
    series: dict[str, list[Any]] = {"t": [], "invocations": [], "errors": [], "p95": [], "cost": []}
    t = window.start
    while t < window.end:
        invocations, errors, cost, average = sums.get(t, (0, 0, 0.0, None))
        series["t"].append(chart_time(t))
        series["invocations"].append(int(invocations))
        series["errors"].append(int(errors))
        series["p95"].append(round(float(average), 2) if average is not None else None)  # trend: average
        series["cost"].append(round(float(cost), 6))
        t += step
    series["range"] = chart_range(window, step)
    return series


def series_from(rows: list[Rollup], period: Period, step: timedelta = timedelta(hours=1)) -> dict[str, list[Any]]:
    """A series per bucket (hour or day) of the period, summing the rows of each bucket."""
    buckets: dict[datetime, list[Rollup]] = defaultdict(list)
    for r in rows:
        buckets[r.bucket].append(r)
    series: dict[str, list[Any]] = {"t": [], "invocations": [], "errors": [], "p95": [], "cost": []}
    t = period.start
    while t < period.end:
        group = buckets.get(t, [])
        series["t"].append(chart_time(t))
        series["invocations"].append(int(_sum(group, "invocations")))
        series["errors"].append(int(_sum(group, "errors")))
        series["p95"].append(percentile(merge(r.histogram for r in group), 95))
        series["cost"].append(round(_sum(group, "cost_usd"), 6))
        t += step
    series["range"] = chart_range(period, step)
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
    """The functions with the most errors, the longest average duration, the highest cost,
    the most cold starts — each a single indexed GROUP BY over rollups."""
    where, params = _where(scope, period)
    orders = {
        "errors": "sum(r.errors)",
        "duration": "sum(r.duration_sum_ms) / NULLIF(sum(r.duration_count), 0)",
        "cost": "sum(r.cost_usd)",
        "cold_starts": "sum(r.cold_starts)",
    }
    out: dict[str, list[dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        for key, expression in orders.items():
            cursor.execute(
                f"SELECT r.resource_id, {expression} AS v FROM monitoring_rollup r WHERE {where} "  # noqa: S608
                f"GROUP BY r.resource_id HAVING {expression} > 0 ORDER BY v DESC LIMIT %s",
                [*params, limit],
            )
            out[key] = [{"resource_id": rid, "value": float(v)} for rid, v in cursor.fetchall()]
    names = Resource.objects.in_bulk({row["resource_id"] for rows in out.values() for row in rows})
    for rows in out.values():
        for row in rows:
            row["resource"] = names.get(row["resource_id"])
    return out


# --- figures: plain dicts (a plotly Figure object costs 6–12 ms each) ---------------------------


def chart_time(t: datetime) -> str:
    """A chart's x value in the reader's time zone (the one active for the request):
    plotly.js draws the wall-clock time written and ignores any UTC offset."""
    return timezone.localtime(t).isoformat()


def chart_range(window: Period, step: timedelta) -> list[Any]:
    """The x axis spans exactly the period and each value spans its bucket (plotly's
    xperiod): a period with one bucket of data is drawn as that bucket, not zoomed into
    fractions of a second around one point. The step (ms) travels as the third item."""
    return [chart_time(window.start), chart_time(window.end), int(step.total_seconds() * 1000)]


def _layout(series: dict[str, list[Any]], **extra: Any) -> dict[str, Any]:
    xaxis = {"type": "date", **({"range": series["range"][:2]} if series.get("range") else {})}
    return {**LAYOUT, "xaxis": xaxis, **extra}


def _period(series: dict[str, list[Any]]) -> dict[str, Any]:
    """Each point stands for its whole bucket: bars fill it, line points sit in its middle."""
    if not series.get("range"):
        return {}
    return {"xperiod": series["range"][2], "xperiodalignment": "middle"}


def _bar(series: dict[str, list[Any]]) -> dict[str, Any]:
    # A lone bar's width would default to a sliver: give it its bucket (less a gap).
    return {**_period(series), **({"width": int(series["range"][2] * 0.9)} if series.get("range") else {})}


LAYOUT = {
    "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
    "height": 220,
    "showlegend": True,
    "legend": {"orientation": "h", "y": -0.25},
    "xaxis": {"type": "date"},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
}


def marker_shapes(markers: list[datetime] | None) -> list[dict[str, Any]]:
    """Dotted vertical lines at the configuration changes (deployments) within the chart."""
    return [
        {"type": "line", "x0": chart_time(m), "x1": chart_time(m), "yref": "paper", "y0": 0, "y1": 1,
         "line": {"color": "#7c3aed", "dash": "dot", "width": 1}}
        for m in (markers or [])
    ]  # fmt: skip


def overlay_shapes(spans: list[tuple[datetime, datetime, str]]) -> list[dict[str, Any]]:
    """Shaded spans of time (anomalous hours) across the chart's height."""
    return [
        {"type": "rect", "xref": "x", "yref": "paper", "x0": chart_time(start), "x1": chart_time(end), "y0": 0,
         "y1": 1, "layer": "below", "fillcolor": "rgba(245, 158, 11, 0.22)", "line": {"width": 0},
         "name": text}
        for start, end, text in spans
    ]  # fmt: skip


def figure_invocations(series: dict[str, list[Any]], markers: list[datetime] | None = None) -> dict[str, Any]:
    shapes = marker_shapes(markers)
    return {
        "data": [
            {
                "type": "bar",
                "name": "Invocations",
                "x": series["t"],
                "y": series["invocations"],
                "marker": {"color": "#93c5fd"},
                **_bar(series),
            },
            {
                "type": "bar",
                "name": "Errors",
                "x": series["t"],
                "y": series["errors"],
                "marker": {"color": "#ef4444"},
                **_bar(series),
            },
        ],
        "layout": _layout(series, barmode="overlay", shapes=shapes),
    }


def figure_duration(
    series: dict[str, list[Any]], label: str = "p95 duration (ms)", markers: list[datetime] | None = None
) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",  # one bucket of data still shows as a point
                "marker": {"size": 4},
                "name": label,
                "x": series["t"],
                "y": series["p95"],
                "line": {"color": "#2563eb"},
                **_period(series),
            }
        ],
        "layout": _layout(series, shapes=marker_shapes(markers)),
    }


def figure_cost(series: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "marker": {"size": 4},
                "fill": "tozeroy",
                "name": "Cost (USD)",
                "x": series["t"],
                "y": series["cost"],
                "line": {"color": "#16a34a"},
                **_period(series),
            }
        ],
        "layout": _layout(series),
    }


# --- CloudWatch metric charts (every kind's "metrics" sections) ----------------------------------

COLOURS = ["#2563eb", "#ef4444", "#f59e0b", "#16a34a", "#7c3aed", "#0891b2"]


def metric_step(period: Period) -> timedelta:
    """The bucket of a metric chart: the points are per minute, so an hour is drawn by the
    minute, a day by 5 minutes, three days by the hour and longer periods by the day."""
    if period.hours <= 1:
        return timedelta(minutes=1)
    if period.hours <= 24:
        return timedelta(minutes=5)
    if period.hours <= 72:
        return timedelta(hours=1)
    return timedelta(days=1)


def metric_window(period: Period) -> Period:
    """Daily buckets cover whole UTC days, like the rollup charts'."""
    if metric_step(period) >= timedelta(days=1):
        return Period(period.key, period.start.replace(hour=0, minute=0), period.end)
    return period


def bucket_value(stat: str, total: float, high: float, low: float, mean: float) -> float:
    """A bucket's value of one statistic from the minutes in it: sums add up, extremes keep
    their extreme, averages average; a percentile cannot be merged, so a bucket shows its
    worst minute's (the figure an alert on it would have seen)."""
    if stat == "Sum":
        return total
    if stat == "Minimum":
        return low
    if stat == "Average":
        return mean
    return high  # Maximum, pNN


def metric_series(
    buckets: dict[str, dict[datetime, float]], keys: list[str], window: Period, step: timedelta
) -> dict[str, list[Any]]:
    """{"t": [...], "range": [...], key: [value or None per bucket]} for the keys given."""
    series: dict[str, list[Any]] = {"t": [], **{key: [] for key in keys}}
    t = window.start
    while t < window.end:
        series["t"].append(chart_time(t))
        for key in keys:
            value = buckets.get(key, {}).get(t)
            series[key].append(round(value, 4) if value is not None else None)
        t += step
    series["range"] = chart_range(window, step)
    return series


def figure_metrics(
    series: dict[str, list[Any]], labels: dict[str, str], markers: list[datetime] | None = None
) -> dict[str, Any]:
    """One chart of a metrics section: counts (Sum) as bars, gauges and latencies as lines;
    a bucket without a point is a gap, not a zero."""
    data = []
    for i, (key, label) in enumerate(labels.items()):
        colour = COLOURS[i % len(COLOURS)]
        if key.endswith(":Sum"):
            trace = {"type": "bar", "marker": {"color": colour}, **_bar(series)}
        else:
            trace = {"type": "scatter", "mode": "lines+markers", "marker": {"size": 4}, "line": {"color": colour},
                     "connectgaps": False, **_period(series)}  # fmt: skip
        data.append({**trace, "name": label, "x": series["t"], "y": series[key]})
    return {"data": data, "layout": _layout(series, barmode="group", shapes=marker_shapes(markers))}


def figure_daily(days: list[tuple[Any, int]], label: str) -> dict[str, Any]:
    """Counts per day as bars (an error group's occurrences)."""
    if not days:
        return {"data": [], "layout": LAYOUT}
    end = days[-1][0] + timedelta(days=1)  # UTC days: plotly draws the dates as written
    series = {"t": [d.isoformat() for d, _ in days], "range": [days[0][0].isoformat(), end.isoformat(), 86_400_000]}
    return {
        "data": [
            {"type": "bar", "name": label, "x": series["t"], "y": [n for _, n in days],
             "marker": {"color": "#ef4444"}, **_bar(series)}
        ],
        "layout": _layout(series, showlegend=False),
    }  # fmt: skip


@dataclass(frozen=True)
class Sparkline:
    """Hourly invocations of one function as an SVG polyline (templates/monitoring/_sparkline.html)."""

    points: str
    total: int
    hours: int
    width: int = 96
    height: int = 20


def sparklines(resource_ids: list[int], hours: int = 24, now: datetime | None = None) -> dict[int, Sparkline]:
    """Hourly invocations per function drawn as an inline SVG polyline — not a chart object,
    since one per table row would cost more than the whole page should."""
    if not resource_ids:
        return {}
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    counts: dict[int, dict[datetime, int]] = defaultdict(dict)
    for rid, bucket, n in Rollup.objects.filter(
        resource_id__in=resource_ids, period="hour", bucket__gte=start, bucket__lt=end
    ).values_list("resource_id", "bucket", "invocations"):
        counts[rid][bucket] = n
    out = {}
    width, height = Sparkline.width, Sparkline.height
    for rid in resource_ids:
        values = [counts[rid].get(start + timedelta(hours=i), 0) for i in range(hours)]
        peak = max(values) or 1
        points = " ".join(
            f"{i * width / (hours - 1):.1f},{height - 1 - (v / peak) * (height - 2):.1f}" for i, v in enumerate(values)
        )
        out[rid] = Sparkline(points=points, total=sum(values), hours=hours)
    return out
