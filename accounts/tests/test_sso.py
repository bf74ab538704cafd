"""Single sign-on against a local OpenID Connect provider (tests/oidc_provider.py):
the sign-in button, just-in-time membership, "require SSO for members" and its settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Organization, Role
from accounts.services import user_create_verified
from conftest import PASSWORD
from tests.oidc_provider import Identity, OidcProvider

pytestmark = pytest.mark.django_db


def sso_sign_in(client: Client, oidc: OidcProvider, email: str, *, verified: bool = True, sub: str = "") -> Any:
    """The whole authorization-code flow: our login view, the provider's consent, our
    callback (which exchanges the code with the provider over HTTP). The callback's answer."""
    oidc.identity = Identity(sub=sub or f"sub-{email}", email=email, email_verified=verified)
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": "corp"}), {"process": "login"})
    assert start.status_code == 302 and start["Location"].startswith(f"{oidc.url}/authorize"), start
    query = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    consent = requests.post(f"{oidc.url}/authorize", data=query, allow_redirects=False, timeout=10)
    callback = urlsplit(consent.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_the_sign_in_page_offers_sso_only_when_it_is_configured(db: Any, settings: Any) -> None:
    assert "Sign in with" not in Client().get(reverse("account_login")).content.decode()


def test_the_sign_in_page_offers_the_configured_provider(oidc: OidcProvider) -> None:
    page = Client().get(reverse("account_login")).content.decode()
    assert "Sign in with Corp ID" in page
    assert reverse("openid_connect_login", kwargs={"provider_id": "corp"}) in page


def test_a_first_sso_sign_in_at_the_domain_joins_with_the_default_role(owner: Any, oidc: OidcProvider) -> None:
    Organization.objects.filter(pk=owner.organization.pk).update(sso_domain="acme.test", sso_default_role="member")
    client = Client()

    response = sso_sign_in(client, oidc, "erin@acme.test")

    assert response.status_code == 302 and response["Location"] == reverse("monitoring:overview")
    membership = Membership.objects.get(user__email="erin@acme.test")
    assert (membership.organization, membership.role) == (owner.organization, Role.MEMBER)
    event = AuditEvent.objects.get(action="member.joined_by_sso")
    assert (event.organization, event.actor_label, event.changes["role"]) == (
        owner.organization,
        "erin@acme.test",
        [None, "member"],
    )
    assert client.get(reverse("monitoring:overview")).status_code == 200
    assert oidc.token_requests == 1

    # A second sign-in neither joins again nor changes a role an admin has since set.
    Membership.objects.filter(pk=membership.pk).update(role=Role.ADMIN)
    sso_sign_in(Client(), oidc, "erin@acme.test")
    assert list(Membership.objects.filter(user__email="erin@acme.test").values_list("role", flat=True)) == ["admin"]
    assert AuditEvent.objects.filter(action="member.joined_by_sso").count() == 1


def test_an_address_the_provider_does_not_vouch_for_joins_nothing(owner: Any, oidc: OidcProvider) -> None:
    Organization.objects.filter(pk=owner.organization.pk).update(sso_domain="acme.test")
    sso_sign_in(Client(), oidc, "mallory@acme.test", verified=False)
    assert not Membership.objects.filter(user__email="mallory@acme.test").exists()


def test_another_domain_joins_nothing(owner: Any, oidc: OidcProvider) -> None:
    Organization.objects.filter(pk=owner.organization.pk).update(sso_domain="acme.test")
    response = sso_sign_in(Client(), oidc, "pat@globex.test")
    assert response.status_code == 302
    assert not Membership.objects.filter(user__email="pat@globex.test").exists()


def test_a_password_sign_in_is_refused_where_sso_is_required_and_sso_opens_the_pages(
    teammate: Any, oidc: OidcProvider
) -> None:
    Organization.objects.filter(pk=teammate.organization.pk).update(sso_required=True)
    client = Client()
    assert client.login(username=teammate.user.email, password=PASSWORD)

    refused = client.get(reverse("monitoring:overview"))

    assert refused.status_code == 403
    page = refused.content.decode()
    assert "Acme requires single sign-on" in page and "Sign in with Corp ID" in page
    assert client.get(reverse("monitoring:resources")).status_code == 403
    # Account pages stay open, so that one can sign in with SSO or out.
    assert client.get(reverse("accounts:profile")).status_code == 200

    # The provider vouches for the same address: the same person, now signed in with SSO.
    sso_sign_in(client, oidc, teammate.user.email)
    assert client.get(reverse("monitoring:overview")).status_code == 200
    assert User.objects.filter(email=teammate.user.email).count() == 1


def test_owners_are_exempt_so_that_they_can_always_switch_it_off(owner: Any, oidc: OidcProvider) -> None:
    Organization.objects.filter(pk=owner.organization.pk).update(sso_required=True)
    client = Client()
    assert client.login(username=owner.user.email, password=PASSWORD)
    assert client.get(reverse("monitoring:overview")).status_code == 200


def test_without_sso_configured_the_refusal_page_says_to_ask_an_owner(teammate: Any) -> None:
    Organization.objects.filter(pk=teammate.organization.pk).update(sso_required=True)
    response = teammate.client().get(reverse("monitoring:overview"))
    assert response.status_code == 403
    assert "not configured on this installation" in response.content.decode()


def _admin(owner: Any, email: str = "ada@acme.test") -> User:
    user = user_create_verified(email=email, password=PASSWORD)
    Membership.objects.create(organization=owner.organization, user=user, role=Role.ADMIN)
    return user


def test_requiring_sso_needs_a_sso_sign_in_first_and_is_audited(owner: Any, oidc: OidcProvider) -> None:
    admin = _admin(owner)
    form = {"sso_required": "on", "sso_domain": "", "sso_default_role": "viewer"}
    by_password = Client()
    assert by_password.login(username=admin.email, password=PASSWORD)

    response = by_password.post(reverse("accounts:sso_settings"), form, follow=True)
    assert "Sign in with single sign-on first" in response.content.decode()
    assert not Organization.objects.get(pk=owner.organization.pk).sso_required

    by_sso = Client()
    sso_sign_in(by_sso, oidc, admin.email)
    response = by_sso.post(reverse("accounts:sso_settings"), form, follow=True)
    assert "Single sign-on settings saved." in response.content.decode()
    assert Organization.objects.get(pk=owner.organization.pk).sso_required
    event = AuditEvent.objects.get(action="organization.sso_updated")
    assert (event.actor_label, event.changes) == (admin.email, {"sso_required": [False, True]})


def test_requiring_sso_is_refused_while_it_is_not_configured(owner: Any) -> None:
    response = owner.client().post(
        reverse("accounts:sso_settings"), {"sso_required": "on", "sso_default_role": "viewer"}, follow=True
    )
    assert "not configured on this installation" in response.content.decode()
    assert not Organization.objects.get(pk=owner.organization.pk).sso_required


def test_a_jit_domain_must_be_one_s_own_and_belongs_to_one_organisation(owner: Any, outsider: Any) -> None:
    form = {"sso_default_role": "member"}
    response = owner.client().post(reverse("accounts:sso_settings"), {**form, "sso_domain": "globex.test"}, follow=True)
    assert "only use the domain of your own verified e-mail address" in response.content.decode()

    response = owner.client().post(reverse("accounts:sso_settings"), {**form, "sso_domain": "@ACME.test"}, follow=True)
    assert "Single sign-on settings saved." in response.content.decode()
    organization = Organization.objects.get(pk=owner.organization.pk)
    assert (organization.sso_domain, organization.sso_default_role) == ("acme.test", "member")

    rival = user_create_verified(email="eve@acme.test", password=PASSWORD)
    Membership.objects.create(organization=outsider.organization, user=rival, role=Role.OWNER)
    client = Client()
    client.force_login(rival)
    response = client.post(reverse("accounts:sso_settings"), {**form, "sso_domain": "acme.test"}, follow=True)
    assert "acme.test already belongs to another organisation." in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"sso_domain": "x" * 100_000, "sso_default_role": "viewer"},
        {"sso_domain": "acme.test\x00", "sso_default_role": "viewer"},
        {"sso_domain": "<script>alert(1)</script>", "sso_default_role": "viewer"},
        {"sso_domain": "acme.test", "sso_default_role": "owner"},
        {"sso_domain": "acme.test", "sso_default_role": "x" * 50_000},
        {"sso_required": ["on", "off"] * 1000, "sso_default_role": ["viewer"] * 1000},
    ],
)
def test_hostile_sso_settings_change_nothing_and_never_fail(owner: Any, data: dict[str, Any]) -> None:
    response = owner.client().post(reverse("accounts:sso_settings"), data)
    assert response.status_code in (302, 400)
    organization = Organization.objects.get(pk=owner.organization.pk)
    assert (organization.sso_domain, organization.sso_default_role) in (("", "viewer"), ("acme.test", "viewer"))
    assert not organization.sso_required


def test_members_may_not_change_sso_settings(teammate: Any) -> None:
    response = teammate.client().post(
        reverse("accounts:sso_settings"), {"sso_domain": "acme.test", "sso_default_role": "admin"}
    )
    assert response.status_code == 403
    assert Organization.objects.get(pk=teammate.organization.pk).sso_domain == ""


def test_forms_may_lead_to_the_provider_and_nowhere_else(db: Any, oidc: OidcProvider) -> None:
    # Browsers apply form-action to the redirect after "Sign in with …": without the
    # provider's origin there, the button does nothing (the browser test caught this).
    csp = Client().get(reverse("account_login")).headers["Content-Security-Policy"]
    assert f"form-action 'self' {oidc.url};" in csp
