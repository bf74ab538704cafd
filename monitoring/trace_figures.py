"""Plotly figures of traces (docs/traces.md): an invocation's waterfall and the service
map. Plain dicts, drawn by static/js/charts.js."""

from __future__ import annotations

import math
from typing import Any

from .collection.traces import Span
from .selectors import MapEdge

OK, FAILED, THROTTLED, OWN = "#2563eb", "#dc2626", "#f59e0b", "#94a3b8"


MAX_EDGE_LABELS = 12  # edge labels written on the service map; more overlap


def span_state(span: Span) -> str:
    if span.fault or (span.error and not span.throttle):
        return "failed"
    if span.throttle:
        return "throttled"
    return "ok"


def _depth(tree: list[Span], span: Span) -> int:
    depth = 0
    while span.parent is not None and depth < 50:
        span = tree[span.parent]
        depth += 1
    return depth


def _label(span: Span) -> str:
    if span.namespace == "aws":
        return f"{span.name} {span.operation}".strip()
    if span.namespace == "remote":
        return f"{span.operation} {span.target}".strip()
    return span.name or "(unnamed)"


def waterfall(tree: list[Span]) -> dict[str, Any]:
    """One bar per span, in order, indented by depth; failed calls red, throttled amber."""
    if not tree:
        return {"data": [], "layout": {}}
    t0 = min(s.start for s in tree)
    rows = []
    for i, span in enumerate(tree):
        state = span_state(span)
        color = {"failed": FAILED, "throttled": THROTTLED}.get(state, OK if span.namespace else OWN)
        detail = [f"{span.duration_ms:.1f} ms" if span.duration_ms is not None else "did not end"]
        if span.status is not None:
            detail.append(f"HTTP {span.status}")
        if state != "ok":
            detail.append(state)
        if span.retries:
            detail.append(f"{span.retries} retries")
        if span.resource:
            detail.append(span.resource)
        label = f"{'  ' * _depth(tree, span)}{_label(span)}"
        rows.append((f"{i + 1:>2}. {label}", (span.start - t0) * 1000, span.duration_ms or 0.0, color, detail))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [r[0] for r in rows],
                "base": [round(r[1], 3) for r in rows],
                "x": [round(max(r[2], 0.2), 3) for r in rows],
                "marker": {"color": [r[3] for r in rows]},
                "text": [" · ".join(r[4][:3]) for r in rows],
                "textposition": "outside",
                "cliponaxis": False,
                "hovertext": [" · ".join(r[4]) for r in rows],
                "hoverinfo": "y+text",
                "showlegend": False,
            }
        ],
        "layout": {
            "height": 80 + 28 * len(rows),
            "margin": {"l": 260, "r": 160, "t": 10, "b": 40},
            "xaxis": {"title": {"text": "ms since the trace began"}, "zeroline": False},
            "yaxis": {"autorange": "reversed", "automargin": True},
            "bargap": 0.35,
        },
    }


def service_map(edges: list[MapEdge], function_url: dict[int, str]) -> dict[str, Any]:
    """Functions on the left, the services and hosts they call on the right; an edge per
    pair, labelled with its calls, error rate and p95. Clicking a function opens its page."""
    functions = sorted({(e.function, e.function_id) for e in edges})
    services = sorted({e.service for e in edges})
    if not edges:
        return {"data": [], "layout": {}}

    def ys(n: int) -> list[float]:
        return [1.0 - (i + 0.5) / n for i in range(n)]

    fy = {fid: y for (_, fid), y in zip(functions, ys(len(functions)), strict=True)}
    sy = {name: y for name, y in zip(services, ys(len(services)), strict=True)}
    data: list[dict[str, Any]] = []
    mid_x, mid_y, mid_text, mid_label = [], [], [], []
    for e in edges:
        bad = e.stats.errors > 0
        width = 1 + min(6.0, math.log10(1 + e.stats.calls) * 2)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [0, 1],
                "y": [fy[e.function_id], sy[e.service]],
                "line": {"width": width, "color": FAILED if bad else "#64748b"},
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
        mid_x.append(0.5)
        mid_y.append((fy[e.function_id] + sy[e.service]) / 2)
        p95 = e.stats.p95_ms
        mid_label.append(
            f"{e.stats.calls} call{'s' if e.stats.calls != 1 else ''} · {e.stats.error_rate:.0f} % err"
            + (f" · p95 {p95:.0f} ms" if p95 is not None else "")
        )
        mid_text.append(
            f"{e.function} → {e.service}: {e.stats.calls} calls · {e.stats.error_rate:.1f} % errors · p95 {p95:.0f} ms"
            if p95 is not None
            else ""
        )
    data.append(
        {
            "type": "scatter",
            # Written beside each edge while they fit; past a dozen they overlap: hover, and
            # the table under the map.
            "mode": "markers+text" if len(mid_x) <= MAX_EDGE_LABELS else "markers",
            "x": mid_x,
            "y": mid_y,
            "text": mid_label,
            "textposition": "top center",
            "textfont": {"size": 11, "color": "#475569"},
            "cliponaxis": False,
            "marker": {"size": 6, "color": "#64748b"},
            "hovertext": mid_text,
            "hoverinfo": "text",
            "showlegend": False,
        }
    )
    data.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "Functions",
            "x": [0] * len(functions),
            "y": [fy[fid] for _, fid in functions],
            "text": [name for name, _ in functions],
            "textposition": "middle left",
            "cliponaxis": False,
            "customdata": [function_url[fid] for _, fid in functions],
            "hovertext": [f"{name}: open its page" for name, _ in functions],
            "hoverinfo": "text",
            "marker": {"size": 18, "color": "#f97316", "symbol": "square"},
        }
    )
    data.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "Services and hosts",
            "x": [1] * len(services),
            "y": [sy[s] for s in services],
            "text": services,
            "textposition": "middle right",
            "cliponaxis": False,
            "hoverinfo": "text",
            "marker": {"size": 18, "color": "#2563eb"},
        }
    )
    return {
        "data": data,
        "layout": {
            "height": max(300, 60 + 44 * max(len(functions), len(services))),
            "margin": {"l": 200, "r": 200, "t": 10, "b": 10},
            "xaxis": {"visible": False, "range": [-0.05, 1.05], "fixedrange": True},
            "yaxis": {"visible": False, "range": [-0.05, 1.05], "fixedrange": True},
            "hovermode": "closest",
            "showlegend": True,
            "legend": {"orientation": "h"},
        },
    }
