"""Scheduled e-mail digests (daily or weekly, at each member's local hour).

1. `due(now)`: subscriptions whose local hour is now (weekly: on Mondays) and whose period
   (the previous local day, or the previous 7 local days) has no DigestSent row yet.
2. `digest_send`: claim the period by inserting DigestSent (unique per member × period, so a
   second beat tick or a restarted worker sends nothing), build the numbers with the same
   functions as the overview, send HTML + text with a signed one-click unsubscribe link.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Organization
from accounts.services import profile_for
from insights.models import Finding
from insights.selectors import anomalies_between
from monitoring import dashboard
from monitoring.selectors import error_groups_of
from web import when
from web.params import one_line

from .models import DigestFrequency, DigestSent, DigestSubscription, Incident

UNSUBSCRIBE_SALT = "dashbird.digest.unsubscribe"


@dataclass(frozen=True)
class Due:
    subscription: DigestSubscription
    start: datetime
    end: datetime


def period_for(subscription: DigestSubscription, now: datetime) -> tuple[datetime, datetime] | None:
    """The period to report if the subscription is due at `now`, else None."""
    tz = zoneinfo.ZoneInfo(subscription.organization.time_zone or "UTC")
    local = now.astimezone(tz)
    if local.hour != subscription.hour:
        return None
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if subscription.frequency == DigestFrequency.DAILY:
        start = midnight - timedelta(days=1)
    elif subscription.frequency == DigestFrequency.WEEKLY and local.weekday() == 0:
        start = midnight - timedelta(days=7)
    else:
        return None
    return start.astimezone(zoneinfo.ZoneInfo("UTC")), midnight.astimezone(zoneinfo.ZoneInfo("UTC"))


def due(now: datetime | None = None) -> list[Due]:
    now = now or timezone.now()
    out = []
    subscriptions = DigestSubscription.objects.exclude(frequency=DigestFrequency.NONE).select_related(
        "organization", "user"
    )
    for sub in subscriptions:
        if not sub.organization.memberships.filter(user=sub.user).exists():
            continue  # left the organisation
        period = period_for(sub, now)
        if (
            period
            and not DigestSent.objects.filter(
                organization=sub.organization, user=sub.user, frequency=sub.frequency, period_start=period[0]
            ).exists()
        ):
            out.append(Due(sub, *period))
    return out


def unsubscribe_token(subscription: DigestSubscription) -> str:
    return signing.dumps({"s": subscription.pk}, salt=UNSUBSCRIBE_SALT)


def content(organization: Organization, start: datetime, end: datetime) -> dict[str, Any]:
    """The digest's numbers: the overview's own functions, over the same period."""
    period = dashboard.Period("custom", start, end)
    scope = dashboard.Scope(organization)
    findings = Finding.objects.filter(organization=organization, first_seen__gte=start, first_seen__lt=end)
    by_pillar: dict[str, int] = {}
    for pillar in findings.values_list("pillar", flat=True):
        by_pillar[pillar] = by_pillar.get(pillar, 0) + 1
    groups = error_groups_of(organization=organization)
    return {
        "organization": organization,
        "start": start,
        "end": end,
        "kpis": dashboard.kpis_with_change(scope, period),
        "new_error_groups": list(groups.filter(first_seen__gte=start, first_seen__lt=end)[:20]),
        "regressions": list(
            groups.filter(regression=True, status_changed_at__gte=start, status_changed_at__lt=end)[:20]
        ),
        "incidents_opened": Incident.objects.filter(
            organization=organization, opened_at__gte=start, opened_at__lt=end
        ).count(),
        "incidents_resolved": Incident.objects.filter(
            organization=organization, resolved_at__gte=start, resolved_at__lt=end
        ).count(),
        "findings_by_pillar": sorted(by_pillar.items()),
        # The strongest anomalous hours of the period (a few; the overview lists them all).
        "anomalies": anomalies_between(organization, start=start, end=end, limit=10),
        "site_url": settings.SITE_URL,
    }


def render(subscription: DigestSubscription, start: datetime, end: datetime) -> tuple[str, str, str]:
    context = {
        **content(subscription.organization, start, end),
        "frequency": subscription.get_frequency_display(),
        "unsubscribe_url": f"{settings.SITE_URL}/alerts/digests/unsubscribe/{unsubscribe_token(subscription)}/",
    }
    # Each recipient reads times in their own zone and date format (their profile).
    profile = profile_for(subscription.user)
    with timezone.override(when.zone(profile.time_zone)), when.override(profile.date_format):
        return (
            one_line(render_to_string("emails/digest-subject.txt", context)),
            render_to_string("emails/digest-body.txt", context),
            render_to_string("emails/digest-body.html", context),
        )


def digest_send(item: Due) -> bool:
    """Claim the period, then send. False when it was already claimed (sent or sending)."""
    sub = item.subscription
    try:
        with transaction.atomic():
            claim = DigestSent.objects.create(
                organization=sub.organization,
                user=sub.user,
                frequency=sub.frequency,
                period_start=item.start,
                period_end=item.end,
            )
    except IntegrityError:
        return False
    subject, text, html = render(sub, item.start, item.end)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[sub.user.email])
    message.attach_alternative(html, "text/html")
    message.extra_headers["List-Unsubscribe"] = (
        f"<{settings.SITE_URL}/alerts/digests/unsubscribe/{unsubscribe_token(sub)}/>"
    )
    # One-click unsubscribe: mail clients may POST this body to the link above.
    message.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.send()
    DigestSent.objects.filter(pk=claim.pk).update(sent_at=timezone.now())
    return True


def subscription_for_token(token: str) -> DigestSubscription | None:
    """The subscription a signed unsubscribe token names, or None for a bad or altered one."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    pk = data.get("s") if isinstance(data, dict) else None
    if not isinstance(pk, int):
        return None
    return DigestSubscription.objects.select_related("user", "organization").filter(pk=pk).first()


def unsubscribe(token: str) -> DigestSubscription | None:
    sub = subscription_for_token(token)
    if sub is not None:
        DigestSubscription.objects.filter(pk=sub.pk).update(frequency=DigestFrequency.NONE)
    return sub
