"""Step Functions state machines: type, logging, tracing and a fingerprint of the definition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kinds.base import AVG, SUM, KeyNumber, Kind, MetricSpec, Section, by_name, register
from kinds.describe import Context, Snapshot, short_sha, tags_from_list

KIND = "states.statemachine"
TAG_TYPE = "states"  # in the Tagging API: its tags come from the region's tag listing

ACTIONS = {
    "states:ListStateMachines": "list state machines",
    "states:DescribeStateMachine": "type, logging and tracing",
    "tag:GetResources": "state machine tags, from the region's tag listing (one call per 100 resources) rather than one call each",
}


def describe(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for sm in ctx.paginate("stepfunctions", "ListStateMachines", "stateMachines"):
        arn = sm["stateMachineArn"]
        if not ctx.wanted(KIND, sm["name"]):
            continue
        detail = ctx.call("stepfunctions", "DescribeStateMachine", {}, stateMachineArn=arn)
        tags = ctx.listed_tags(TAG_TYPE, arn)
        if tags is None:  # no Tagging API: the kind's own read
            tags = tags_from_list(
                ctx.call("stepfunctions", "ListTagsForResource", {}, resourceArn=arn).get("tags"), "key", "value"
            )
        logging = detail.get("loggingConfiguration") or {}
        config = {
            "type": detail.get("type", sm.get("type")),
            "role": detail.get("roleArn"),
            "status": detail.get("status"),
            "logging_level": logging.get("level", "OFF"),
            "logging_include_execution_data": bool(logging.get("includeExecutionData")),
            "tracing": bool((detail.get("tracingConfiguration") or {}).get("enabled")),
            "revision_id": detail.get("revisionId"),
            "definition_sha": short_sha(detail.get("definition")),
        }
        snapshots.append(Snapshot(KIND, arn, sm["name"], config, tags))
    return snapshots


def details(config: Mapping[str, Any]) -> str:
    return str(config.get("type", ""))


FAILED = "AWS/States:ExecutionsFailed:Sum"

register(
    Kind(
        id=KIND,
        label="Step Functions state machine",
        service="stepfunctions",
        describe=describe,
        tag_type=TAG_TYPE,
        actions=ACTIONS,
        probes=(("stepfunctions", "ListStateMachines", {"maxResults": 1}),),
        dimensions=by_name("StateMachineArn", "arn"),
        metrics=(
            MetricSpec("AWS/States", "ExecutionsStarted", (SUM,)),
            MetricSpec("AWS/States", "ExecutionsSucceeded", (SUM,)),
            MetricSpec("AWS/States", "ExecutionsFailed", (SUM,)),
            MetricSpec("AWS/States", "ExecutionsTimedOut", (SUM,)),
            MetricSpec("AWS/States", "ExecutionsAborted", (SUM,)),
            MetricSpec("AWS/States", "ExecutionThrottled", (SUM,)),
            MetricSpec("AWS/States", "ExecutionTime", (AVG, "p95")),
        ),
        details=details,
        sections=(
            Section(
                "executions",
                "Executions",
                "metrics",
                ("AWS/States:ExecutionsStarted:Sum", "AWS/States:ExecutionsSucceeded:Sum"),
            ),
            Section(
                "failures",
                "Failed, timed out and throttled",
                "metrics",
                (FAILED, "AWS/States:ExecutionsTimedOut:Sum", "AWS/States:ExecutionThrottled:Sum"),
            ),
            Section("duration", "Execution time", "metrics", ("AWS/States:ExecutionTime:p95",), "ms"),
            Section("configuration", "Configuration", "config"),
        ),
        key_numbers=(KeyNumber("started", ("AWS/States:ExecutionsStarted:Sum",)), KeyNumber("failed", (FAILED,))),
    )
)
