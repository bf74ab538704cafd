from __future__ import annotations

import kinds
from alerts.models import Metric


def test_the_kinds_alertable_metrics_are_exactly_the_rules_metrics() -> None:
    """Every rule metric applies to some kind, and no kind offers one a rule cannot use."""
    assert {m for k in kinds.all_kinds() for m in k.alertable_metrics} == set(Metric.values)
