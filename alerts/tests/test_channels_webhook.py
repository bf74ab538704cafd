"""Generic webhook: the documented body, the signature a receiver verifies, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from alerts.channels import ChannelError, ConfigError, get_kind
from alerts.channels.webhook import generate_secret, verify_signature
from alerts.http import encode_json

from .receiver import Receiver, Reply, sample_notice

webhook = get_kind("webhook")
SECRET = "whsec-0123456789abcdef"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def private_ok(settings: Any) -> None:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True


def test_payload_is_the_documented_body() -> None:
    assert webhook.payload(sample_notice(), {"url": "https://example.com/hook", "secret": SECRET}) == {
        "version": 1,
        "event": "incident.opened",
        "incident": {
            "id": 42,
            "title": "Error rate 12.5 % on orders-create",
            "summary": "12.5 % of 400 invocations failed in the last 5 minutes (threshold 5 %).",
            "severity": "critical",
            "url": "https://dashbird.example.com/alerts/incidents/42/",
            "resource": "orders-create",
            "rule": "Errors above 5 %",
            "fields": {"value": "12.5 %", "threshold": "5 %", "window": "5 min", "region": "eu-west-1"},
            "occurred_at": "2026-01-02T03:04:05Z",
        },
        "organization": "Acme",
        "dedup_key": "dashbird-incident-42",
    }


def test_payload_of_a_test_notice_without_incident() -> None:
    body = webhook.payload(sample_notice(kind="test", incident_id=None, resource=None, rule=None), {})
    assert body["event"] == "incident.test"
    assert (body["incident"]["id"], body["incident"]["resource"], body["incident"]["rule"]) == (None, None, None)


def test_config_validation_names_the_field(settings: Any) -> None:
    with pytest.raises(ConfigError, match=r"^URL: must start with https://$"):
        webhook.validate_config({"url": "http://example.com/hook", "secret": SECRET})
    with pytest.raises(ConfigError, match=r"^Signing secret: must be at least 16 characters$"):
        webhook.validate_config({"url": "https://example.com/hook", "secret": ""})
    assert webhook.validate_config({"url": "https://example.com/hook", "secret": SECRET}) == {
        "url": "https://example.com/hook",
        "secret": SECRET,
    }
    assert len(generate_secret()) >= 32


@pytest.mark.usefixtures("private_ok")
def test_send_is_signed_and_the_receiver_can_verify_it(receiver: Receiver) -> None:
    config = {"url": receiver.url("/dashbird?team=ops"), "secret": SECRET}
    notice = sample_notice(kind="resolved")
    before = int(time.time())

    attempts = webhook.send(notice, config)

    assert [a.status for a in attempts] == [200]
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/dashbird?team=ops")
    assert request.body == encode_json(webhook.payload(notice, config))
    assert json.loads(request.body)["event"] == "incident.resolved"
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-dashbird-event"] == "incident.resolved"
    assert before <= int(headers["x-dashbird-timestamp"]) <= int(time.time())
    assert len(headers["x-dashbird-delivery"]) == 32
    # What a receiver does, by hand: HMAC-SHA256 over "<timestamp>.<raw body>".
    expected = hmac.new(SECRET.encode(), headers["x-dashbird-timestamp"].encode() + b"." + request.body, hashlib.sha256)
    assert headers["x-dashbird-signature"] == f"sha256={expected.hexdigest()}"
    assert verify_signature(SECRET, headers["x-dashbird-timestamp"], request.body, headers["x-dashbird-signature"])


def test_verify_signature_rejects_tampering_wrong_secrets_and_old_timestamps() -> None:
    body = b'{"version":1}'
    now = int(time.time())
    signature = "sha256=" + hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert verify_signature(SECRET, now, body, signature)
    assert verify_signature(SECRET, str(now), body.decode(), signature)
    assert not verify_signature(SECRET, now, body + b" ", signature)
    assert not verify_signature("another-secret-of-length", now, body, signature)
    assert not verify_signature(SECRET, now + 1, body, signature)
    assert not verify_signature(SECRET, "yesterday", body, signature)
    old = now - 3600
    old_signature = "sha256=" + hmac.new(SECRET.encode(), f"{old}.".encode() + body, hashlib.sha256).hexdigest()
    assert not verify_signature(SECRET, old, body, old_signature)
    assert verify_signature(SECRET, old, body, old_signature, max_age=None)


@pytest.mark.usefixtures("private_ok")
def test_retries_resend_the_same_signed_delivery(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook, "http_backoff", 0)
    receiver.script("/hook", Reply(500), Reply(502), Reply(204, ""))

    attempts = webhook.send(sample_notice(), {"url": receiver.url("/hook"), "secret": SECRET})

    assert [a.status for a in attempts] == [500, 502, 204]
    sent = receiver.to("/hook")
    assert len(sent) == 3
    assert len({(r.body, r.headers["x-dashbird-delivery"], r.headers["x-dashbird-signature"]) for r in sent}) == 1


@pytest.mark.usefixtures("private_ok")
def test_always_failing_endpoint_raises_a_transient_channel_error(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "http_backoff", 0)
    receiver.script("/hook", Reply(500, "oops"))

    with pytest.raises(ChannelError) as caught:
        webhook.send(sample_notice(), {"url": receiver.url("/hook"), "secret": SECRET})

    assert caught.value.permanent is False
    assert [a.status for a in caught.value.attempts] == [500, 500, 500, 500]
    assert len(receiver.to("/hook")) == 4
    assert SECRET not in str(caught.value)
