"""EventBridge rules: schedule or pattern, and targets with their retry policy and DLQ."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kinds.base import SUM, KeyNumber, Kind, Link, MetricSpec, Section, by_name, register
from kinds.describe import Context, Snapshot, tags_from_list

KIND = "events.rule"
TAG_TYPE = "events"  # in the Tagging API: its tags come from the region's tag listing

ACTIONS = {
    "events:ListRules": "list EventBridge rules",
    "events:ListTargetsByRule": "rule targets and their dead-letter queues",
    "tag:GetResources": "rule tags, from the region's tag listing (one call per 100 resources) rather than one call each",
}


def describe(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for rule in ctx.paginate("events", "ListRules", "Rules"):
        arn, name = rule["Arn"], rule["Name"]
        if not ctx.wanted(KIND, name):
            continue
        bus = rule.get("EventBusName", "default")
        targets = ctx.call("events", "ListTargetsByRule", {}, Rule=name, EventBusName=bus).get("Targets", [])
        tags = ctx.listed_tags(TAG_TYPE, arn)
        if tags is None:  # no Tagging API: the kind's own read
            tags = tags_from_list(ctx.call("events", "ListTagsForResource", {}, ResourceARN=arn).get("Tags"))
        config = {
            "event_bus": bus,
            "state": rule.get("State"),
            "schedule": rule.get("ScheduleExpression"),
            "event_pattern": json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None,
            "targets": [
                {
                    "id": t.get("Id"),
                    "arn": t.get("Arn"),
                    "dead_letter_target": (t.get("DeadLetterConfig") or {}).get("Arn"),
                    "maximum_retry_attempts": (t.get("RetryPolicy") or {}).get("MaximumRetryAttempts"),
                    "maximum_event_age_s": (t.get("RetryPolicy") or {}).get("MaximumEventAgeInSeconds"),
                }
                for t in targets
            ],
        }
        snapshots.append(Snapshot(KIND, arn, name, config, tags))
    return snapshots


def invokes(config: Mapping[str, Any]) -> list[str]:
    return [t.get("arn") or "" for t in config.get("targets", [])]


INVOCATIONS = "AWS/Events:Invocations:Sum"
FAILED = "AWS/Events:FailedInvocations:Sum"


def links(config: Mapping[str, Any]) -> list[Link]:
    return [
        Link(t["dead_letter_target"], "Target dead-letter queue", "Dead-letter queue of")
        for t in config.get("targets", [])
        if t.get("dead_letter_target")
    ]


register(
    Kind(
        id=KIND,
        label="EventBridge rule",
        service="eventbridge",
        describe=describe,
        tag_type=TAG_TYPE,
        actions=ACTIONS,
        probes=(("events", "ListRules", {"Limit": 1}),),
        dimensions=by_name("RuleName"),
        metrics=(
            MetricSpec("AWS/Events", "Invocations", (SUM,)),
            MetricSpec("AWS/Events", "FailedInvocations", (SUM,)),
        ),
        sections=(
            Section("invocations", "Target invocations", "metrics", (INVOCATIONS,)),
            Section("failed", "Failed invocations", "metrics", (FAILED,)),
            Section("targets", "Targets", "config"),
        ),
        key_numbers=(KeyNumber("invocations", (INVOCATIONS,)), KeyNumber("failed", (FAILED,))),
        invokes=invokes,
        links=links,
    )
)
