"""Slack: an incoming webhook (https://hooks.slack.com/services/…) and a Block Kit message.

The webhook URL is the credential: it is never logged or shown in full (see `describe`).
Slack-compatible receivers (Mattermost, Rocket.Chat) work too, so the host is not pinned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms

from alerts.http import Attempt, redact_url, validate_url

from .base import ChannelForm, ChannelKind, Delivery, Notice, emoji, register, require_https, truncate

# Block Kit limits: header text 150, section text 3000, 10 fields of 2000 each.
HEADER_MAX = 150
TEXT_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10


class SlackForm(ChannelForm):
    channel_kind = "slack"
    webhook_url = forms.CharField(
        label="Webhook URL",
        max_length=2000,
        help_text="Slack → Apps → Incoming Webhooks → Add New Webhook to Workspace; "
        "it looks like https://hooks.slack.com/services/T…/B…/….",
    )


def mrkdwn_escape(text: str) -> str:
    """Slack's mrkdwn reserves &, < and > (links and mentions); everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(iso: str) -> str:
    """A `<!date…>` token that Slack shows in each reader's time zone, the ISO text as fallback."""
    try:
        unix = int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return mrkdwn_escape(iso)
    return f"<!date^{unix}^{{date_short_pretty}} {{time}}|{mrkdwn_escape(iso)}>"


@register
class SlackChannel(ChannelKind):
    kind = "slack"
    label = "Slack"
    env_flag = "ALERTS_CHANNEL_SLACK"
    form_class = SlackForm
    secret_fields = ("webhook_url",)

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        url = self._field(config, "webhook_url", lambda v: validate_url(str(v or ""), require_https=require_https()))
        return {"webhook_url": url}

    def describe(self, config: dict[str, Any]) -> str:
        return f"Slack webhook {redact_url(config.get('webhook_url', ''))}"

    def payload(self, notice: Notice, config: dict[str, Any]) -> dict[str, Any]:
        mark = emoji(notice)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(f"{mark} {notice.title}", HEADER_MAX)}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": truncate(
                        f"*{notice.label}* · {notice.severity}\n{mrkdwn_escape(notice.summary)}", TEXT_MAX
                    ),
                },
            },
        ]
        facts = notice.facts()[:FIELDS_MAX]
        if facts:
            blocks.append(
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": truncate(f"*{mrkdwn_escape(k)}*\n{mrkdwn_escape(v)}", FIELD_MAX)}
                        for k, v in facts
                    ],
                }
            )
        blocks += [
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{mrkdwn_escape(notice.organization)} · {slack_date(notice.occurred_at)}",
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
                        "url": notice.url,
                    }
                ],
            },
        ]
        # `text` is what notifications and screen readers show; the blocks are the message.
        return {"text": f"{mark} {notice.label}: {notice.title}", "blocks": blocks}

    def send(self, notice: Notice, config: dict[str, Any], delivery: Delivery | None = None) -> list[Attempt]:
        config = self.validate_config(config)
        return self._post(config["webhook_url"], self.payload(notice, config), delivery=delivery)
