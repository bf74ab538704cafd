"""Microsoft Teams: the exact Adaptive Card message and a delivery to the receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from alerts.channels import ChannelError, ConfigError, get_kind
from alerts.http import encode_json

from .receiver import Receiver, Reply, sample_notice

teams = get_kind("teams")
WORKFLOW = "/workflows/abc/triggers/manual/paths/invoke"
QUERY = "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s3cr3tSig"


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    with Receiver() as running:
        settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
        yield running


def test_payload_is_an_adaptive_card_message() -> None:
    assert teams.payload(sample_notice(), {"webhook_url": "https://x/y"}) == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "🔴 Error rate 12.5 % on orders-create",
                            "weight": "Bolder",
                            "size": "Medium",
                            "color": "Attention",
                            "wrap": True,
                        },
                        {
                            "type": "TextBlock",
                            "text": "12.5 % of 400 invocations failed in the last 5 minutes (threshold 5 %).",
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "Event", "value": "Incident opened"},
                                {"title": "Severity", "value": "critical"},
                                {"title": "Resource", "value": "orders-create"},
                                {"title": "Rule", "value": "Errors above 5 %"},
                                {"title": "value", "value": "12.5 %"},
                                {"title": "threshold", "value": "5 %"},
                                {"title": "window", "value": "5 min"},
                                {"title": "region", "value": "eu-west-1"},
                                {"title": "Organization", "value": "Acme"},
                                {"title": "Time", "value": "2026-01-02T03:04:05Z"},
                            ],
                        },
                    ],
                    "actions": [
                        {
                            "type": "Action.OpenUrl",
                            "title": "Open in Dashbird",
                            "url": "https://dashbird.example.com/alerts/incidents/42/",
                        }
                    ],
                },
            }
        ],
    }


@pytest.mark.parametrize(
    ("kind", "severity", "color"),
    [("opened", "critical", "Attention"), ("opened", "warning", "Warning"), ("resolved", "critical", "Good")],
)
def test_title_colour(kind: str, severity: str, color: str) -> None:
    card = teams.payload(sample_notice(kind=kind, severity=severity), {})["attachments"][0]["content"]
    assert card["body"][0]["color"] == color


def test_https_only_by_default() -> None:
    with pytest.raises(ConfigError, match=r"^Workflow webhook URL: must start with https://$"):
        teams.validate_config({"webhook_url": "http://prod-00.westeurope.logic.azure.com/workflows/x"})


def test_send_posts_the_card(receiver: Receiver) -> None:
    config = {"webhook_url": receiver.url(WORKFLOW + QUERY)}
    notice = sample_notice()
    receiver.script(WORKFLOW, Reply(202, ""))

    attempts = teams.send(notice, config)

    assert [a.status for a in attempts] == [202]
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", WORKFLOW + QUERY)
    assert request.headers["content-type"] == "application/json"
    assert request.body == encode_json(teams.payload(notice, config))


def test_failure_message_hides_the_signature(receiver: Receiver) -> None:
    receiver.script(WORKFLOW, Reply(401, "DirectApiAuthorizationRequired"))

    with pytest.raises(ChannelError) as caught:
        teams.send(sample_notice(), {"webhook_url": receiver.url(WORKFLOW + QUERY)})

    assert caught.value.permanent is True
    assert "s3cr3t" not in str(caught.value)
    assert "workflows" not in str(caught.value)
