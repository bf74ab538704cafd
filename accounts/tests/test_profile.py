"""Each person's time zone and date format: on every page, and in their digests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.urls import reverse

from accounts.admin_services import audit_record
from accounts.models import AuditEvent, Membership, Profile
from accounts.services import profile_update
from alerts.digests import render
from alerts.models import DigestSubscription
from web.when import format_when
from web.when import zone as when_zone

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 12, 2, 3, 15, 7, 123456)


@pytest.mark.parametrize(
    ("date_format", "style", "expected"),
    [
        ("iso", "", "2026-12-02 03:15"),
        ("dmy", "", "02 Dec 2026 03:15"),
        ("us", "", "12/02/2026 3:15 AM"),
        ("iso", "seconds", "2026-12-02 03:15:07"),
        ("iso", "ms", "2026-12-02 03:15:07.123"),
        ("us", "seconds", "12/02/2026 3:15:07 AM"),
        ("dmy", "date", "02 Dec 2026"),
        ("us", "date", "12/02/2026"),
        ("iso", "time_ms", "03:15:07.123"),
        ("us", "time", "3:15:07 AM"),
    ],
)
def test_formats(date_format: str, style: str, expected: str) -> None:
    assert format_when(MOMENT, style, date_format) == expected


def test_us_hours_around_noon_and_midnight() -> None:
    assert format_when(MOMENT.replace(hour=0), "", "us") == "12/02/2026 12:15 AM"
    assert format_when(MOMENT.replace(hour=12), "", "us") == "12/02/2026 12:15 PM"
    assert format_when(MOMENT.replace(hour=23), "", "us") == "12/02/2026 11:15 PM"
    assert format_when(date(2026, 1, 5), "", "dmy") == "05 Jan 2026"


def test_the_profile_is_in_the_user_menu_and_starts_at_utc_and_iso(owner: Any) -> None:
    client = owner.client()
    overview = client.get(reverse("monitoring:overview")).content.decode()
    assert f'href="{reverse("accounts:profile")}"' in overview
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'value="UTC" selected' in page and 'value="iso"' in page


def test_the_chosen_time_zone_and_format_change_the_times_shown(owner: Any) -> None:
    event = audit_record(organization=owner.organization, action="test.event", actor=owner.user)
    AuditEvent.objects.filter(pk=event.pk).update(created_at=datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC))
    client = owner.client()
    assert "2026-01-15 10:00:00" in client.get(reverse("accounts:audit_log")).content.decode()

    response = client.post(reverse("accounts:profile"), {"time_zone": "Asia/Tokyo", "date_format": "us"})
    assert response.status_code == 302

    page = client.get(reverse("accounts:audit_log")).content.decode()
    assert "01/15/2026 7:00:00 PM" in page and "2026-01-15 10:00:00" not in page
    assert Profile.objects.get(user=owner.user).time_zone == "Asia/Tokyo"


def test_a_teammate_keeps_their_own_preferences(owner: Any, teammate: Any) -> None:
    profile_update(user=owner.user, time_zone="America/New_York", date_format="us")
    Membership.objects.filter(pk=owner.membership.pk).update(created_at=datetime(2026, 1, 15, 10, 0, tzinfo=UTC))
    url = reverse("accounts:member_detail", args=[owner.membership.pk])
    assert "01/15/2026 5:00 AM" in owner.client().get(url).content.decode()
    assert "2026-01-15 10:00" in teammate.client().get(url).content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"time_zone": "Mars/Olympus_Mons", "date_format": "iso"},
        {"time_zone": "x" * 100_000, "date_format": "iso"},
        {"time_zone": "../../../etc/passwd", "date_format": "iso"},
        {"time_zone": "Europe/Berlin\x00", "date_format": "iso"},
        {"time_zone": "Europe/Berlin", "date_format": "%s%n" * 1000},
        {"time_zone": ["Europe/Berlin"] * 500, "date_format": ["iso", "us"] * 500},
        {},
    ],
)
def test_hostile_profile_input_is_a_form_error(owner: Any, data: dict[str, Any]) -> None:
    response = owner.client().post(reverse("accounts:profile"), data)
    assert response.status_code == 400
    assert not Profile.objects.filter(user=owner.user).exists()
    assert len(response.content) < 200_000  # the error does not echo what was sent


def test_a_digest_is_written_in_its_recipient_s_time_zone_and_format(owner: Any, teammate: Any) -> None:
    start, end = datetime(2026, 11, 30, 23, 0, tzinfo=UTC), datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    profile_update(user=teammate.user, time_zone="Europe/Berlin", date_format="dmy")
    mine = DigestSubscription.objects.create(organization=owner.organization, user=owner.user, frequency="daily")
    theirs = DigestSubscription.objects.create(organization=owner.organization, user=teammate.user, frequency="daily")

    _, text, html = render(mine, start, end)
    assert "2026-11-30 23:00 – 2026-12-01 23:00 (UTC)" in text

    _, text, html = render(theirs, start, end)
    assert "01 Dec 2026 00:00 – 02 Dec 2026 00:00 (Europe/Berlin)" in text
    assert "01 Dec 2026 00:00" in html


def test_charts_are_drawn_in_the_reader_s_time_zone() -> None:
    from django.utils import timezone

    from monitoring.dashboard import chart_time

    moment = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    with timezone.override(when_zone("Asia/Tokyo")):
        assert chart_time(moment) == "2026-01-15T19:00:00+09:00"
    with timezone.override(when_zone("Not/AZone")):
        assert chart_time(moment) == "2026-01-15T10:00:00+00:00"


def test_someone_in_no_organisation_can_still_set_their_profile(db: Any) -> None:
    from django.test import Client

    from accounts.services import user_create_verified

    client = Client()
    client.force_login(user_create_verified(email="lone@example.test", password="Correct-horse-42"))
    assert (
        client.post(reverse("accounts:profile"), {"time_zone": "Europe/Paris", "date_format": "dmy"}).status_code == 302
    )
    assert "(Europe/Paris)" in client.get(reverse("accounts:profile")).content.decode()


def test_an_account_s_last_collection_is_shown_in_the_reader_s_zone(owner: Any) -> None:
    from accounts.models import AwsAccount
    from accounts.services import aws_account_start

    account = aws_account_start(organization=owner.organization, name="Prod")
    AwsAccount.objects.filter(pk=account.pk).update(
        last_collected={"discovery:us-east-1": "2026-01-15T10:00:00+00:00", "logs:eu-west-1": "not a time"}
    )
    profile_update(user=owner.user, time_zone="Europe/Berlin", date_format="iso")
    page = owner.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).content.decode()
    assert "2026-01-15 11:00:00" in page and "not a time" in page and "(Europe/Berlin)" in page
