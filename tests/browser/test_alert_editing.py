"""Editing alerting in a real browser: a rule's threshold, a channel's URL; the channel's
signing secret stays masked and survives the edit."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Organization
from alerts.models import AlertRule, Channel, Incident
from conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SECRET = "kept-signing-secret-0123456789"


def test_a_rule_threshold_and_a_channel_url_are_edited_and_the_secret_survives(live_server: Any, page: Any) -> None:
    call_command("createorg", name="Acme", owner="ops@acme.test", password="S3cret-pass!", stdout=StringIO())
    org = Organization.objects.get(name="Acme")
    channel = Channel.objects.create(
        organization=org, kind="webhook", name="On-call hook",
        config={"url": "https://hooks.example.com/old", "secret": SECRET},
    )  # fmt: skip
    rule = AlertRule.objects.create(
        organization=org, name="Queue stuck", metric="AWS/SQS:ApproximateAgeOfOldestMessage", statistic="Maximum",
        operator=">", threshold=300, window_minutes=1, evaluation_periods=5, breaching_periods=5,
    )  # fmt: skip
    rule.channels.add(channel)
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "ops@acme.test")
    page.fill("input[name=password]", "S3cret-pass!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/alerts/")
    page.click("text=Queue stuck")
    assert page.input_value("#id_threshold") == "300.0"
    # Only the statistic SQS polls is offered, and the band's high end only for "outside"
    # (once the deferred form script has run).
    page.wait_for_selector("#id_statistic option[disabled]", state="attached")
    offered = page.eval_on_selector_all("#id_statistic option:not([disabled])", "els => els.map(e => e.value)")
    assert offered == ["Maximum"]
    assert not page.is_visible("#id_threshold_upper")
    page.select_option("#id_operator", "outside")
    assert page.is_visible("#id_threshold_upper")
    page.select_option("#id_operator", ">")
    page.fill("#id_threshold", "600")
    screenshot(page, "alert-rule-edit")
    page.click("button:has-text('Save rule')")
    page.wait_for_selector("text=Rule Queue stuck saved.")
    assert (
        "SQS ApproximateAgeOfOldestMessage maximum > 600 over 1 min (5 of 5 windows)"
        in page.locator(f"#rule-{rule.pk} .rule-condition").inner_text()
    )

    page.goto(f"{base}/alerts/channels/{channel.pk}/edit/")
    secret = page.locator("#id_secret")
    assert secret.get_attribute("type") == "password" and secret.input_value() == ""
    assert "••••••••" in (secret.get_attribute("placeholder") or "")
    assert SECRET not in page.content()
    page.fill("#id_url", "https://hooks.example.com/new")
    screenshot(page, "alert-channel-edit")
    page.click("button:has-text('Save channel')")
    page.wait_for_selector("text=Channel On-call hook saved.")

    rule.refresh_from_db()
    channel.refresh_from_db()
    assert rule.threshold == 600
    assert channel.config == {"url": "https://hooks.example.com/new", "secret": SECRET}

    # An incident of the rule: acknowledged from its page, on its timeline with who.
    incident = Incident.objects.create(
        organization=org, rule=rule, rule_name=rule.name, subject=f"r{rule.pk}", title="Queue stuck on emails",
        summary="Latest value: 660.", value=660, opened_at=timezone.now(),
    )  # fmt: skip
    page.goto(f"{base}/alerts/incidents/{incident.pk}/")
    page.click("button:has-text('Acknowledge')")
    page.wait_for_selector("text=Acknowledged: the team sees you are on it.")
    assert "ops@acme.test" in page.locator("#timeline .timeline-acknowledged").inner_text()
    screenshot(page, "alert-incident-timeline")
    page.goto(f"{base}/alerts/")
    screenshot(page, "alerts-index")
