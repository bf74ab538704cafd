"""Builders shared by the check catalogue tests (test_checks_*.py): inputs, evaluation, fail/pass cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from insights.checks import REGISTRY, CheckInput, InvocationStats, Result

ARNS = {
    "lambda.function": "arn:aws:lambda:eu-west-1:123456789012:function:orders",
    "apigateway.restapi": "arn:aws:apigateway:eu-west-1::/restapis/a1b2c3",
    "apigateway.httpapi": "arn:aws:apigateway:eu-west-1::/apis/h1h2h3",
    "sqs.queue": "arn:aws:sqs:eu-west-1:123456789012:orders",
    "sns.topic": "arn:aws:sns:eu-west-1:123456789012:orders",
    "dynamodb.table": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
    "kinesis.stream": "arn:aws:kinesis:eu-west-1:123456789012:stream/orders",
    "states.statemachine": "arn:aws:states:eu-west-1:123456789012:stateMachine:orders",
    "events.rule": "arn:aws:events:eu-west-1:123456789012:rule/orders",
    "elb.application": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/orders/50dc6c495c0c9188",
    "elb.network": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/orders/50dc6c495c0c9188",
    "appsync.graphql_api": "arn:aws:appsync:eu-west-1:123456789012:apis/orders1234",
    "ecs.service": "arn:aws:ecs:eu-west-1:123456789012:service/shop/orders",
    "firehose.delivery_stream": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders",
    "account": "arn:aws:iam::123456789012:root",
}


def make(
    kind: str,
    config: Mapping[str, Any] | None = None,
    *,
    metrics: Mapping[str, float] | None = None,
    stats: InvocationStats | None = None,
    related: Mapping[str, Any] | None = None,
    today: str = "",
    window_days: int = 7,
    region: str = "eu-west-1",
) -> CheckInput:
    return CheckInput(
        kind=kind,
        name="orders",
        arn=ARNS[kind],
        region=region,
        config=dict(config or {}),
        metrics=dict(metrics or {}),
        stats=stats,
        related=dict(related or {}),
        window_days=window_days,
        today=today,
    )


def evaluate(check_id: str, inp: CheckInput, **overrides: float) -> Result | None:
    check = REGISTRY[check_id]
    assert check.kind == inp.kind, f"{check_id} applies to {check.kind}, not {inp.kind}"
    return check.evaluate(inp, {**check.thresholds, **overrides})


@dataclass(frozen=True)
class Case:
    """One check: an input that must fail it (with these evidence values) and one that must pass it."""

    check_id: str
    failing: CheckInput
    evidence: Mapping[str, Any]
    passing: CheckInput
    message_contains: tuple[str, ...] = field(default_factory=tuple)


def assert_fails(case: Case) -> Result:
    result = evaluate(case.check_id, case.failing)
    assert result is not None, f"{case.check_id}: not applicable to its failing input"
    assert result.passed is False, f"{case.check_id}: passed: {result.message}"
    for key, value in case.evidence.items():
        assert key in result.evidence, f"{case.check_id}: evidence lacks {key!r}: {dict(result.evidence)}"
        assert result.evidence[key] == value, f"{case.check_id}: evidence[{key!r}] = {result.evidence[key]!r}"
    assert result.message and result.message.endswith("."), f"{case.check_id}: message {result.message!r}"
    for text in case.message_contains:
        assert text in result.message, f"{case.check_id}: {text!r} not in {result.message!r}"
    return result


def assert_passes(case: Case) -> Result:
    result = evaluate(case.check_id, case.passing)
    assert result is not None, f"{case.check_id}: not applicable to its passing input"
    assert result.passed is True, f"{case.check_id}: failed: {result.message}"
    assert result.message, f"{case.check_id}: passing result without a message"
    return result


def service_ids(service: str) -> set[str]:
    return {c.id for c in REGISTRY.values() if c.service == service}
