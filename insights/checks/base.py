"""The types every check shares, the registry, and the runner (pure: no Django, no I/O).

The engine builds one CheckInput per resource (configuration from discovery, aggregated
metrics, Lambda invocation statistics from the logs), calls `run_checks`, and stores the
results. Checks register themselves when their service module is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import kinds

PILLARS = (
    "operational_excellence",
    "security",
    "reliability",
    "performance_efficiency",
    "cost_optimization",
    "sustainability",
)
SEVERITIES = ("critical", "warning", "info")
# "account": the checks of a whole account × region, not of one resource.
KINDS = (*kinds.ids(), "account")
# Besides the kinds' services: checks of a function's log group ("logs") and of the account.
SERVICES = (*kinds.services(), "logs", "account")


@dataclass(frozen=True)
class InvocationStats:
    """From the function's invocations/rollups over the evaluation window (default 7 days)."""

    invocations: int = 0
    errors: int = 0  # status error only: timeouts and out-of-memory are counted apart
    timeouts: int = 0
    out_of_memory: int = 0
    cold_starts: int = 0
    duration_p50_ms: float | None = None
    duration_p95_ms: float | None = None
    duration_p99_ms: float | None = None
    duration_max_ms: float | None = None
    max_memory_used_mb: int | None = None  # the highest Max Memory Used seen in the window
    init_duration_p95_ms: float | None = None
    gb_seconds: float = 0.0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class CheckInput:
    kind: str
    name: str
    arn: str
    region: str
    config: Mapping[str, Any]  # exactly what discovery stores for that kind
    tags: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)  # "<Namespace>:<Metric>:<Stat>"; absent = no datapoint
    stats: InvocationStats | None = None  # Lambda functions only; None when no logs were collected
    related: Mapping[str, Any] = field(default_factory=dict)
    window_days: int = 7
    today: str = ""  # ISO date the engine evaluates on


@dataclass(frozen=True)
class Result:
    passed: bool
    evidence: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""


Evaluate = Callable[[CheckInput, Mapping[str, float]], Result | None]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    service: str
    kind: str
    pillar: str
    severity: str
    why: str
    fix: str
    docs_url: str
    thresholds: Mapping[str, float]
    evaluate: Evaluate


REGISTRY: dict[str, Check] = {}


def register(check: Check) -> Check:
    """Add a check to the registry; a duplicate id or an unknown pillar, severity or kind is a ValueError."""
    if check.id in REGISTRY:
        raise ValueError(f"duplicate check id {check.id!r}")
    if check.pillar not in PILLARS:
        raise ValueError(f"check {check.id!r}: unknown pillar {check.pillar!r}")
    if check.severity not in SEVERITIES:
        raise ValueError(f"check {check.id!r}: unknown severity {check.severity!r}")
    if check.kind not in KINDS:
        raise ValueError(f"check {check.id!r}: unknown kind {check.kind!r}")
    if check.service not in SERVICES:
        raise ValueError(f"check {check.id!r}: unknown service {check.service!r}")
    REGISTRY[check.id] = check
    return check


def check(
    *,
    id: str,
    title: str,
    service: str,
    kind: str,
    pillar: str,
    severity: str,
    why: str,
    fix: str,
    docs_url: str,
    thresholds: Mapping[str, float] | None = None,
) -> Callable[[Evaluate], Check]:
    """Decorator: turn an evaluate function into a registered Check (the module name is bound to the Check)."""

    def wrap(evaluate: Evaluate) -> Check:
        return register(
            Check(
                id=id,
                title=title,
                service=service,
                kind=kind,
                pillar=pillar,
                severity=severity,
                why=why,
                fix=fix,
                docs_url=docs_url,
                thresholds=dict(thresholds or {}),
                evaluate=evaluate,
            )
        )

    return wrap


def checks_for(kind: str) -> list[Check]:
    return [c for c in REGISTRY.values() if c.kind == kind]


def thresholds_for(check: Check, overrides: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, float]:
    merged = dict(check.thresholds)
    if overrides and check.id in overrides:
        merged.update(overrides[check.id])
    return merged


def run_checks(
    inp: CheckInput, overrides: Mapping[str, Mapping[str, float]] | None = None
) -> list[tuple[Check, Result]]:
    """Evaluate every check of inp.kind; None (not applicable) is skipped, and an exception is a bug: it propagates."""
    results = []
    for c in checks_for(inp.kind):
        result = c.evaluate(inp, thresholds_for(c, overrides))
        if result is not None:
            results.append((c, result))
    return results
