"""Who an e-mail channel may write to (services and reads for e-mail recipients).

Members of the organisation (their verified addresses) receive its alerts. Any other
address must first confirm, through a signed link mailed to it, that it wants them;
until then every delivery leaves it out and says why. Otherwise an admin could aim a
channel and its "send test" button at any inbox.

The links are rationed: one per address per hour, at most LINKS_PER_HOUR per
organisation, never again to an address that declined.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Organization

from .models import AlertRecipient, Channel

logger = logging.getLogger(__name__)

SALT = "alerts.recipient-confirm"
LINK_VALID = timedelta(days=7)
RESEND_AFTER = timedelta(hours=1)
LINKS_PER_HOUR = 50
SEND_TIMEOUT = 10.0  # seconds per SMTP operation


@dataclass(frozen=True)
class RecipientState:
    email: str
    state: str  # member | confirmed | pending | declined | unasked
    since: datetime | None  # when it was confirmed, declined or last mailed a link
    recipient: AlertRecipient | None

    @property
    def receives(self) -> bool:
        return self.state in {"member", "confirmed"}

    @property
    def reason(self) -> str:
        return {
            "pending": "has not confirmed yet",
            "declined": "declined these alerts",
            "unasked": "was never sent a confirmation link",
        }.get(self.state, "")


def member_addresses(organization: Organization) -> set[str]:
    """The members' verified addresses, lower-cased."""
    return {
        email.lower()
        for email in EmailAddress.objects.filter(
            user__memberships__organization=organization, verified=True
        ).values_list("email", flat=True)
    }


def recipient_states(*, organization: Organization, addresses: list[str]) -> list[RecipientState]:
    """Each address, in order, with whether it receives alerts and why not."""
    members = member_addresses(organization)
    rows = {
        r.email: r
        for r in AlertRecipient.objects.filter(organization=organization, email__in=[a.lower() for a in addresses])
    }
    states = []
    for address in addresses:
        key = address.lower()
        row = rows.get(key)
        if key in members:
            states.append(RecipientState(address, "member", None, row))
        elif row is None:
            states.append(RecipientState(address, "unasked", None, None))
        elif row.declined_at:
            states.append(RecipientState(address, "declined", row.declined_at, row))
        elif row.confirmed_at:
            states.append(RecipientState(address, "confirmed", row.confirmed_at, row))
        else:
            states.append(RecipientState(address, "pending" if row.last_sent_at else "unasked", row.last_sent_at, row))
    return states


def recipients_split(*, organization: Organization, addresses: list[str]) -> tuple[list[str], list[RecipientState]]:
    """(the addresses a delivery may write to, the others with their state)."""
    states = recipient_states(organization=organization, addresses=addresses)
    return [s.email for s in states if s.receives], [s for s in states if not s.receives]


def held_note(held: list[RecipientState]) -> str:
    """What a delivery records about the addresses it left out."""
    return "Not sent to " + "; ".join(f"{s.email} ({s.reason})" for s in held) + "."


@transaction.atomic
def recipients_invite(*, channel: Channel) -> tuple[int, int]:
    """Ask every address of an e-mail channel that is neither a member's nor answered yet to
    confirm. Returns (links queued, links held back by the hourly limits)."""
    organization = channel.organization
    states = recipient_states(organization=organization, addresses=list(channel.config.get("recipients", [])))
    queued = held = 0
    for state in states:
        if state.state not in {"unasked", "pending"}:
            continue
        recipient = (
            state.recipient
            or AlertRecipient.objects.get_or_create(organization=organization, email=state.email.lower())[0]
        )
        if recipient_link_request(recipient=recipient):
            queued += 1
        elif state.state == "unasked":
            held += 1
    return queued, held


def link_refusal(recipient: AlertRecipient, now: datetime | None = None) -> str:
    """Why no link may be mailed to this address now, or "" when one may."""
    now = now or timezone.now()
    if recipient.declined_at:
        return f"{recipient.email} declined alerts from this organisation."
    if recipient.confirmed_at:
        return f"{recipient.email} has already confirmed."
    if recipient.last_sent_at and now - recipient.last_sent_at < RESEND_AFTER:
        return f"A link was mailed to {recipient.email} less than an hour ago."
    recent = AlertRecipient.objects.filter(
        organization_id=recipient.organization_id, last_sent_at__gte=now - timedelta(hours=1)
    ).count()
    if recent >= LINKS_PER_HOUR:
        return f"At most {LINKS_PER_HOUR} confirmation links an hour per organisation: try again later."
    return ""


def recipient_link_request(*, recipient: AlertRecipient) -> bool:
    """Mark the link as sent and queue the e-mail (after commit); False when `link_refusal`
    says no. The row is locked so that two requests never mail the same address twice."""
    with transaction.atomic():
        recipient = AlertRecipient.objects.select_for_update().get(pk=recipient.pk)
        now = timezone.now()
        if link_refusal(recipient, now):
            return False
        AlertRecipient.objects.filter(pk=recipient.pk).update(last_sent_at=now)
        from .tasks import send_recipient_link  # tasks import this module

        pk = recipient.pk
        transaction.on_commit(lambda: send_recipient_link.apply_async((pk,), expires=3600))
    return True


def confirmation_token(recipient: AlertRecipient) -> str:
    return signing.dumps({"r": recipient.pk, "e": recipient.email}, salt=SALT, compress=True)


def recipient_for_token(token: str) -> AlertRecipient | None:
    """The recipient a link names, or None for a forged, expired or stale link."""
    try:
        data = signing.loads(token, salt=SALT, max_age=LINK_VALID)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        return None
    recipient = AlertRecipient.objects.select_related("organization").filter(pk=data["r"]).first()
    if recipient is None or recipient.email != data.get("e"):
        return None
    return recipient


def recipient_link_send(*, recipient_id: int) -> bool:
    """Mail the confirmation link (worker). A failed send is forgotten, so it can be retried."""
    recipient = AlertRecipient.objects.select_related("organization").filter(pk=recipient_id).first()
    if recipient is None or recipient.confirmed_at or recipient.declined_at:
        return False
    channels = [
        c.name
        for c in Channel.objects.filter(organization=recipient.organization, kind="email")
        if recipient.email in {a.lower() for a in c.config.get("recipients", [])}
    ]
    context: dict[str, Any] = {
        "organization": recipient.organization,
        "email": recipient.email,
        "channels": channels,
        "url": f"{settings.SITE_URL}/alerts/recipients/{confirmation_token(recipient)}/",
        "valid_days": LINK_VALID.days,
    }
    message = EmailMultiAlternatives(
        subject=" ".join(render_to_string("emails/recipient-confirm-subject.txt", context).split()),
        body=render_to_string("emails/recipient-confirm-body.txt", context),
        to=[recipient.email],
        connection=get_connection(timeout=SEND_TIMEOUT),
    )
    message.attach_alternative(render_to_string("emails/recipient-confirm-body.html", context), "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("confirmation link to recipient %s not sent: %s", recipient.pk, type(exc).__name__)
        AlertRecipient.objects.filter(pk=recipient.pk).update(last_sent_at=None)
        return False
    return True


def recipient_answer(*, recipient: AlertRecipient, accept: bool) -> None:
    """The owner of the address said yes (alerts from now on) or no (never asked again)."""
    now = timezone.now()
    if accept:
        AlertRecipient.objects.filter(pk=recipient.pk).update(confirmed_at=now, declined_at=None)
    else:
        AlertRecipient.objects.filter(pk=recipient.pk).update(confirmed_at=None, declined_at=now)
