"""Account → function → invocation drill-down and error triage, in Chromium, on sandbox data."""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import screenshot
from monitoring.models import ErrorGroup
from tests.browser.sandbox_world import sandbox_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REGION = "eu-north-1"


def test_overview_function_invocation_and_error_triage(live_server: Any, page: Any, sandbox: Any) -> None:
    org, _account = sandbox_world(sandbox, REGION, count=6, seed=31, traffic_seed=4, per_minute=300, minutes=30)
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "ops@acme.test")
    page.fill("input[name=password]", "S3cret-pass!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.wait_for_selector(".kpi")
    invocations_kpi = page.locator(".kpi").first.locator(".kpi-value").inner_text()
    assert int(invocations_kpi.replace(",", "")) > 0
    page.wait_for_selector("[data-figure='fig-invocations'] .main-svg")  # plotly drew under the CSP
    screenshot(page, "overview")

    page.click(".tops a >> nth=0")
    page.wait_for_selector("#invocations table")
    screenshot(page, "function")
    page.click("#invocations table a >> nth=0")
    page.wait_for_selector(".loglines li")
    assert (
        "START RequestId" in page.locator(".loglines").inner_text()
        or "platform.start" in page.locator(".loglines").inner_text()
    )
    screenshot(page, "invocation")

    page.goto(f"{base}/logs/")
    page.fill("#f-q", "REPORT RequestId")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r"q=REPORT\+RequestId"))  # the page's script fetches the results
    page.wait_for_selector("#log-results:not([aria-busy]) .loglines li")
    assert all("REPORT RequestId" in t for t in page.locator(".loglines pre").all_inner_texts())
    screenshot(page, "logs")
    page.click(".loglines .inv-link >> nth=0")
    page.wait_for_selector("text=Log lines")

    page.goto(f"{base}/errors/")
    group_count = ErrorGroup.objects.filter(organization=org, status="open").count()
    assert group_count > 0
    page.click("table button:has-text('Resolve') >> nth=0")
    page.wait_for_selector("text=Marked resolved.")
    assert ErrorGroup.objects.filter(organization=org, status="resolved").count() == 1
    screenshot(page, "errors")

    page.goto(f"{base}/errors/?status=resolved")
    page.click("table a >> nth=0")
    page.wait_for_selector("text=Sample invocations")
    assert re.search(r"\d+ occurrences", page.content())
