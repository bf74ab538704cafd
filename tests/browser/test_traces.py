"""An invocation's execution profile and the service map, in Chromium: plotly draws the
waterfall with the failing call in red, and clicking a function on the map opens its page."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Organization
from accounts.services import aws_account_start
from conftest import screenshot
from kinds import lambda_function
from monitoring.models import Invocation, Resource, Trace
from monitoring.store.partitions import ensure_partitions_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_waterfall_marks_the_failing_call_and_the_map_opens_the_function(live_server: Any, page: Any) -> None:
    call_command("createorg", name="Acme", owner="ops@acme.test", password="S3cret-pass!", stdout=StringIO())
    org = Organization.objects.get(name="Acme")
    account = aws_account_start(organization=org, name="Prod")
    now = timezone.now()
    fn = Resource.objects.create(
        organization=org, account=account, region="us-east-1", kind=lambda_function.KIND, name="checkout",
        arn="arn:aws:lambda:us-east-1:1:function:checkout", config={"tracing": "Active"}, first_seen=now, last_seen=now,
    )  # fmt: skip
    started = now - timedelta(minutes=10)
    ensure_partitions_for("monitoring_invocation", [started])
    ensure_partitions_for("monitoring_trace", [started])
    inv = Invocation.objects.create(
        organization_id=org.pk, account_id=account.pk, resource=fn, request_id="r-1", status="error",
        started_at=started, duration_ms=420, complete=True, log_stream="s", xray_trace_id="1-5e000000-abc",
    )  # fmt: skip
    t = started.timestamp()
    Trace.objects.create(
        organization_id=org.pk, account_id=account.pk, resource_id=fn.pk, invocation_id=inv.pk,
        trace_id="1-5e000000-abc", started_at=started, fetched_at=now, reason="failed",
        spans=[
            {"name": "checkout", "start": t, "end": t + 0.42, "parent": None, "origin": "AWS::Lambda::Function",
             "error": True},
            {"name": "DynamoDB", "namespace": "aws", "operation": "GetItem", "resource": "users", "start": t + 0.01,
             "end": t + 0.03, "parent": 0, "status": 200},
            {"name": "api.payments.example.com", "namespace": "remote", "operation": "POST",
             "resource": "https://api.payments.example.com/v1/charges", "start": t + 0.04, "end": t + 0.4,
             "parent": 0, "status": 503, "fault": True},
        ],
    )  # fmt: skip
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "ops@acme.test")
    page.fill("input[name=password]", "S3cret-pass!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/invocations/{inv.pk}/")
    page.wait_for_selector("[data-figure='fig-waterfall'] .main-svg")
    fills = page.eval_on_selector_all(
        "[data-figure='fig-waterfall'] .bars path", "els => els.map(e => getComputedStyle(e).fill)"
    )
    assert "rgb(220, 38, 38)" in fills  # the 503 from the payments host, in red
    assert "failed" in page.locator("#trace tr[data-state='failed']").inner_text()
    screenshot(page, "execution-trace")

    page.click("nav.sidenav >> text=Service map")
    page.wait_for_selector("[data-figure='fig-service-map'] .main-svg")
    screenshot(page, "service-map")
    node = page.locator("[data-figure='fig-service-map'] .scatterlayer .trace").nth(-2).locator("path.point").first
    box = node.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"{base}/resources/{fn.pk}/")
    assert "api.payments.example.com" in page.locator("#downstream").inner_text()
