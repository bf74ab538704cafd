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
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import kinds
from kinds import Kind, MetricSpec, appsync_api, ecs_service, firehose_stream, lambda_function, load_balancer
from kinds.describe import Context, ListingFailed, Snapshot

from .seed import admin_client

# Kinds whose metrics another sandbox writer shapes on purpose (see the docstring).
PROFILED = {lambda_function.KIND, ecs_service.KIND, firehose_stream.KIND, load_balancer.ALB, load_balancer.NLB,
            appsync_api.KIND}  # fmt: skip
BATCH = 500  # metric data per PutMetricData call (AWS allows 1,000)
_FAILURES = ("Error", "Fail", "Throttl", "Exceeded", "Dropped", "Spillover", "4xx", "5xx", "Unhealthy")


def sample(spec: MetricSpec, rng: random.Random) -> list[float]:
    """Values of one metric for one minute, by what its name says it measures."""
    name = spec.name
    if any(word in name for word in (*_FAILURES, "TimedOut")):  # before "Time": ExecutionsTimedOut counts
        return [float(rng.choice((0, 0, 0, 1, 2)))]
    if any(word in name for word in ("Latency", "Time", "Duration", "Milliseconds")):
        return [round(rng.lognormvariate(4, 0.5), 2) for _ in range(rng.randint(5, 20))]
    if "Age" in name:
        return [float(rng.randint(0, 90))]
    if "Utilization" in name:
        return [round(rng.uniform(10, 80), 2) for _ in range(3)]
    if "Provisioned" in name:
        return [5.0]
    if "Size" in name or "Bytes" in name:
        return [float(rng.randint(200, 4000))]
    return [float(rng.randint(10, 200))]


class ResourceMetrics:
    """Writes a minute of metrics per call for the region's resources of every kind without
    a profile of its own; the resources are described once, on the first call."""

    def __init__(self, endpoint: str, region: str, *, seed: int) -> None:
        self.endpoint, self.region = endpoint, region
        self.cloudwatch = admin_client("cloudwatch", endpoint, region)
        self.rng = random.Random(seed)
        self._resources: list[tuple[Kind, Snapshot]] | None = None

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

    def tick(self, now: datetime | None = None) -> int:
        """One datum per metric per resource at `now` (default: this minute); the count written."""
        now = now or datetime.now(tz=UTC)
        by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for kind, snapshot in self.resources():
            for spec in kind.metrics:
                values = sample(spec, self.rng)
                by_namespace[spec.namespace].append(
                    {
                        "MetricName": spec.name,
                        "Dimensions": kind.dimensions_for(snapshot, spec),
                        "Timestamp": now,
                        "Values": values,
                        "Counts": [1.0] * len(values),
                    }
                )
        written = 0
        for namespace, data in by_namespace.items():
            for i in range(0, len(data), BATCH):
                self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[i : i + BATCH])
            written += len(data)
        return written

    def backfill(self, minutes: int, now: datetime | None = None) -> int:
        """The last `minutes` minutes at once (for tests and a first start)."""
        now = (now or datetime.now(tz=UTC)).replace(second=0, microsecond=0)
        return sum(self.tick(now - timedelta(minutes=m) + timedelta(seconds=30)) for m in range(minutes, 0, -1))
