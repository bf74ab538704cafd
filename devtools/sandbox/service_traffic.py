"""CloudWatch metrics of the sandbox's load balancers and AppSync APIs, as AWS publishes them.

Lambda traffic (`traffic.py`) is logs first; these services report only metrics, so this
writes, each tick, what their namespaces would hold for that stretch of time: per load
balancer (dimension `LoadBalancer` = the ARN after `loadbalancer/`) its requests or flows,
and per target group (`LoadBalancer` + `TargetGroup`) its healthy and unhealthy hosts; per
GraphQL API (`GraphQLAPIId`) its requests, errors and latency. Latencies are raw values so
that CloudWatch (and the sandbox) can answer percentiles.

Each seeded resource has a profile (`PROFILES`): shop-alb serves traffic with target 5XX
errors and one unhealthy host, internal-alb is idle, tcp-nlb has an unhealthy host,
shop-graphql is busy, slow and failing; anything else gets a healthy default. With
`rhythm`, traffic follows the demo's daily and weekly rhythm (`traffic.rhythm`); with
`anomalies`, shop-alb's responses slow down and shop-graphql's requests drop in about one
hour a day (`traffic.anomaly_hour`), like the functions'.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kinds.load_balancer import dimension, target_group_dimension

from .seed import admin_client
from .traffic import LATENCY_STEP, TRAFFIC_DROP, anomaly_hour, rhythm


@dataclass(frozen=True)
class Profile:
    per_minute: float  # requests (ALB, AppSync) or new flows (NLB)
    error_share: float = 0.002  # target / resolver 5XX
    latency_ms: float = 40.0  # median; the tail is lognormal
    unhealthy_hosts: int = 0  # in the load balancer's first target group


DEFAULT = Profile(per_minute=120)
PROFILES = {
    "shop-alb": Profile(per_minute=600, error_share=0.04, latency_ms=180, unhealthy_hosts=1),
    "internal-alb": Profile(per_minute=0),
    "tcp-nlb": Profile(per_minute=90, unhealthy_hosts=1),
    "shop-graphql": Profile(per_minute=400, error_share=0.03, latency_ms=900),
    "admin-graphql": Profile(per_minute=20, error_share=0.0, latency_ms=35),
}

MAX_VALUES = 150  # PutMetricData's Values per datum
# Scheduled anomalies (with `anomalies`): resource name -> effect.
SCHEDULED = {"shop-alb": "latency", "shop-graphql": "drop"}


@dataclass
class Target:
    namespace: str
    name: str
    dimensions: list[dict[str, str]]
    target_groups: list[tuple[str, int]]  # TargetGroup dimension values, registered targets (load balancers)
    kind: str  # "application", "network" or "appsync"


class ServiceTraffic:
    """Writes a tick of metrics per call for every load balancer and GraphQL API of a region."""

    def __init__(
        self, endpoint: str, region: str, *, seed: int = 1, rhythm: bool = False, anomalies: bool = False
    ) -> None:
        self.cloudwatch = admin_client("cloudwatch", endpoint, region)
        self.seed = seed
        self.rng = random.Random(seed)
        self.with_rhythm = rhythm
        self.anomalies = anomalies
        # Latencies drawn per tick at most (raw values, for percentiles).
        self.latency_samples = 600
        self.targets: list[Target] = []
        elb = admin_client("elbv2", endpoint, region)
        for lb in elb.describe_load_balancers().get("LoadBalancers", []):
            arn = lb["LoadBalancerArn"]
            groups = elb.describe_target_groups(LoadBalancerArn=arn).get("TargetGroups", [])
            namespace = "AWS/ApplicationELB" if lb.get("Type") == "application" else "AWS/NetworkELB"
            self.targets.append(
                Target(
                    namespace,
                    lb["LoadBalancerName"],
                    [{"Name": "LoadBalancer", "Value": dimension(arn)}],
                    sorted(
                        (
                            target_group_dimension(g["TargetGroupArn"]),
                            len(
                                elb.describe_target_health(TargetGroupArn=g["TargetGroupArn"])[
                                    "TargetHealthDescriptions"
                                ]
                            ),
                        )
                        for g in groups
                    ),
                    lb.get("Type", "application"),
                )
            )
        appsync = admin_client("appsync", endpoint, region)
        for api in appsync.list_graphql_apis().get("graphqlApis", []):
            self.targets.append(
                Target("AWS/AppSync", api["name"], [{"Name": "GraphQLAPIId", "Value": api["apiId"]}], [], "appsync")
            )

    def _share(self, n: int, p: float) -> int:
        """How many of `n` requests fall with probability `p` (a binomial draw; its normal
        approximation for large counts, which the history's 5-minute ticks are)."""
        mean = n * p
        if mean * (1 - p) < 25:
            return sum(1 for _ in range(n) if self.rng.random() < p)
        return max(0, min(n, round(self.rng.gauss(mean, (mean * (1 - p)) ** 0.5))))

    def _total(self, n: int, low: int, high: int) -> int:
        """The sum of `n` draws from [low, high] (its normal approximation for many)."""
        if n <= 30:
            return sum(self.rng.randint(low, high) for _ in range(n))
        spread = (high - low) / 12**0.5
        return max(n * low, round(self.rng.gauss(n * (low + high) / 2, spread * n**0.5)))

    def _count(self, per_minute: float, seconds: float) -> int:
        expected = per_minute * seconds / 60
        return int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)

    def _latencies(self, median_ms: float, n: int) -> list[float]:
        return [round(self.rng.lognormvariate(0, 0.6) * median_ms, 1) for _ in range(n)]

    def _data(self, target: Target, seconds: float, now: datetime) -> list[dict[str, Any]]:
        profile = PROFILES.get(target.name, DEFAULT)
        effect = SCHEDULED.get(target.name) if self.anomalies else None
        if effect is not None and not anomaly_hour(self.seed, target.name, effect, now):
            effect = None
        busy = (rhythm(now) if self.with_rhythm else 1.0) * (TRAFFIC_DROP if effect == "drop" else 1.0)
        latency_ms = profile.latency_ms * (LATENCY_STEP if effect == "latency" else 1.0)
        n = self._count(profile.per_minute * busy, seconds)
        errors = self._share(n, profile.error_share)

        def datum(name: str, value: float, dims: list[dict[str, str]] | None = None) -> dict[str, Any]:
            return {"MetricName": name, "Dimensions": dims or target.dimensions, "Timestamp": now, "Value": value}

        def spread(name: str, values: list[float], unit: str) -> list[dict[str, Any]]:
            return [
                {
                    "MetricName": name,
                    "Dimensions": target.dimensions,
                    "Timestamp": now,
                    "Values": values[i : i + MAX_VALUES],
                    "Counts": [1.0] * len(values[i : i + MAX_VALUES]),
                    "Unit": unit,
                }
                for i in range(0, len(values), MAX_VALUES)
            ]

        if target.kind == "appsync":
            if not n:
                return []
            client_errors = self._share(n, 0.01)
            return [
                datum("Requests", n),
                datum("4XXError", client_errors),
                datum("5XXError", errors),
                *spread("Latency", self._latencies(latency_ms, min(n, self.latency_samples)), "Milliseconds"),
            ]
        out = []
        # The profile's unhealthy hosts are in the target group with the most targets.
        biggest = max(target.target_groups, key=lambda g: g[1], default=("", 0))
        for group, registered in target.target_groups:
            dims = [*target.dimensions, {"Name": "TargetGroup", "Value": group}]
            unhealthy = min(profile.unhealthy_hosts, registered) if group == biggest[0] else 0
            out += [
                datum("UnHealthyHostCount", unhealthy, dims),
                datum("HealthyHostCount", registered - unhealthy, dims),
            ]
        if not n:
            return out
        if target.kind == "application":
            seconds_values = [ms / 1000 for ms in self._latencies(latency_ms, min(n, self.latency_samples))]
            return [
                *out,
                datum("RequestCount", n),
                datum("HTTPCode_Target_5XX_Count", errors),
                datum("HTTPCode_Target_4XX_Count", self._share(n, 0.02)),
                datum("HTTPCode_ELB_5XX_Count", self._share(errors, 0.1)),
                *spread("TargetResponseTime", seconds_values, "Seconds"),
            ]
        return [
            *out,
            datum("NewFlowCount", n),
            # A gauge (flows open at the time), whatever the length of the tick.
            datum("ActiveFlowCount", max(1, round(profile.per_minute * busy / 3 * self.rng.uniform(0.9, 1.1)))),
            datum("ProcessedBytes", self._total(n, 2_000, 40_000)),
            datum("TCP_Target_Reset_Count", errors),
            datum("TCP_ELB_Reset_Count", 0),
        ]

    def data(self, seconds: float, now: datetime) -> dict[str, list[dict[str, Any]]]:
        """Every target's CloudWatch data of a tick of `seconds` ending `now`, by namespace."""
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for target in self.targets:
            out[target.namespace] += self._data(target, seconds, now)
        return out

    def tick(self, seconds: float, now: datetime | None = None) -> int:
        """Write `seconds` worth of metrics ending now; return the data written."""
        now = now or datetime.now(tz=UTC)
        written = 0
        for target in self.targets:
            data = self._data(target, seconds, now)
            for i in range(0, len(data), 20):  # PutMetricData takes 1,000 data, 1 MB: stay small
                self.cloudwatch.put_metric_data(Namespace=target.namespace, MetricData=data[i : i + 20])
            written += len(data)
        return written

    def backfill(self, since: datetime, now: datetime | None = None) -> int:
        """The metrics of [since, now) at once, a tick a minute; the data written."""
        now = now or datetime.now(tz=UTC)
        written = 0
        t = since + timedelta(minutes=1)
        while t <= now:
            written += self.tick(60, now=t)
            t += timedelta(minutes=1)
        return written
