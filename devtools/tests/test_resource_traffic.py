"""The sandbox's generic metric writer gives each metric values of the shape its name says."""

from __future__ import annotations

import random

from devtools.sandbox.resource_traffic import sample
from kinds.base import MetricSpec


def test_timed_out_executions_are_a_few_counts_not_latency_samples() -> None:
    rng = random.Random(7)
    for _ in range(50):
        timed_out = sample(MetricSpec("AWS/States", "ExecutionsTimedOut", ("Sum",)), rng)
        assert len(timed_out) == 1 and timed_out[0] <= 2
    latency = sample(MetricSpec("AWS/States", "ExecutionTime", ("Average",)), rng)
    assert len(latency) >= 5
