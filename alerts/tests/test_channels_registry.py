"""The channel registry, the env flags, Notice validation and the configuration forms."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms

from alerts.channels import REGISTRY, ChannelError, ChannelKind, ConfigError, Notice, enabled_kinds, get_kind

from .receiver import sample_notice

KINDS = ["email", "slack", "teams", "pagerduty", "opsgenie", "webhook", "sns"]


def test_every_kind_is_registered_in_ui_order() -> None:
    assert list(REGISTRY) == KINDS
    for key, kind in REGISTRY.items():
        assert isinstance(kind, ChannelKind)
        assert kind.kind == key
        assert kind.label
        assert kind.env_flag == f"ALERTS_CHANNEL_{key.upper()}"
        assert issubclass(kind.form_class, forms.Form)
        assert all(f.help_text for f in kind.form_class.base_fields.values())
        assert set(kind.secret_fields) <= set(kind.form_class.base_fields)


def test_get_kind() -> None:
    assert get_kind("slack") is REGISTRY["slack"]
    with pytest.raises(KeyError):
        get_kind("carrier-pigeon")


def test_all_kinds_enabled_by_default() -> None:
    assert [k.kind for k in enabled_kinds()] == KINDS


@pytest.mark.parametrize("value", ["false", "False", " FALSE ", "0", "off", False])
def test_a_flag_set_to_false_disables_the_kind(settings: Any, value: Any) -> None:
    settings.ALERTS_CHANNEL_SLACK = value
    assert [k.kind for k in enabled_kinds()] == ["email", "teams", "pagerduty", "opsgenie", "webhook", "sns"]


@pytest.mark.parametrize("value", ["true", "1", True, "yes"])
def test_other_flag_values_keep_the_kind(settings: Any, value: Any) -> None:
    settings.ALERTS_CHANNEL_SNS = value
    assert "sns" in [k.kind for k in enabled_kinds()]


def test_the_environment_is_read_when_there_is_no_setting(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    if hasattr(settings, "ALERTS_CHANNEL_TEAMS"):
        del settings.ALERTS_CHANNEL_TEAMS
    monkeypatch.setenv("ALERTS_CHANNEL_TEAMS", "false")
    assert "teams" not in [k.kind for k in enabled_kinds()]


def test_notice_rejects_unknown_kind_and_severity() -> None:
    with pytest.raises(ValueError, match="kind"):
        sample_notice(kind="exploded")
    with pytest.raises(ValueError, match="severity"):
        sample_notice(severity="error")
    assert isinstance(sample_notice(), Notice)


def test_config_error_is_a_value_error_and_a_permanent_channel_error() -> None:
    with pytest.raises(ConfigError) as caught:
        get_kind("webhook").validate_config({"url": "https://example.com/hook", "secret": "short"})
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, ChannelError)
    assert error.permanent is True
    assert error.attempts == []
    assert error.field == "secret"
    assert str(error) == "Signing secret: must be at least 16 characters"


def test_send_with_an_invalid_config_raises_before_any_io() -> None:
    with pytest.raises(ValueError, match="Webhook URL"):
        get_kind("slack").send(sample_notice(), {"webhook_url": "ftp://example.com/x"})


def test_form_puts_validation_errors_on_the_field() -> None:
    form = get_kind("slack").form_class(data={"webhook_url": "http://hooks.slack.com/services/T/B/x"})
    assert not form.is_valid()
    assert form.errors == {"webhook_url": ["must start with https://"]}


def test_form_exposes_the_cleaned_config() -> None:
    form = get_kind("email").form_class(data={"recipients": "a@example.com, b@example.com\nA@example.com"})
    assert form.is_valid(), form.errors
    assert form.config == {"recipients": ["a@example.com", "b@example.com"]}


def test_form_initial_from_config_round_trips() -> None:
    form_class = get_kind("email").form_class
    initial = form_class.initial_from_config({"recipients": ["a@example.com", "b@example.com"]})
    assert initial == {"recipients": "a@example.com\nb@example.com"}
    form = form_class(data=initial)
    assert form.is_valid()
    assert form.config == {"recipients": ["a@example.com", "b@example.com"]}


def test_describe_never_shows_secrets() -> None:
    assert get_kind("slack").describe({"webhook_url": "https://hooks.slack.com/services/T0/B0/secret"}) == (
        "Slack webhook https://hooks.slack.com/…"
    )
    assert get_kind("pagerduty").describe({"routing_key": "a" * 28 + "wxyz"}) == "PagerDuty integration …wxyz"
    assert "sig" not in get_kind("teams").describe({"webhook_url": "https://x.logic.azure.com/wf?sig=secret"})
