"""Single sign-on in a real browser against a local OpenID Connect provider started by the
test: the sign-in button, the provider's page, back to the dashboard as a member."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import AuditEvent, Membership, Organization, Role
from conftest import PASSWORD, screenshot
from tests.oidc_provider import Identity, OidcProvider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_first_sso_sign_in_lands_in_the_organisation_of_the_domain(
    live_server: Any, page: Any, owner: Any, oidc: OidcProvider
) -> None:
    Organization.objects.filter(pk=owner.organization.pk).update(sso_domain="acme.test", sso_default_role="viewer")
    oidc.identity = Identity(sub="corp-7", email="erin@acme.test", name="Erin")
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    screenshot(page, "sign-in-with-sso")
    page.click("button:has-text('Sign in with Corp ID')")
    page.wait_for_url(re.compile(re.escape(oidc.url) + r"/authorize"))
    assert "Signed in as erin@acme.test" in page.content()
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{base}/")

    assert page.locator(".org-name").inner_text() == "Acme"
    assert page.locator(".usermenu").inner_text().startswith("erin@acme.test")
    membership = Membership.objects.get(user__email="erin@acme.test")
    assert (membership.organization_id, membership.role) == (owner.organization.pk, Role.VIEWER)
    assert AuditEvent.objects.filter(action="member.joined_by_sso", object_repr="erin@acme.test").exists()
    screenshot(page, "signed-in-with-sso")


def test_a_password_sign_in_is_sent_to_sso_where_the_organisation_requires_it(
    live_server: Any, page: Any, teammate: Any, oidc: OidcProvider
) -> None:
    Organization.objects.filter(pk=teammate.organization.pk).update(sso_required=True)
    oidc.identity = Identity(sub="corp-8", email=teammate.user.email)
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", teammate.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign In')")
    page.wait_for_url(f"{base}/")
    assert page.locator("h1").inner_text() == "Acme requires single sign-on"
    screenshot(page, "sso-required")

    page.click("main button:has-text('Sign in with Corp ID')")
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{base}/")
    assert page.locator("h1").inner_text() != "Acme requires single sign-on"
    assert page.locator(".org-name").inner_text() == "Acme"


def test_the_profile_time_zone_changes_the_times_on_pages(live_server: Any, page: Any, owner: Any) -> None:
    from datetime import UTC, datetime

    Membership.objects.filter(pk=owner.membership.pk).update(created_at=datetime(2026, 1, 15, 10, 0, tzinfo=UTC))
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", owner.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign In')")
    page.wait_for_url(f"{base}/")

    page.click(".usermenu a:has-text('Profile')")
    page.select_option("#id_time_zone", "Asia/Kolkata")
    page.check("input[name=date_format][value=dmy]")
    page.click("main button:has-text('Save')")
    page.wait_for_selector("text=Profile saved")
    assert "(Asia/Kolkata)" in page.locator("main").inner_text()

    page.goto(f"{base}/settings/members/{owner.membership.pk}/")
    assert "15 Jan 2026 15:30" in page.locator("main").inner_text()
