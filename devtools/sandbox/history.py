"""The sandbox's past: two weeks of history written in bulk, so that the demo starts with what
collection alone would take two weeks to gather — charts over 14 days, baselines, and the
anomalies the detector finds in them (docs/anomalies.md, "Sandbox").

What the live generators would have written, hour by hour, up to the hour the live traffic
starts in (`SandboxState.traffic["live_since"]`):

- Functions: the invocations `traffic.TrafficGenerator` would have run — its rate, rhythm,
  tick, error rates and durations (`plan_invocation`) and its scheduled anomalies — turned into
  hourly and daily rollups by `monitoring.store.rollups.rollups_import`, the ingest path's own
  aggregation. Their raw rows are not kept, as if retention had dropped them.
- Every other kind: the data the metric writers would have put (`resource_traffic`,
  `service_traffic`, and the ECS services' and delivery streams' in `traffic`), reduced by
  `OfflineCloudWatch` to what GetMetricData would answer for the metrics collector's own
  queries (`build_queries`), a point per 5 minutes, stored with the metrics store's upsert.

Idempotent: an hour in which the account already has data (collected, or written by an
earlier run) is left alone, so a restart adds only the hours the demo was down and never
overwrites what was collected; each hour is drawn from its own seed.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from typing import Any

from django.db import connections
from django.db.models.functions import TruncHour

import kinds
from accounts.models import AwsAccount
from insights.anomalies.detector import BASELINE_DAYS
from kinds import lambda_function
from monitoring.collection.metrics import Query, build_queries, sum_parts
from monitoring.models import MetricPoint, Resource, Rollup
from monitoring.pricing import invocation_cost
from monitoring.store.metrics import store_points
from monitoring.store.rollups import ImportedInvocation, rollups_import

from .catalog import FunctionSpec
from .resource_traffic import ResourceMetrics
from .service_traffic import ServiceTraffic
from .traffic import LATENCY_STEP, TRAFFIC_DROP, TrafficGenerator, plan_invocation, rhythm

HOUR = timedelta(hours=1)
# Judged when the demo starts: the last JUDGED_DAYS days, each hour against the 14 days before
# it (the detector's baseline: fewer, and a weekend hour falls back to weekdays' and is judged
# against the wrong rhythm), so the history spans both.
JUDGED_DAYS = 3
DAYS = BASELINE_DAYS + JUDGED_DAYS
FINE = timedelta(minutes=5)  # the metric points of the last FINE_DAYS days
FINE_DAYS = 2
LATENCY_EVERY = 5
# Processes drawing the functions' invocations: a CPU is left to PostgreSQL and to the metric
# points this process writes meanwhile.
WORKERS = max(1, min(4, (os.cpu_count() or 1) - 1))
# Latencies drawn per 5 minutes of a load balancer or an API: enough for a steady p95.
HISTORY_LATENCY_SAMPLES = 100


@dataclass
class HistorySummary:
    function_hours: int = 0  # hourly rollups written
    invocations: int = 0
    metric_hours: int = 0  # hours of metric points written
    metric_points: int = 0
    function_seconds: float = 0.0
    metric_seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"{self.invocations:,} invocations as {self.function_hours:,} hourly rollups in "
            f"{self.function_seconds:.1f} s, {self.metric_points:,} metric points over {self.metric_hours:,} hours in "
            f"{self.metric_seconds:.1f} s"
        )


@dataclass(frozen=True)
class Traffic:
    """How the live traffic is generated (the sandbox command's options)."""

    seed: int
    per_minute: float
    tick: float = 5.0
    rhythm: bool = True
    anomalies: bool = True

    @classmethod
    def of(cls, state: Mapping[str, Any]) -> Traffic:
        return cls(
            seed=int(state["seed"]),
            per_minute=float(state["per_minute"]),
            tick=float(state.get("tick", 5.0)),
            rhythm=bool(state.get("rhythm", True)),
            anomalies=bool(state.get("anomalies", True)),
        )


def _hours(start: datetime, end: datetime) -> list[datetime]:
    return [start + k * HOUR for k in range(int((end - start) / HOUR))]


# --- functions ----------------------------------------------------------------------------------


def binomial(rng: random.Random, n: int, p: float) -> int:
    """How many of `n` trials of probability `p` succeed, from one uniform draw (inverse
    transform): the count of `n` ticks that each round a fractional expectation up."""
    if p <= 0:
        return 0
    if p >= 1:
        return n
    u = rng.random()
    q = 1 - p
    term = q**n  # P(0)
    k, total = 0, term
    while total < u and k < n:
        term *= (n - k) / (k + 1) * p / q
        k += 1
        total += term
    return k


def function_invocations(
    generator: TrafficGenerator, spec: FunctionSpec, hour: datetime, *, region: str, tick: float
) -> Iterator[ImportedInvocation]:
    """The invocations `generator` would have run for `spec` in `hour`: for each minute, the
    count its ticks would draw (each tick's expectation — rate × rhythm × scheduled drop —
    rounded up with the probability of its fraction), each invocation planned as a live one
    is (scheduled latency step included)."""
    rng = random.Random(f"{generator.seed}:{spec.name}:{hour:%Y%m%d%H}")
    effects = generator.effects(spec, hour)
    slower = LATENCY_STEP if "latency" in effects else 1.0
    ticks = max(1, round(60 / tick))
    per_tick = generator.rate(spec) / ticks * (TRAFFIC_DROP if "drop" in effects else 1.0)
    cost: dict[
        int, float
    ] = {}  # billed ms -> the invocation's cost (memory, architecture and region are the function's)
    for minute in range(60):
        start = hour + timedelta(minutes=minute)
        expected = per_tick * (rhythm(start + timedelta(seconds=30)) if generator.with_rhythm else 1.0)
        whole = int(expected)
        count = whole * ticks + binomial(rng, ticks, expected - whole)
        start_ms = start.timestamp() * 1000
        for _ in range(count):
            started = int(start_ms + rng.random() * 59_999)
            inv = plan_invocation(spec, rng, started, rng.random() < spec.cold_start_rate, slower, ids=False)
            billed = inv.billed_ms
            if billed not in cost:
                cost[billed] = invocation_cost(
                    billed_ms=billed, memory_mb=spec.memory_mb, region=region, architecture=spec.architecture
                )
            yield ImportedInvocation(
                datetime.fromtimestamp(started / 1000, UTC), inv.status, inv.init_ms is not None, inv.duration_ms,
                billed, None, spec.memory_mb, inv.max_memory_mb, cost[billed],
            )  # fmt: skip


def _generator(specs: Sequence[FunctionSpec], traffic: Traffic) -> TrafficGenerator:
    return TrafficGenerator(
        list(specs), logs=None, cloudwatch=None, seed=traffic.seed, per_minute=traffic.per_minute,
        anomalies=traffic.anomalies, rhythm=traffic.rhythm,
    )  # fmt: skip


def function_history(
    specs: Sequence[FunctionSpec], index: int, resource_id: int, hours: list[datetime], traffic: Traffic, region: str
) -> tuple[int, int]:
    """The rollups of `specs[index]` (stored as `resource_id`) for `hours`: (hourly rollups
    written, invocations). Runs in a worker process or in this one."""
    generator = _generator(specs, traffic)
    spec = specs[index]
    invocations = 0

    def rows() -> Iterator[ImportedInvocation]:
        nonlocal invocations
        for hour in hours:
            for inv in function_invocations(generator, spec, hour, region=region, tick=traffic.tick):
                invocations += 1
                yield inv

    written = rollups_import(resource=Resource.objects.get(pk=resource_id), invocations=rows())
    return written, invocations


def _in_worker(*args: Any) -> tuple[int, int]:
    try:
        return function_history(*args)
    finally:
        connections.close_all()  # the worker's own connection; the next job opens another


def function_jobs(
    account: AwsAccount,
    region: str,
    specs: Sequence[FunctionSpec],
    traffic: Traffic,
    hours: list[datetime],
    covered: Covered,
) -> list[tuple[Any, ...]]:
    """The arguments of `function_history` for each function of `specs` the account has, with
    the hours it has no rollup for."""
    functions = dict(
        Resource.objects.filter(account=account, region=region, kind=lambda_function.KIND, gone_at=None).values_list(
            "name", "pk"
        )
    )
    jobs = []
    for n, spec in enumerate(specs):
        pk = functions.get(spec.name)
        missing = [h for h in hours if (pk, h) not in covered] if pk is not None else []
        if missing:
            jobs.append((list(specs), n, pk, missing, traffic, region))
    return jobs


# --- every other kind's metrics -------------------------------------------------------------------


def _dimensions(dimensions: Sequence[Mapping[str, str]]) -> frozenset[tuple[str, str]]:
    return frozenset((d["Name"], d["Value"]) for d in dimensions)


class OfflineCloudWatch:
    """What GetMetricData answers for a period, from PutMetricData data held in memory: the
    data of one metric are those with exactly the query's namespace, name and dimensions; the
    statistics are CloudWatch's (Sum, SampleCount, Average, Minimum, Maximum, pNN)."""

    def __init__(self) -> None:
        # (namespace, name, dimensions) -> the values put, and how many times each stands in the period
        self.values: dict[tuple[str, str, frozenset[tuple[str, str]]], list[float]] = defaultdict(list)
        self.repeat: dict[tuple[str, str, frozenset[tuple[str, str]]], int] = {}

    def add(self, key: tuple[str, str, frozenset[tuple[str, str]]], values: list[float]) -> None:
        """Values of the metric `key` (namespace, name, dimensions), each put once."""
        self.values[key].extend(values)
        self.repeat.setdefault(key, 1)

    def put(self, namespace: str, data: Sequence[Mapping[str, Any]], *, repeat: int = 1) -> None:
        """Data as PutMetricData takes them; `repeat`: how many times each stands in the period
        (a one-minute sample standing for five minutes counts five times in a sum)."""
        for datum in data:
            key = (namespace, datum["MetricName"], _dimensions(datum.get("Dimensions", [])))
            values = self.values[key]
            if "Values" not in datum:
                values.append(float(datum["Value"]))
            elif not datum.get("Counts") or all(n == 1 for n in datum["Counts"]):
                values.extend(datum["Values"])
            else:
                values.extend(v for v, n in zip(datum["Values"], datum["Counts"], strict=False) for _ in range(int(n)))
            self.repeat[key] = repeat

    def clear(self) -> None:
        self.values.clear()
        self.repeat.clear()

    @staticmethod
    def key(query: Query) -> tuple[str, str, frozenset[tuple[str, str]]]:
        """Which data a query reads."""
        metric = query.body["MetricStat"]["Metric"]
        return metric["Namespace"], metric["MetricName"], _dimensions(metric.get("Dimensions", []))

    def answer(self, query: Query, key: tuple[str, str, frozenset[tuple[str, str]]] | None = None) -> float | None:
        key = key or self.key(query)
        values = self.values.get(key)
        if not values:
            return None
        return statistic(query.stat, values, self.repeat[key])


def statistic(stat: str, values: list[float], repeat: int = 1) -> float | None:
    """A CloudWatch statistic of the values of a period, each standing `repeat` times."""
    if stat == "Sum":
        return float(sum(values)) * repeat
    if stat == "SampleCount":
        return float(len(values) * repeat)
    if stat == "Average":
        return float(sum(values)) / len(values)
    if stat == "Maximum":
        return float(max(values))
    if stat == "Minimum":
        return float(min(values))
    if stat.startswith("p"):
        ordered = sorted(values)
        return float(ordered[max(0, math.ceil(float(stat[1:]) / 100 * len(ordered)) - 1)])
    return None


def metric_queries(account: AwsAccount, region: str) -> list[Query]:
    """The metrics collector's queries for the region's resources of every kind but Lambda
    (functions have their rollups; their CloudWatch series start with the demo)."""
    by_kind: dict[str, list[Resource]] = defaultdict(list)
    for r in Resource.objects.filter(account=account, region=region, gone_at=None, kind__in=kinds.ids()):
        if r.kind != lambda_function.KIND:
            by_kind[r.kind].append(r)
    queries: list[Query] = []
    for kind, resources in sorted(by_kind.items()):
        queries += build_queries(kind, resources, len(queries))
    return queries


def buckets(hour: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """The points an hour gets: (start, length). The last FINE_DAYS days are drawn by 5
    minutes (a day's chart is), older hours by the hour (longer charts are hourly or daily),
    which keeps the demo's start quick."""
    if hour >= end - timedelta(days=FINE_DAYS):
        return [(hour + k * FINE, FINE) for k in range(int(HOUR / FINE))]
    return [(hour, HOUR)]


def write_metric_history(
    account: AwsAccount,
    region: str,
    writers: tuple[ResourceMetrics, ServiceTraffic, TrafficGenerator],
    traffic: Traffic,
    hours: list[datetime],
    covered: Covered,
    end: datetime,
    summary: HistorySummary,
) -> None:
    """The points of every collected series of the other kinds, for the `hours` (`buckets`)
    in which its resource has none; each bucket drawn from its own seed."""
    queries = [(query, OfflineCloudWatch.key(query)) for query in metric_queries(account, region)]
    if not queries or not hours:
        return
    resource_metrics, services, generator = writers
    per_minute = [(ns, name, _dimensions(dims)) for ns, name, dims, _ in resource_metrics.series()]
    cloudwatch = OfflineCloudWatch()
    points: dict[int, list[tuple[Query, datetime, float]]] = defaultdict(list)  # by period (s)

    def draw(t: datetime, length: timedelta) -> None:
        """Everything the writers put in [t, t + length), into `cloudwatch`."""
        resource_metrics.rng, services.rng, generator.rng = (
            random.Random(f"{traffic.seed}:{n}:{t:%Y%m%d%H%M}") for n in range(3)
        )
        cloudwatch.clear()
        # One writer puts a datum a minute: each minute's (latencies, a dozen values a minute,
        # of one minute in LATENCY_EVERY: plenty for a period's average and p95). The others
        # write any stretch at once.
        for minute in range(int(length / timedelta(minutes=1))):
            skip = () if minute % LATENCY_EVERY == 0 else ("latency",)
            sampled = resource_metrics.minute(t + timedelta(minutes=minute, seconds=30), skip=skip)
            for key, values in zip(per_minute, sampled, strict=True):
                cloudwatch.add(key, values)
        middle = t + length / 2
        for source in (
            services.data(length.total_seconds(), middle),
            generator.service_metrics(length.total_seconds(), middle),
        ):
            for namespace, data in source.items():
                cloudwatch.put(namespace, data)

    # Which resources the writers give data at all (an idle one's series stay empty): only
    # their missing hours are worth drawing.
    draw(hours[-1], FINE)
    written = {query.resource_id for query, key in queries if cloudwatch.answer(query, key) is not None}
    hours = [h for h in hours if any((rid, h) not in covered for rid in written)]

    def flush() -> None:
        for period, some in points.items():
            summary.metric_points += store_points(account.pk, sum_parts(some), period=period)
        points.clear()

    for n_hour, hour in enumerate(hours):
        if n_hour and hour.date() != hours[n_hour - 1].date():
            flush()  # a day at a time: a partition each, and memory stays small
        for t, length in buckets(hour, end):
            draw(t, length)
            period = points[int(length.total_seconds())]
            for query, key in queries:
                if (query.resource_id, hour) in covered:
                    continue
                value = cloudwatch.answer(query, key)
                if value is not None:
                    period.append((query, t, value))
        summary.metric_hours += 1
    flush()


# --- both ----------------------------------------------------------------------------------------


Covered = set[tuple[int, datetime]]  # (resource id, hour)


def covered_hours(account: AwsAccount, since: datetime) -> tuple[Covered, Covered]:
    """The hours since `since` in which each resource of the account has rollups, and those
    in which it has metric points: collected (or written by an earlier run), so left alone.
    Per resource: a resource found since (a sandbox started afresh gives its load balancers new
    ARNs) gets its history, and nothing that was collected is overwritten."""
    rollups = set(
        Rollup.objects.filter(account_id=account.pk, period="hour", bucket__gte=since)
        .values_list("resource_id", "bucket")
        .distinct()
    )
    points = set(
        MetricPoint.objects.filter(account_id=account.pk, ts__gte=since)
        .annotate(hour=TruncHour("ts", tzinfo=UTC))
        .values_list("resource_id", "hour")
        .distinct()
    )
    return rollups, points


def history_write(
    *,
    account: AwsAccount,
    region: str,
    endpoint: str,
    specs: Sequence[FunctionSpec],
    traffic: Traffic,
    end: datetime,
    days: int = DAYS,
    workers: int = 1,
) -> HistorySummary:
    """Write the `days` days of history before `end` (an hour boundary) for the account's
    resources of `region` in the sandbox at `endpoint`, where the account has none.

    With `workers` > 1 the functions' invocations are drawn in that many processes (forked
    with no database connection open; each opens its own) while this one writes the metric
    points. Their writes are their own transactions: not for a caller's transaction (tests).
    """
    began = time.perf_counter()
    end = end.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    summary = HistorySummary()
    with_rollups, with_points = covered_hours(account, start)
    hours = _hours(start, end)
    jobs = function_jobs(account, region, specs, traffic, hours, with_rollups)
    pool: ProcessPoolExecutor | None = None
    futures = []
    if workers > 1 and jobs:
        connections.close_all()  # a forked process must not share this one's connection
        pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("fork"))
        futures = [pool.submit(_in_worker, *job) for job in jobs]  # every fork happens here, before any query
    else:
        for job in jobs:
            written, invocations = function_history(*job)
            summary.function_hours += written
            summary.invocations += invocations
        summary.function_seconds = time.perf_counter() - began
    started = time.perf_counter()
    services = ServiceTraffic(endpoint, region, seed=traffic.seed, rhythm=traffic.rhythm, anomalies=traffic.anomalies)
    services.latency_samples = HISTORY_LATENCY_SAMPLES
    writers = (
        ResourceMetrics(endpoint, region, seed=traffic.seed, rhythm=traffic.rhythm),
        services,
        _generator(specs, traffic),
    )
    write_metric_history(account, region, writers, traffic, hours, with_points, end, summary)
    summary.metric_seconds = time.perf_counter() - started
    if pool is not None:
        with pool:
            for future in futures:
                written, invocations = future.result()
                summary.function_hours += written
                summary.invocations += invocations
        summary.function_seconds = time.perf_counter() - began
    return summary
