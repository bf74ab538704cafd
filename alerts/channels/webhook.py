"""Generic webhook: a documented JSON body, signed with the channel's secret.

Request::

    POST <url>
    Content-Type: application/json
    User-Agent: dashbird-clone-notifier/1
    X-Dashbird-Event: incident.opened        (incident.resolved, incident.reopened, incident.occurred,
                                              incident.test)
    X-Dashbird-Delivery: 5f0c…               (one id per delivery, the same on its retries)
    X-Dashbird-Timestamp: 1767225600         (unix seconds when the delivery started)
    X-Dashbird-Signature: sha256=<hex>

    {"version":1,"event":"incident.opened","incident":{"id":42,"title":"…","summary":"…",
     "severity":"critical","url":"https://…","resource":"orders-create","rule":"…",
     "fields":{"value":"12.5 %",…},"occurred_at":"2026-01-01T00:00:00Z"},
     "organization":"Acme","dedup_key":"dashbird-incident-42"}

Verifying: the signature is the hex HMAC-SHA256, keyed with the secret (UTF-8), of the
bytes `<X-Dashbird-Timestamp>` + `.` + `<the raw request body>` — the body exactly as
received, before any JSON parsing. Compare in constant time and reject timestamps older
than a few minutes (retries reuse the delivery's timestamp and can add up to about two
minutes). In Python, `verify_signature(secret, timestamp, body, signature)` below does it.
`dedup_key` is stable per incident and `X-Dashbird-Delivery` per delivery: use them to
make handling idempotent, since a delivery whose response was lost is sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from typing import Any

from django import forms

from alerts.http import Attempt, encode_json, redact_url, validate_url

from .base import ChannelForm, ChannelKind, Delivery, Notice, register, require_https

SECRET_MIN = 16
SECRET_MAX = 256
VERSION = 1


class WebhookForm(ChannelForm):
    channel_kind = "webhook"
    url = forms.CharField(label="URL", max_length=2000, help_text="Where to POST the JSON (https).")
    secret = forms.CharField(
        label="Signing secret",
        min_length=SECRET_MIN,
        max_length=SECRET_MAX,
        help_text="Shared with your receiver to verify X-Dashbird-Signature "
        f"(HMAC-SHA256 of timestamp + '.' + body); at least {SECRET_MIN} characters.",
    )


def generate_secret() -> str:
    """A fresh signing secret for the form's initial value."""
    return secrets.token_urlsafe(32)


def incident_body(notice: Notice) -> dict[str, Any]:
    """The documented JSON body (also the SNS message)."""
    return {
        "version": VERSION,
        "event": f"incident.{notice.kind}",
        "incident": {
            "id": notice.incident_id,
            "title": notice.title,
            "summary": notice.summary,
            "severity": notice.severity,
            "url": notice.url,
            "resource": notice.resource,
            "rule": notice.rule,
            "fields": dict(notice.fields),
            "occurred_at": notice.occurred_at,
        },
        "organization": notice.organization,
        "dedup_key": notice.dedup_key,
    }


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str, timestamp: int | str, body: bytes | str, signature: str, *, max_age: float | None = 300
) -> bool:
    """True if `signature` (the X-Dashbird-Signature value) signs `timestamp` and `body`, and,
    unless `max_age` is None, the timestamp is at most `max_age` seconds from now."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    try:
        stamp = int(str(timestamp))
    except ValueError:
        return False
    if max_age is not None and abs(time.time() - stamp) > max_age:
        return False
    return hmac.compare_digest(sign(secret, stamp, raw).encode(), signature.strip().encode())


def _secret(value: Any) -> str:
    text = str(value or "")
    if len(text) < SECRET_MIN:
        raise ValueError(f"must be at least {SECRET_MIN} characters")
    if len(text) > SECRET_MAX:
        raise ValueError(f"must be at most {SECRET_MAX} characters")
    return text


@register
class WebhookChannel(ChannelKind):
    kind = "webhook"
    label = "Webhook"
    env_flag = "ALERTS_CHANNEL_WEBHOOK"
    form_class = WebhookForm
    secret_fields = ("secret",)

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        url = self._field(config, "url", lambda v: validate_url(str(v or ""), require_https=require_https()))
        return {"url": url, "secret": self._field(config, "secret", _secret)}

    def describe(self, config: dict[str, Any]) -> str:
        return f"Webhook {redact_url(config.get('url', ''))}"

    def payload(self, notice: Notice, config: dict[str, Any]) -> dict[str, Any]:
        return incident_body(notice)

    def headers(self, notice: Notice, config: dict[str, Any], body: bytes, timestamp: int) -> dict[str, str]:
        return {
            "X-Dashbird-Event": f"incident.{notice.kind}",
            "X-Dashbird-Delivery": uuid.uuid4().hex,
            "X-Dashbird-Timestamp": str(timestamp),
            "X-Dashbird-Signature": sign(config["secret"], timestamp, body),
        }

    def send(self, notice: Notice, config: dict[str, Any], delivery: Delivery | None = None) -> list[Attempt]:
        config = self.validate_config(config)
        payload = self.payload(notice, config)
        # post_json sends encode_json(payload) byte for byte, so this is what gets signed.
        body = encode_json(payload)
        headers = self.headers(notice, config, body, int(time.time()))
        return self._post(config["url"], payload, headers=headers, delivery=delivery)
