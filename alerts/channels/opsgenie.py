"""Opsgenie Alerts API v2: create an alert on opened/reopened/occurred/test, close it on resolved.

The alias is the incident's stable dedup key, so Opsgenie de-duplicates a reopen or a new
occurrence into the same open alert (raising its count) and a resolve closes it:

    POST <api>/v2/alerts                                      (create)
    POST <api>/v2/alerts/<alias>/close?identifierType=alias   (close)
    Authorization: GenieKey <API key of an API integration>

The API host depends on where the Opsgenie account lives: `https://api.opsgenie.com` (US)
or `https://api.eu.opsgenie.com` (EU), chosen per channel. `OPSGENIE_API_URL`, when set,
replaces both (tests point it at a local receiver). The key is a secret. Opsgenie answers
202 and processes the request asynchronously.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from django import forms
from django.conf import settings

from alerts.http import Attempt

from .base import ChannelForm, ChannelKind, Delivery, Notice, register, truncate

API_URLS = {"us": "https://api.opsgenie.com", "eu": "https://api.eu.opsgenie.com"}
MESSAGE_MAX = 130  # Opsgenie truncates longer messages
DESCRIPTION_MAX = 15000
ALIAS_MAX = 512
API_KEY = re.compile(r"^[A-Za-z0-9-]{32,64}$")
PRIORITIES = {"critical": "P1", "warning": "P3", "info": "P5"}


class OpsgenieForm(ChannelForm):
    channel_kind = "opsgenie"
    api_key = forms.CharField(
        label="API key",
        max_length=64,
        help_text="The API key of an API integration (Opsgenie → Teams → Integrations → Add → API).",
    )
    region = forms.ChoiceField(
        label="Opsgenie region",
        choices=[("us", "US (api.opsgenie.com)"), ("eu", "EU (api.eu.opsgenie.com)")],
        initial="us",
        help_text="Where your Opsgenie account lives (its URL: app.opsgenie.com or app.eu.opsgenie.com).",
    )


def _api_key(value: Any) -> str:
    key = str(value or "").strip()
    if not API_KEY.match(key):
        raise ValueError("must be the API integration's key (32 to 64 letters, digits and dashes)")
    return key


def _region(value: Any) -> str:
    region = str(value or "us").strip().lower()
    if region not in API_URLS:
        raise ValueError("must be us or eu")
    return region


def api_url(region: str) -> str:
    return str(getattr(settings, "OPSGENIE_API_URL", "") or API_URLS[region]).rstrip("/")


@register
class OpsgenieChannel(ChannelKind):
    kind = "opsgenie"
    label = "Opsgenie"
    env_flag = "ALERTS_CHANNEL_OPSGENIE"
    form_class = OpsgenieForm
    secret_fields = ("api_key",)

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "api_key": self._field(config, "api_key", _api_key),
            "region": self._field(config, "region", _region),
        }

    def describe(self, config: dict[str, Any]) -> str:
        key = str(config.get("api_key", ""))
        region = str(config.get("region", "us")).upper()
        return f"Opsgenie ({region}) API key …{key[-4:]}" if key else "Opsgenie"

    def request(self, notice: Notice, config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(path under the API URL, JSON body): exactly what `send` posts (pure)."""
        alias = notice.dedup_key[:ALIAS_MAX]
        if notice.kind == "resolved":
            return (
                f"/v2/alerts/{quote(alias, safe='')}/close?identifierType=alias",
                {"source": "Dashbird", "note": f"Resolved in Dashbird: {notice.url}"},
            )
        description = f"{notice.summary}\n\nOpen in Dashbird: {notice.url}"
        return (
            "/v2/alerts",
            {
                "message": truncate(notice.title, MESSAGE_MAX),
                "alias": alias,
                "description": truncate(description, DESCRIPTION_MAX),
                "source": "Dashbird",
                "entity": notice.resource or notice.organization,
                "priority": PRIORITIES[notice.severity],
                "details": {**dict(notice.facts()), "url": notice.url, "event": notice.label},
                "tags": ["dashbird", notice.kind],
            },
        )

    def payload(self, notice: Notice, config: dict[str, Any]) -> dict[str, Any]:
        return self.request(notice, config)[1]

    def send(self, notice: Notice, config: dict[str, Any], delivery: Delivery | None = None) -> list[Attempt]:
        config = self.validate_config(config)
        path, body = self.request(notice, config)
        return self._post(
            api_url(config["region"]) + path,
            body,
            delivery=delivery,
            headers={"Authorization": f"GenieKey {config['api_key']}"},
        )
