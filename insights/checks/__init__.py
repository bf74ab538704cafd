"""The Well-Architected insights check catalogue (pure: no Django).

Importing this package registers every check. The engine builds a CheckInput per resource and calls
`run_checks`; `REGISTRY` lists every check with its documentation for the UI.
"""

from __future__ import annotations

from insights.checks import (  # noqa: F401 - imported for their registrations
    account,
    apigateway,
    appsync,
    dynamodb,
    ecs,
    elb,
    eventbridge,
    firehose,
    kinesis,
    lambda_,
    logs,
    sns,
    sqs,
    stepfunctions,
)
from insights.checks.base import (
    KINDS,
    PILLARS,
    REGISTRY,
    SERVICES,
    SEVERITIES,
    Check,
    CheckInput,
    InvocationStats,
    Result,
    check,
    checks_for,
    register,
    run_checks,
    thresholds_for,
)
from insights.checks.helpers import public_statements

__all__ = [
    "KINDS",
    "PILLARS",
    "REGISTRY",
    "SERVICES",
    "SEVERITIES",
    "Check",
    "CheckInput",
    "InvocationStats",
    "Result",
    "check",
    "checks_for",
    "public_statements",
    "register",
    "run_checks",
    "thresholds_for",
]
