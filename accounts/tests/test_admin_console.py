from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.admin_services import sha256
from accounts.api_tokens import api_token_authenticate
from accounts.models import ApiToken, AuditEvent, Invitation, Membership, Role

pytestmark = pytest.mark.django_db


def invite(
    owner: Any, email: str = "new@acme.test", role: str = "viewer", django_capture_on_commit_callbacks: Any = None
) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        owner.client().post(reverse("accounts:invitation_create"), {"email": email, "role": role})
    link = re.search(r"https?://[^/\s]+(/invitations/[^\s/]+/)", str(mail.outbox[-1].body))
    assert link, mail.outbox[-1].body
    return link.group(1)


def test_an_invitation_is_mailed_and_accepting_it_joins_with_the_role(
    owner: Any, django_user_model: Any, django_capture_on_commit_callbacks: Any
) -> None:
    path = invite(owner, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert mail.outbox[-1].to == ["new@acme.test"]
    assert "Acme" in mail.outbox[-1].subject
    assert getattr(mail.outbox[-1], "alternatives", None)  # an HTML part too

    user = django_user_model.objects.create_user(username="new", email="new@acme.test", password="x")
    client = Client()
    client.force_login(user)
    assert b"Join Acme" in client.get(path).content
    response = client.post(path)

    assert response["Location"] == reverse("monitoring:overview")
    assert Membership.objects.get(user=user, organization=owner.organization).role == Role.VIEWER
    assert client.post(path).status_code == 200  # a second use is refused, with the reason
    assert Membership.objects.filter(user=user).count() == 1


def test_an_invitation_only_works_for_its_address(
    owner: Any, outsider: Any, django_capture_on_commit_callbacks: Any
) -> None:
    path = invite(owner, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    outsider.client().post(path)
    assert not Membership.objects.filter(user=outsider.user, organization=owner.organization).exists()


def test_resend_replaces_the_link_and_revoke_or_expiry_kill_it(
    owner: Any, django_capture_on_commit_callbacks: Any, django_user_model: Any
) -> None:
    old = invite(owner, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(email="new@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        owner.client().post(reverse("accounts:invitation_action", args=[invitation.pk, "resend"]))
    new = re.search(r"(/invitations/[^\s/]+/)", str(mail.outbox[-1].body)).group(1)  # type: ignore[union-attr]
    assert new != old
    assert Client().get(old).status_code == 404
    assert b"Join Acme" in Client().get(new).content

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert b"This invitation is expired" in Client().get(new).content
    owner.client().post(reverse("accounts:invitation_action", args=[invitation.pk, "revoke"]))
    assert b"This invitation is revoked" in Client().get(new).content


def test_a_new_user_signs_up_from_the_invitation_without_a_second_mail_or_own_organisation(
    owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    path = invite(owner, role="member", django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    client = Client()
    client.get(path)  # remembers the invitation and that the address is proven
    sent = len(mail.outbox)
    response = client.post(
        reverse("account_signup") + f"?next={path}",
        {"email": "new@acme.test", "password1": "Fresh-pass-123", "password2": "Fresh-pass-123", "next": path},
    )
    assert response.status_code == 302
    assert len(mail.outbox) == sent  # no verification mail: the invitation proved the address
    client.post(path)

    memberships = Membership.objects.filter(user__email="new@acme.test")
    assert [(m.organization_id, m.role) for m in memberships] == [(owner.organization.pk, Role.MEMBER)]


def test_tokens_are_hashed_shown_once_and_stop_working_when_revoked(owner: Any) -> None:
    response = owner.client().post(reverse("accounts:api_tokens"), {"name": "grafana"})
    secret = re.search(r'<code id="new-token">([^<]+)</code>', response.content.decode()).group(1)  # type: ignore[union-attr]
    token = ApiToken.objects.get(name="grafana")

    assert token.token_hash == sha256(secret) and secret not in token.token_hash
    assert secret not in owner.client().get(reverse("accounts:api_tokens")).content.decode()
    assert api_token_authenticate(secret) == token
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    owner.client().post(reverse("accounts:api_token_revoke", args=[token.pk]))
    assert api_token_authenticate(secret) is None


def test_the_audit_log_records_who_did_what_from_where_and_exports_csv(owner: Any, teammate: Any) -> None:
    client = owner.client()
    client.post(
        reverse("accounts:member_role", args=[teammate.membership.pk]), {"role": "admin"}, REMOTE_ADDR="203.0.113.9"
    )
    created = client.post(reverse("accounts:api_tokens"), {"name": "ci"}).content.decode()
    secret = re.search(r'<code id="new-token">([^<]+)</code>', created).group(1)  # type: ignore[union-attr]

    event = AuditEvent.objects.get(action="member.role_changed")
    assert (event.actor_label, event.object_repr, event.changes, event.ip) == (
        "owner@acme.test",
        "teammate@acme.test",
        {"role": ["member", "admin"]},
        "203.0.113.9",
    )
    page = client.get(reverse("accounts:audit_log"), {"action": "member.role_changed"}).content.decode()
    assert "teammate@acme.test" in page and "api_token.created" not in page.split("<tbody>")[-1]

    response = client.get(reverse("accounts:audit_log_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["time_utc", "actor", "action"]
    assert {r[2] for r in rows[1:]} == {"member.role_changed", "api_token.created"}
    assert not any(secret in cell for r in rows for cell in r)  # no secret in the log (its prefix names it)


def test_ownership_transfer_swaps_roles(owner: Any, teammate: Any) -> None:
    owner.client().post(reverse("accounts:ownership_transfer"), {"member": teammate.membership.pk})

    assert Membership.objects.get(pk=teammate.membership.pk).role == Role.OWNER
    assert Membership.objects.get(pk=owner.membership.pk).role == Role.ADMIN


def test_required_two_factor_sends_members_to_set_it_up(owner: Any, teammate: Any) -> None:
    owner.client().post(
        reverse("accounts:organization_edit"),
        {
            "name": "Acme",
            "time_zone": "Europe/Tallinn",
            "raw_retention_days": "7",
            "rollup_retention_days": "400",
            "require_two_factor": "on",
        },
    )
    owner.organization.refresh_from_db()
    assert owner.organization.require_two_factor and owner.organization.time_zone == "Europe/Tallinn"

    response = teammate.client().get(reverse("monitoring:overview"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_index")
    assert teammate.client().get(reverse("mfa_index")).status_code == 200


def test_main_pages_send_csp_and_framing_protection(owner: Any) -> None:
    client = owner.client()
    for url in [
        reverse("monitoring:overview"),
        reverse("accounts:settings"),
        reverse("monitoring:resources"),
        reverse("account_login"),
        "/healthz",
    ]:
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_page_carries_an_inline_script(owner: Any) -> None:
    client = owner.client()
    for url in [
        reverse("monitoring:overview"),
        reverse("accounts:settings"),
        reverse("accounts:api_tokens"),
        reverse("accounts:audit_log"),
        reverse("mfa_index"),
    ]:
        html = client.get(url, follow=True).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script on {url}: {tag}"


def test_sessions_are_listed_and_others_can_be_signed_out(owner: Any) -> None:
    Client().post(reverse("account_login"), {"login": owner.user.email, "password": "Correct-horse-42"})
    client = Client()
    client.post(reverse("account_login"), {"login": owner.user.email, "password": "Correct-horse-42"})

    page = client.get(reverse("usersessions_list"))
    assert page.status_code == 200
    from allauth.usersessions.models import UserSession

    assert UserSession.objects.filter(user=owner.user).count() >= 2
