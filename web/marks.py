"""Marks: how a higher app marks things on a lower app's charts and lists without the
lower app importing it (like `web/panels.py`, for data rather than HTML).

- Chart overlays: a provider takes a resource and a window and returns `Overlay`s, each a
  span of time on one series of the resource ("invocations", "AWS/SQS:…:Maximum"); the
  resource page shades them on the charts that draw that series.
- Normal bands: a provider takes a resource and a window of whole hours and returns
  `Band`s, each the normal range (low, high) of one series of the resource per hour, where
  it has one; the resource page draws them as a ribbon on the charts that draw that series.
- Outlier bounds: a provider takes a resource and returns, per invocation field
  ("duration_ms", "max_memory_used_mb"), the value above which one invocation is far outside
  the function's distribution; the invocation list and the execution page flag those.

insights registers all three (anomalies) in its `AppConfig.ready()`. Imports no app.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Overlay:
    series: str
    start: datetime
    end: datetime
    text: str


@dataclass(frozen=True)
class Band:
    """The normal range of one series per hour: {hour start: (low, high)}, in the series'
    hourly terms (an hour's sum for a count, its maximum for a Maximum…)."""

    series: str
    hours: dict[datetime, tuple[float, float]]


OverlayProvider = Callable[[Any, datetime, datetime], list[Overlay]]
# (resource, start, end, the series wanted: the keys of the series the page draws)
BandProvider = Callable[[Any, datetime, datetime, Collection[str]], list[Band]]
BoundsProvider = Callable[[Any], dict[str, float]]

_OVERLAYS: dict[str, OverlayProvider] = {}
_BANDS: dict[str, BandProvider] = {}
_BOUNDS: dict[str, BoundsProvider] = {}


def register_overlays(name: str, provider: OverlayProvider) -> None:
    """Add (or, under the same name, replace: `ready()` may run twice in tests) a provider."""
    _OVERLAYS[name] = provider


def register_bands(name: str, provider: BandProvider) -> None:
    _BANDS[name] = provider


def register_bounds(name: str, provider: BoundsProvider) -> None:
    _BOUNDS[name] = provider


def overlays(resource: Any, start: datetime, end: datetime) -> list[Overlay]:
    return [o for name in sorted(_OVERLAYS) for o in _OVERLAYS[name](resource, start, end)]


def bands(resource: Any, start: datetime, end: datetime, series: Collection[str]) -> dict[str, Band]:
    """The normal band over [start, end) of each of `series` that has one, by series key (the
    first provider's, when two give one for the same series)."""
    out: dict[str, Band] = {}
    for name in sorted(_BANDS):
        for band in _BANDS[name](resource, start, end, series):
            out.setdefault(band.series, band)
    return out


def outlier_bounds(resource: Any) -> dict[str, float]:
    """The lowest bound any provider gives for each field."""
    out: dict[str, float] = {}
    for name in sorted(_BOUNDS):
        for field, bound in _BOUNDS[name](resource).items():
            out[field] = min(bound, out.get(field, bound))
    return out


def is_outlier(bounds: dict[str, float], obj: Any) -> list[str]:
    """The fields of `obj` (an invocation) above their bound."""
    return [f for f, bound in bounds.items() if (v := getattr(obj, f, None)) is not None and v > bound]
