"""An invitation accepted in a real browser lands the new member in the right organisation
with the invited role."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.models import Membership, Role
from conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_an_invited_person_signs_up_and_joins_with_the_invited_role(live_server: Any, page: Any, browser: Any) -> None:
    call_command("createorg", name="Acme", owner="ops@acme.test", password="S3cret-pass!", stdout=StringIO())
    base = live_server.url

    sign_in(page, base, "ops@acme.test", "S3cret-pass!")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/settings/")
    page.fill("#id_email", "dana@acme.test")
    page.select_option("#id_role", "viewer")
    page.click("#invitations button[type=submit]")
    page.wait_for_selector("text=Invitation sent to dana@acme.test.")
    screenshot(page, "settings-invitation-sent")
    link = re.search(r"https?://[^/\s]+(/invitations/[^\s/]+/)", str(mail.outbox[-1].body))
    assert link

    guest = browser.new_context().new_page()
    guest.goto(f"{base}{link.group(1)}")
    assert "Join Acme" in guest.content()
    screenshot(guest, "invitation")
    guest.click("text=Create your account")
    guest.fill("input[name=email]", "dana@acme.test")
    guest.fill("input[name=password1]", "Dana-long-pass-7")
    guest.fill("input[name=password2]", "Dana-long-pass-7")
    guest.click("button[type=submit]")
    guest.wait_for_url(re.compile(r"/invitations/"))
    guest.click("button:has-text('Accept and join')")
    guest.wait_for_url(f"{base}/")

    assert guest.locator(".org-name").inner_text() == "Acme"
    membership = Membership.objects.get(user__email="dana@acme.test")
    assert (membership.organization.name, membership.role) == ("Acme", Role.VIEWER)
    guest.goto(f"{base}/settings/")
    assert "your role: Viewer" in guest.locator(".page-head .muted").inner_text()
    screenshot(guest, "settings-as-invited-viewer")
