"""The alert condition "anomaly on metric M of target T": the form, evaluation and config as code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from accounts.models import AwsAccount
from accounts.services import aws_account_start
from alerts.config.apply import ConfigInvalid, config_apply
from alerts.config.document import load
from alerts.digests import render
from alerts.forms import RuleForm
from alerts.models import AlertRule, DigestSubscription, Incident, IncidentStatus
from alerts.services import rule_evaluate
from insights.anomalies.services import anomalies_detect
from insights.tests.anomalies_support import JUDGED, NOW, history, queue_age, resource
from kinds import sqs_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return aws_account_start(organization=owner.organization, name="Prod")


def anomaly_rule(owner: Any, **kw: Any) -> AlertRule:
    values: dict[str, Any] = {"name": "unusual", "condition": "anomaly", "min_interval_minutes": 0}
    return AlertRule.objects.create(organization=owner.organization, **{**values, **kw})


def form(owner: Any, **data: Any) -> RuleForm:
    values = {
        "name": "unusual", "condition": "anomaly", "target": "all", "operator": ">", "window_minutes": 5,
        "evaluation_periods": 1, "breaching_periods": 1, "min_interval_minutes": 30,
    }  # fmt: skip
    return RuleForm(data={**values, **data}, organization=owner.organization)


def test_an_anomaly_opens_an_incident_on_its_resource_and_resolves_when_normal(owner: Any, account: AwsAccount) -> None:
    fn = resource(account, "checkout")
    history(fn, override={JUDGED: {"invocations": 0}})
    anomalies_detect(account=account, now=NOW)
    rule = anomaly_rule(owner, metric="AWS/Lambda:Invocations", statistic="Sum")
    any_rule = anomaly_rule(owner, name="anything")

    # The rollups' invocations are judged; the Lambda CloudWatch series is not stored here.
    assert rule_evaluate(rule, now=NOW)["opened"] == 0
    assert rule_evaluate(any_rule, now=NOW)["opened"] == 1
    [incident] = Incident.objects.filter(rule=any_rule)
    assert incident.resource == fn and incident.subject == f"a{fn.pk}:invocations"
    assert "below normal" in incident.title and "normal for that hour is" in incident.summary

    # Three hours later the anomalous hour is history: the incident resolves.
    assert rule_evaluate(any_rule, now=NOW + timedelta(hours=3))["resolved"] == 1
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED


def test_a_rule_on_one_catalogued_metric_ignores_others(owner: Any, account: AwsAccount) -> None:
    queue = resource(account, "jobs", kind=sqs_queue.KIND)
    queue_age(queue, spike_at=JUDGED)
    fn = resource(account, "checkout")
    history(fn, override={JUDGED: {"invocations": 0}})
    anomalies_detect(account=account, now=NOW)
    rule = anomaly_rule(owner, metric="AWS/SQS:ApproximateAgeOfOldestMessage", statistic="Maximum")
    assert rule_evaluate(rule, now=NOW)["opened"] == 1
    [incident] = Incident.objects.filter(rule=rule)
    assert incident.resource == queue and incident.value == 7200


def test_the_form_takes_an_anomaly_rule_with_or_without_a_metric(owner: Any) -> None:
    f = form(owner)
    assert f.is_valid(), f.errors
    f = form(owner, metric="AWS/SQS:ApproximateAgeOfOldestMessage")
    assert f.is_valid(), f.errors
    assert f.cleaned_data["statistic"] == "Maximum"
    f = form(owner, metric="duration", statistic="p95")
    assert f.is_valid(), f.errors


def test_the_form_refuses_what_is_not_judged(owner: Any) -> None:
    f = form(owner, metric="retries")
    assert not f.is_valid() and "Anomalies are not computed for Retried invocations" in str(f.errors)
    f = form(owner, metric="duration", statistic="p99")
    assert not f.is_valid() and "duration p50 or p95" in str(f.errors)
    f = form(owner, statistic="Sum")
    assert not f.is_valid()
    f = form(owner, metric="no-such-metric")
    assert not f.is_valid()


def test_config_as_code_applies_and_validates_an_anomaly_rule(owner: Any) -> None:
    org = owner.organization
    config_apply(
        organization=org,
        document=load(
            "version: 1\nalert_rules:\n"
            "  - {name: queue age unusual, condition: anomaly, metric: 'AWS/SQS:ApproximateAgeOfOldestMessage'}\n"
        ),
    )
    rule = AlertRule.objects.get(organization=org, name="queue age unusual")
    assert rule.condition == "anomaly" and rule.statistic == "Maximum"
    with pytest.raises(ConfigInvalid) as error:
        config_apply(
            organization=org,
            document=load("version: 1\nalert_rules:\n  - {name: bad, condition: anomaly, metric: retries}\n"),
        )
    assert any("Anomalies are not computed" in p for p in error.value.problems)


def test_the_digest_lists_the_period_s_anomalies(owner: Any, account: AwsAccount) -> None:
    fn = resource(account, "checkout")
    history(fn, override={JUDGED: {"invocations": 0}})
    anomalies_detect(account=account, now=NOW)
    sub = DigestSubscription.objects.create(organization=owner.organization, user=owner.user, frequency="daily", hour=0)
    day = JUDGED.replace(hour=0)
    _, text, html = render(sub, day, day + timedelta(days=1))
    assert "Anomalies: 1" in text and "checkout: Invocations 0 (normal" in text
    assert f"/resources/{fn.pk}/#anomalies" in html
    _, quiet, _ = render(sub, day - timedelta(days=1), day)
    assert "Anomalies: 0" in quiet
