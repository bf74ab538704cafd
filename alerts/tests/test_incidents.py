"""Rules → incidents → notifications, as an outbox, against a local HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail

from accounts.services import aws_account_start
from alerts.channels.webhook import verify_signature
from alerts.models import AlertRecipient, AlertRule, Channel, Incident, IncidentEvent, Notification
from alerts.services import event_dispatch, pending_events, rule_evaluate
from alerts.tests.receiver import Receiver, Reply
from monitoring.models import ErrorGroup, Resource
from monitoring.parsing.lambda_logs import parse_events
from monitoring.store.invocations import invocations_store

pytestmark = pytest.mark.django_db
SECRET = "s3cret-signing-key"


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True  # the receiver listens on loopback
    with Receiver() as running:
        yield running


@pytest.fixture
def fn(owner: Any) -> Resource:
    account = aws_account_start(organization=owner.organization, name="Prod")
    now = datetime.now(tz=UTC)
    return Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:123456789012:function:orders", name="orders",
        config={"memory_mb": 128, "architecture": "x86_64"}, first_seen=now, last_seen=now,
    )  # fmt: skip


def failures(fn: Resource, n: int, at: datetime) -> None:
    events = []
    for i in range(n):
        rid = f"00000000-0000-4000-8000-{i:012d}"
        t = int(at.timestamp() * 1000) + i * 10
        events += [
            {"timestamp": t, "message": f"START RequestId: {rid} Version: $LATEST\n", "logStreamName": "s", "eventId": f"{rid}a"},
            {"timestamp": t + 1, "message": f"{at:%Y-%m-%dT%H:%M:%S}.000Z\t{rid}\tERROR\tInvoke Error \t"
             + json.dumps({"errorType": "TypeError", "errorMessage": "boom", "stack": ["TypeError: boom"]}) + "\n",
             "logStreamName": "s", "eventId": f"{rid}b"},
            {"timestamp": t + 2, "message": f"END RequestId: {rid}\n", "logStreamName": "s", "eventId": f"{rid}c"},
            {"timestamp": t + 2, "message": f"REPORT RequestId: {rid}\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
             "logStreamName": "s", "eventId": f"{rid}d"},
        ]  # fmt: skip
    invocations_store(resource=fn, result=parse_events(events))


def webhook_rule(owner: Any, receiver: Receiver, **kw: Any) -> AlertRule:
    channel = Channel.objects.create(
        organization=owner.organization,
        kind="webhook",
        name="ops hook",
        config={"url": receiver.url("/hook"), "secret": SECRET},
    )
    rule = AlertRule.objects.create(
        organization=owner.organization, name="Errors on functions", metric="errors", operator=">=", threshold=3,
        window_minutes=10, min_interval_minutes=0, **kw,
    )  # fmt: skip
    rule.channels.add(channel)
    return rule


def dispatch_all() -> list[Notification]:
    sent: list[Notification] = []
    for pk in pending_events():
        sent += event_dispatch(pk)
    return sent


def test_a_rule_opens_notifies_resolves_and_notifies_again(owner: Any, fn: Resource, receiver: Receiver) -> None:
    now = datetime.now(tz=UTC)
    failures(fn, 5, now - timedelta(minutes=3))
    rule = webhook_rule(owner, receiver)

    assert rule_evaluate(rule, now)["opened"] == 1
    [notification] = dispatch_all()
    assert notification.status == "sent"
    [request] = receiver.to("/hook")
    body = json.loads(request.body)
    incident = Incident.objects.get(rule=rule)
    assert body["event"] == "incident.opened"
    assert body["incident"]["id"] == incident.pk and body["incident"]["resource"] == "orders"
    assert body["dedup_key"] == f"dashbird-incident-{incident.pk}"
    assert verify_signature(
        SECRET, request.headers["x-dashbird-timestamp"], request.body, request.headers["x-dashbird-signature"]
    )

    later = now + timedelta(minutes=30)  # the failures left the window
    assert rule_evaluate(rule, later)["resolved"] == 1
    dispatch_all()
    assert [json.loads(r.body)["event"] for r in receiver.to("/hook")] == ["incident.opened", "incident.resolved"]
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_a_duplicate_beat_tick_sends_nothing_twice(owner: Any, fn: Resource, receiver: Receiver) -> None:
    now = datetime.now(tz=UTC)
    failures(fn, 5, now - timedelta(minutes=3))
    rule = webhook_rule(owner, receiver)

    rule_evaluate(rule, now)
    rule_evaluate(rule, now + timedelta(seconds=1))  # the same condition: no new transition
    events = pending_events()
    for pk in events + events:  # two dispatchers racing for the same events
        event_dispatch(pk)

    assert Incident.objects.filter(rule=rule).count() == 1
    assert IncidentEvent.objects.count() == 1
    assert len(receiver.to("/hook")) == 1


def test_a_failing_receiver_is_retried_then_recorded_and_a_dead_one_disables_the_channel(
    owner: Any, fn: Resource, receiver: Receiver
) -> None:
    now = datetime.now(tz=UTC)
    failures(fn, 5, now - timedelta(minutes=3))
    rule = webhook_rule(owner, receiver)
    receiver.script("/hook", Reply(500, "down"))
    rule_evaluate(rule, now)

    [notification] = dispatch_all()

    assert notification.status == "failed"
    assert [a["status"] for a in notification.attempts] == [500, 500, 500, 500]
    channel = Channel.objects.get()
    assert channel.enabled  # a 500 is transient: the channel stays on

    receiver.script("/hook", Reply(410, "gone"))
    rule_evaluate(rule, now + timedelta(minutes=30))  # resolves: another event
    [gone] = dispatch_all()
    channel.refresh_from_db()
    assert gone.status == "failed" and not channel.enabled and "410" in channel.disabled_reason


def test_webhooks_to_private_addresses_are_refused_by_default(owner: Any, fn: Resource, settings: Any) -> None:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = False
    now = datetime.now(tz=UTC)
    failures(fn, 5, now - timedelta(minutes=3))
    for host in ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data"]:
        channel = Channel.objects.create(
            organization=owner.organization, kind="webhook", name=host, config={"url": host, "secret": SECRET}
        )
        rule = AlertRule.objects.create(
            organization=owner.organization, name=host, metric="errors", operator=">=", threshold=1, window_minutes=10
        )
        rule.channels.add(channel)
        rule_evaluate(rule, now)
    notifications = dispatch_all()
    assert len(notifications) == 2
    assert all(n.status == "failed" and n.attempts == [] for n in notifications)


def test_a_new_error_group_opens_an_incident_by_email(owner: Any, fn: Resource) -> None:
    channel = Channel.objects.create(
        organization=owner.organization, kind="email", name="on-call", config={"recipients": ["oncall@acme.test"]}
    )
    # Not a member's address: it confirmed through the link mailed to it.
    AlertRecipient.objects.create(
        organization=owner.organization, email="oncall@acme.test", confirmed_at=datetime.now(tz=UTC)
    )
    rule = AlertRule.objects.create(
        organization=owner.organization, name="New errors", condition="new_error_group", min_interval_minutes=0,
        last_evaluated_at=datetime.now(tz=UTC) - timedelta(minutes=1),
    )  # fmt: skip
    rule.channels.add(channel)
    failures(fn, 1, datetime.now(tz=UTC))

    assert rule_evaluate(rule)["opened"] == 1
    dispatch_all()
    assert mail.outbox[-1].to == ["oncall@acme.test"]
    assert "TypeError" in mail.outbox[-1].subject or "TypeError" in str(mail.outbox[-1].body)

    group = ErrorGroup.objects.get()
    group.status = "resolved"
    group.save()
    assert rule_evaluate(rule)["resolved"] == 1


def test_rules_and_channels_are_created_from_their_forms_scoped_to_the_organisation(
    owner: Any, outsider: Any, fn: Resource
) -> None:
    from django.urls import reverse

    client = owner.client()
    AwsAccountModel = fn.account.__class__
    # As validation records it: the account id STS reported for the assumed role.
    AwsAccountModel.objects.filter(pk=fn.account_id).update(
        aws_account_id="123456789012", validated_at=datetime.now(tz=UTC)
    )
    theirs = aws_account_start(organization=outsider.organization, name="Theirs")

    response = client.post(
        reverse("alerts:rule_new"),
        {"name": "Slow orders", "condition": "threshold", "metric": "duration", "statistic": "Maximum", "operator": ">", "threshold": "1000",
         "window_minutes": "5", "evaluation_periods": "3", "breaching_periods": "2", "target": "resources",
         "target_resources": [str(fn.pk)], "min_interval_minutes": "15"},
    )  # fmt: skip
    assert response.status_code == 302
    rule = AlertRule.objects.get(name="Slow orders")
    assert list(rule.target_resources.all()) == [fn]
    refused = client.post(
        reverse("alerts:rule_new"),
        {"name": "Theirs", "condition": "threshold", "metric": "errors", "operator": ">", "threshold": "1",
         "window_minutes": "5", "evaluation_periods": "1", "breaching_periods": "1", "target": "account",
         "target_account": str(theirs.pk), "min_interval_minutes": "15"},
    )  # fmt: skip
    assert refused.status_code == 200 and not AlertRule.objects.filter(name="Theirs").exists()

    foreign = client.post(
        reverse("alerts:channel_new", args=["sns"]),
        {"channel_name": "x", "topic_arn": "arn:aws:sns:us-east-1:999999999999:alerts"},
    )
    assert foreign.status_code == 200 and not Channel.objects.filter(kind="sns").exists()
    client.post(
        reverse("alerts:channel_new", args=["sns"]),
        {"channel_name": "ours", "topic_arn": "arn:aws:sns:us-east-1:123456789012:alerts"},
    )
    assert Channel.objects.filter(kind="sns", name="ours").exists()
