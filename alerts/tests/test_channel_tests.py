"""Channel tests run on a worker (one attempt, bounded, five an hour), and e-mail channels
write only to members and to addresses that confirmed through a signed link."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from alerts.delivery import TEST_TIMEOUT_SECONDS, channel_send
from alerts.models import AlertRecipient, Channel, Notification
from alerts.recipients import recipient_link_send
from alerts.tasks import send_channel_test, send_recipient_link
from alerts.tests.receiver import Receiver, Reply, sample_notice

pytestmark = pytest.mark.django_db
SECRET = "whsec-0123456789abcdef"


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True  # the receiver listens on loopback
    with Receiver() as running:
        yield running


def webhook(owner: Any, receiver: Receiver) -> Channel:
    return Channel.objects.create(
        organization=owner.organization, kind="webhook", name="ops hook", config={"url": receiver.url("/hook"), "secret": SECRET}
    )  # fmt: skip


def queued_tasks(redis_db: Any) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """(task name, args, headers) of each message waiting in the alerts queue, oldest first."""
    out = []
    for raw in reversed(redis_db.lrange("alerts", 0, -1)):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        out.append((message["headers"]["task"], args, message["headers"]))
    return out


def run_queued(redis_db: Any) -> None:
    """Do what a worker does with the queued channel tests and confirmation links."""
    tasks: dict[str, Any] = {"alerts.channel_test": send_channel_test, "alerts.recipient_link": send_recipient_link}
    for name, args, _headers in queued_tasks(redis_db):
        tasks[name].apply(args=tuple(args))
    redis_db.delete("alerts")


def test_send_test_is_queued_for_a_worker_and_the_page_shows_it_pending_then_sent(
    owner: Any, receiver: Receiver, redis_db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    channel = webhook(owner, receiver)
    client = owner.client()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("alerts:channel_test", args=[channel.pk]))

    assert response["Location"] == reverse("alerts:channel_detail", args=[channel.pk])
    assert receiver.requests == []  # nothing left the web request
    [(name, args, headers)] = queued_tasks(redis_db)
    test = Notification.objects.get(channel=channel, is_test=True)
    assert (name, args, test.status) == ("alerts.channel_test", [test.pk], "pending")
    assert headers["expires"]  # a test no worker takes within minutes is dropped, not sent late
    page = client.get(response["Location"]).content.decode()
    assert 'class="test-queued"' in page and "pending" in page and 'hx-trigger="every 2s"' in page

    run_queued(redis_db)

    [request] = receiver.to("/hook")
    assert json.loads(request.body)["event"] == "incident.test"
    test.refresh_from_db()
    assert test.status == "sent" and test.sent_by == owner.user and len(test.attempts) == 1
    page = client.get(response["Location"]).content.decode()
    assert 'class="test-sent"' in page and 'hx-trigger="every 2s"' not in page


def test_a_test_makes_one_attempt_and_does_not_wait_for_retry_after(owner: Any, receiver: Receiver) -> None:
    channel = webhook(owner, receiver)
    receiver.script("/hook", Reply(503, "busy", headers={"Retry-After": "30"}))
    test = Notification.objects.create(channel=channel, status="pending", is_test=True, sent_by=owner.user)

    started = time.monotonic()
    send_channel_test.apply(args=(test.pk,))

    assert time.monotonic() - started < 3
    test.refresh_from_db()
    assert test.status == "failed" and "HTTP 503" in test.error
    assert [a["status"] for a in test.attempts] == [503]
    assert Channel.objects.get(pk=channel.pk).enabled  # a failed test never disables the channel
    page = owner.client().get(reverse("alerts:channel_detail", args=[channel.pk])).content.decode()
    assert 'class="test-failed"' in page and "HTTP 503" in page


def test_a_receiver_that_never_answers_fails_the_test_within_its_timeout(owner: Any, receiver: Receiver) -> None:
    channel = webhook(owner, receiver)
    receiver.script("/hook", Reply(200, delay=TEST_TIMEOUT_SECONDS + 2))
    test = Notification.objects.create(channel=channel, status="pending", is_test=True)

    started = time.monotonic()
    send_channel_test.apply(args=(test.pk,))

    assert time.monotonic() - started < TEST_TIMEOUT_SECONDS
    test.refresh_from_db()
    assert test.status == "failed" and "read timeout" in test.error and len(test.attempts) == 1


def test_a_test_runs_once_whatever_the_queue_does(owner: Any, receiver: Receiver) -> None:
    channel = webhook(owner, receiver)
    test = Notification.objects.create(channel=channel, status="pending", is_test=True)

    send_channel_test.apply(args=(test.pk,))
    send_channel_test.apply(args=(test.pk,))  # delivered twice

    assert len(receiver.to("/hook")) == 1


def test_at_most_five_tests_per_channel_per_hour(owner: Any, receiver: Receiver) -> None:
    channel = webhook(owner, receiver)
    owner.organization.time_zone = "Europe/Tallinn"  # UTC+2 in December
    owner.organization.save()
    url = reverse("alerts:channel_test", args=[channel.pk])
    client = owner.client()
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    with time_machine.travel(start, tick=False):
        for _ in range(5):
            client.post(url)
        refused = client.post(url, follow=True).content.decode()
    assert "At most 5 tests per channel per hour: the next one is possible at 12:00 (Europe/Tallinn)." in refused
    assert Notification.objects.filter(channel=channel, is_test=True).count() == 5
    assert "the next one is possible at 12:00 (Europe/Tallinn).</p>" in refused  # the page, instead of the button
    assert reverse("alerts:channel_test", args=[channel.pk]) not in refused

    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        client.post(url)
    assert Notification.objects.filter(channel=channel, is_test=True).count() == 6


def test_a_test_no_worker_took_says_so(owner: Any, receiver: Receiver) -> None:
    channel = webhook(owner, receiver)
    test = Notification.objects.create(channel=channel, status="pending", is_test=True)
    Notification.objects.filter(pk=test.pk).update(created_at=datetime.now(tz=UTC) - timedelta(minutes=11))

    page = owner.client().get(reverse("alerts:channel_detail", args=[channel.pk])).content.decode()

    assert "no worker took it within 10 minutes" in page


def test_addresses_outside_the_organisation_receive_nothing_until_they_confirm(
    owner: Any, teammate: Any, redis_db: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    admin = owner.client()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("alerts:channel_new", args=["email"]),
            {"channel_name": "on-call", "recipients": "teammate@acme.test, pager@elsewhere.test"},
        )
    channel = Channel.objects.get(kind="email")
    assert response["Location"] == reverse("alerts:channel_detail", args=[channel.pk])
    assert [name for name, _args, _h in queued_tasks(redis_db)] == ["alerts.recipient_link"]
    run_queued(redis_db)
    [invite] = mail.outbox
    assert invite.to == ["pager@elsewhere.test"] and "Acme" in invite.subject
    page = admin.get(response["Location"]).content.decode()
    assert "yes: a member" in page and "no: pending confirmation" in page

    # Until the address confirms, tests and incidents reach the member only, and say so.
    mail.outbox.clear()
    sent = channel_send(channel=channel, notice=sample_notice())
    assert sent.status == "sent" and mail.outbox[-1].to == ["teammate@acme.test"]
    assert sent.detail == "Not sent to pager@elsewhere.test (has not confirmed yet)."

    link = confirmation_link_from(invite)
    shown = client.get(link)  # mail scanners open links: a GET changes nothing
    assert shown.status_code == 200 and "pager@elsewhere.test" in shown.content.decode()
    assert AlertRecipient.objects.get().confirmed_at is None
    assert "Confirmed" in client.post(link, {"answer": "accept"}).content.decode()

    mail.outbox.clear()
    sent = channel_send(channel=channel, notice=sample_notice())
    assert mail.outbox[-1].to == ["teammate@acme.test", "pager@elsewhere.test"] and sent.detail == ""
    assert "yes: confirmed" in admin.get(response["Location"]).content.decode()


def confirmation_link_from(message: Any) -> str:
    match = re.search(r"/alerts/recipients/(\S+)/", str(message.body))
    assert match, message.body
    return reverse("alerts:recipient_confirm", args=[match.group(1)])


def test_a_declined_address_is_skipped_and_never_asked_again(owner: Any, client: Any) -> None:
    channel = Channel.objects.create(
        organization=owner.organization, kind="email", name="x", config={"recipients": ["no@elsewhere.test"]}
    )
    recipient = AlertRecipient.objects.create(
        organization=owner.organization,
        email="no@elsewhere.test",
        last_sent_at=datetime.now(tz=UTC) - timedelta(hours=2),
    )
    assert recipient_link_send(recipient_id=recipient.pk)
    link = confirmation_link_from(mail.outbox[-1])

    assert "Declined" in client.post(link, {"answer": "decline"}).content.decode()

    skipped = channel_send(channel=channel, notice=sample_notice())
    assert (skipped.status, skipped.error) == ("skipped", "No recipient has confirmed yet.")
    assert skipped.detail == "Not sent to no@elsewhere.test (declined these alerts)."
    response = owner.client().post(
        reverse("alerts:channel_recipient_link", args=[channel.pk, recipient.pk]), follow=True
    )
    assert "no@elsewhere.test declined alerts from this organisation." in response.content.decode()
    assert len(mail.outbox) == 1


def test_the_link_is_mailed_again_at_most_hourly_and_forged_links_are_refused(
    owner: Any, client: Any, redis_db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    channel = Channel.objects.create(
        organization=owner.organization, kind="email", name="x", config={"recipients": ["ops@elsewhere.test"]}
    )
    admin = owner.client()
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False), django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("alerts:channel_recipients_invite", args=[channel.pk]))
        recipient = AlertRecipient.objects.get()
        again = admin.post(reverse("alerts:channel_recipient_link", args=[channel.pk, recipient.pk]), follow=True)
    assert "less than an hour ago" in again.content.decode()
    assert [args for _name, args, _h in queued_tasks(redis_db)] == [[recipient.pk]]
    with (
        time_machine.travel(start + timedelta(minutes=61), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        admin.post(reverse("alerts:channel_recipient_link", args=[channel.pk, recipient.pk]))
    assert len(queued_tasks(redis_db)) == 2

    forged = client.get(
        reverse("alerts:recipient_confirm", args=["eyJyIjoxLCJlIjoib3BzQGVsc2V3aGVyZS50ZXN0In0:forged"])
    )
    assert forged.status_code == 400 and "not valid" in forged.content.decode()
    assert client.post(reverse("alerts:recipient_confirm", args=["garbage"]), {"answer": "accept"}).status_code == 400
    assert AlertRecipient.objects.get().confirmed_at is None


def test_a_test_cut_short_by_the_worker_s_time_limit_is_recorded_as_failed(owner: Any, receiver: Receiver) -> None:
    import signal

    from celery.exceptions import SoftTimeLimitExceeded

    channel = webhook(owner, receiver)
    receiver.script("/hook", Reply(200, delay=3))
    test = Notification.objects.create(channel=channel, status="pending", is_test=True)

    def soft_limit(signum: int, frame: Any) -> None:
        raise SoftTimeLimitExceeded()  # what the worker raises in the task when its soft limit passes

    previous = signal.signal(signal.SIGALRM, soft_limit)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        send_channel_test.apply(args=(test.pk,))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    test.refresh_from_db()
    assert (test.status, test.error) == ("failed", f"No answer within {TEST_TIMEOUT_SECONDS} seconds.")
