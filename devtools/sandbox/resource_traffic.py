"""CloudWatch metrics for the sandbox's resources of every kind that has no traffic profile
of its own: a queue's depth and age, an API's requests, errors and latency, a table's
consumed capacity… (Functions' metrics follow the invocations `traffic.py` writes, which also
writes ECS services' and delivery streams'; load balancers and AppSync APIs have healthy,
failing and idle profiles in `service_traffic.py`: they are left to those.)

It reads the registry, not a list of kinds: each kind's own describer finds its resources in
the region (with the sandbox's admin credentials), and every metric of the kind's catalogue
gets a datum a minute, with the kind's own dimensions. So a kind added to the registry, with
resources in the seed, has metric traffic with no change here. Values are plausible for the
metric's name (counts, a few errors, latencies in ms, ages in s, utilisation in %), drawn
from a seeded generator; latencies and gauges are put as raw values so that percentiles exist.
With `rhythm`, counts and sizes of traffic follow the demo's daily and weekly rhythm
(`traffic.rhythm`).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import kinds
from kinds import Kind, MetricSpec, appsync_api, ecs_service, firehose_stream, lambda_function, load_balancer
from kinds.describe import Context, ListingFailed, Snapshot

from .seed import admin_client
from .traffic import rhythm

# Kinds whose metrics another sandbox writer shapes on purpose (see the docstring).
PROFILED = {lambda_function.KIND, ecs_service.KIND, firehose_stream.KIND, load_balancer.ALB, load_balancer.NLB,
            appsync_api.KIND}  # fmt: skip
BATCH = 500  # metric data per PutMetricData call (AWS allows 1,000)
_FAILURES = ("Error", "Fail", "Throttl", "Exceeded", "Dropped", "Spillover", "4xx", "5xx", "Unhealthy")


def shape(spec: MetricSpec) -> str:
    """What a metric measures, by its name: failures, latency, age, utilisation, provisioned,
    size, bytes, or (else) a count of traffic."""
    name = spec.name
    if any(word in name for word in (*_FAILURES, "TimedOut")):  # before "Time": ExecutionsTimedOut counts
        return "failures"
    if any(word in name for word in ("Latency", "Time", "Duration", "Milliseconds")):
        return "latency"
    for word, found in (("Age", "age"), ("Utilization", "utilisation"), ("Provisioned", "provisioned")):
        if word in name:
            return found
    if "Size" in name:
        return "size"
    return "bytes" if "Bytes" in name else "count"


def draw(kind: str, rng: random.Random, busy: float = 1.0) -> list[float]:
    """Values of a metric of this shape for one minute; traffic (counts, bytes) scaled by `busy`."""
    if kind == "failures":
        return [float(rng.choice((0, 0, 0, 1, 2)))]
    if kind == "latency":
        return [round(rng.lognormvariate(4, 0.5), 2) for _ in range(rng.randint(5, 20))]
    if kind == "age":
        return [float(rng.randint(0, 90))]
    if kind == "utilisation":
        return [round(rng.uniform(10, 80), 2) for _ in range(3)]
    if kind == "provisioned":
        return [5.0]
    if kind == "size":
        return [float(rng.randint(200, 4000))]
    if kind == "bytes":
        return [float(round(rng.randint(200, 4000) * busy))]
    return [float(round(rng.randint(10, 200) * busy))]


def sample(spec: MetricSpec, rng: random.Random, busy: float = 1.0) -> list[float]:
    """Values of one metric for one minute, by what its name says it measures."""
    return draw(shape(spec), rng, busy)


class ResourceMetrics:
    """Writes a minute of metrics per call for the region's resources of every kind without
    a profile of its own; the resources are described once, on the first call."""

    def __init__(self, endpoint: str, region: str, *, seed: int, rhythm: bool = False) -> None:
        self.endpoint, self.region = endpoint, region
        self.cloudwatch = admin_client("cloudwatch", endpoint, region)
        self.rng = random.Random(seed)
        self.with_rhythm = rhythm
        self._resources: list[tuple[Kind, Snapshot]] | None = None
        self._series: list[tuple[str, str, list[dict[str, str]], str]] | None = None

    def resources(self) -> list[tuple[Kind, Snapshot]]:
        if self._resources is None:
            ctx = Context(lambda service: admin_client(service, self.endpoint, self.region), self.region)
            found = []
            for kind in kinds.all_kinds():
                if kind.id in PROFILED:
                    continue
                try:
                    found += [(kind, s) for s in kind.describe(ctx) if s.kind == kind.id]
                except ListingFailed:
                    continue
            self._resources = found
        return self._resources

    def series(self) -> list[tuple[str, str, list[dict[str, str]], str]]:
        """(namespace, metric name, dimensions, shape) of every metric of every resource."""
        if self._series is None:
            self._series = [
                (spec.namespace, spec.name, kind.dimensions_for(snapshot, spec), shape(spec))
                for kind, snapshot in self.resources()
                for spec in kind.metrics
            ]
        return self._series

    def minute(self, now: datetime, *, skip: Collection[str] = ()) -> list[list[float]]:
        """A minute's values at `now` of each of `series()`, in its order (none for the
        shapes in `skip`)."""
        busy = rhythm(now) if self.with_rhythm else 1.0
        return [[] if kind in skip else draw(kind, self.rng, busy) for _, _, _, kind in self.series()]

    def data(self, now: datetime) -> dict[str, list[dict[str, Any]]]:
        """A minute's datum per metric per resource at `now`, by namespace."""
        by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (namespace, name, dimensions, _), values in zip(self.series(), self.minute(now), strict=True):
            by_namespace[namespace].append(
                {"MetricName": name, "Dimensions": dimensions, "Timestamp": now, "Values": values,
                 "Counts": [1.0] * len(values)}
            )  # fmt: skip
        return by_namespace

    def tick(self, now: datetime | None = None) -> int:
        """One datum per metric per resource at `now` (default: this minute); the count written."""
        written = 0
        for namespace, data in self.data(now or datetime.now(tz=UTC)).items():
            for i in range(0, len(data), BATCH):
                self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[i : i + BATCH])
            written += len(data)
        return written

    def backfill(self, minutes: int, now: datetime | None = None) -> int:
        """The last `minutes` minutes at once (for tests and a first start)."""
        now = (now or datetime.now(tz=UTC)).replace(second=0, microsecond=0)
        return sum(self.tick(now - timedelta(minutes=m) + timedelta(seconds=30)) for m in range(minutes, 0, -1))
