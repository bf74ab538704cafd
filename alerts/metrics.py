"""What a threshold rule can watch, derived from the kinds registry (pure: no Django).

Two sources:

- every CloudWatch metric a kind polls (`Kind.metrics`), by its key
  (`AWS/SQS:ApproximateAgeOfOldestMessage`), with exactly the statistics the kind polls
  (a window's value combines its stored points: sum of Sum points, average of Average,
  minimum of Minimum, maximum of Maximum and, for a percentile, the highest of the
  window's per-period percentiles, since percentiles of periods cannot be merged exactly);
- the derived figures a kind declares (`Kind.derived_metrics`), computed from what we store:
  invocation figures read from raw invocations (error rate, timeouts, cold starts, cost,
  retries, duration with any statistic, percentiles included) and the API 5XX rate.

`catalogue()` lists them all with the kinds each applies to; a new kind, or a new metric in
a kind's catalogue, is alertable with no change here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import kinds

SUM, AVERAGE, MINIMUM, MAXIMUM = "Sum", "Average", "Minimum", "Maximum"
PERCENTILES = ("p50", "p90", "p95", "p99")
STATISTICS = (SUM, AVERAGE, MINIMUM, MAXIMUM, *PERCENTILES)
STATISTIC_LABELS = {SUM: "sum", AVERAGE: "average", MINIMUM: "minimum", MAXIMUM: "maximum"}
# How a window's stored points of one statistic combine into the window's value.
POINT_AGGREGATE = {SUM: "sum", AVERAGE: "avg", MINIMUM: "min", MAXIMUM: "max", **dict.fromkeys(PERCENTILES, "max")}


def statistic_label(stat: str) -> str:
    return STATISTIC_LABELS.get(stat, stat)


@dataclass(frozen=True)
class Derived:
    label: str
    unit: str
    # "invocations": monitoring's invocation window figures; "api_5xx": API Gateway metrics.
    source: str
    # The statistics a rule may choose; () when the figure has one meaning (a count, a rate).
    statistics: tuple[str, ...] = ()


DURATION_STATISTICS = (AVERAGE, MINIMUM, MAXIMUM, *PERCENTILES)

DERIVED: dict[str, Derived] = {
    "errors": Derived("Errors (error, timeout, out of memory)", "", "invocations"),
    "error_rate": Derived("Error rate", "%", "invocations"),
    "timeouts": Derived("Timeouts", "", "invocations"),
    "out_of_memory": Derived("Out-of-memory kills", "", "invocations"),
    "cold_starts": Derived("Cold starts", "", "invocations"),
    "duration": Derived("Duration", "ms", "invocations", DURATION_STATISTICS),
    "memory_use": Derived("Memory used of size", "%", "invocations"),
    "cost": Derived("Cost", "USD", "invocations"),
    "retries": Derived("Retried invocations", "", "invocations"),
    "api_5xx_rate": Derived("5XX rate", "%", "api_5xx"),
}


def invocation_figure(metric: str, statistic: str) -> str:
    """The name of monitoring's invocation window figure for a derived metric × statistic."""
    if metric == "duration":
        return {AVERAGE: "duration_avg", MINIMUM: "duration_min", MAXIMUM: "duration_max"}.get(
            statistic, f"duration_{statistic}"
        )
    return metric


@dataclass(frozen=True)
class AlertMetric:
    id: str  # a CloudWatch metric key or a DERIVED id
    label: str
    kinds: tuple[str, ...]  # the kinds it applies to, in registry order
    statistics: tuple[str, ...]  # what a rule may choose; () for a derived figure without one
    unit: str = ""
    derived: bool = False

    def kind_label(self) -> str:
        return ", ".join(kinds.get(k).label for k in self.kinds)


def _cloudwatch_label(key: str) -> str:
    namespace, _, rest = key.partition(":")
    name, _, dims = rest.partition(",")
    service = namespace.removeprefix("AWS/")
    return f"{service} {name}" + (f" ({dims.replace(',', ', ')})" if dims else "")


def catalogue() -> dict[str, AlertMetric]:
    """Every alertable metric id → its description, CloudWatch metrics first in registry order."""
    cloudwatch: dict[str, AlertMetric] = {}
    derived: dict[str, list[str]] = {}
    for kind in kinds.all_kinds():
        for spec in kind.metrics:
            seen = cloudwatch.get(spec.key)
            if seen is None:
                cloudwatch[spec.key] = AlertMetric(spec.key, _cloudwatch_label(spec.key), (kind.id,), spec.stats)
            else:  # the same metric polled by two kinds (REST and HTTP APIs): the stats both poll
                stats = tuple(s for s in seen.statistics if s in spec.stats)
                cloudwatch[spec.key] = AlertMetric(spec.key, seen.label, (*seen.kinds, kind.id), stats)
        for metric in kind.derived_metrics:
            derived.setdefault(metric, []).append(kind.id)
    out = dict(cloudwatch)
    for metric, kind_ids in derived.items():
        d = DERIVED[metric]  # a kind declaring an unknown figure fails here, and in the registry test
        out[metric] = AlertMetric(metric, d.label, tuple(kind_ids), d.statistics, d.unit, derived=True)
    return out


def get(metric_id: str) -> AlertMetric | None:
    return catalogue().get(metric_id)


def statistic_problem(metric_id: str, statistic: str) -> str | None:
    """Why a metric × statistic cannot be evaluated, or None."""
    metric = get(metric_id)
    if metric is None:
        return "Choose a metric from the list."
    if not metric.statistics:
        return None if not statistic else f"{metric.label} has no statistic to choose; leave it empty."
    if statistic not in metric.statistics:
        offered = ", ".join(statistic_label(s) for s in metric.statistics)
        return f"{metric.label} is collected as {offered}: choose one of those."
    return None


def grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The rule form's metric choices, grouped by the kind that polls them."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for metric in catalogue().values():
        groups.setdefault(metric.kind_label(), []).append(
            (metric.id, metric.label + (f" ({metric.unit})" if metric.unit else ""))
        )
    return list(groups.items())


def iter_statistic_choices() -> Iterator[tuple[str, str]]:
    yield ("", "—")
    for stat in STATISTICS:
        yield (stat, statistic_label(stat))


# Derived figures whose hourly value the anomaly detector judges, by (metric, statistic):
# the keys of `insights.anomalies.metrics.HOURLY_SENSITIVITY`.
_ANOMALY_FIGURES = {
    ("errors", ""): "errors",
    ("cost", ""): "cost_usd",
    ("duration", "p50"): "duration_p50_ms",
    ("duration", "p95"): "duration_p95_ms",
}


def anomaly_metric(metric_id: str, statistic: str) -> str | None:
    """The anomaly detector's name of a rule's metric × statistic: "<CloudWatch key>:<stat>"
    for a catalogued metric, a rollup figure for a derived one; None when it is not judged."""
    described = get(metric_id)
    if described is None:
        return None
    if not described.derived:
        return f"{metric_id}:{statistic}" if statistic in described.statistics else None
    return _ANOMALY_FIGURES.get((metric_id, statistic))


def anomaly_metric_problem(metric_id: str, statistic: str) -> str | None:
    """Why an anomaly rule cannot watch this metric × statistic, or None (an empty metric
    watches every judged figure)."""
    if not metric_id:
        return None if not statistic else "Choose a metric for that statistic, or neither for every metric."
    problem = statistic_problem(metric_id, statistic)
    if problem is None and anomaly_metric(metric_id, statistic) is None:
        label = get(metric_id).label  # type: ignore[union-attr]  # statistic_problem checked it exists
        return (
            f"Anomalies are not computed for {label}"
            + (f" {statistic_label(statistic)}" if statistic else "")
            + ": choose a CloudWatch metric, errors, cost, or duration p50 or p95."
        )
    return problem
