"""Rules on catalogued metrics end to end against the sandbox AWS: CloudWatch points put in
the sandbox, collected by the real metrics collector, evaluated, delivered to a webhook
receiver on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from alerts.models import AlertRule, Channel, Incident
from alerts.services import event_dispatch, pending_events, rule_evaluate
from alerts.tests.receiver import Receiver
from aws import clients
from devtools.sandbox.catalog import functions
from devtools.sandbox.seed import admin_client, create_resources
from monitoring.collection.orchestrator import collect_metrics, collect_unit
from monitoring.models import MetricCheckpoint, Resource

pytestmark = pytest.mark.django_db
REGION = "eu-south-2"  # only this module writes metrics here (moto's state is process-wide)
SECRET = "sandbox-signing-secret"


@pytest.fixture
def account(owner: Any, sandbox: Any) -> AwsAccount:
    if not admin_client("lambda", sandbox.endpoint, REGION).list_functions()["Functions"]:
        create_resources(sandbox.endpoint, REGION, functions(3, seed=44))
    account = aws_account_start(organization=owner.organization, name="Alerts")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=[REGION])
    assert aws_account_validate(account=account).ok
    collect_unit(account, REGION)  # discovery: the queues and functions exist
    MetricCheckpoint.objects.filter(account=account).delete()  # each test's first poll reads 3 hours
    return account


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True  # the receiver listens on loopback
    with Receiver() as running:
        yield running


def hook(owner: Any, receiver: Receiver) -> Channel:
    return Channel.objects.create(
        organization=owner.organization, kind="webhook", name="on-call hook",
        config={"url": receiver.url("/hook"), "secret": SECRET},
    )  # fmt: skip


def collect(account: AwsAccount, at: datetime) -> None:
    collect_metrics(lambda service: clients.customer_client(account, REGION, service), account, REGION, at)


def dispatch() -> None:
    for pk in pending_events():
        event_dispatch(pk)


def put(sandbox: Any, namespace: str, name: str, dimension: tuple[str, str], points: dict[datetime, float]) -> None:
    cw = admin_client("cloudwatch", sandbox.endpoint, REGION)
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": dimension[0], "Value": dimension[1]}],
                "Timestamp": t,
                "Value": v,
            }
            for t, v in points.items()
        ],
    )


def test_a_queue_whose_consumer_stops_opens_an_incident_then_resolves_when_it_drains(
    owner: Any, account: AwsAccount, sandbox: Any, receiver: Receiver, settings: Any
) -> None:
    queue = Resource.objects.get(account=account, kind="sqs.queue", name="emails")
    now = datetime.now(tz=UTC).replace(second=30, microsecond=0)
    minute = now.replace(second=0)
    # The consumer kept up until 12 minutes ago, then stopped: the oldest message ages a minute a minute.
    ages = {minute - timedelta(minutes=m): (2.0 if m > 12 else 60.0 * (12 - m)) for m in range(20, 0, -1)}
    put(sandbox, "AWS/SQS", "ApproximateAgeOfOldestMessage", ("QueueName", queue.name), ages)
    rule = AlertRule.objects.create(
        organization=owner.organization, name="Emails queue stuck", metric="AWS/SQS:ApproximateAgeOfOldestMessage",
        statistic="Maximum", operator=">", threshold=300, window_minutes=1, evaluation_periods=5,
        breaching_periods=5, target="resources", min_interval_minutes=0,
    )  # fmt: skip
    rule.target_resources.add(queue)
    rule.channels.add(hook(owner, receiver))

    collect(account, now)
    assert rule_evaluate(rule, now - timedelta(minutes=6))["opened"] == 0  # 5 minutes above 300 s not yet
    assert rule_evaluate(rule, now)["opened"] == 1
    dispatch()

    incident = Incident.objects.get(rule=rule)
    assert incident.resource == queue and incident.value == 660.0
    [opened] = receiver.to("/hook")
    body = json.loads(opened.body)
    assert body["event"] == "incident.opened"
    assert body["incident"]["title"] == "SQS ApproximateAgeOfOldestMessage maximum > 300 on emails"
    assert body["incident"]["url"] == f"{settings.SITE_URL}/alerts/incidents/{incident.pk}/"

    # A consumer is back: the queue drains within a minute and stays empty.
    later = now + timedelta(minutes=6)
    drained = {minute + timedelta(minutes=m): 0.0 for m in range(0, 6)}
    put(sandbox, "AWS/SQS", "ApproximateAgeOfOldestMessage", ("QueueName", queue.name), drained)
    collect(account, later)
    assert rule_evaluate(rule, later)["resolved"] == 1
    dispatch()

    assert [json.loads(r.body)["event"] for r in receiver.to("/hook")] == ["incident.opened", "incident.resolved"]
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_a_function_that_stops_fires_no_invocations_with_missing_data_as_breaching(
    owner: Any, account: AwsAccount, sandbox: Any, receiver: Receiver
) -> None:
    stopped, running = Resource.objects.filter(account=account, kind="lambda.function").order_by("name")[:2]
    now = datetime.now(tz=UTC).replace(second=30, microsecond=0)
    minute = now.replace(second=0)
    # Both were invoked every minute until 80 minutes ago; then one stopped. CloudWatch then
    # publishes nothing for it: no point at all, not a zero.
    before = {minute - timedelta(minutes=m): 3.0 for m in range(150, 80, -10)}
    put(sandbox, "AWS/Lambda", "Invocations", ("FunctionName", stopped.name), before)
    put(sandbox, "AWS/Lambda", "Invocations", ("FunctionName", running.name), before)
    put(
        sandbox, "AWS/Lambda", "Invocations", ("FunctionName", running.name),
        {minute - timedelta(minutes=m): 3.0 for m in range(75, 0, -5)},
    )  # fmt: skip
    rule = AlertRule.objects.create(
        organization=owner.organization, name="Not invoked for an hour", metric="AWS/Lambda:Invocations",
        statistic="Sum", operator="<", threshold=1, window_minutes=60, missing_data="breaching",
        target="resources", min_interval_minutes=0,
    )  # fmt: skip
    rule.target_resources.add(stopped, running)
    rule.channels.add(hook(owner, receiver))

    collect(account, now)
    assert rule_evaluate(rule, now - timedelta(minutes=70))["opened"] == 0  # both were invoked in that hour
    assert rule_evaluate(rule, now)["opened"] == 1
    dispatch()

    [incident] = Incident.objects.filter(rule=rule)
    assert incident.resource == stopped and incident.value is None
    assert "no data" in incident.summary and "missing data breaching" in incident.summary
    [request] = receiver.to("/hook")
    assert json.loads(request.body)["incident"]["resource"] == stopped.name

    # Missing data treated as OK, the same silence opens nothing.
    AlertRule.objects.filter(pk=rule.pk).update(missing_data="ok")
    rule.refresh_from_db()
    assert rule_evaluate(rule, now)["resolved"] == 1
