"""Marks: how a higher app marks things on a lower app's charts and lists without the
lower app importing it (like `web/panels.py`, for data rather than HTML).

- Chart overlays: a provider takes a resource and a window and returns `Overlay`s, each a
  span of time on one series of the resource ("invocations", "AWS/SQS:…:Maximum"); the
  resource page shades them on the charts that draw that series.
- Outlier bounds: a provider takes a resource and returns, per invocation field
  ("duration_ms", "max_memory_used_mb"), the value above which one invocation is far outside
  the function's distribution; the invocation list and the execution page flag those.

insights registers both (anomalies) in its `AppConfig.ready()`. Imports no app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Overlay:
    series: str
    start: datetime
    end: datetime
    text: str


OverlayProvider = Callable[[Any, datetime, datetime], list[Overlay]]
BoundsProvider = Callable[[Any], dict[str, float]]

_OVERLAYS: dict[str, OverlayProvider] = {}
_BOUNDS: dict[str, BoundsProvider] = {}


def register_overlays(name: str, provider: OverlayProvider) -> None:
    """Add (or, under the same name, replace: `ready()` may run twice in tests) a provider."""
    _OVERLAYS[name] = provider


def register_bounds(name: str, provider: BoundsProvider) -> None:
    _BOUNDS[name] = provider


def overlays(resource: Any, start: datetime, end: datetime) -> list[Overlay]:
    return [o for name in sorted(_OVERLAYS) for o in _OVERLAYS[name](resource, start, end)]


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
