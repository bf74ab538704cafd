"""Fetching metrics: CloudWatch GetMetricData for every resource kind, at the fewest calls
(pure: no Django). Each kind's metrics and dimensions are in its module under kinds/.

The orchestrator picks the kinds whose poll interval has passed and one time window for all
of them: from the earliest checkpoint (less LATE_DATA, since CloudWatch revises recent
periods) to the end of the current minute. GetMetricData is billed per metric requested,
not by the window, so a shared window costs nothing and lets every query share calls:
exactly ceil(queries / 500) calls, plus NextToken pages. `monitoring.store.metrics` upserts
the points (a revised value replaces the old one) and moves the checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.client import BaseClient

import kinds
from kinds.base import MAX, SUM, MetricSpec

MAX_QUERIES = 500  # GetMetricData's limit per call
PERIOD = 60
LATE_DATA = timedelta(minutes=5)
FIRST_WINDOW = timedelta(hours=3)

ClientFactory = Callable[[str], BaseClient]

# Account-level metrics (no resource dimension): stored with resource id 0 and the region
# they were read in, so each region's series is its own.
ACCOUNT_KIND = "account"
ACCOUNT_METRICS = [
    MetricSpec("AWS/Lambda", "ConcurrentExecutions", (MAX,)),
    MetricSpec("AWS/Lambda", "UnreservedConcurrentExecutions", (MAX,)),
    MetricSpec("AWS/DynamoDB", "UserErrors", (SUM,)),
]


@dataclass
class Query:
    resource_id: int
    metric: str
    stat: str
    body: dict[str, Any]
    part: bool = False  # one part's query: its points are summed with the other parts'
    region: str = ""  # the account-level series' region; empty for a resource's


@dataclass
class MetricsSummary:
    kinds: list[str] = field(default_factory=list)
    queries: int = 0
    calls: int = 0
    points: int = 0
    window: tuple[str, str] | None = None
    # Resources of the polled kinds left for a later poll: the CloudWatch budget polls them less often.
    skipped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kinds_polled": self.kinds,
            "queries": self.queries,
            "get_metric_data_calls": self.calls,
            "minimum_calls": math.ceil(self.queries / MAX_QUERIES) if self.queries else 0,
            "metric_points": self.points,
            "resources_polled_less_often": self.skipped,
            "window": self.window,
        }


def build_queries(kind: str, resources: Iterable[Any], start_id: int = 0, *, region: str = "") -> list[Query]:
    """Every (resource, metric, statistic) of a kind as GetMetricData queries (a metric
    published per part of the resource: one query per part); the account kind's
    (resources: `[None]`) carry the region they are read in."""
    specs = ACCOUNT_METRICS if kind == ACCOUNT_KIND else kinds.get(kind).metrics
    out = []
    n = start_id
    for resource in resources:
        for spec in specs:
            dimension_sets = kinds.get(kind).dimension_sets(resource, spec) if kind != ACCOUNT_KIND else [[]]
            for dims in dimension_sets:
                for stat in spec.stats:
                    n += 1
                    out.append(
                        Query(
                            resource_id=0 if kind == ACCOUNT_KIND else resource.pk,
                            region=region if kind == ACCOUNT_KIND else "",
                            metric=spec.key,
                            stat=stat,
                            body={
                                "Id": f"q{n}",
                                "MetricStat": {
                                    "Metric": {
                                        "Namespace": spec.namespace,
                                        "MetricName": spec.name,
                                        "Dimensions": dims,
                                    },
                                    "Period": PERIOD,
                                    "Stat": stat,
                                },
                                "ReturnData": True,
                            },
                            part=spec.per is not None,
                        )
                    )
    return out


def fetch(
    cloudwatch: BaseClient, queries: list[Query], start: datetime, end: datetime
) -> tuple[list[tuple[Query, datetime, float]], int]:
    """Run the queries in calls of 500, following NextToken; return points and calls made."""
    by_id = {q.body["Id"]: q for q in queries}
    points: list[tuple[Query, datetime, float]] = []
    calls = 0
    for i in range(0, len(queries), MAX_QUERIES):
        chunk = [q.body for q in queries[i : i + MAX_QUERIES]]
        token = None
        while True:
            params: dict[str, Any] = {
                "MetricDataQueries": chunk,
                "StartTime": start,
                "EndTime": end,
                "ScanBy": "TimestampAscending",
            }
            if token:
                params["NextToken"] = token
            response = cloudwatch.get_metric_data(**params)
            calls += 1
            for result in response.get("MetricDataResults", []):
                query = by_id[result["Id"]]
                for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    if value is not None and math.isfinite(value):
                        points.append((query, ts, float(value)))
            token = response.get("NextToken")
            if not token:
                break
    return sum_parts(points), calls


def sum_parts(points: list[tuple[Query, datetime, float]]) -> list[tuple[Query, datetime, float]]:
    """The points of a metric asked per part, summed per resource × metric × statistic × time."""
    out: list[tuple[Query, datetime, float]] = []
    summed: dict[tuple[int, str, str, datetime], tuple[Query, datetime, float]] = {}
    for query, ts, value in points:
        if not query.part:
            out.append((query, ts, value))
            continue
        key = (query.resource_id, query.metric, query.stat, ts)
        first = summed.get(key)
        summed[key] = (query, ts, value) if first is None else (first[0], ts, first[2] + value)
    return out + list(summed.values())
