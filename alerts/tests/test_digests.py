"""E-mail digests: the overview's numbers, once per period, with a working unsubscribe link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any, cast

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.test import Client

from accounts.models import Organization
from accounts.services import aws_account_start
from alerts.digests import digest_send, due
from alerts.models import DigestSubscription
from monitoring import dashboard
from monitoring.models import Resource
from monitoring.parsing.lambda_logs import parse_events
from monitoring.store.invocations import invocations_store

pytestmark = pytest.mark.django_db


def seed_week(owner: Any, monday: datetime) -> None:
    account = aws_account_start(organization=owner.organization, name="Prod")
    fn = Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:1:function:billing", name="billing", config={"memory_mb": 512},
        first_seen=monday - timedelta(days=30), last_seen=monday,
    )  # fmt: skip
    events = []
    for i in range(70):  # ten a day over the previous week, every fifth one a timeout
        # REPORT times: each started Duration earlier, so the first ends a minute into the week.
        t = int((monday - timedelta(days=7) + timedelta(hours=i * 2.4, minutes=1)).timestamp() * 1000)
        rid = f"11111111-0000-4000-8000-{i:012d}"
        status = "\tStatus: timeout" if i % 5 == 0 else ""
        init = "\tInit Duration: 200.00 ms" if i % 7 == 0 else ""
        events.append(
            {
                "timestamp": t,
                "message": f"REPORT RequestId: {rid}\tDuration: {10 + i}.00 ms\tBilled Duration: {11 + i} ms\t"
                f"Memory Size: 512 MB\tMax Memory Used: 80 MB{init}{status}\t\n",
                "logStreamName": "s",
                "eventId": rid,
            }
        )
    invocations_store(resource=fn, result=parse_events(events))


def test_a_weekly_digest_carries_the_overview_s_numbers_once(owner: Any) -> None:
    monday = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC
    seed_week(owner, monday.replace(hour=0))
    DigestSubscription.objects.create(organization=owner.organization, user=owner.user, frequency="weekly", hour=8)

    [item] = due(monday)
    assert (item.start, item.end) == (monday.replace(hour=0) - timedelta(days=7), monday.replace(hour=0))
    assert digest_send(item)
    assert not digest_send(item)  # a second beat tick, or a restarted worker
    assert due(monday) == []

    [message] = mail.outbox
    html = cast(EmailMultiAlternatives, message).alternatives[0][0]
    overview = dashboard.kpis(dashboard.Scope(owner.organization), dashboard.Period("custom", item.start, item.end))
    shown = int(re.search(r'class="kpi-invocations"><strong>(\d+)', str(html)).group(1))  # type: ignore[union-attr]
    errors = int(re.search(r'class="kpi-errors"><strong>(\d+)', str(html)).group(1))  # type: ignore[union-attr]
    assert shown == overview["invocations"] == 70
    assert errors == overview["errors"] == 14
    assert f"Cold starts   {overview['cold_starts']}" in str(message.body)
    assert message.to == [owner.user.email]


def test_the_unsubscribe_link_asks_first_and_unsubscribes_on_post_without_signing_in(owner: Any) -> None:
    monday = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    sub = DigestSubscription.objects.create(organization=owner.organization, user=owner.user, frequency="daily", hour=8)
    [item] = due(monday)
    digest_send(item)
    link = re.search(r"https?://[^/\s]+(/alerts/digests/unsubscribe/[^\s/]+/)", str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]

    # A mail scanner or link preview opening the link changes nothing.
    confirm = Client().get(link)
    sub.refresh_from_db()
    assert confirm.status_code == 200 and b"Unsubscribe from digests?" in confirm.content
    assert sub.frequency == "daily"

    # The page's button posts; CSRF is enforced elsewhere, but the signature authorises this.
    done = Client(enforce_csrf_checks=True).post(link)
    sub.refresh_from_db()
    assert done.status_code == 200 and sub.frequency == "none"
    assert Client().get("/alerts/digests/unsubscribe/forged-token/").status_code == 400
    assert Client().post("/alerts/digests/unsubscribe/forged-token/").status_code == 400


def test_digest_mails_offer_one_click_unsubscribe(owner: Any) -> None:
    monday = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    sub = DigestSubscription.objects.create(organization=owner.organization, user=owner.user, frequency="daily", hour=8)
    [item] = due(monday)
    digest_send(item)
    [message] = mail.outbox

    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    target = message.extra_headers["List-Unsubscribe"].strip("<>")
    # What a mail provider sends: a bare POST with that body, no cookie, no CSRF token.
    response = Client(enforce_csrf_checks=True).post(
        target.removeprefix(settings.SITE_URL),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    sub.refresh_from_db()
    assert response.status_code == 200 and sub.frequency == "none"


def test_an_organisation_name_with_a_line_break_still_gets_its_digest(owner: Any) -> None:
    Organization.objects.filter(pk=owner.organization.pk).update(name="Acme\r\nBcc: victim@example.com")
    DigestSubscription.objects.create(organization=owner.organization, user=owner.user, frequency="daily", hour=8)
    [item] = due(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))

    assert digest_send(item)
    [message] = mail.outbox
    assert "\n" not in message.subject and message.subject.startswith("Acme Bcc: victim@example.com:")
    assert message.to == [owner.user.email] and message.message()["Bcc"] is None


def test_digests_follow_the_organisation_s_time_zone_and_dry_run_sends_nothing(owner: Any) -> None:
    owner.organization.time_zone = "Europe/Tallinn"  # UTC+2 in November
    owner.organization.save()
    DigestSubscription.objects.create(organization=owner.organization, user=owner.user, frequency="daily", hour=9)

    assert due(datetime(2026, 11, 24, 9, 0, tzinfo=UTC)) == []
    out = StringIO()
    call_command("senddigests", dry_run=True, now="2026-11-24T07:00:00+00:00", stdout=out)
    assert "would send: owner@acme.test" in out.getvalue()
    assert mail.outbox == []


def test_new_organisations_start_with_default_rules(owner: Any) -> None:
    names = set(owner.organization.alert_rules.values_list("name", flat=True))
    assert {"Error rate above 5 %", "New errors and regressions", "Timeouts"} <= names
