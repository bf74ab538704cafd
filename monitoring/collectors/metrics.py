"""The metrics collector: CloudWatch GetMetricData for every resource kind, at the fewest calls.

1. Find the resource kinds whose poll interval has passed (settings.METRICS_POLL_SECONDS,
   overridable per account in AwsAccount.metric_intervals).
2. One time window for all of them: from the earliest checkpoint (less LATE_DATA, since
   CloudWatch revises recent periods) to the end of the current minute. GetMetricData is billed
   per metric requested, not by the window, so a shared window costs nothing and lets
   every query share calls: exactly ceil(queries / 500) calls, plus NextToken pages.
3. Upsert the points (a revised value replaces the old one) and move the checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.client import BaseClient
from django.conf import settings
from django.db import connection, transaction

from accounts.models import AwsAccount
from monitoring.metrics_catalog import ACCOUNT_KIND, ACCOUNT_METRICS, CATALOGUE, dimensions_for
from monitoring.models import MetricCheckpoint, Resource
from monitoring.partitions import ensure_partitions

MAX_QUERIES = 500  # GetMetricData's limit per call
PERIOD = 60
LATE_DATA = timedelta(minutes=5)
FIRST_WINDOW = timedelta(hours=3)

ClientFactory = Callable[[str], BaseClient]


@dataclass
class Query:
    resource_id: int
    metric: str
    stat: str
    body: dict[str, Any]


@dataclass
class MetricsSummary:
    kinds: list[str] = field(default_factory=list)
    queries: int = 0
    calls: int = 0
    points: int = 0
    window: tuple[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kinds_polled": self.kinds,
            "queries": self.queries,
            "get_metric_data_calls": self.calls,
            "minimum_calls": math.ceil(self.queries / MAX_QUERIES) if self.queries else 0,
            "metric_points": self.points,
            "window": self.window,
        }


def poll_interval(account: AwsAccount, kind: str) -> int:
    override = (account.metric_intervals or {}).get(kind)
    if override:
        return int(override)
    return int(settings.METRICS_POLL_SECONDS.get(kind, settings.METRICS_POLL_SECONDS.get("default", 300)))


def build_queries(kind: str, resources: Iterable[Any], start_id: int = 0) -> list[Query]:
    """Every (resource, metric, statistic) of a kind as GetMetricData queries."""
    specs = ACCOUNT_METRICS if kind == ACCOUNT_KIND else CATALOGUE[kind][1]
    out = []
    n = start_id
    for resource in resources:
        for spec in specs:
            dims = dimensions_for(kind, resource, spec) if kind != ACCOUNT_KIND else []
            for stat in spec.stats:
                n += 1
                out.append(
                    Query(
                        resource_id=0 if kind == ACCOUNT_KIND else resource.pk,
                        metric=spec.key,
                        stat=stat,
                        body={
                            "Id": f"q{n}",
                            "MetricStat": {
                                "Metric": {"Namespace": spec.namespace, "MetricName": spec.name, "Dimensions": dims},
                                "Period": PERIOD,
                                "Stat": stat,
                            },
                            "ReturnData": True,
                        },
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
    return points, calls


def store_points(account_id: int, points: list[tuple[Query, datetime, float]]) -> int:
    if not points:
        return 0
    ensure_partitions("monitoring_metricpoint", {ts.date() for _, ts, _ in points})
    rows = {(q.resource_id, q.metric, q.stat, ts): v for q, ts, v in points}  # a page may repeat a point
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS metricpoint_incoming "
            "(LIKE monitoring_metricpoint INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cursor.cursor.copy(
            "COPY metricpoint_incoming (account_id, resource_id, metric, stat, period, ts, value) FROM STDIN"
        ) as copy:
            for (resource_id, metric, stat, ts), value in rows.items():
                copy.write_row((account_id, resource_id, metric, stat, PERIOD, ts, value))
        cursor.execute(
            "INSERT INTO monitoring_metricpoint (account_id, resource_id, metric, stat, period, ts, value) "
            "SELECT account_id, resource_id, metric, stat, period, ts, value FROM metricpoint_incoming "
            "ON CONFLICT (account_id, resource_id, metric, stat, period, ts) DO UPDATE SET value = EXCLUDED.value "
            "WHERE monitoring_metricpoint.value IS DISTINCT FROM EXCLUDED.value"
        )
        cursor.execute("TRUNCATE metricpoint_incoming")
    return len(rows)


def collect_metrics(client_for: ClientFactory, account: AwsAccount, region: str, now: datetime) -> MetricsSummary:
    summary = MetricsSummary()
    # Include the current, partial minute: the next poll re-reads the last LATE_DATA anyway,
    # and the upsert replaces a value CloudWatch has since revised.
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    checkpoints = {c.kind: c for c in MetricCheckpoint.objects.filter(account=account, region=region)}
    resources: dict[str, list[Resource]] = {}
    for r in Resource.objects.filter(account=account, region=region, gone_at=None, kind__in=list(CATALOGUE)):
        resources.setdefault(r.kind, []).append(r)
    due = []
    for kind in [*resources, ACCOUNT_KIND]:
        cp = checkpoints.get(kind)
        if cp is None or (now - cp.last_polled_at).total_seconds() >= poll_interval(account, kind):
            due.append(kind)
    if not due:
        return summary
    starts = [(checkpoints[k].collected_until - LATE_DATA) if k in checkpoints else end - FIRST_WINDOW for k in due]
    start = min(starts)
    queries: list[Query] = []
    for kind in due:
        targets: list[Any] = [None] if kind == ACCOUNT_KIND else list(resources.get(kind, []))
        queries += build_queries(kind, targets, len(queries))
    points, calls = fetch(client_for("cloudwatch"), queries, start, end)
    with transaction.atomic():
        summary.points = store_points(account.pk, points)
        for kind in due:
            MetricCheckpoint.objects.update_or_create(
                account=account, region=region, kind=kind, defaults={"collected_until": end, "last_polled_at": now}
            )
    summary.kinds, summary.queries, summary.calls = due, len(queries), calls
    summary.window = (start.isoformat(), end.isoformat())
    return summary
