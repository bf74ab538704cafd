"""The sign-in journeys in a real browser (headless Chromium through Playwright)."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_verify_email_and_land_on_the_overview(live_server: Any, page: Any) -> None:
    page.goto(f"{live_server.url}/accounts/signup/")
    screenshot(page, "signup")
    page.fill("input[name=email]", "lead@initech.test")
    page.fill("input[name=organization_name]", "Initech")
    page.fill("input[name=password1]", "A-long-enough-pass-9")
    page.fill("input[name=password2]", "A-long-enough-pass-9")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    assert "Verify Your Email Address" in page.content()

    assert len(mail.outbox) == 1
    link = re.search(r"(/accounts/confirm-email/[^\s]+/)", str(mail.outbox[0].body))
    assert link
    page.goto(f"{live_server.url}{link.group(1)}")
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator(".org-name").inner_text() == "Initech"
    screenshot(page, "overview-empty")


def test_an_operator_created_owner_logs_in_through_the_form(live_server: Any, page: Any) -> None:
    call_command("createorg", name="Acme", owner="ops@acme.test", password="S3cret-pass!", stdout=StringIO())

    page.goto(f"{live_server.url}/")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    screenshot(page, "login")
    page.fill("input[name=login]", "ops@acme.test")
    page.fill("input[name=password]", "S3cret-pass!")
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Overview"
    assert "Acme" in page.locator(".topbar").inner_text()
    nav = page.locator("nav.sidenav a").all_inner_texts()
    assert nav == ["Overview", "Resources", "Errors", "Logs", "Service map", "Insights", "Alerts", "Settings"]


def test_the_organisation_switcher_changes_what_the_pages_show(live_server: Any, page: Any) -> None:
    call_command("createorg", name="Acme", owner="ops@acme.test", password="S3cret-pass!", stdout=StringIO())
    call_command("createorg", name="Globex", owner="ops@acme.test", stdout=StringIO())

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "ops@acme.test")
    page.fill("input[name=password]", "S3cret-pass!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("nav.sidenav >> text=Settings")
    assert page.locator(".page-head .muted").inner_text().startswith("Acme")

    page.select_option("#org-switch", label="Globex")  # submits itself (progressive enhancement)
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("text=Switched to Globex.")
    assert page.url.endswith("/settings/")
    assert page.locator(".page-head .muted").inner_text().startswith("Globex")
    assert page.input_value("#id_name") == "Globex"
    screenshot(page, "settings-after-switch")
