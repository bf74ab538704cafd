"""PagerDuty Events API v2: trigger on opened/reopened/test, resolve on resolved.

`dedup_key` is the incident's stable key, so a reopen re-triggers the same PagerDuty alert
and a resolve closes it. A "test" notice triggers a real alert (PagerDuty has no dry run):
use a dedup key of its own for tests and resolve it afterwards.

The endpoint is `PAGERDUTY_EVENTS_URL` (default https://events.pagerduty.com/v2/enqueue),
set it to https://events.eu.pagerduty.com/v2/enqueue for an EU-hosted PagerDuty account;
tests point it at a local receiver. The routing key is a secret.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings

from alerts.http import Attempt

from .base import ChannelForm, ChannelKind, Delivery, Notice, register, truncate

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_MAX = 1024  # PagerDuty rejects longer summaries
ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
SEVERITIES = {"critical": "critical", "warning": "warning", "info": "info"}
LINK_TEXT = "Open in Dashbird"


class PagerDutyForm(ChannelForm):
    channel_kind = "pagerduty"
    routing_key = forms.CharField(
        label="Integration key",
        min_length=32,
        max_length=32,
        help_text="The 32-character Integration Key of an Events API v2 integration "
        "(PagerDuty → Service → Integrations → Add → Events API V2).",
    )


def _routing_key(value: Any) -> str:
    key = str(value or "").strip()
    if not ROUTING_KEY.match(key):
        raise ValueError("must be the 32-character Events API v2 integration key (letters and digits)")
    return key


def events_url() -> str:
    return str(getattr(settings, "PAGERDUTY_EVENTS_URL", "") or DEFAULT_EVENTS_URL)


@register
class PagerDutyChannel(ChannelKind):
    kind = "pagerduty"
    label = "PagerDuty"
    env_flag = "ALERTS_CHANNEL_PAGERDUTY"
    form_class = PagerDutyForm
    secret_fields = ("routing_key",)

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"routing_key": self._field(config, "routing_key", _routing_key)}

    def describe(self, config: dict[str, Any]) -> str:
        key = str(config.get("routing_key", ""))
        return f"PagerDuty integration …{key[-4:]}" if key else "PagerDuty"

    def payload(self, notice: Notice, config: dict[str, Any]) -> dict[str, Any]:
        if notice.kind == "resolved":
            # PagerDuty ignores anything but these three on a resolve.
            return {"routing_key": config["routing_key"], "event_action": "resolve", "dedup_key": notice.dedup_key}
        details: dict[str, Any] = {**notice.fields, "summary": notice.summary}
        event: dict[str, Any] = {
            "summary": truncate(notice.title, SUMMARY_MAX),
            "source": notice.resource or notice.organization,
            "severity": SEVERITIES[notice.severity],
        }
        if notice.occurred_at:  # an empty timestamp is a 400; PagerDuty then uses its receive time
            event["timestamp"] = notice.occurred_at
        event["custom_details"] = details
        return {
            "routing_key": config["routing_key"],
            "event_action": "trigger",
            "dedup_key": notice.dedup_key,
            "payload": event,
            "links": [{"href": notice.url, "text": LINK_TEXT}],
        }

    def send(self, notice: Notice, config: dict[str, Any], delivery: Delivery | None = None) -> list[Attempt]:
        config = self.validate_config(config)
        return self._post(events_url(), self.payload(notice, config), delivery=delivery)
