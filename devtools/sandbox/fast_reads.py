"""Indexed reads for the sandbox's moto: the same answers, in time that does not grow with
everything stored so far.

moto scans every event of a log group on each FilterLogEvents, every datum in the window
once per query and period on each GetMetricData, and lists its own package directory on
each request. A sandbox that runs for hours (the demo, the exactly-once replay of a day)
slows down with its own history until it, not the product, is what a run measures. Each
replacement below keeps moto's semantics (ordering, inclusive bounds, its dimension
matching) and falls back to moto's own code for anything it does not cover; the tests
compare both on the same data.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from datetime import datetime, timedelta
from functools import cache
from typing import Any

_lock = threading.Lock()


def _event_time(event: Any) -> int:
    return int(event.timestamp)


def _time_index(stream: Any) -> list[Any]:
    """The stream's events ordered by timestamp, equal timestamps in the order they were
    put (as moto's stable sort gives them), kept up to date as events are appended."""
    with _lock:
        index: list[Any] = stream.__dict__.setdefault("_sandbox_time_index", [])
        seen = stream.__dict__.get("_sandbox_indexed", 0)
        if seen > len(stream.events):  # events were removed: start again
            index.clear()
            seen = 0
        for event in stream.events[seen:]:
            if not index or _event_time(index[-1]) <= _event_time(event):
                index.append(event)
            else:  # a late batch: after the events of the same time, like a stable sort
                bisect.insort_right(index, event, key=_event_time)
        stream.__dict__["_sandbox_indexed"] = len(stream.events)
        return list(index)


def filter_stream_events(self: Any, start_time: int, end_time: int, filter_pattern: str) -> list[dict[str, Any]]:
    """moto's LogStream.filter_log_events, by bisecting a time index."""
    from moto.logs.utils import EventMessageFilter

    index = _time_index(self)
    lo = bisect.bisect_left(index, start_time, key=_event_time) if start_time else 0
    hi = bisect.bisect_right(index, end_time, key=_event_time) if end_time else len(index)
    matcher = EventMessageFilter(filter_pattern)
    events = []
    for event in index[lo:hi]:
        if matcher.matches(event.message):
            found = event.to_filter_dict()
            found["logStreamName"] = self.log_stream_name
            events.append(found)
    return events


def metric_data(
    self: Any,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    """moto's CloudWatchBackend.get_metric_data for MetricStat queries: the window's datums
    grouped once by metric name, each query's bucketed by period once."""
    original = metric_data.original  # type: ignore[attr-defined]
    if not queries or any("MetricStat" not in q for q in queries):
        return original(self, queries, start_time, end_time, scan_by)
    start_time = start_time.replace(microsecond=0)
    end_time = end_time.replace(microsecond=0)
    if start_time >= end_time:
        return original(self, queries, start_time, end_time, scan_by)
    from moto.cloudwatch.models import Dimension, Statistics

    by_name: dict[str, list[Any]] = defaultdict(list)
    for md in self.get_all_metrics():
        if start_time <= md.timestamp < end_time:
            by_name[md.name].append(md)
    results = []
    for query in queries:
        stat_query = query["MetricStat"]
        namespace = stat_query["Metric"]["Namespace"]
        name = stat_query["Metric"]["MetricName"]
        period = int(stat_query["Period"])
        dimensions = [Dimension(name=d["Name"], value=d["Value"]) for d in stat_query["Metric"].get("Dimensions", [])]
        unit = stat_query.get("Unit")
        stat = stat_query["Stat"]
        candidates = by_name.get(name, [])
        # As moto: with dimensions, the namespace is not compared.
        if dimensions:
            wanted = sorted(dimensions)
            matching = [md for md in candidates if sorted(md.dimensions) == wanted]
        else:
            matching = [md for md in candidates if md.namespace == namespace]
        if unit:
            matching = [md for md in matching if md.unit == unit]
        buckets: dict[int, list[Any]] = defaultdict(list)
        for md in matching:
            buckets[int((md.timestamp - start_time).total_seconds()) // period].append(md)
        values: list[Any] = []
        timestamps: list[datetime] = []
        for k in sorted(buckets):
            stats = Statistics([stat], start_time + timedelta(seconds=k * period))
            stats.metric_data = buckets[k]
            values.append(stats.get_statistics_for_type(stat))
            timestamps.append(stats.timestamp)
        if scan_by == "TimestampDescending":
            timestamps.reverse()
            values.reverse()
        if query.get("ReturnData", True):
            results.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or f"{name} {stat}",
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                }
            )
    return results


def install() -> None:
    """Put the indexed reads in place of moto's (once per process)."""
    from moto import backends
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.logs.models import LogStream

    if getattr(LogStream.filter_log_events, "_sandbox", False):
        return
    filter_stream_events._sandbox = True  # type: ignore[attr-defined]
    filter_stream_events.original = LogStream.filter_log_events  # type: ignore[attr-defined]
    LogStream.filter_log_events = filter_stream_events  # type: ignore[method-assign]
    metric_data.original = CloudWatchBackend.get_metric_data  # type: ignore[attr-defined]
    CloudWatchBackend.get_metric_data = metric_data  # type: ignore[method-assign]
    # Asked on every request, to route it; the package's directories never change.
    listing = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = cache(lambda: listing)
