"""Slack: the exact Block Kit message, validation, and a delivery to the local receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from alerts.channels import ChannelError, ConfigError, get_kind
from alerts.http import encode_json

from .receiver import Receiver, Reply, sample_notice

slack = get_kind("slack")
HOOK = "/services/T0001/B0002/s3cr3tT0k3n"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def test_payload_is_the_block_kit_message() -> None:
    config = {"webhook_url": "https://hooks.slack.com/services/T/B/x"}
    assert slack.payload(sample_notice(), config) == {
        "text": "🔴 Incident opened: Error rate 12.5 % on orders-create",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "🔴 Error rate 12.5 % on orders-create"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Incident opened* · critical\n"
                    "12.5 % of 400 invocations failed in the last 5 minutes (threshold 5 %).",
                },
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Resource*\norders-create"},
                    {"type": "mrkdwn", "text": "*Rule*\nErrors above 5 %"},
                    {"type": "mrkdwn", "text": "*value*\n12.5 %"},
                    {"type": "mrkdwn", "text": "*threshold*\n5 %"},
                    {"type": "mrkdwn", "text": "*window*\n5 min"},
                    {"type": "mrkdwn", "text": "*region*\neu-west-1"},
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Acme · <!date^1767323045^{date_short_pretty} {time}|2026-01-02T03:04:05Z>",
                    }
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "open_incident",
                        "text": {"type": "plain_text", "text": "Open in Dashbird"},
                        "url": "https://dashbird.example.com/alerts/incidents/42/",
                    }
                ],
            },
        ],
    }


@pytest.mark.parametrize(
    ("kind", "severity", "mark"),
    [
        ("opened", "critical", "🔴"),
        ("reopened", "warning", "🟠"),
        ("test", "info", "🔵"),
        ("resolved", "critical", "✅"),
    ],
)
def test_emoji_follows_kind_and_severity(kind: str, severity: str, mark: str) -> None:
    body = slack.payload(sample_notice(kind=kind, severity=severity), {"webhook_url": "https://h/x"})
    assert body["text"].startswith(f"{mark} ")
    assert body["blocks"][0]["text"]["text"].startswith(f"{mark} ")


def test_mrkdwn_control_characters_are_escaped_and_no_facts_means_no_fields_block() -> None:
    notice = sample_notice(summary="a < b & <!channel>", resource=None, rule=None, fields={})
    body = slack.payload(notice, {"webhook_url": "https://h/x"})
    assert body["blocks"][1]["text"]["text"].endswith("a &lt; b &amp; &lt;!channel&gt;")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context", "actions"]


def test_long_titles_fit_slack_limits() -> None:
    body = slack.payload(sample_notice(title="x" * 500), {"webhook_url": "https://h/x"})
    assert len(body["blocks"][0]["text"]["text"]) == 150


def test_https_is_required_unless_private_targets_are_allowed(settings: Any) -> None:
    with pytest.raises(ConfigError, match="Webhook URL: must start with https://"):
        slack.validate_config({"webhook_url": "http://hooks.slack.com/services/T/B/x"})
    with pytest.raises(ConfigError, match="Webhook URL: is required"):
        slack.validate_config({})
    with pytest.raises(ConfigError, match="non-public address"):
        slack.validate_config({"webhook_url": "https://169.254.169.254/latest"})
    with pytest.raises(ConfigError, match="localhost"):
        slack.validate_config({"webhook_url": "https://localhost/hook"})
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
    assert slack.validate_config({"webhook_url": " http://127.0.0.1:9/x "}) == {"webhook_url": "http://127.0.0.1:9/x"}


def test_send_posts_the_payload(receiver: Receiver, settings: Any) -> None:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
    config = {"webhook_url": receiver.url(HOOK)}
    notice = sample_notice()

    attempts = slack.send(notice, config)

    assert [(a.status, a.error) for a in attempts] == [(200, "")]
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", HOOK)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "dashbird-clone-notifier/1"
    assert request.body == encode_json(slack.payload(notice, config))


def test_send_to_a_private_target_is_refused_by_default(receiver: Receiver) -> None:
    with pytest.raises(ChannelError):
        slack.send(sample_notice(), {"webhook_url": receiver.url(HOOK)})
    assert receiver.requests == []


def test_slack_errors_are_permanent_and_keep_the_secret_out(receiver: Receiver, settings: Any) -> None:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
    receiver.script(HOOK, Reply(404, "no_service"))

    with pytest.raises(ChannelError) as caught:
        slack.send(sample_notice(), {"webhook_url": receiver.url(HOOK)})

    assert caught.value.permanent is True
    assert [(a.status, a.response_excerpt) for a in caught.value.attempts] == [(404, "no_service")]
    assert "s3cr3t" not in str(caught.value)
    assert str(caught.value) == f"Slack: POST http://127.0.0.1:{receiver.port}/… failed: HTTP 404"
