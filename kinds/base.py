"""What a resource kind is, and the registry its modules add themselves to (pure: no Django).

A kind module builds one `Kind` and calls `register`; importing the `kinds` package imports
every kind module, in the order the product lists them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kinds.describe import Context, Snapshot

Dimensions = list[dict[str, str]]
# One cheap read that proves a permission: (botocore service, operation, parameters).
Probe = tuple[str, str, dict[str, Any]]
# Related resources of the kind's resources, by primary key: (every resource of the
# organisation, the latest metrics by resource key "<Namespace>:<Metric>:<Stat>").
Related = Callable[[Sequence[Any], Mapping[int, Mapping[str, float]]], dict[int, dict[str, Any]]]


@dataclass(frozen=True)
class MetricSpec:
    """One CloudWatch metric and the statistics we ask for: each statistic is one
    GetMetricData query. Percentiles are CloudWatch extended statistics."""

    namespace: str
    name: str
    stats: tuple[str, ...]
    extra_dimensions: tuple[tuple[str, str], ...] = ()
    # CloudWatch publishes some metrics only per part of a resource (a load balancer's host
    # counts exist per target group, never per load balancer): the dimension that names the
    # part. The kind's `parts` lists a resource's values of it; the collector asks for each
    # part and stores their sum as the resource's metric.
    per: str | None = None

    @property
    def key(self) -> str:
        suffix = "".join(f",{k}={v}" for k, v in self.extra_dimensions)
        return f"{self.namespace}:{self.name}{suffix}"


SUM, AVG, MAX, MIN = "Sum", "Average", "Maximum", "Minimum"


@dataclass(frozen=True)
class Section:
    """One part of a resource's page, in order. `source` says where its data comes from:
    "rollups" (hourly invocation rollups), "metrics" (CloudWatch points, `series` are
    metric keys with their statistic), "invocations", "downstream" (the calls to other
    services, from X-Ray traces), "error_groups" or "config"."""

    id: str
    title: str
    source: str
    series: tuple[str, ...] = ()
    unit: str = ""  # of a metrics section's values ("ms", "s", "%"), shown beside them


SECTION_SOURCES = ("rollups", "metrics", "invocations", "downstream", "error_groups", "config")


@dataclass(frozen=True)
class KeyNumber:
    """One number the resources list shows beside a resource, from its stored metrics over
    the last hour: `series` (metric keys with their statistic, added together) aggregated by
    `aggregate` ("latest": the newest value, for gauges such as a queue's depth; "sum"; "max").
    With `per`, the number is `series` as a percentage of `per` (both summed): an error rate."""

    label: str
    series: tuple[str, ...]
    aggregate: str = "sum"
    unit: str = ""
    per: tuple[str, ...] = ()


KEY_NUMBER_AGGREGATES = ("latest", "sum", "max")


@dataclass(frozen=True)
class Link:
    """A resource this one's configuration names, and what it is to each side: a function's
    event source is "Reads from" for the function and "Read by" for the queue."""

    arn: str
    role: str
    inverse: str


def series_key(series: str) -> tuple[str, str]:
    """ "AWS/SQS:NumberOfMessagesSent:Sum" → ("AWS/SQS:NumberOfMessagesSent", "Sum"): the
    stored metric and statistic."""
    metric, _, stat = series.rpartition(":")
    return metric, stat


_WORD = re.compile(r"S3|\d+(?:[A-Z]+(?![a-z])|[a-z]+)?|[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+")
# CloudWatch names that splitting on capitals reads badly.
_READABLE = {
    "UnHealthyHostCount": "Unhealthy hosts",
    "HealthyHostCount": "Healthy hosts",
    "Count": "Requests",
    "4xx": "4XX errors",
    "5xx": "5XX errors",
    "4XXError": "4XX errors",
    "5XXError": "5XX errors",
    "GetRecords.IteratorAgeMilliseconds": "Iterator age",
}
_STATS = {SUM: "", AVG: "average", MAX: "max", MIN: "min"}


def series_label(series: str) -> str:
    """A series as people read it: "AWS/SQS:ApproximateAgeOfOldestMessage:Maximum" →
    "Approximate age of oldest message (max)"; "AWS/ApiGateway:Latency:p95" → "Latency (p95)";
    an extra dimension is kept ("… (GetItem)")."""
    metric, stat = series_key(series)
    name = metric.split(":", 1)[-1]
    name, _, extra = name.partition(",")
    if name in _READABLE:
        text = _READABLE[name]
    else:
        words = _WORD.findall(name.replace(".", " ")) or [name]
        text = " ".join([words[0], *(w if w.isupper() and len(w) > 1 else w.lower() for w in words[1:])])
    notes = [v.split("=", 1)[-1] for v in extra.split(",") if v] + (
        [_STATS.get(stat, stat)] if _STATS.get(stat, stat) else []
    )
    return f"{text} ({', '.join(notes)})" if notes else text


def by_name(dimension: str, attr: str = "name") -> Callable[[Any], Dimensions]:
    """Dimensions naming the resource by one of its attributes (its name, unless told)."""
    return lambda r: [{"Name": dimension, "Value": getattr(r, attr)}]


def _nothing(config: Mapping[str, Any]) -> list[str]:
    return []


def _no_links(config: Mapping[str, Any]) -> list[Link]:
    return []


def _no_details(config: Mapping[str, Any]) -> str:
    return ""


def _no_parts(resource: Any, dimension: str) -> list[str]:
    return []


@dataclass(frozen=True)
class Kind:
    id: str  # "<service>.<type>", stored in Resource.kind
    label: str
    service: str  # the insights catalogue's service of the kind's checks
    describe: Callable[[Context], list[Snapshot]]  # discovery: pure fetch over AWS answers
    actions: Mapping[str, str]  # IAM action -> why we need it (its describer calls it)
    probes: tuple[Probe, ...]  # onboarding: one cheap read per service the describer uses
    dimensions: Callable[[Any], Dimensions]  # a resource's CloudWatch dimensions
    metrics: tuple[MetricSpec, ...]
    # Seconds between metric polls when neither the environment nor the account says; None:
    # the installation's "default".
    poll_seconds: int | None = None
    # Figures computed from what we store rather than read from CloudWatch (error rate, cold
    # starts, cost…) that alert rules may use on the kind: ids of alerts.metrics.DERIVED.
    derived_metrics: tuple[str, ...] = ()
    details: Callable[[Mapping[str, Any]], str] = _no_details  # the resources list's summary
    sections: tuple[Section, ...] = ()
    key_numbers: tuple[KeyNumber, ...] = ()  # the resources list's numbers beside the summary
    related: Related | None = None
    # Edges between resources, read from stored configuration: the ARNs a resource invokes
    # asynchronously (topics, rules) and the ARNs it polls (a function's event sources).
    invokes: Callable[[Mapping[str, Any]], list[str]] = _nothing
    polls: Callable[[Mapping[str, Any]], list[str]] = _nothing
    # Every other resource the configuration names, for the page's "Related resources"
    # (what `invokes` and `polls` return is related already).
    links: Callable[[Mapping[str, Any]], list[Link]] = _no_links
    # A resource's values of a part dimension (MetricSpec.per), from its stored configuration.
    parts: Callable[[Any, str], list[str]] = _no_parts
    # The Tagging API's resource type of a kind whose describer takes its tags from the
    # region's tag listing (`Context.listed_tags`): every such kind's tags come in one listing.
    tag_type: str | None = None

    def dimensions_for(self, resource: Any, spec: MetricSpec) -> Dimensions:
        return self.dimensions(resource) + [{"Name": k, "Value": v} for k, v in spec.extra_dimensions]

    def dimension_sets(self, resource: Any, spec: MetricSpec) -> list[Dimensions]:
        """The dimensions of every query a metric takes for a resource: one set, or one per
        part for a metric CloudWatch publishes per part (none when the resource has no part)."""
        base = self.dimensions_for(resource, spec)
        if spec.per is None:
            return [base]
        return [[*base, {"Name": spec.per, "Value": value}] for value in self.parts(resource, spec.per)]

    @property
    def alertable_metrics(self) -> tuple[str, ...]:
        """Every alert rule metric id that applies to the kind: each catalogued CloudWatch
        metric (its key) and each derived figure."""
        return tuple(dict.fromkeys([*(spec.key for spec in self.metrics), *self.derived_metrics]))

    def metric_spec(self, key: str) -> MetricSpec | None:
        """The catalogued metric with this key, if the kind polls it."""
        return next((spec for spec in self.metrics if spec.key == key), None)

    @property
    def queries_per_resource(self) -> int:
        """Queries of a resource with one part of each part dimension."""
        return sum(len(spec.stats) for spec in self.metrics)

    def queries_for(self, resource: Any) -> int:
        # A metric without a part dimension takes one set of dimensions: none to build.
        return sum(
            len(spec.stats) * (1 if spec.per is None else len(self.dimension_sets(resource, spec)))
            for spec in self.metrics
        )

    @property
    def polled_series(self) -> tuple[str, ...]:
        """Every "<metric key>:<statistic>" the collector stores for the kind."""
        return tuple(f"{spec.key}:{stat}" for spec in self.metrics for stat in spec.stats)

    @property
    def activity_series(self) -> str | None:
        """The "<metric key>:<statistic>" whose daily sum says how busy a resource is (its
        first counted series: a function's invocations, an API's requests, a queue's
        messages sent), else its first series: the CloudWatch budget polls the least busy
        less often (docs/own-cost.md)."""
        series = self.polled_series
        return next((s for s in series if s.endswith(f":{SUM}")), series[0] if series else None)

    @property
    def chart_series(self) -> tuple[str, ...]:
        """The series of the page's metric sections, each once, in page order."""
        return tuple(
            dict.fromkeys(s for section in self.sections if section.source == "metrics" for s in section.series)
        )

    @property
    def key_number_series(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for number in self.key_numbers for s in (*number.series, *number.per)))

    def relations(self, config: Mapping[str, Any]) -> list[Link]:
        """What the configuration names: its links, then what it polls and what it invokes."""
        out = list(self.links(config))
        out += [Link(arn, "Reads from", "Read by") for arn in self.polls(config)]
        out += [Link(arn, "Invokes", "Invoked by") for arn in self.invokes(config)]
        seen: set[tuple[str, str]] = set()
        unique = []
        for link in out:
            if link.arn and (link.arn, link.role) not in seen:
                seen.add((link.arn, link.role))
                unique.append(link)
        return unique


REGISTRY: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind; a duplicate id, an id not shaped `<service>.<type>` or a section of an
    unknown source is a ValueError."""
    if kind.id in REGISTRY:
        raise ValueError(f"duplicate kind {kind.id!r}")
    service, _, type_ = kind.id.partition(".")
    if not service or not type_ or len(kind.id) > 32:  # Resource.kind is 32 characters
        raise ValueError(f"kind id {kind.id!r} must be '<service>.<type>', at most 32 characters")
    for section in kind.sections:
        if section.source not in SECTION_SOURCES:
            raise ValueError(f"kind {kind.id!r}: section {section.id!r} has unknown source {section.source!r}")
    # A chart or a key number of a series the collector never stores would stay empty forever.
    unpolled = [s for s in (*kind.chart_series, *kind.key_number_series) if s not in kind.polled_series]
    if unpolled:
        raise ValueError(f"kind {kind.id!r}: sections or key numbers name series it does not poll: {unpolled}")
    for number in kind.key_numbers:
        if number.aggregate not in KEY_NUMBER_AGGREGATES:
            raise ValueError(
                f"kind {kind.id!r}: key number {number.label!r} has unknown aggregate {number.aggregate!r}"
            )
    REGISTRY[kind.id] = kind
    return kind


def get(kind_id: str) -> Kind:
    """The registered kind; KeyError for an unknown one."""
    return REGISTRY[kind_id]


def all_kinds() -> Iterator[Kind]:
    return iter(REGISTRY.values())
