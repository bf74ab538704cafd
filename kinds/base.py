"""What a resource kind is, and the registry its modules add themselves to (pure: no Django).

A kind module builds one `Kind` and calls `register`; importing the `kinds` package imports
every kind module, in the order the product lists them.
"""

from __future__ import annotations

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
    metric keys with their statistic), "invocations", "error_groups" or "config"."""

    id: str
    title: str
    source: str
    series: tuple[str, ...] = ()


SECTION_SOURCES = ("rollups", "metrics", "invocations", "error_groups", "config")


def by_name(dimension: str, attr: str = "name") -> Callable[[Any], Dimensions]:
    """Dimensions naming the resource by one of its attributes (its name, unless told)."""
    return lambda r: [{"Name": dimension, "Value": getattr(r, attr)}]


def _nothing(config: Mapping[str, Any]) -> list[str]:
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
    alertable_metrics: tuple[str, ...] = ()  # alert rule metric ids that apply to the kind
    details: Callable[[Mapping[str, Any]], str] = _no_details  # the resources list's summary
    sections: tuple[Section, ...] = ()
    related: Related | None = None
    # Edges between resources, read from stored configuration: the ARNs a resource invokes
    # asynchronously (topics, rules) and the ARNs it polls (a function's event sources).
    invokes: Callable[[Mapping[str, Any]], list[str]] = _nothing
    polls: Callable[[Mapping[str, Any]], list[str]] = _nothing
    # A resource's values of a part dimension (MetricSpec.per), from its stored configuration.
    parts: Callable[[Any, str], list[str]] = _no_parts

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
    def queries_per_resource(self) -> int:
        """Queries of a resource with one part of each part dimension."""
        return sum(len(spec.stats) for spec in self.metrics)

    def queries_for(self, resource: Any) -> int:
        return sum(len(spec.stats) * len(self.dimension_sets(resource, spec)) for spec in self.metrics)


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
    REGISTRY[kind.id] = kind
    return kind


def get(kind_id: str) -> Kind:
    """The registered kind; KeyError for an unknown one."""
    return REGISTRY[kind_id]


def all_kinds() -> Iterator[Kind]:
    return iter(REGISTRY.values())
