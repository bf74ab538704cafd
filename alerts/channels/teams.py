"""Microsoft Teams: a Workflows incoming webhook ("Post to a channel when a webhook request
is received") and an Adaptive Card. The webhook URL carries its signature (`sig=`) in the
query string, so it is a secret like Slack's."""

from __future__ import annotations

from typing import Any

from django import forms

from alerts.http import Attempt, redact_url, validate_url

from .base import ChannelForm, ChannelKind, Delivery, Notice, emoji, register, require_https

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"  # the newest version Teams renders everywhere (mobile included)
TITLE_COLORS = {"critical": "Attention", "warning": "Warning", "info": "Accent"}


class TeamsForm(ChannelForm):
    channel_kind = "teams"
    webhook_url = forms.CharField(
        label="Workflow webhook URL",
        max_length=2000,
        help_text="In the channel: ⋯ → Workflows → “Post to a channel when a webhook request is received”; "
        "paste the URL it shows (https).",
    )


@register
class TeamsChannel(ChannelKind):
    kind = "teams"
    label = "Microsoft Teams"
    env_flag = "ALERTS_CHANNEL_TEAMS"
    form_class = TeamsForm
    secret_fields = ("webhook_url",)

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        url = self._field(config, "webhook_url", lambda v: validate_url(str(v or ""), require_https=require_https()))
        return {"webhook_url": url}

    def describe(self, config: dict[str, Any]) -> str:
        return f"Teams webhook {redact_url(config.get('webhook_url', ''))}"

    def payload(self, notice: Notice, config: dict[str, Any]) -> dict[str, Any]:
        color = "Good" if notice.kind == "resolved" else TITLE_COLORS[notice.severity]
        facts = [("Event", notice.label), ("Severity", notice.severity), *notice.facts()]
        facts += [("Organization", notice.organization), ("Time", notice.occurred_at)]
        card = {
            "$schema": CARD_SCHEMA,
            "type": "AdaptiveCard",
            "version": CARD_VERSION,
            "body": [
                {
                    "type": "TextBlock",
                    "text": f"{emoji(notice)} {notice.title}",
                    "weight": "Bolder",
                    "size": "Medium",
                    "color": color,
                    "wrap": True,
                },
                {"type": "TextBlock", "text": notice.summary, "wrap": True},
                {"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in facts if value]},
            ],
            "actions": [{"type": "Action.OpenUrl", "title": "Open in Dashbird", "url": notice.url}],
        }
        return {
            "type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }

    def send(self, notice: Notice, config: dict[str, Any], delivery: Delivery | None = None) -> list[Attempt]:
        config = self.validate_config(config)
        return self._post(config["webhook_url"], self.payload(notice, config), delivery=delivery)
