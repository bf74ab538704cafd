"""Reads for the dashboard pages: KPIs, trends and top lists over exact windows (rollups for
the whole buckets, raw rows for the partial hours at the edges: monitoring/windows.py), and
figures as plain dicts for plotly.js.

A preset period ends now: "1h" is the last 60 minutes, "24h" the last 24 hours (like
CloudWatch). The organisation, an account or a region read account × region rollups, a
project its own rollups (when current), anything finer the functions' rollups: a few dozen
rows per chart whatever the number of functions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.html import escape

from accounts.models import Organization
from web import params as params_module

from . import windows
from .histogram import merge, percentile
from .models import Project, Resource, Rollup

PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass(frozen=True)
class Period:
    key: str
    start: datetime
    end: datetime
    # When it was asked for: a window ending at (or after) `now` reads the rollups of the
    # buckets under way whole, since nothing is stored after now. None: the current time.
    now: datetime | None = None

    @property
    def previous(self) -> Period:
        length = self.end - self.start
        return Period(self.key, self.start - length, self.start, self.now)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def plan(self, coarsest: windows.Step = "day") -> windows.Plan:
        """Where the period's counts, sums and histograms are read (the pages read no maxima)."""
        return windows.plan(self.start, self.end, now=self.now or timezone.now(), coarsest=coarsest, subtract=True)


def parse_period(params: Any, *, organization: Organization, now: datetime | None = None) -> Period:
    """?period=1h|24h|7d|30d (the last hour, day, 7 or 30 days, up to now), or
    ?period=custom&start=…[&end=…] (ISO dates or times, UTC when no offset is given);
    default 24h.

    A custom period must start within the organisation's rollup retention (nothing older is
    stored, and a century-long window would cost seconds of work for an empty chart) and
    end after it starts; an end in the future is cut at now. Anything else is
    `InvalidInput` (a 400).
    """
    now = now or timezone.now()
    key = params_module.choice(params, "period", [*PERIODS, "custom"], default="24h")
    if key != "custom":
        return Period(key, now - PERIODS[key], now, now)
    start = params_module.moment(params, "start")
    if start is None:
        raise params_module.InvalidInput("A custom period needs start (and optionally end), e.g. start=2025-01-31.")
    custom_end = params_module.moment(params, "end") or now
    retention = timedelta(days=organization.rollup_retention_days)
    if not now - retention <= start < now:
        raise params_module.InvalidInput(
            f"start must be within the last {organization.rollup_retention_days} days "
            "(this organisation's rollup retention) and before now."
        )
    if custom_end <= start:
        raise params_module.InvalidInput("end must be after start.")
    return Period("custom", start, min(custom_end, now), now)


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

    @cached_property
    def _project(self) -> Project | None:
        if not self.project:
            return None
        return Project.objects.filter(organization=self.organization, pk=self.project).first()

    @cached_property
    def _project_ids(self) -> list[int] | None:
        if not self.project:
            return None
        project = self._project
        return list(project.resources().values_list("pk", flat=True)) if project else []

    def resource_ids(self) -> list[int] | None:
        """The project's resources, or None when no project narrows the scope."""
        return self._project_ids

    def source(self) -> windows.Source:
        """Where the scope's totals are read: account × region rollups, the project's own
        when they are current (else its functions'), functions' for a project in one
        account or region."""
        org = self.organization.pk
        if not self.project:
            return windows.account_source(org, self.account, self.region)
        ids = self.resource_ids() or []
        project = self._project
        if project is not None and project.rollups_current and not (self.account or self.region):
            return windows.project_source(org, project.pk, ids)
        return self.function_source()

    def function_source(self) -> windows.Source:
        """The scope's functions' own rollups (for per-function figures)."""
        return windows.function_source(
            self.organization.pk, account=self.account, region=self.region, resource_ids=self.resource_ids()
        )


SUMS = [
    "invocations", "errors", "timeouts", "out_of_memory", "cold_starts",
    "cost_usd", "gb_seconds", "duration_sum_ms", "duration_count",
]  # fmt: skip


def kpis(scope: Scope, period: Period, *, percentiles: bool = True) -> dict[str, Any]:
    source, plan = scope.source(), period.plan()
    totals = windows.figures(source, plan, columns=SUMS).get(None) or {}
    # Merging histograms is the costly part: skip it when the caller needs no percentiles
    # (the previous period's comparison).
    histogram = windows.histograms(source, plan).get(None, {}) if percentiles else {}
    invocations, errors = int(totals.get("invocations") or 0), int(totals.get("errors") or 0)
    return {
        "invocations": invocations,
        "errors": errors,
        "error_rate": round(100 * errors / invocations, 2) if invocations else 0.0,
        "timeouts": int(totals.get("timeouts") or 0),
        "out_of_memory": int(totals.get("out_of_memory") or 0),
        "cold_starts": int(totals.get("cold_starts") or 0),
        "throttles": throttles(scope, period),
        "duration_p50_ms": percentile(histogram, 50),
        "duration_p95_ms": percentile(histogram, 95),
        "duration_p99_ms": percentile(histogram, 99),
        "cost_usd": float(totals.get("cost_usd") or 0),
        "gb_seconds": float(totals.get("gb_seconds") or 0),
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


def trend_step(period: Period) -> windows.Step:
    """A chart's bucket: minutes up to an hour (from raw rows), hours up to 3 days, days
    beyond (a 30-day window is 30 daily rows per account × region). Days are UTC days."""
    if period.hours <= 1:
        return "minute"
    return "day" if period.hours > 72 else "hour"


def _buckets(period: Period, step: windows.Step) -> list[datetime]:
    out, t = [], windows.floor(period.start, step)
    while t < period.end:
        out.append(t)
        t += windows.STEPS[step]
    return out


TREND_COLUMNS = ["invocations", "errors", "cost_usd", "duration_sum_ms", "duration_count"]


def trend(scope: Scope, period: Period) -> dict[str, list[Any]]:
    """Per minute, hour or day (`trend_step`): invocations, errors, average duration, cost."""
    step = trend_step(period)
    rows = windows.figures(scope.source(), period.plan(step), columns=TREND_COLUMNS, group=step)
    series: dict[str, list[Any]] = {"t": [], "invocations": [], "errors": [], "p95": [], "cost": []}
    for t in _buckets(period, step):
        row = rows.get(t) or {}
        count = row.get("duration_count") or 0
        series["t"].append(chart_time(t))
        series["invocations"].append(int(row.get("invocations") or 0))
        series["errors"].append(int(row.get("errors") or 0))
        # The overview's trend is the average (the key is the chart's)
        series["p95"].append(round(float(row["duration_sum_ms"]) / count, 2) if count else None)
        series["cost"].append(round(float(row.get("cost_usd") or 0), 6))
    series["range"] = chart_range(period, windows.STEPS[step])
    return series


def function_figures(resource: Resource, period: Period) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """One function over the period: its series per bucket (p95 from the histograms) and
    its totals (the resource page's KPIs)."""
    step = trend_step(period)
    source = windows.function_source(resource.organization_id, resource_ids=[resource.pk])
    plan = period.plan(step)
    rows = windows.figures(source, plan, columns=["invocations", "errors", "cold_starts", "cost_usd"], group=step)
    per_bucket = windows.histograms(source, plan, group=step)
    # A maximum cannot be taken away: its buckets are read without subtracting.
    maxima = windows.figures(
        source,
        windows.plan(period.start, period.end, now=period.now or timezone.now(), coarsest=step),
        columns=["memory_max_mb"],
        group=step,
    )
    series: dict[str, list[Any]] = {"t": [], "invocations": [], "errors": [], "p95": [], "cost": [], "memory": []}
    for t in _buckets(period, step):
        row = rows.get(t) or {}
        series["memory"].append((maxima.get(t) or {}).get("memory_max_mb"))
        series["t"].append(chart_time(t))
        series["invocations"].append(int(row.get("invocations") or 0))
        series["errors"].append(int(row.get("errors") or 0))
        series["p95"].append(percentile(per_bucket.get(t, {}), 95))
        series["cost"].append(round(float(row.get("cost_usd") or 0), 6))
    series["range"] = chart_range(period, windows.STEPS[step])
    histogram = merge(per_bucket.values())  # type: ignore[arg-type]  # int keys merge like str ones
    invocations = sum(int(r.get("invocations") or 0) for r in rows.values())
    errors = sum(int(r.get("errors") or 0) for r in rows.values())
    summary = {
        "invocations": invocations,
        "errors": errors,
        "error_rate": round(100 * errors / invocations, 2) if invocations else 0.0,
        "cold_starts": sum(int(r.get("cold_starts") or 0) for r in rows.values()),
        "p50": percentile(histogram, 50),
        "p95": percentile(histogram, 95),
        "p99": percentile(histogram, 99),
        "cost": sum(float(r.get("cost_usd") or 0) for r in rows.values()),
    }
    return series, summary


TOP = {
    "errors": "sum(errors)",
    "duration": "sum(duration_sum_ms) / NULLIF(sum(duration_count), 0)",
    "cost": "sum(cost_usd)",
    "cold_starts": "sum(cold_starts)",
}


def top_functions(scope: Scope, period: Period, limit: int = 5) -> dict[str, list[dict[str, Any]]]:
    """The functions with the most errors, the longest average duration, the highest cost,
    the most cold starts: one pass over the functions' rollups of the period."""
    ranked = windows.ranked(
        scope.function_source(),
        period.plan(),
        columns=["errors", "duration_sum_ms", "duration_count", "cost_usd", "cold_starts"],
        orders=TOP,
        limit=limit,
    )
    out: dict[str, list[dict[str, Any]]] = {
        key: [{"resource_id": rid, "value": value} for rid, value in rows] for key, rows in ranked.items()
    }
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


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _figure(value: float) -> float:
    return float(f"{value:.6g}")


BAND_NAME = "normal range"


def band_traces(
    hours: dict[datetime, tuple[float, float]],
    window: Period,
    step: timedelta,
    *,
    label: str,
    colour: str,
    additive: bool,
    now: datetime,
    legend: bool = True,
    start_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """A series' normal range as a light ribbon over the chart's complete buckets (an hour's
    band across each of its buckets; a sum's scaled to the bucket's share of the hour): per
    run of buckets with a band, a lower line and an upper one filled down to it, whose hover
    gives both bounds. Buckets without a band (too little history) leave a gap. Every band of
    a chart is one legend entry, "normal range" (`legend`: this one shows it), which hides or
    shows them all; the hover names the series (`label`, empty on a chart of one). Buckets
    that start before `start_at` (a window's partial first bucket) get no band either: the
    chart holds only part of them."""
    share = step / timedelta(hours=1) if additive else 1.0
    runs: list[list[tuple[str, float, float]]] = []
    inside = False
    t = window.start
    while t < window.end:
        complete = t + step <= now and (start_at is None or t >= start_at)
        band = hours.get(t.replace(minute=0, second=0, microsecond=0)) if complete else None
        if band is None:
            inside = False
        else:
            if not inside:
                runs.append([])
            runs[-1].append((chart_time(t), _figure(band[0] * share), _figure(band[1] * share)))
            inside = True
        t += step
    period = {"xperiod": int(step.total_seconds() * 1000), "xperiodalignment": "middle"}
    line = {"width": 0, "shape": "hvh"}
    group = {"name": BAND_NAME, "legendgroup": BAND_NAME}
    hover = f"{escape(label)}: " if label else ""
    traces: list[dict[str, Any]] = []
    for n, run in enumerate(runs):
        x = [p[0] for p in run]
        traces.append(
            {"type": "scatter", "mode": "lines", "x": x, "y": [p[1] for p in run], "line": line,
             "hoverinfo": "skip", "showlegend": False, **group, **period}
        )  # fmt: skip
        traces.append(
            {"type": "scatter", "mode": "lines", "x": x, "y": [p[2] for p in run], "line": line, "fill": "tonexty",
             "fillcolor": _rgba(colour, 0.18), "showlegend": legend and n == 0, **group,
             "customdata": [[p[1], p[2]] for p in run],
             "hovertemplate": hover + "normal range %{customdata[0]:,.4~g} – %{customdata[1]:,.4~g}<extra></extra>",
             **period}
        )  # fmt: skip
    return traces


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


def figure_memory(series: dict[str, list[Any]], markers: list[datetime] | None = None) -> dict[str, Any]:
    """The highest memory used by one invocation in each bucket (MB)."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "marker": {"size": 4},
                "name": "Max memory used (MB)",
                "x": series["t"],
                "y": series["memory"],
                "line": {"color": "#7c3aed"},
                **_period(series),
            }
        ],
        "layout": _layout(series, shapes=marker_shapes(markers)),
    }


def figure_cost(series: dict[str, list[Any]], markers: list[datetime] | None = None) -> dict[str, Any]:
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
        "layout": _layout(series, shapes=marker_shapes(markers)),
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
    """The period with its start on a bucket boundary (a minute, 5 minutes, an hour, a UTC
    day), so that buckets hold whole minutes of CloudWatch points, like its own charts."""
    seconds = int(metric_step(period).total_seconds())
    epoch = int(period.start.timestamp())
    return Period(period.key, datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC), period.end, period.now)


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
