"""The resource kinds we monitor: one module per kind holds everything about it (see
docs/kinds.md). Importing this package registers every kind, in the order the product lists
them; everything else reads the registry instead of naming kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws.permissions import COMMON_ACTIONS
from kinds.base import (
    REGISTRY,
    KeyNumber,
    Kind,
    Link,
    MetricSpec,
    Probe,
    Section,
    all_kinds,
    get,
    register,
    series_key,
    series_label,
)

# Importing a kind's module registers it; the order here is the order the UI lists them.
from kinds import (  # noqa: F401  isort: skip
    lambda_function,
    apigateway,
    sqs_queue,
    sns_topic,
    dynamodb_table,
    kinesis_stream,
    firehose_stream,
    state_machine,
    eventbridge_rule,
    load_balancer,
    appsync_api,
    ecs_service,
)


def ids() -> list[str]:
    return list(REGISTRY)


def choices() -> list[tuple[str, str]]:
    """(id, label) of every kind: the model field's choices and the filters' options."""
    return [(k.id, k.label) for k in REGISTRY.values()]


_LABELS: dict[str, str] = {}


def labels() -> dict[str, str]:
    """{id: label} of every kind, kept until a kind is registered."""
    if len(_LABELS) != len(REGISTRY):
        _LABELS.clear()
        _LABELS.update(choices())
    return _LABELS


def required_actions() -> dict[str, str]:
    """Every IAM action the read-only role grants, with why: the kinds' describers', then
    the kind-independent ones (logs, metrics). The CloudFormation template and the README
    list exactly these."""
    actions: dict[str, str] = {}
    for kind in REGISTRY.values():
        for action, why in kind.actions.items():
            actions.setdefault(action, why)
    return {**actions, **COMMON_ACTIONS}


def probes() -> list[Probe]:
    """The kinds' validation probes, in registry order, each (service, operation) once."""
    seen: set[tuple[str, str]] = set()
    out: list[Probe] = []
    for kind in REGISTRY.values():
        for service, operation, params in kind.probes:
            if (service, operation) not in seen:
                seen.add((service, operation))
                out.append((service, operation, params))
    return out


def poll_defaults() -> dict[str, int]:
    """Seconds between metric polls of the kinds that say so (the rest use the default)."""
    return {k.id: k.poll_seconds for k in REGISTRY.values() if k.poll_seconds is not None}


def services() -> list[str]:
    """The insights services of the kinds, each once, in registry order."""
    return list(dict.fromkeys(k.service for k in REGISTRY.values()))


def details(kind_id: str, config: Mapping[str, Any]) -> str:
    """The resources list's one-line summary of a resource ("" for a kind no longer known)."""
    kind = REGISTRY.get(kind_id)
    return kind.details(config or {}) if kind else ""


REQUIRED_ACTIONS: dict[str, str] = required_actions()

__all__ = [
    "REGISTRY",
    "REQUIRED_ACTIONS",
    "KeyNumber",
    "Kind",
    "Link",
    "MetricSpec",
    "Probe",
    "Section",
    "all_kinds",
    "choices",
    "details",
    "get",
    "ids",
    "poll_defaults",
    "probes",
    "register",
    "required_actions",
    "series_key",
    "series_label",
    "services",
]
