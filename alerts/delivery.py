"""Sending to a channel and recording it (services): incident notifications and channel tests.

1. `channel_send` delivers one notice to one channel and records a Notification with every
   attempt; a permanent failure of an incident notification disables the channel.
2. Before any kind sends, what the organisation may reach is settled here, at every send:
   an e-mail channel writes only to members and confirmed addresses (alerts.recipients),
   and an SNS channel publishes only through the role of a validated AWS account of the
   organisation (`sns_credentials`).
3. "Send test" never sends from the web request: `channel_test_request` records a pending
   test (at most TESTS_PER_HOUR per channel per hour) and queues it; the worker's
   `channel_test_run` makes one attempt, bounded by TEST_TIMEOUT_SECONDS, and records
   sent / failed with the reason for the channel page.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.selectors import validated_aws_accounts
from aws.clients import Credentials, account_credentials
from aws.errors import ACCESS_DENIED, error_code

from .channels import ChannelError, Delivery, Notice, get_kind
from .channels.sns import topic_account
from .http import Attempt
from .models import Channel, IncidentEvent, Notification
from .recipients import held_note, recipients_split

TESTS_PER_HOUR = 5
TEST_TIMEOUT_SECONDS = 10
# One attempt, no retry: HTTP gives up reading after this and a slow body after twice it,
# which stays inside the task's TEST_TIMEOUT_SECONDS.
TEST_ATTEMPT_TIMEOUT = TEST_TIMEOUT_SECONDS / 2
# A queued test a worker has not started by then is dropped (Celery `expires`): the page
# then says no worker took it, instead of sending a "test" long after the click.
TEST_EXPIRES = timedelta(minutes=10)


class ChannelTestRefused(Exception):
    """A test the rate limit does not allow now; the message says until when."""


@dataclass
class Outcome:
    status: str  # sent | failed | skipped
    attempts: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    detail: str = ""
    permanent: bool = False


def sns_credentials(*, channel: Channel) -> Credentials:
    """The temporary credentials an SNS channel publishes with: those of the role of the
    topic's AWS account, which must be a validated account of the channel's organisation.
    Checked at every send, so a channel saved before its account was proven (or after it
    was removed) publishes nothing; ChannelError otherwise."""
    arn = str(channel.config.get("topic_arn", ""))
    try:
        account_id = topic_account(arn)
    except ValueError:
        raise ChannelError("Amazon SNS: the channel has no valid topic ARN", permanent=True) from None
    account = (
        validated_aws_accounts(channel.organization).filter(aws_account_id=account_id).order_by("-validated_at").first()
    )
    if account is None:
        raise ChannelError(
            f"Amazon SNS: refused to publish: the topic's AWS account {account_id} is not a validated AWS account "
            "of this organisation",
            permanent=True,
        )
    try:
        return account_credentials(account)
    except ClientError as exc:
        code = error_code(exc)
        raise ChannelError(
            f"Amazon SNS: could not assume the role of {account.name} ({code})", permanent=code in ACCESS_DENIED
        ) from exc
    except BotoCoreError as exc:
        raise ChannelError(f"Amazon SNS: could not reach AWS STS ({type(exc).__name__})") from exc


def _deliver(channel: Channel, notice: Notice, delivery: Delivery | None) -> Outcome:
    """Send and say what happened; a failed delivery is an Outcome, never an exception."""
    try:
        kind = get_kind(channel.kind)
    except KeyError:
        return Outcome("failed", error=f"Channel kind {channel.kind!r} is not installed.")
    config, detail = channel.config, ""
    try:
        if channel.kind == "email":
            allowed, held = recipients_split(
                organization=channel.organization, addresses=list(config.get("recipients") or [])
            )
            if held:
                detail = held_note(held)
            if not allowed:
                return Outcome("skipped", error="No recipient has confirmed yet.", detail=detail)
            config = {**config, "recipients": allowed}
        if channel.kind == "sns":
            delivery = dataclasses.replace(
                delivery or kind.delivery(), aws_credentials=sns_credentials(channel=channel)
            )
        attempts = kind.send(notice, config, delivery)
    except ChannelError as exc:
        return Outcome("failed", [_record(a) for a in exc.attempts], str(exc), detail=detail, permanent=exc.permanent)
    return Outcome("sent", [_record(a) for a in attempts], detail=detail)


def _record(attempt: Attempt) -> dict[str, Any]:
    return dataclasses.asdict(attempt)


def channel_send(
    *,
    channel: Channel,
    notice: Notice,
    event: IncidentEvent | None = None,
    sent_by: Any = None,
    delivery: Delivery | None = None,
) -> Notification:
    """Send one notice to one channel and record it; disable the channel on a permanent failure."""
    started = time.perf_counter()
    outcome = _deliver(channel, notice, delivery)
    if outcome.permanent and event is not None:
        Channel.objects.filter(pk=channel.pk).update(
            enabled=False, disabled_reason=f"{timezone.now():%Y-%m-%d %H:%M} UTC: {outcome.error}"
        )
    return Notification.objects.create(
        event=event,
        channel=channel,
        status=outcome.status,
        attempts=outcome.attempts,
        error=outcome.error[:2000],
        detail=outcome.detail[:2000],
        duration_ms=(time.perf_counter() - started) * 1000,
        is_test=event is None,
        sent_by=sent_by,
    )


def next_test_at(channel: Channel, now: datetime | None = None) -> datetime | None:
    """When the channel may be tested again, or None if it may be now."""
    now = now or timezone.now()
    recent = list(
        Notification.objects.filter(channel=channel, is_test=True, created_at__gt=now - timedelta(hours=1))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:TESTS_PER_HOUR]
    )
    return recent[-1] + timedelta(hours=1) if len(recent) >= TESTS_PER_HOUR else None


@transaction.atomic
def channel_test_request(*, channel: Channel, user: Any) -> Notification:
    """Record a pending test and queue it for a worker; ChannelTestRefused over the hourly limit."""
    Channel.objects.select_for_update().filter(pk=channel.pk).first()  # two clicks at once count as two
    allowed_at = next_test_at(channel)
    if allowed_at is not None:
        local = timezone.localtime(allowed_at, ZoneInfo(channel.organization.time_zone))
        raise ChannelTestRefused(
            f"At most {TESTS_PER_HOUR} tests per channel per hour: the next one is possible at "
            f"{local:%H:%M} ({channel.organization.time_zone})."
        )
    notification = Notification.objects.create(channel=channel, status="pending", is_test=True, sent_by=user)
    from .tasks import send_channel_test  # tasks import this module

    pk = notification.pk
    transaction.on_commit(lambda: send_channel_test.apply_async((pk,), expires=TEST_EXPIRES.total_seconds()))
    return notification


def channel_test_notice(channel: Channel, notification: Notification) -> Notice:
    now = timezone.now()
    return Notice(
        kind="test",
        title="Test notification from Dashbird",
        summary="If you can read this, the channel works.",
        severity="info",
        organization=channel.organization.name,
        url=f"{settings.SITE_URL}/alerts/channels/{channel.pk}/",
        incident_id=None,
        dedup_key=f"dashbird-test-{channel.pk}-{notification.pk}",
        resource=None,
        rule=None,
        fields={"Channel": channel.name},
        occurred_at=now.isoformat(),
    )


def channel_test_run(*, notification_id: int) -> Notification | None:
    """Send one queued test (worker): claim it, one attempt, record the outcome. None when
    another worker has it or it is no longer pending."""
    if not Notification.objects.filter(pk=notification_id, status="pending").update(status="sending"):
        return None
    notification = Notification.objects.select_related("channel__organization").get(pk=notification_id)
    channel = notification.channel
    started = time.perf_counter()
    try:
        kind = get_kind(channel.kind)
        delivery: Delivery | None = kind.delivery(timeout=TEST_ATTEMPT_TIMEOUT, retries=0)
    except KeyError:
        delivery = None
    try:
        outcome = _deliver(channel, channel_test_notice(channel, notification), delivery)
    except SoftTimeLimitExceeded:
        outcome = Outcome("failed", error=f"No answer within {TEST_TIMEOUT_SECONDS} seconds.")
    Notification.objects.filter(pk=notification.pk).update(
        status=outcome.status,
        attempts=outcome.attempts,
        error=outcome.error[:2000],
        detail=outcome.detail[:2000],
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    notification.refresh_from_db()
    return notification
