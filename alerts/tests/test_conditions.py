"""Conditions on any catalogued metric: statistic, comparison (band included), M of N,
missing data; every occurrence with a per-rule rate; the data migration of older rules."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps

from accounts.services import aws_account_start
from alerts.evaluation import decide
from alerts.models import AlertRule, Incident, IncidentEvent
from alerts.services import event_dispatch, pending_events, rule_evaluate
from monitoring.models import ErrorGroup, MetricPoint, Resource
from monitoring.store.partitions import ensure_partitions_for

# Metric points live in daily partitions made around the present.
NOW = datetime.now(tz=UTC).replace(second=0, microsecond=0)


# --- the decision, pure ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "op", "missing", "expected"),
    [
        ([400.0], ">", "ok", True),
        ([200.0], ">", "ok", False),
        ([None], ">", "ok", False),
        ([None], "<", "breaching", True),
        ([0.0], "<", "breaching", True),
        ([5.0], "<", "breaching", False),
        ([None], ">", "keep", None),  # no data: the state stays as it is
        ([200.0], ">", "keep", False),
        ([400.0, None, None], ">", "keep", None),  # 2 of 3 needed, one breach, two unknown
        ([400.0, None, 400.0], ">", "keep", True),
        ([200.0, 200.0, None], ">", "keep", False),  # 2 of 3 can no longer breach
    ],
)
def test_missing_data_is_treated_as_the_rule_says(
    values: list[float | None], op: str, missing: str, expected: bool | None
) -> None:
    needed = 2 if len(values) == 3 else 1
    assert decide(values, op, 300.0 if op == ">" else 1.0, needed, missing=missing) is expected


def test_outside_a_band_breaches_below_its_low_end_and_above_its_high_end() -> None:
    assert decide([5.0], "outside", 10.0, 1, upper=20.0) is True
    assert decide([25.0], "outside", 10.0, 1, upper=20.0) is True
    assert decide([15.0], "outside", 10.0, 1, upper=20.0) is False


def test_m_of_n_counts_breaching_windows() -> None:
    assert decide([400.0, 100.0, 400.0], ">", 300.0, 2) is True
    assert decide([400.0, 100.0, 100.0], ">", 300.0, 2) is False


# --- rules over stored metric points --------------------------------------------------------------


def resource(owner: Any, kind: str, name: str) -> Resource:
    account = aws_account_start(organization=owner.organization, name=f"acct-{name}")
    return Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind=kind,
        arn=f"arn:aws:x:us-east-1:123456789012:{name}", name=name, config={}, first_seen=NOW, last_seen=NOW,
    )  # fmt: skip


def point(r: Resource, metric: str, stat: str, value: float, minutes_ago: int) -> None:
    ensure_partitions_for("monitoring_metricpoint", [NOW - timedelta(minutes=minutes_ago)])
    MetricPoint.objects.create(
        account_id=r.account_id, resource_id=r.pk, metric=metric, stat=stat, period=60,
        ts=NOW - timedelta(minutes=minutes_ago), value=value,
    )  # fmt: skip


def rule(owner: Any, **kw: Any) -> AlertRule:
    values: dict[str, Any] = {"name": "r", "condition": "threshold", "window_minutes": 5, "min_interval_minutes": 0}
    return AlertRule.objects.create(organization=owner.organization, **{**values, **kw})


@pytest.mark.django_db
def test_dynamodb_throttles_open_an_incident_on_the_table_only(owner: Any) -> None:
    table = resource(owner, "dynamodb.table", "orders")
    queue = resource(owner, "sqs.queue", "jobs")
    point(table, "AWS/DynamoDB:WriteThrottleEvents", "Sum", 3, 2)
    point(table, "AWS/DynamoDB:WriteThrottleEvents", "Sum", 4, 1)
    r = rule(owner, metric="AWS/DynamoDB:WriteThrottleEvents", statistic="Sum", operator=">", threshold=5)

    assert rule_evaluate(r, NOW)["opened"] == 1
    incident = Incident.objects.get(rule=r)
    assert incident.resource == table and incident.value == 7.0 and queue.pk != table.pk
    assert incident.title == "DynamoDB WriteThrottleEvents sum > 5 on orders"
    assert incident.rule_name == "r"


@pytest.mark.django_db
def test_api_p95_latency_above_a_second_takes_the_worst_period_of_the_window(owner: Any) -> None:
    api = resource(owner, "apigateway.httpapi", "shop")
    point(api, "AWS/ApiGateway:Latency", "p95", 400, 3)
    point(api, "AWS/ApiGateway:Latency", "p95", 1400, 1)
    r = rule(owner, metric="AWS/ApiGateway:Latency", statistic="p95", operator=">", threshold=1000)

    assert rule_evaluate(r, NOW)["opened"] == 1
    assert Incident.objects.get(rule=r).value == 1400.0


@pytest.mark.django_db
def test_a_band_rule_opens_below_and_resolves_inside(owner: Any) -> None:
    queue = resource(owner, "sqs.queue", "jobs")
    point(queue, "AWS/SQS:NumberOfMessagesSent", "Sum", 1, 2)
    r = rule(
        owner, metric="AWS/SQS:NumberOfMessagesSent", statistic="Sum", operator="outside", threshold=10,
        threshold_upper=1000,
    )  # fmt: skip
    assert rule_evaluate(r, NOW)["opened"] == 1
    point(queue, "AWS/SQS:NumberOfMessagesSent", "Sum", 50, -3)
    assert rule_evaluate(r, NOW + timedelta(minutes=5))["resolved"] == 1


@pytest.mark.django_db
def test_keep_state_holds_an_open_incident_through_a_gap_in_the_data(owner: Any) -> None:
    queue = resource(owner, "sqs.queue", "jobs")
    point(queue, "AWS/SQS:ApproximateAgeOfOldestMessage", "Maximum", 900, 1)
    r = rule(
        owner, metric="AWS/SQS:ApproximateAgeOfOldestMessage", statistic="Maximum", operator=">", threshold=300,
        missing_data="keep",
    )  # fmt: skip
    assert rule_evaluate(r, NOW)["opened"] == 1
    assert rule_evaluate(r, NOW + timedelta(minutes=10)) == {"opened": 0, "reopened": 0, "resolved": 0, "occurred": 0}
    assert Incident.objects.get(rule=r).status == "open"
    point(queue, "AWS/SQS:ApproximateAgeOfOldestMessage", "Maximum", 10, -14)
    assert rule_evaluate(r, NOW + timedelta(minutes=15))["resolved"] == 1


@pytest.mark.django_db
def test_a_statistic_the_kind_does_not_poll_fails_the_rule_visibly(owner: Any) -> None:
    from alerts.services import rules_evaluate

    resource(owner, "sqs.queue", "jobs")
    r = rule(owner, metric="AWS/SQS:ApproximateAgeOfOldestMessage", statistic="Sum", operator=">", threshold=300)
    assert rules_evaluate(now=NOW)["failed"] == 1
    r.refresh_from_db()
    assert "not collected as Sum" in r.last_error


@pytest.mark.django_db
def test_duration_percentiles_are_computed_from_invocations(owner: Any) -> None:
    from alerts.tests.test_incidents import failures

    fn = resource(owner, "lambda.function", "orders")
    now = datetime.now(tz=UTC)
    failures(fn, 20, now - timedelta(minutes=2))  # 2 ms each
    r = rule(owner, metric="duration", statistic="p95", operator=">=", threshold=2)
    assert rule_evaluate(r, now)["opened"] == 1
    assert Incident.objects.get(rule=r).value == 2.0


# --- every occurrence ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_occurrence_notifies_each_new_error_up_to_the_rules_hourly_rate(owner: Any) -> None:
    fn = resource(owner, "lambda.function", "orders")
    group = ErrorGroup.objects.create(
        organization=owner.organization, account=fn.account, resource=fn, fingerprint="f" * 64, kind="error",
        error_type="KeyError", message="'sku'", count=1, first_seen=NOW, last_seen=NOW,
    )  # fmt: skip
    r = rule(owner, condition="error_occurrence", error_kinds=["error"], max_notifications_per_hour=3)
    r.last_evaluated_at = NOW - timedelta(minutes=1)

    assert rule_evaluate(r, NOW)["opened"] == 1
    counts = []
    for i in range(1, 5):
        at = NOW + timedelta(minutes=i)
        ErrorGroup.objects.filter(pk=group.pk).update(count=1 + i, last_seen=at)
        r.refresh_from_db()
        counts.append(rule_evaluate(r, at)["occurred"])
    assert counts == [1, 1, 0, 0]  # three notices an hour: the opening and two occurrences
    kinds = list(IncidentEvent.objects.filter(incident__rule=r).values_list("kind", flat=True))
    assert kinds == ["opened", "occurred", "occurred"]
    # The incident keeps the count of the last notice: the next one counts the suppressed too.
    assert Incident.objects.get(rule=r).value == 3.0

    later = NOW + timedelta(hours=2)
    ErrorGroup.objects.filter(pk=group.pk).update(count=9, last_seen=later)
    r.refresh_from_db()
    assert rule_evaluate(r, later)["occurred"] == 1
    last = IncidentEvent.objects.filter(kind="occurred").last()
    assert last is not None and last.detail == "6 more occurrence(s)"


@pytest.mark.django_db
def test_an_occurrence_is_delivered_despite_the_minimum_interval(owner: Any) -> None:
    from alerts.models import Channel
    from alerts.tests.receiver import Receiver

    fn = resource(owner, "lambda.function", "orders")
    group = ErrorGroup.objects.create(
        organization=owner.organization, account=fn.account, resource=fn, fingerprint="f" * 64, kind="error",
        error_type="KeyError", message="'sku'", count=1, first_seen=NOW, last_seen=NOW,
    )  # fmt: skip
    with Receiver() as receiver:
        from django.conf import settings

        settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
        channel = Channel.objects.create(
            organization=owner.organization, kind="webhook", name="hook",
            config={"url": receiver.url("/hook"), "secret": "s" * 20},
        )  # fmt: skip
        r = rule(owner, condition="error_occurrence", min_interval_minutes=60)
        r.channels.add(channel)
        r.last_evaluated_at = NOW - timedelta(minutes=1)
        rule_evaluate(r, NOW)
        ErrorGroup.objects.filter(pk=group.pk).update(count=2, last_seen=NOW + timedelta(minutes=1))
        r.refresh_from_db()
        rule_evaluate(r, NOW + timedelta(minutes=1))
        for pk in pending_events():
            event_dispatch(pk)
        import json

        assert [json.loads(x.body)["event"] for x in receiver.to("/hook")] == ["incident.opened", "incident.occurred"]
        del settings.ALERTS_ALLOW_PRIVATE_TARGETS


# --- older rules migrate -------------------------------------------------------------------------


@pytest.mark.django_db
def test_rules_of_the_old_fixed_metric_list_move_to_the_catalogue(owner: Any) -> None:
    migration = importlib.import_module("alerts.migrations.0007_rule_metrics_from_the_kinds_catalogue")
    old = {
        name: rule(owner, name=name, metric=name, threshold=1)
        for name in ["sqs_age", "throttles", "iterator_age", "duration_max", "duration_avg", "error_rate"]
    }
    incident = Incident.objects.create(
        organization=owner.organization, rule=old["sqs_age"], subject="r1", title="t", opened_at=NOW
    )

    migration.forwards(django_apps, None)

    moved = {
        name: (AlertRule.objects.get(pk=r.pk).metric, AlertRule.objects.get(pk=r.pk).statistic)
        for name, r in old.items()
    }
    assert moved == {
        "sqs_age": ("AWS/SQS:ApproximateAgeOfOldestMessage", "Maximum"),
        "throttles": ("AWS/Lambda:Throttles", "Sum"),
        "iterator_age": ("AWS/Lambda:IteratorAge", "Maximum"),
        "duration_max": ("duration", "Maximum"),
        "duration_avg": ("duration", "Average"),
        "error_rate": ("error_rate", ""),
    }
    incident.refresh_from_db()
    assert incident.rule_name == "sqs_age"


@pytest.mark.parametrize(
    ("metric", "statistic", "operator", "threshold", "upper", "text"),
    [
        ("error_rate", "", ">", 5, None, "Error rate > 5%"),
        ("duration", "p95", ">=", 900, None, "Duration p95 >= 900 ms"),
        ("cost", "", "outside", 1, 2.5, "Cost outside 1–2.5 USD"),
        ("errors", "", ">", 0, None, "Errors (error, timeout, out of memory) > 0"),
    ],
)
def test_a_condition_reads_with_its_unit(
    metric: str, statistic: str, operator: str, threshold: float, upper: float | None, text: str
) -> None:
    from alerts.evaluation import comparison_text

    rule = AlertRule(metric=metric, statistic=statistic, operator=operator, threshold=threshold, threshold_upper=upper)
    assert comparison_text(rule) == text
