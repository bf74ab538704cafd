"""Account → function → invocation drill-down and error triage, in Chromium, on sandbox data."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import AwsAccount, Organization
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from conftest import screenshot
from devtools.sandbox.catalog import functions
from devtools.sandbox.seed import admin_client, create_resources
from devtools.sandbox.traffic import TrafficGenerator
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import ErrorGroup

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REGION = "eu-north-1"


def test_overview_function_invocation_and_error_triage(live_server: Any, page: Any, sandbox: Any) -> None:
    call_command("createorg", name="Acme", owner="ops@acme.test", password="S3cret-pass!", stdout=StringIO())
    org = Organization.objects.get(name="Acme")
    specs = functions(6, seed=31)
    for spec in specs:
        spec.error_rate = 0.2  # enough failures to have error groups
    if not admin_client("lambda", sandbox.endpoint, REGION).list_functions()["Functions"]:
        create_resources(sandbox.endpoint, REGION, specs)
    TrafficGenerator(
        specs,
        logs=admin_client("logs", sandbox.endpoint, REGION),
        cloudwatch=admin_client("cloudwatch", sandbox.endpoint, REGION),
        seed=4,
        per_minute=300,
    ).tick(30)
    account = aws_account_start(organization=org, name="Sandbox")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=[REGION])
    assert aws_account_validate(account=account).ok
    collect_unit(account, REGION)
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
    page.wait_for_selector(".loglines li")
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
