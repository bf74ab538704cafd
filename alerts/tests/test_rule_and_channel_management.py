"""Editing everything: rules (edit, duplicate, delete keeping incidents, mute until a time),
channels (edit with write-only secrets, delete refused while used unless reassigned) and
incidents (acknowledge, assign, resolve, the timeline). Hostile input gets form errors or a
400, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from alerts.models import AlertRule, Channel, Incident, IncidentEvent
from alerts.selectors import incident_timeline
from alerts.services import event_dispatch, pending_events, rule_evaluate
from alerts.tests.receiver import Receiver

pytestmark = pytest.mark.django_db
SECRET = "the-original-signing-secret"


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
    with Receiver() as running:
        yield running


def hook(owner: Any, url: str = "https://hooks.example.com/a", name: str = "hook") -> Channel:
    return Channel.objects.create(
        organization=owner.organization, kind="webhook", name=name, config={"url": url, "secret": SECRET}
    )


def rule(owner: Any, *channels: Channel, **kw: Any) -> AlertRule:
    r = AlertRule.objects.create(
        organization=owner.organization, name=kw.pop("name", "Errors"), metric="errors", operator=">=", threshold=1,
        window_minutes=10, min_interval_minutes=0, **kw,
    )  # fmt: skip
    r.channels.set(channels)
    return r


def rule_data(r: AlertRule, **changes: Any) -> dict[str, Any]:
    data = {
        "name": r.name, "condition": r.condition, "metric": r.metric, "statistic": r.statistic,
        "operator": r.operator, "threshold": r.threshold, "window_minutes": r.window_minutes,
        "evaluation_periods": r.evaluation_periods, "breaching_periods": r.breaching_periods,
        "missing_data": r.missing_data, "target": r.target, "min_interval_minutes": r.min_interval_minutes,
        "max_notifications_per_hour": r.max_notifications_per_hour,
        "channels": [str(c.pk) for c in r.channels.all()],
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def incident_of(r: AlertRule, **kw: Any) -> Incident:
    return Incident.objects.create(
        organization=r.organization, rule=r, rule_name=r.name, subject="r1", title="Errors >= 1 on orders",
        opened_at=timezone.now(), **kw,
    )  # fmt: skip


# --- rules ---------------------------------------------------------------------------------------


def test_a_rules_threshold_is_edited_in_its_form(owner: Any) -> None:
    r = rule(owner, hook(owner))
    response = owner.client().post(reverse("alerts:rule_edit", args=[r.pk]), rule_data(r, threshold="25"))
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.threshold == 25.0
    audit = AuditEvent.objects.get(action="alert_rule.changed")
    assert audit.changes == {"threshold": "25.0"}


def test_a_rule_on_any_metric_is_created_with_its_statistic(owner: Any) -> None:
    response = owner.client().post(
        reverse("alerts:rule_new"),
        {"name": "Queue stuck", "condition": "threshold", "metric": "AWS/SQS:ApproximateAgeOfOldestMessage",
         "operator": ">", "threshold": "300", "window_minutes": "1", "evaluation_periods": "5",
         "breaching_periods": "5", "missing_data": "keep", "target": "kind", "target_kind": "sqs.queue",
         "min_interval_minutes": "30"},
    )  # fmt: skip
    assert response.status_code == 302
    r = AlertRule.objects.get(name="Queue stuck")
    assert (r.metric, r.statistic, r.missing_data) == ("AWS/SQS:ApproximateAgeOfOldestMessage", "Maximum", "keep")
    page = owner.client().get(reverse("alerts:index")).content.decode()
    assert (
        "SQS ApproximateAgeOfOldestMessage maximum &gt; 300 over 1 min (5 of 5 windows), missing data keep the current state"
        in page
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"metric": "AWS/Nope:Whatever"}, "metric", "Select a valid choice"),
        ({"metric": "AWS/SQS:ApproximateAgeOfOldestMessage", "statistic": "Sum"}, "statistic", "collected as maximum"),
        ({"metric": "duration", "statistic": "p42"}, "statistic", "Select a valid choice"),
        ({"metric": "error_rate", "statistic": "Maximum"}, "statistic", "no statistic to choose"),
        ({"operator": "!="}, "operator", "Select a valid choice"),
        ({"threshold": "nan"}, "threshold", ""),
        ({"operator": "outside", "threshold": "10"}, "threshold_upper", "needs the band's high end"),
        ({"operator": "outside", "threshold": "10", "threshold_upper": "5"}, "threshold_upper", "above the low end"),
        ({"operator": "outside", "threshold": "1", "threshold_upper": "1e400"}, "threshold_upper", ""),
        ({"missing_data": "maybe"}, "missing_data", "Select a valid choice"),
        ({"max_notifications_per_hour": "100000"}, "max_notifications_per_hour", "From 1 to 600"),
        ({"max_notifications_per_hour": "-3"}, "max_notifications_per_hour", ""),
        ({"target": "kind", "target_kind": "sqs.queue"}, "target_kind", "not collected for that kind"),
        ({"name": "x" * 500}, "name", ""),
    ],
)
def test_hostile_rule_input_is_a_form_error_naming_the_field(
    owner: Any, changes: dict[str, str], field: str, message: str
) -> None:
    r = rule(owner)
    response = owner.client().post(reverse("alerts:rule_edit", args=[r.pk]), rule_data(r, **changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert AlertRule.objects.get(pk=r.pk).threshold == 1


def test_chosen_resources_must_have_the_metric(owner: Any) -> None:
    from accounts.services import aws_account_start
    from monitoring.models import Resource

    account = aws_account_start(organization=owner.organization, name="Prod")
    now = timezone.now()
    fn = Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:123456789012:function:orders", name="orders", config={}, first_seen=now,
        last_seen=now,
    )  # fmt: skip
    r = rule(owner)
    data = rule_data(
        r, metric="AWS/SQS:ApproximateAgeOfOldestMessage", target="resources", target_resources=[str(fn.pk)]
    )
    response = owner.client().post(reverse("alerts:rule_edit", args=[r.pk]), data)
    assert response.status_code == 200
    assert (
        "None of these resources has SQS ApproximateAgeOfOldestMessage."
        in response.context["form"].errors["target_resources"]
    )


def test_a_duplicate_is_a_disabled_copy_with_the_same_channels(owner: Any) -> None:
    channel = hook(owner)
    r = rule(owner, channel, name="Errors")
    response = owner.client().post(reverse("alerts:rule_duplicate", args=[r.pk]))
    copy = AlertRule.objects.get(name="Copy of Errors")
    assert response.status_code == 302 and response["Location"] == reverse("alerts:rule_edit", args=[copy.pk])
    assert not copy.enabled and list(copy.channels.all()) == [channel] and copy.metric == "errors"


def test_deleting_a_rule_keeps_its_incidents_and_closes_the_open_ones_where_they_were_notified(
    owner: Any, receiver: Receiver
) -> None:
    r = rule(owner, hook(owner, url=receiver.url("/hook")), name="Checkout errors")
    past = incident_of(r, status="resolved", resolved_at=timezone.now())
    Incident.objects.filter(pk=past.pk).update(subject="r0")
    live = incident_of(r)
    IncidentEvent.objects.create(incident=live, kind="opened", created_at=timezone.now())
    for pk in pending_events():
        event_dispatch(pk)

    response = owner.client().post(reverse("alerts:rule_delete", args=[r.pk]))
    assert response.status_code == 302
    for pk in pending_events():
        event_dispatch(pk)

    assert not AlertRule.objects.filter(pk=r.pk).exists()
    assert set(Incident.objects.values_list("rule_id", "rule_name", "status")) == {
        (None, "Checkout errors", "resolved")
    }
    assert [json.loads(x.body)["event"] for x in receiver.to("/hook")] == ["incident.opened", "incident.resolved"]
    page = owner.client().get(reverse("alerts:incident_detail", args=[live.pk])).content.decode()
    assert "Checkout errors (deleted)" in page and "its rule was deleted" in page


def test_a_rule_muted_until_a_time_notifies_nobody_until_then(owner: Any, receiver: Receiver) -> None:
    r = rule(owner, hook(owner, url=receiver.url("/hook")))
    client = owner.client()
    assert client.post(reverse("alerts:rule_mute", args=[r.pk]), {"minutes": "240"}).status_code == 302
    r.refresh_from_db()
    assert r.muted_until is not None and timedelta(hours=3) < r.muted_until - timezone.now() <= timedelta(hours=4)
    IncidentEvent.objects.create(incident=incident_of(r), kind="opened", created_at=timezone.now())
    for pk in pending_events():
        assert event_dispatch(pk) == []
    assert receiver.requests == []
    assert IncidentEvent.objects.get(kind="opened").detail == "not notified: the rule is muted"

    until = (timezone.localtime(timezone.now()) + timedelta(days=2)).replace(tzinfo=None, second=0, microsecond=0)
    client.post(reverse("alerts:rule_mute", args=[r.pk]), {"until": until.isoformat(timespec="minutes")})
    r.refresh_from_db()
    assert r.muted_until == until.replace(tzinfo=UTC)  # the organisation's zone is UTC
    assert "muted until" in client.get(reverse("alerts:index")).content.decode()

    client.post(reverse("alerts:rule_mute", args=[r.pk]), {"unmute": "1"})
    r.refresh_from_db()
    assert r.muted_until is None and not r.is_muted(timezone.now())


@pytest.mark.parametrize("until", ["tomorrow", "2020-01-01T10:00", "9999-12-31T23:59", "2026-13-45T99:99", "\x00"])
def test_a_mute_until_that_is_not_a_coming_moment_is_refused(owner: Any, until: str) -> None:
    r = rule(owner)
    response = owner.client().post(reverse("alerts:rule_mute", args=[r.pk]), {"until": until})
    assert response.status_code in (302, 400)
    r.refresh_from_db()
    assert r.muted_until is None


def test_another_organisations_rule_cannot_be_deleted(owner: Any, outsider: Any) -> None:
    r = rule(owner)
    assert outsider.client().post(reverse("alerts:rule_delete", args=[r.pk])).status_code == 404
    assert AlertRule.objects.filter(pk=r.pk).exists()


# --- channels ------------------------------------------------------------------------------------


def test_editing_a_webhooks_url_keeps_its_secret_which_is_never_shown(owner: Any) -> None:
    channel = hook(owner)
    client = owner.client()
    page = client.get(reverse("alerts:channel_edit", args=[channel.pk])).content.decode()
    assert SECRET not in page and "https://hooks.example.com/a" in page and "••••••••" in page

    response = client.post(
        reverse("alerts:channel_edit", args=[channel.pk]),
        {"channel_name": "On-call hook", "url": "https://hooks.example.com/b", "secret": ""},
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "On-call hook"
    assert channel.config == {"url": "https://hooks.example.com/b", "secret": SECRET}
    audit = AuditEvent.objects.get(action="channel.changed")
    assert SECRET not in json.dumps(audit.changes) and audit.changes["fields"] == ["url"]

    client.post(
        reverse("alerts:channel_edit", args=[channel.pk]),
        {"channel_name": "On-call hook", "url": "https://hooks.example.com/b", "secret": "a-brand-new-secret-123"},
    )
    channel.refresh_from_db()
    assert channel.config["secret"] == "a-brand-new-secret-123"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "ftp://x", "secret": ""}, "url"),
        ({"url": "https://hooks.example.com/b", "secret": "short"}, "secret"),
        ({"url": "x" * 5000, "secret": ""}, "url"),
        ({"url": "https://hooks.example.com/b", "secret": "", "channel_name": "n" * 121}, "__all__"),
    ],
)
def test_hostile_channel_edits_are_form_errors(owner: Any, data: dict[str, str], field: str) -> None:
    channel = hook(owner)
    response = owner.client().post(reverse("alerts:channel_edit", args=[channel.pk]), data)
    assert response.status_code == 200 and field in response.context["form"].errors
    channel.refresh_from_db()
    assert channel.config == {"url": "https://hooks.example.com/a", "secret": SECRET}


def test_an_opsgenie_key_left_empty_on_edit_is_kept(owner: Any) -> None:
    key = "eb243592-faa2-4ba2-a551-1afdf565c889"
    channel = Channel.objects.create(
        organization=owner.organization, kind="opsgenie", name="ops", config={"api_key": key, "region": "us"}
    )
    owner.client().post(reverse("alerts:channel_edit", args=[channel.pk]), {"channel_name": "ops", "region": "eu"})
    channel.refresh_from_db()
    assert channel.config == {"api_key": key, "region": "eu"}


def test_a_channel_in_use_is_deleted_only_once_its_rules_are_reassigned(owner: Any, outsider: Any) -> None:
    old, new = hook(owner, name="old"), hook(owner, name="new")
    theirs = hook(outsider, name="theirs")
    r = rule(owner, old)
    client = owner.client()
    url = reverse("alerts:channel_delete", args=[old.pk])

    page = client.get(url).content.decode()
    assert "Errors" in page and "Notify instead" in page and "theirs" not in page
    refused = client.post(url)
    assert refused.status_code == 409 and "choose a channel to take its place" in refused.content.decode()
    assert Channel.objects.filter(pk=old.pk).exists()
    assert client.post(url, {"reassign_to": str(theirs.pk)}).status_code == 400
    assert client.post(url, {"reassign_to": "'; DROP TABLE"}).status_code == 400

    assert client.post(url, {"reassign_to": str(new.pk)}).status_code == 302
    assert not Channel.objects.filter(pk=old.pk).exists()
    assert list(r.channels.all()) == [new]
    assert AuditEvent.objects.filter(action="channel.deleted").count() == 1


def test_an_unused_channel_is_deleted(owner: Any) -> None:
    channel = hook(owner)
    assert owner.client().post(reverse("alerts:channel_delete", args=[channel.pk])).status_code == 302
    assert not Channel.objects.filter(pk=channel.pk).exists()


# --- incidents -----------------------------------------------------------------------------------


def test_acknowledge_assign_snooze_and_resolve_are_on_the_timeline_with_who(
    owner: Any, teammate: Any, outsider: Any, receiver: Receiver
) -> None:
    r = rule(owner, hook(owner, url=receiver.url("/hook")))
    from accounts.services import aws_account_start
    from alerts.tests.test_incidents import failures
    from monitoring.models import Resource

    account = aws_account_start(organization=owner.organization, name="Prod")
    now = datetime.now(tz=UTC)
    fn = Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:123456789012:function:orders", name="orders", config={}, first_seen=now,
        last_seen=now,
    )  # fmt: skip
    failures(fn, 2, now - timedelta(minutes=2))
    rule_evaluate(r, now)
    for pk in pending_events():
        event_dispatch(pk)
    incident = Incident.objects.get(rule=r)
    client = teammate.client()

    assert client.post(reverse("alerts:incident_acknowledge", args=[incident.pk])).status_code == 302
    assert (
        client.post(reverse("alerts:incident_assign", args=[incident.pk]), {"assignee": str(owner.user.pk)}).status_code
        == 302
    )
    assert (
        client.post(
            reverse("alerts:incident_assign", args=[incident.pk]), {"assignee": str(outsider.user.pk)}
        ).status_code
        == 400
    )
    assert (
        client.post(reverse("alerts:incident_assign", args=[incident.pk]), {"assignee": "x" * 100}).status_code == 400
    )
    client.post(reverse("alerts:incident_snooze", args=[incident.pk]), {"minutes": "60"})
    assert client.post(reverse("alerts:incident_resolve", args=[incident.pk])).status_code == 302
    for pk in pending_events():
        event_dispatch(pk)

    incident.refresh_from_db()
    assert incident.acknowledged_by == teammate.user and incident.assignee == owner.user
    assert incident.status == "resolved"
    entries = [(e.what, e.who) for e in incident_timeline(incident)]
    assert entries == [
        ("opened", "Dashbird"),
        ("notified", "Dashbird"),
        ("acknowledged", "teammate@acme.test"),
        ("assigned", "teammate@acme.test"),
        ("snoozed", "teammate@acme.test"),
        ("resolved", "teammate@acme.test"),
        ("notified", "Dashbird"),
    ]
    assert [json.loads(x.body)["event"] for x in receiver.to("/hook")] == ["incident.opened", "incident.resolved"]
    page = owner.client().get(reverse("alerts:incident_detail", args=[incident.pk])).content.decode()
    assert "Acknowledged" in page and "to owner@acme.test" in page and "hook (opened): sent" in page


def test_every_notification_links_back_to_its_incident(owner: Any, settings: Any) -> None:
    from alerts.services import notice_for

    incident = incident_of(rule(owner))
    assert notice_for(incident, "opened").url == f"{settings.SITE_URL}/alerts/incidents/{incident.pk}/"


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Errors\x00"},
        {"metric": "errors\x00"},
        {"statistic": "\x00"},
        {"threshold": "²"},
        {"threshold": "1e999"},
        {"window_minutes": "٣"},
        {"threshold_upper": "\x00", "operator": "outside"},
        {"channels": ["'; DROP TABLE alerts_channel; --"]},
        {"error_kinds": ["segfault"]},
        {"max_notifications_per_hour": "9" * 40},
    ],
)
def test_nul_bytes_odd_digits_and_injections_in_the_rule_form_never_500(owner: Any, changes: dict[str, Any]) -> None:
    r = rule(owner)
    response = owner.client().post(reverse("alerts:rule_edit", args=[r.pk]), rule_data(r, **changes))
    assert response.status_code in (200, 302, 400)
    stored = AlertRule.objects.get(pk=r.pk)
    assert "\x00" not in stored.name + stored.metric + stored.statistic and stored.threshold == 1


@pytest.mark.parametrize(
    "data",
    [
        {"channel_name": "x\x00", "url": "https://hooks.example.com/a\x00", "secret": ""},
        {"channel_name": "x", "url": "https://hooks.example.com/a", "secret": "\x00" * 20},
        {"channel_name": "\u202e" * 200, "url": "https://127.0.0.1/hook", "secret": ""},
    ],
)
def test_hostile_channel_input_never_500s_and_never_loses_the_secret(owner: Any, data: dict[str, str]) -> None:
    channel = hook(owner)
    response = owner.client().post(reverse("alerts:channel_edit", args=[channel.pk]), data)
    assert response.status_code in (200, 302, 400)
    channel.refresh_from_db()
    assert channel.config["secret"] == SECRET


def test_a_project_that_rules_watch_is_not_deleted_with_them(owner: Any) -> None:
    from monitoring.models import Project

    project = Project.objects.create(organization=owner.organization, name="Checkout", name_pattern="checkout-*")
    rule = AlertRule.objects.create(
        organization=owner.organization, name="Checkout errors", metric="errors", threshold=1,
        target=AlertRule.Target.PROJECT, target_project=project,
    )  # fmt: skip
    response = owner.client().post(reverse("monitoring:project_delete", args=[project.pk]), follow=True)
    assert response.status_code == 200
    assert "Checkout errors" in response.content.decode() and "not deleted" in response.content.decode()
    assert Project.objects.filter(pk=project.pk).exists() and AlertRule.objects.filter(pk=rule.pk).exists()
    assert not AuditEvent.objects.filter(action="project.deleted").exists()
    rule.delete()
    owner.client().post(reverse("monitoring:project_delete", args=[project.pk]))
    assert not Project.objects.filter(pk=project.pk).exists()
    assert AuditEvent.objects.filter(action="project.deleted").count() == 1
