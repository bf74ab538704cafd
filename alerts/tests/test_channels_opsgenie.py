"""Opsgenie Alerts API v2: the exact create and close requests, GenieKey auth, US/EU hosts,
delivery to the receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest

from alerts.channels import ChannelError, ConfigError, get_kind
from alerts.channels.opsgenie import API_URLS, OpsgenieChannel, api_url
from alerts.http import encode_json

from .receiver import Receiver, Reply, sample_notice

opsgenie = cast(OpsgenieChannel, get_kind("opsgenie"))
KEY = "eb243592-faa2-4ba2-a551-1afdf565c889"
CONFIG = {"api_key": KEY, "region": "eu"}
ACCEPTED = Reply(202, '{"result":"Request will be processed","took":0.302,"requestId":"43a29c5c"}')


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    with Receiver() as running:
        settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
        settings.OPSGENIE_API_URL = running.url("")
        yield running


def test_an_opened_incident_creates_an_alert_aliased_by_the_incident_with_a_link_back() -> None:
    body = opsgenie.payload(sample_notice(), CONFIG)
    assert body == {
        "message": "Error rate 12.5 % on orders-create",
        "alias": "dashbird-incident-42",
        "description": "12.5 % of 400 invocations failed in the last 5 minutes (threshold 5 %).\n\n"
        "Open in Dashbird: https://dashbird.example.com/alerts/incidents/42/",
        "source": "Dashbird",
        "entity": "orders-create",
        "priority": "P1",
        "details": {
            "Resource": "orders-create",
            "Rule": "Errors above 5 %",
            "value": "12.5 %",
            "threshold": "5 %",
            "window": "5 min",
            "region": "eu-west-1",
            "url": "https://dashbird.example.com/alerts/incidents/42/",
            "event": "Incident opened",
        },
        "tags": ["dashbird", "opened"],
    }


def test_a_resolution_closes_the_alert_by_its_alias() -> None:
    path, body = opsgenie.request(sample_notice(kind="resolved"), CONFIG)
    assert path == "/v2/alerts/dashbird-incident-42/close?identifierType=alias"
    assert body == {
        "source": "Dashbird",
        "note": "Resolved in Dashbird: https://dashbird.example.com/alerts/incidents/42/",
    }


@pytest.mark.parametrize(("severity", "priority"), [("critical", "P1"), ("warning", "P3"), ("info", "P5")])
def test_severity_sets_the_priority(severity: str, priority: str) -> None:
    assert opsgenie.payload(sample_notice(severity=severity), CONFIG)["priority"] == priority


def test_the_message_is_capped_at_130_characters() -> None:
    message = opsgenie.payload(sample_notice(title="t" * 500), CONFIG)["message"]
    assert len(message) == 130 and message.endswith("…")


def test_the_region_picks_the_api_host(settings: Any) -> None:
    settings.OPSGENIE_API_URL = ""
    assert api_url("us") == API_URLS["us"] == "https://api.opsgenie.com"
    assert api_url("eu") == API_URLS["eu"] == "https://api.eu.opsgenie.com"


def test_the_configuration_is_validated_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"^API key: must be"):
        opsgenie.validate_config({"api_key": "short", "region": "us"})
    with pytest.raises(ConfigError, match=r"^Opsgenie region: must be us or eu"):
        opsgenie.validate_config({"api_key": KEY, "region": "mars"})
    assert opsgenie.validate_config({"api_key": f" {KEY} ", "region": "EU"}) == CONFIG
    assert opsgenie.describe(CONFIG) == f"Opsgenie (EU) API key …{KEY[-4:]}"


@pytest.mark.parametrize(
    ("kind", "path"),
    [("opened", "/v2/alerts"), ("resolved", "/v2/alerts/dashbird-incident-42/close")],
)
def test_send_posts_with_the_genie_key(receiver: Receiver, kind: str, path: str) -> None:
    receiver.script(path, ACCEPTED)
    notice = sample_notice(kind=kind)

    attempts = opsgenie.send(notice, CONFIG)

    assert [(a.status, a.error) for a in attempts] == [(202, "")]
    [request] = receiver.requests
    assert (request.method, request.path.split("?")[0]) == ("POST", path)
    assert request.headers["authorization"] == f"GenieKey {KEY}"
    assert request.body == encode_json(opsgenie.payload(notice, CONFIG))
    if kind == "resolved":
        assert request.path.endswith("?identifierType=alias")


def test_a_rejected_key_is_a_permanent_error_that_does_not_show_the_key(receiver: Receiver) -> None:
    receiver.script("/v2/alerts", Reply(401, json.dumps({"message": "Key format is not valid!"})))

    with pytest.raises(ChannelError) as caught:
        opsgenie.send(sample_notice(), CONFIG)

    assert caught.value.permanent is True
    assert KEY not in str(caught.value)


def test_a_rate_limited_request_is_retried(receiver: Receiver) -> None:
    receiver.script("/v2/alerts", Reply(429, "", {"Retry-After": "0"}), ACCEPTED)
    assert [a.status for a in opsgenie.send(sample_notice(), CONFIG)] == [429, 202]
