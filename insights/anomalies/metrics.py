"""What is judged and how: the hourly rollup figures of a function, and a rule of thumb for
every CloudWatch metric of the kinds' catalogues. Pure: no Django."""

from __future__ import annotations

import re

from kinds import series_label

from .detector import Sensitivity

# Keys of the hourly rollup figures (`insights.anomalies.services.rollup_series`).
HOURLY_SENSITIVITY: dict[str, Sensitivity] = {
    # Traffic may fail in either direction: a drop is often an upstream outage.
    "invocations": Sensitivity(direction="both", counts=True, threshold=3.5, rel_floor=0.15),
    # A handful of errors is not an anomaly, however quiet the baseline.
    "errors": Sensitivity(direction="up", counts=True, threshold=3.5, rel_floor=0.2, min_delta=5.0),
    "duration_p50_ms": Sensitivity(direction="up", rel_floor=0.15, abs_floor=5.0),
    "duration_p95_ms": Sensitivity(direction="up", rel_floor=0.15, abs_floor=5.0),
    "cost_usd": Sensitivity(direction="up", rel_floor=0.2, abs_floor=0.01),
    # A leak or a bigger payload: the highest memory used in the hour, in MB.
    "memory_max_mb": Sensitivity(direction="up", rel_floor=0.15, abs_floor=8.0),
}

HOURLY_LABELS: dict[str, str] = {
    "invocations": "Invocations",
    "errors": "Errors",
    "duration_p50_ms": "Duration p50 (ms)",
    "duration_p95_ms": "Duration p95 (ms)",
    "cost_usd": "Cost (USD)",
    "memory_max_mb": "Max memory used (MB)",
}

# Catalogue metrics whose rise is the bad news (errors, throttles, latency, backlog age…).
_BAD_WHEN_UP = re.compile(
    r"error|fault|throttl|fail|reject|5xx|4xx|latency|duration|ageof|iteratorage|dropped|dead|timeout|unhealthy|backlog|iterator",
    re.IGNORECASE,
)


# Times (latencies, durations, response and execution times) come in seconds or in
# milliseconds: no absolute floor fits both, so theirs is tiny and the relative one rules.
_TIME = re.compile(r"latency|duration|responsetime|executiontime", re.IGNORECASE)


def catalogue_sensitivity(metric_name: str, stat: str = "") -> Sensitivity:
    """For a catalogued CloudWatch metric ("AWS/SQS:ApproximateAgeOfOldestMessage") and the
    statistic polled: up is bad for errors, throttles, latency and backlog; other figures
    (traffic, throughput) are judged both ways. An hour's Sum or SampleCount is a count, judged
    on the square-root scale like a function's invocations: on the plain scale the relative
    floor would put a drop to a tenth of the usual traffic inside the band."""
    name = metric_name.rpartition(":")[2]
    counts = stat in ("Sum", "SampleCount")
    if _TIME.search(name):
        return Sensitivity(direction="up", rel_floor=0.2, abs_floor=0.001, counts=counts)
    if _BAD_WHEN_UP.search(name):
        return Sensitivity(direction="up", rel_floor=0.2, abs_floor=2.0, counts=counts)
    return Sensitivity(direction="both", rel_floor=0.2, abs_floor=2.0, counts=counts)


def metric_label(metric: str) -> str:
    """A judged figure as people read it: "Duration p95 (ms)", "Approximate age of oldest message (max)"."""
    return HOURLY_LABELS.get(metric) or series_label(metric)
