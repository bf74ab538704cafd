"""What a security review found answering 500 (or worse) to hostile input, one test each:
Unicode digits, NUL bytes, periods out of range, the ownership form, forged forwarded
addresses, a user without an organisation, a line break in an organisation name, a bad
audit-export filter, changes without their audit record, spreadsheet formulas in the
export, and open redirects."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.api_tokens import api_token_create
from accounts.models import AuditEvent, Membership, Organization, Role
from accounts.services import aws_account_start, user_create_verified
from alerts.models import AlertRule, DigestSubscription, Incident
from monitoring.models import ErrorGroup, Project, Resource

from .test_hostile_requests import endpoints
from .world import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def function(owner: Any) -> Resource:
    account = aws_account_start(organization=owner.organization, name="Prod")
    now = timezone.now()
    return Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:1:function:f", name="f", first_seen=now, last_seen=now,
    )  # fmt: skip


def bearer(owner: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token_create(organization=owner.organization, name='t', by=owner.user)[1]}"}


# --- Unicode digits -------------------------------------------------------------------------------


def test_a_superscript_digit_in_a_filter_is_a_400_with_a_message(owner: Any, function: Resource) -> None:
    page = owner.client().get(reverse("monitoring:resources"), {"account": "²"})
    api = Client().get(reverse("api:invocations"), {"resource": "²"}, headers=bearer(owner))

    assert page.status_code == 400 and b"account must be a whole number" in page.content
    assert api.status_code == 400 and "resource must be a whole number" in api.json()["error"]


def test_a_superscript_digit_snoozes_nothing_and_changes_no_digest(owner: Any) -> None:
    rule = AlertRule.objects.create(organization=owner.organization, name="r", metric="errors", threshold=1)
    incident = Incident.objects.create(
        organization=owner.organization, rule=rule, subject="s", title="t", opened_at=timezone.now()
    )
    client = owner.client()

    snooze = client.post(reverse("alerts:incident_snooze", args=[incident.pk]), {"minutes": "²"})
    digest = client.post(reverse("alerts:digest_preferences"), {"frequency": "daily", "hour": "²"})

    incident.refresh_from_db()
    assert snooze.status_code == 400 and incident.snoozed_until is None
    assert digest.status_code == 400 and not DigestSubscription.objects.filter(user=owner.user).exists()


# --- NUL bytes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "params"),
    [
        ("monitoring:resources", {"q": "f\x00"}),
        ("monitoring:resources", {"region": "us-east-1\x00"}),
        ("monitoring:logs", {"q": "\x00error"}),
        ("insights:index", {"pillar": "\x00"}),
    ],
)
def test_a_nul_in_a_query_parameter_never_reaches_postgresql(
    owner: Any, function: Resource, page: str, params: dict[str, str]
) -> None:
    assert owner.client().get(reverse(page), params).status_code == 200


def test_a_nul_in_a_project_field_creates_nothing_and_says_why(owner: Any, function: Resource) -> None:
    client = owner.client()
    for data in (
        {"name": "Team\x00", "tag": "team=checkout"},
        {"name": "Team", "tag": "team=\x00"},
        {"name": "Team", "name_pattern": "f\x00*"},
    ):
        response = client.post(reverse("monitoring:project_create"), data, follow=True)
        assert response.status_code == 200 and b"Project not created" in response.content
    assert not Project.objects.filter(organization=owner.organization).exists()


def test_a_nul_in_a_header_is_a_400_before_anything_stores_it(owner: Any) -> None:
    response = owner.client().get(reverse("monitoring:overview"), headers={"User-Agent": "curl\x00"})
    assert response.status_code == 400


# --- periods --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["0001-01-01", "9999-12-31T23:00", "0001-01-01T00:00+14:00", "1900-01-01"])
def test_a_custom_period_outside_the_retention_is_a_400_not_an_overflow(
    owner: Any, function: Resource, start: str
) -> None:
    query = {"period": "custom", "start": start}
    page = owner.client().get(reverse("monitoring:overview"), query)
    api = Client().get(reverse("api:overview"), query, headers=bearer(owner))

    assert page.status_code == 400 and (b"rollup retention" in page.content or b"ISO date" in page.content)
    assert api.status_code == 400 and api.json()["error"]


def test_a_custom_period_within_the_retention_is_shown(owner: Any, function: Resource) -> None:
    start = (timezone.now() - timedelta(days=300)).date().isoformat()
    response = owner.client().get(
        reverse("monitoring:overview"), {"period": "custom", "start": start, "end": "9999-12-31"}
    )
    assert response.status_code == 200
    assert response.context["period"].start.date().isoformat() == start
    assert b'<input type="hidden" name="start" value="' + start.encode() in response.content  # kept by the filters


def test_an_end_before_the_start_is_a_400(owner: Any, function: Resource) -> None:
    response = owner.client().get(
        reverse("monitoring:overview"), {"period": "custom", "start": "2025-06-02", "end": "2025-06-01"}
    )
    assert response.status_code == 400


# --- the ownership form -------------------------------------------------------------------------------


def test_the_ownership_form_checks_the_role_before_reading_the_member(owner: Any, teammate: Any) -> None:
    assert teammate.client().post(reverse("accounts:ownership_transfer"), {"member": "abc"}).status_code == 403
    assert owner.client().post(reverse("accounts:ownership_transfer"), {"member": "abc"}).status_code == 400
    assert Membership.objects.get(pk=owner.membership.pk).role == Role.OWNER


# --- forwarded addresses --------------------------------------------------------------------------------


def _project_audit_ip(owner: Any, **headers: str) -> str | None:
    owner.client().post(
        reverse("monitoring:project_create"),
        {"name": f"P{AuditEvent.objects.count()}", "name_pattern": "*"},
        headers=headers,
    )
    return AuditEvent.objects.filter(action="project.created").latest("pk").ip


def test_forwarded_addresses_count_only_behind_the_configured_proxies(owner: Any, settings: Any) -> None:
    forged = {"X-Forwarded-For": "198.51.100.66, 203.0.113.5"}

    settings.TRUSTED_PROXY_COUNT = 0
    assert _project_audit_ip(owner, **forged) == "127.0.0.1"  # the socket's peer: anyone can write the header
    settings.TRUSTED_PROXY_COUNT = 1
    assert _project_audit_ip(owner, **forged) == "203.0.113.5"  # what our one proxy saw
    settings.TRUSTED_PROXY_COUNT = 2
    assert _project_audit_ip(owner, **forged) == "198.51.100.66"
    settings.TRUSTED_PROXY_COUNT = 3
    assert _project_audit_ip(owner, **forged) == "198.51.100.66"  # fewer hops: the leftmost is still ours


@pytest.mark.parametrize("header", ["not-an-ip", "", " , ", "203.0.113.5 extra", "1.2.3.4.5", "::g"])
def test_a_malformed_forwarded_address_is_ignored_and_the_change_is_recorded(
    owner: Any, settings: Any, header: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    assert _project_audit_ip(owner, **{"X-Forwarded-For": header}) == "127.0.0.1"
    assert Project.objects.filter(organization=owner.organization).count() == 1


def test_forwarded_addresses_with_ports_are_understood(owner: Any, settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    assert _project_audit_ip(owner, **{"X-Forwarded-For": "[2001:db8::1]:443"}) == "2001:db8::1"
    assert _project_audit_ip(owner, **{"X-Forwarded-For": "203.0.113.5:51234"}) == "203.0.113.5"


def _refused_for_too_many_attempts(count: int, forwarded: str | None = None) -> bool:
    """`count` failed sign-ins (each for another address, so only the per-IP limit counts);
    whether the last was refused for too many attempts."""
    content = b""
    for i in range(count):
        headers = {"X-Forwarded-For": forwarded or f"198.51.100.{i}"}
        response = Client().post(
            reverse("account_login"), {"login": f"nobody{i}@acme.test", "password": "wrong"}, headers=headers
        )
        content = response.content
    return b"Too many failed login attempts" in content


def test_a_forged_forwarded_address_buys_no_fresh_sign_in_attempts(db: Any, settings: Any) -> None:
    # allauth allows 10 failed sign-ins a minute per address; a new X-Forwarded-For per
    # attempt must not reset that when no proxy is trusted.
    settings.TRUSTED_PROXY_COUNT = 0
    assert not _refused_for_too_many_attempts(10)
    assert _refused_for_too_many_attempts(1)


def test_behind_a_proxy_each_client_has_its_own_sign_in_quota(db: Any, settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    assert not _refused_for_too_many_attempts(11)  # eleven clients, one failure each
    assert _refused_for_too_many_attempts(11, forwarded="198.51.100.200")


# --- a user without an organisation ----------------------------------------------------------------------


def test_a_user_in_no_organisation_gets_a_page_saying_so_on_every_page(owner: Any, function: Resource) -> None:
    lone = user_create_verified(email="lone@example.test", password=PASSWORD)
    client = Client()
    client.force_login(lone)
    ids = {"pk": function.pk, "action": "validate", "field": "muted", "kind": "email", "token": "x", "recipient": 1}
    checked = 0
    for endpoint in endpoints():
        if endpoint.third_party or endpoint.is_api or "token" in dict(endpoint.params) or endpoint.route == "healthz":
            continue
        if endpoint.route == "profile/":
            continue  # one's own time zone and date format: set before joining, like the account pages
        path = "/" + endpoint.route.format(**{name: ids[name] for name, _ in endpoint.params})
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code < 500, f"{method.upper()} {path}: {response.status_code}"
            if response.status_code in (200, 403):
                assert b"You are not in an organisation yet" in response.content, path
                checked += 1
    assert checked > 40


# --- a line break in an organisation name ---------------------------------------------------------------


def test_an_organisation_name_must_be_one_line(owner: Any) -> None:
    response = owner.client().post(
        reverse("accounts:organization_edit"),
        {"name": "Acme\r\nBcc: victim@example.com", "time_zone": "UTC", "raw_retention_days": 14,
         "rollup_retention_days": 400},
        follow=True,
    )  # fmt: skip
    assert b"one line of text" in response.content
    assert Organization.objects.get(pk=owner.organization.pk).name == "Acme"


def test_an_invitation_from_an_organisation_with_a_line_break_in_its_name_is_sent(
    owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Organization.objects.filter(pk=owner.organization.pk).update(name="Acme\r\nBcc: victim@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.client().post(
            reverse("accounts:invitation_create"), {"email": "new@acme.test", "role": "member"}
        )

    assert response.status_code == 302
    [message] = mail.outbox
    assert "\n" not in message.subject and message.message()["Bcc"] is None and message.to == ["new@acme.test"]


# --- the audit log ----------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["accounts:audit_log", "accounts:audit_log_csv"])
@pytest.mark.parametrize("params", [{"since": "garbage"}, {"until": "2025-02-30"}, {"actor": "x" * 500}])
def test_a_bad_audit_filter_is_a_400_not_an_empty_export(owner: Any, view: str, params: dict[str, str]) -> None:
    assert owner.client().get(reverse(view), params).status_code == 400


def test_a_change_whose_audit_record_fails_is_rolled_back(owner: Any, monkeypatch: Any) -> None:
    # The audit write fails the way the review saw it: an address the ip field refuses.
    monkeypatch.setattr("accounts.audit.client_ip", lambda request: "not-an-address")
    client = Client(raise_request_exception=False)
    client.force_login(owner.user)

    response = client.post(reverse("monitoring:project_create"), {"name": "Team", "name_pattern": "*"})

    assert response.status_code == 500
    assert not Project.objects.filter(organization=owner.organization).exists()
    assert not AuditEvent.objects.filter(action="project.created").exists()


def test_the_audit_export_defuses_spreadsheet_formulas(owner: Any) -> None:
    client = owner.client()
    client.post(
        reverse("monitoring:project_create"),
        {"name": '=HYPERLINK("http://evil.example","x")', "name_pattern": "*"},
        headers={"User-Agent": "@SUM(1+1)"},
    )
    client.post(
        reverse("monitoring:project_create"), {"name": "-2+3", "name_pattern": "*"}, headers={"User-Agent": "+cmd"}
    )
    response = client.get(reverse("accounts:audit_log_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    created = [dict(zip(rows[0], row, strict=True)) for row in rows[1:] if row[2] == "project.created"]

    assert {r["object"] for r in created} == {'\'=HYPERLINK("http://evil.example","x")', "'-2+3"}
    assert {r["user_agent"] for r in created} == {"'@SUM(1+1)", "'+cmd"}


# --- redirects ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)"]
)
def test_next_never_leads_off_the_site(owner: Any, teammate: Any, function: Resource, target: str) -> None:
    group = ErrorGroup.objects.create(
        organization=owner.organization, account=function.account, resource=function, fingerprint="f" * 40,
        kind="error", error_type="E", message="m", first_seen=timezone.now(), last_seen=timezone.now(), count=1,
    )  # fmt: skip
    client = owner.client()

    triage = client.post(
        reverse("monitoring:error_group_status", args=[group.pk]), {"status": "resolved", "next": target}
    )
    role = client.post(
        reverse("accounts:member_role", args=[teammate.membership.pk]), {"role": "viewer", "next": target}
    )
    switch = client.post(
        reverse("accounts:organization_switch"), {"organization": owner.organization.pk, "next": target}
    )

    assert triage["Location"] == reverse("monitoring:error_group_detail", args=[group.pk])
    assert role["Location"] == reverse("accounts:settings")
    assert switch["Location"] == reverse("monitoring:overview")


def test_next_within_the_site_is_followed(owner: Any, teammate: Any) -> None:
    response = owner.client().post(
        reverse("accounts:member_role", args=[teammate.membership.pk]),
        {"role": "viewer", "next": "/settings/?tab=members"},
    )
    assert response["Location"] == "/settings/?tab=members"
