"""Notification channels: one stateless `ChannelKind` per kind, registered by its module.

To deliver: `get_kind(channel.kind).send(notice, channel.config)` returns the list of
attempts, or raises ChannelError (`.permanent`, `.attempts`); an invalid stored config
raises ConfigError, which is both a ValueError and a permanent ChannelError.
"""

from __future__ import annotations

from .base import (
    ChannelError,
    ChannelForm,
    ChannelKind,
    ConfigError,
    Delivery,
    Notice,
    _registry,
)

# Importing a kind's module registers it; the order here is the order the UI lists them.
from . import email, slack, teams, pagerduty, opsgenie, webhook, sns  # noqa: F401  isort: skip

REGISTRY: dict[str, ChannelKind] = _registry


def enabled_kinds() -> list[ChannelKind]:
    """The kinds whose flag (ALERTS_CHANNEL_<KIND> setting or environment variable) is not false."""
    return [kind for kind in REGISTRY.values() if kind.enabled()]


def get_kind(kind: str) -> ChannelKind:
    """The registered kind; KeyError for an unknown one."""
    return REGISTRY[kind]


__all__ = [
    "REGISTRY",
    "ChannelError",
    "ChannelForm",
    "ChannelKind",
    "ConfigError",
    "Delivery",
    "Notice",
    "enabled_kinds",
    "get_kind",
]
