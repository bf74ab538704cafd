"""PagerDuty Events API v2: exact trigger and resolve events, delivery to the receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from alerts.channels import ChannelError, ConfigError, get_kind
from alerts.channels.pagerduty import DEFAULT_EVENTS_URL, events_url
from alerts.http import encode_json

from .receiver import Receiver, Reply, sample_notice

pagerduty = get_kind("pagerduty")
KEY = "R0123456789abcdefABCDEF012345678"
CONFIG = {"routing_key": KEY}
ACCEPTED = Reply(202, '{"status":"success","message":"Event processed","dedup_key":"dashbird-incident-42"}')


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    with Receiver() as running:
        settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
        settings.PAGERDUTY_EVENTS_URL = running.url("/v2/enqueue")
        yield running


def test_trigger_event() -> None:
    assert pagerduty.payload(sample_notice(), CONFIG) == {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": "dashbird-incident-42",
        "payload": {
            "summary": "Error rate 12.5 % on orders-create",
            "source": "orders-create",
            "severity": "critical",
            "timestamp": "2026-01-02T03:04:05Z",
            "custom_details": {
                "value": "12.5 %",
                "threshold": "5 %",
                "window": "5 min",
                "region": "eu-west-1",
                "summary": "12.5 % of 400 invocations failed in the last 5 minutes (threshold 5 %).",
            },
        },
        "links": [{"href": "https://dashbird.example.com/alerts/incidents/42/", "text": "Open in Dashbird"}],
    }


def test_resolve_event_carries_only_the_key_and_the_dedup_key() -> None:
    assert pagerduty.payload(sample_notice(kind="resolved"), CONFIG) == {
        "routing_key": KEY,
        "event_action": "resolve",
        "dedup_key": "dashbird-incident-42",
    }


@pytest.mark.parametrize("kind", ["reopened", "test"])
def test_reopened_and_test_trigger(kind: str) -> None:
    assert pagerduty.payload(sample_notice(kind=kind), CONFIG)["event_action"] == "trigger"


@pytest.mark.parametrize("severity", ["critical", "warning", "info"])
def test_severity_maps_one_to_one(severity: str) -> None:
    assert pagerduty.payload(sample_notice(severity=severity), CONFIG)["payload"]["severity"] == severity


def test_source_falls_back_to_the_organization_and_summary_is_capped() -> None:
    event = pagerduty.payload(sample_notice(resource=None, title="t" * 2000), CONFIG)["payload"]
    assert event["source"] == "Acme"
    assert len(event["summary"]) == 1024
    assert event["summary"].endswith("…")


def test_routing_key_must_be_32_characters() -> None:
    with pytest.raises(ConfigError, match=r"^Integration key: must be the 32-character"):
        pagerduty.validate_config({"routing_key": "too-short"})
    assert pagerduty.validate_config({"routing_key": f" {KEY} "}) == CONFIG


def test_events_url_defaults_to_pagerduty(settings: Any) -> None:
    if hasattr(settings, "PAGERDUTY_EVENTS_URL"):
        del settings.PAGERDUTY_EVENTS_URL
    assert events_url() == DEFAULT_EVENTS_URL == "https://events.pagerduty.com/v2/enqueue"


@pytest.mark.parametrize("kind", ["opened", "resolved"])
def test_send_posts_the_event(receiver: Receiver, kind: str) -> None:
    receiver.script("/v2/enqueue", ACCEPTED)
    notice = sample_notice(kind=kind)

    attempts = pagerduty.send(notice, CONFIG)

    assert [(a.status, a.error) for a in attempts] == [(202, "")]
    assert attempts[0].response_excerpt == ACCEPTED.body
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/v2/enqueue")
    assert request.headers["content-type"] == "application/json"
    assert request.body == encode_json(pagerduty.payload(notice, CONFIG))


def test_rate_limited_event_is_retried(receiver: Receiver) -> None:
    receiver.script("/v2/enqueue", Reply(429, "", {"Retry-After": "0"}), ACCEPTED)
    assert [a.status for a in pagerduty.send(sample_notice(), CONFIG)] == [429, 202]


def test_invalid_event_is_a_permanent_error_without_the_key(receiver: Receiver) -> None:
    receiver.script("/v2/enqueue", Reply(400, '{"status":"invalid event","message":"Event object is invalid"}'))

    with pytest.raises(ChannelError) as caught:
        pagerduty.send(sample_notice(), CONFIG)

    assert caught.value.permanent is True
    assert [a.status for a in caught.value.attempts] == [400]
    assert KEY not in str(caught.value)
