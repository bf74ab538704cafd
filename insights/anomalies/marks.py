"""What anomaly detection marks on monitoring's pages (`web/marks.py`): anomalous
hours shaded on the resource charts, the normal band of each judged series drawn on them,
and the bounds above which one invocation's duration or memory use is far outside its
function's distribution."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from django.utils import timezone

from kinds import lambda_function
from monitoring import histogram
from monitoring import selectors as monitoring_selectors
from monitoring.models import Resource
from web import marks as web_marks

from ..models import Anomaly
from .detector import HOUR, bands, log_outlier_bounds
from .services import judged_series, sensitivity

# The distribution an invocation is compared with: its function's last week.
OUTLIER_WINDOW = timedelta(days=7)


def anomaly_overlays(resource: Resource, start: datetime, end: datetime) -> list[web_marks.Overlay]:
    rows = Anomaly.objects.filter(resource=resource, hour__gte=start - HOUR, hour__lt=end).order_by("hour")
    return [
        web_marks.Overlay(
            series=a.metric,
            start=a.hour,
            end=a.hour + HOUR,
            text=f"Anomaly: {a.label} {a.observed_text} (normal {a.band_text})",
        )
        for a in rows
    ]


def normal_bands(resource: Resource, start: datetime, end: datetime, wanted: Collection[str]) -> list[web_marks.Band]:
    """The band of each `wanted` series the detector judges on this resource, for the complete
    hours of [start, end) that have a baseline: the same series, baseline and threshold as the
    detection (`detector.bands`), so an hour outside the band is an hour it flags."""
    start = start.replace(minute=0, second=0, microsecond=0)
    end = min(end, timezone.now()).replace(minute=0, second=0, microsecond=0)
    if end <= start:
        return []
    hours = [start + k * HOUR for k in range(int((end - start) / HOUR))]
    series = judged_series(
        account_id=resource.account_id, start=start, end=end, resource_id=resource.pk, series=set(wanted)
    )
    out = []
    for (_, metric), values in sorted(series.items()):
        found = bands(values, hours, sensitivity(metric))
        if found:
            out.append(web_marks.Band(series=metric, hours=found))
    return out


def invocation_bounds(resource: Resource) -> dict[str, float]:
    if resource.kind != lambda_function.KIND:
        return {}
    since = timezone.now() - OUTLIER_WINDOW
    out: dict[str, float] = {}
    durations = monitoring_selectors.function_duration_histograms(resource_ids=[resource.pk], since=since)
    merged = durations.get(resource.pk, {})
    bound = log_outlier_bounds({histogram.bucket_value(i): n for i, n in merged.items()})
    if bound is not None:
        out["duration_ms"] = bound
    memory = log_outlier_bounds(monitoring_selectors.function_memory_histogram(resource_id=resource.pk, since=since))
    if memory is not None:
        out["max_memory_used_mb"] = memory
    return out


def register() -> None:
    web_marks.register_overlays("anomalies", anomaly_overlays)
    web_marks.register_bands("anomalies", normal_bands)
    web_marks.register_bounds("anomalies", invocation_bounds)
