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
    related: Related | None = None
    # Edges between resources, read from stored configuration: the ARNs a resource invokes
    # asynchronously (topics, rules) and the ARNs it polls (a function's event sources).
    invokes: Callable[[Mapping[str, Any]], list[str]] = _nothing
    polls: Callable[[Mapping[str, Any]], list[str]] = _nothing

    def dimensions_for(self, resource: Any, spec: MetricSpec) -> Dimensions:
        return self.dimensions(resource) + [{"Name": k, "Value": v} for k, v in spec.extra_dimensions]

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
        return sum(len(spec.stats) for spec in self.metrics)


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
