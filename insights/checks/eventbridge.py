"""EventBridge rule checks: failed invocations, targets' dead-letter queues and retries, rules going nowhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import as_dict, as_list, count, days, fmt, metric, percent

KIND = "events.rule"
SERVICE = "eventbridge"
DOCS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/"
NS = "AWS/Events"


def _targets(inp: CheckInput) -> list[Mapping[str, Any]] | None:
    if "targets" not in inp.config:
        return None
    return [as_dict(t) for t in as_list(inp.config.get("targets"))]


def _target_label(target: Mapping[str, Any]) -> str:
    return str(target.get("arn") or target.get("id"))


@check(
    id="eventbridge-failed-invocations",
    title="EventBridge rule failing to invoke its targets",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="FailedInvocations counts events EventBridge gave up delivering to a target after all retries (24 hours by "
    "default): a missing permission, a deleted target, or a target throttling. Without a target DLQ each one is a "
    "lost event.",
    fix="Check the target's resource policy or the rule's role (lambda:InvokeFunction, sqs:SendMessage, "
    "states:StartExecution…), that the target still exists, and add a DLQ to each target to keep failed events.",
    docs_url=DOCS + "eb-monitoring.html",
    # FailedInvocations are counted after EventBridge's retries are exhausted: every one is an undelivered event.
    thresholds={"min_failed": 1},
)
def failed_invocations(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    failed = count(inp, f"{NS}:FailedInvocations:Sum")
    invocations = metric(inp, f"{NS}:Invocations:Sum")
    if failed is None:
        return None
    evidence: dict[str, Any] = {"failed_invocations": failed, "invocations": invocations}
    if invocations:
        evidence["failure_rate_percent"] = percent(failed, invocations)
    if failed >= th["min_failed"]:
        of = f" of {fmt(invocations)}" if invocations else ""
        return Result(False, evidence, f"{fmt(failed)}{of} target invocations failed over {days(inp)}.")
    return Result(True, evidence, f"No failed target invocation over {days(inp)}.")


@check(
    id="eventbridge-target-no-dlq",
    title="EventBridge target without a dead-letter queue",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="When EventBridge cannot deliver an event to a target (permission, deleted target, throttling beyond the "
    "retry policy) the event is dropped unless the target has a dead-letter queue.",
    fix="Add an SQS dead-letter queue to each target (Rule → Targets → Additional settings → Dead-letter queue, "
    "`DeadLetterConfig: {Arn: …}`) and allow events.amazonaws.com to send to it.",
    docs_url=DOCS + "eb-rule-dlq.html",
    thresholds={},
)
def target_no_dlq(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    targets = _targets(inp)
    if not targets:
        return None
    missing = [_target_label(t) for t in targets if not t.get("dead_letter_target")]
    if missing:
        return Result(
            False,
            {"targets": missing, "target_count": len(targets)},
            f"{len(missing)} of {len(targets)} target(s) have no dead-letter queue: {', '.join(missing)}.",
        )
    return Result(True, {"target_count": len(targets)}, "Every target has a dead-letter queue.")


@check(
    id="eventbridge-target-retries-disabled",
    title="EventBridge target with retries disabled",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="info",
    why="A retry policy of 0 attempts gives up on the first delivery error, even a momentary throttle of the "
    "target, which the default policy (185 attempts over 24 hours) would have absorbed.",
    fix="Raise MaximumRetryAttempts on the target's retry policy (or remove it to get the default), and keep "
    "MaximumEventAgeInSeconds long enough for the target to recover.",
    docs_url=DOCS + "eb-rule-dlq.html",
    thresholds={"min_retry_attempts": 1},
)
def target_retries_disabled(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    targets = _targets(inp)
    if not targets:
        return None
    no_retry = [
        _target_label(t)
        for t in targets
        if isinstance(t.get("maximum_retry_attempts"), int) and t["maximum_retry_attempts"] < th["min_retry_attempts"]
    ]
    if no_retry:
        return Result(
            False,
            {"targets": no_retry, "target_count": len(targets)},
            f"{len(no_retry)} of {len(targets)} target(s) are not retried: {', '.join(no_retry)}.",
        )
    return Result(True, {"target_count": len(targets)}, "Every target is retried on failure.")


@check(
    id="eventbridge-rule-no-targets",
    title="Enabled EventBridge rule without targets",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="warning",
    why="The rule is enabled and matches events (or fires on its schedule) but has no target: whatever it was meant "
    "to trigger does not happen, and nothing reports it.",
    fix="Add the intended target (Rule → Targets → Edit), or disable or delete the rule if it is no longer needed.",
    docs_url=DOCS + "eb-rules.html",
    thresholds={},
)
def rule_no_targets(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    targets = _targets(inp)
    state = inp.config.get("state")
    if targets is None or state is None:
        return None
    evidence = {"state": state, "target_count": len(targets)}
    if state == "ENABLED" and not targets:
        return Result(False, evidence, "The rule is enabled but has no target.")
    return Result(True, evidence, f"The rule is {str(state).lower()} with {len(targets)} target(s).")


@check(
    id="eventbridge-rule-disabled",
    title="EventBridge rule disabled",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="info",
    why="The rule is disabled: its events or schedule trigger nothing. That is fine during maintenance, but rules "
    "left disabled are often forgotten switches whose targets silently stopped receiving work.",
    fix="Re-enable the rule (`aws events enable-rule --name …`) if its targets should run, or delete it.",
    docs_url=DOCS + "eb-rules.html",
    thresholds={},
)
def rule_disabled(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    state = inp.config.get("state")
    if state is None:
        return None
    evidence = {"state": state, "schedule": inp.config.get("schedule")}
    if state == "DISABLED":
        return Result(False, evidence, "The rule is disabled.")
    return Result(True, evidence, f"The rule is {str(state).lower()}.")
