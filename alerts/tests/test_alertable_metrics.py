from __future__ import annotations

import kinds
from alerts import metrics


def test_the_kinds_alertable_metrics_are_exactly_the_rules_metrics() -> None:
    """Every rule metric applies to some kind, and no kind offers one a rule cannot use."""
    assert {m for k in kinds.all_kinds() for m in k.alertable_metrics} == set(metrics.catalogue())


def test_every_catalogued_cloudwatch_metric_is_alertable_with_the_statistics_its_kind_polls() -> None:
    catalogue = metrics.catalogue()
    for kind in kinds.all_kinds():
        for spec in kind.metrics:
            assert kind.id in catalogue[spec.key].kinds
            assert set(catalogue[spec.key].statistics) <= set(spec.stats)
    sqs = catalogue["AWS/SQS:ApproximateAgeOfOldestMessage"]
    assert sqs.statistics == ("Maximum",)
    assert metrics.statistic_problem("AWS/SQS:ApproximateAgeOfOldestMessage", "Sum") is not None
    assert metrics.statistic_problem("AWS/ApiGateway:Latency", "p95") is None


def test_every_derived_figure_a_kind_declares_can_be_computed() -> None:
    from monitoring.selectors import INVOCATION_WINDOW_FIGURES

    declared = {m for k in kinds.all_kinds() for m in k.derived_metrics}
    assert declared == set(metrics.DERIVED)
    for metric_id, derived in metrics.DERIVED.items():
        if derived.source == "invocations":
            for stat in derived.statistics or ("",):
                assert metrics.invocation_figure(metric_id, stat) in INVOCATION_WINDOW_FIGURES
