"""SQS queues: settings, redrive policy and encryption; which functions consume them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from kinds.base import AVG, MAX, REGISTRY, SUM, KeyNumber, Kind, Link, MetricSpec, Section, by_name, register
from kinds.describe import Context, Snapshot, account_from_url, to_int

KIND = "sqs.queue"
TAG_TYPE = "sqs"  # in the Tagging API: its tags come from the region's tag listing
VISIBLE = "AWS/SQS:ApproximateNumberOfMessagesVisible:Maximum"
OLDEST = "AWS/SQS:ApproximateAgeOfOldestMessage:Maximum"

ACTIONS = {
    "sqs:ListQueues": "list queues",
    "sqs:GetQueueAttributes": "queue settings, redrive policy, encryption",
    "tag:GetResources": "queue tags, from the region's tag listing (one call per 100 resources) rather than one call each",
}


def describe(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for url in ctx.paginate("sqs", "ListQueues", "QueueUrls"):
        if not ctx.wanted(KIND, url.rstrip("/").rsplit("/", 1)[-1]):
            continue
        attrs = ctx.call("sqs", "GetQueueAttributes", {}, QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        name = url.rstrip("/").rsplit("/", 1)[-1]
        arn = attrs.get("QueueArn") or f"arn:aws:sqs:{ctx.region}:{account_from_url(url)}:{name}"
        tags = ctx.listed_tags(TAG_TYPE, arn)
        if tags is None:  # no Tagging API: the kind's own read
            tags = {
                str(k): str(v) for k, v in ctx.call("sqs", "ListQueueTags", {}, QueueUrl=url).get("Tags", {}).items()
            }
        redrive = json.loads(attrs["RedrivePolicy"]) if attrs.get("RedrivePolicy") else None
        config = {
            "url": url,
            "fifo": attrs.get("FifoQueue") == "true",
            "visibility_timeout_s": to_int(attrs.get("VisibilityTimeout")),
            "message_retention_s": to_int(attrs.get("MessageRetentionPeriod")),
            "delay_s": to_int(attrs.get("DelaySeconds")),
            "receive_wait_s": to_int(attrs.get("ReceiveMessageWaitTimeSeconds")),
            "max_message_size": to_int(attrs.get("MaximumMessageSize")),
            "dead_letter_target": redrive.get("deadLetterTargetArn") if redrive else None,
            "max_receive_count": to_int(redrive.get("maxReceiveCount")) if redrive else None,
            "is_dead_letter_queue": False,  # filled in below once every queue is known
            "kms_key": attrs.get("KmsMasterKeyId"),
            "sse_sqs": attrs.get("SqsManagedSseEnabled") == "true",
            "policy": json.loads(attrs["Policy"]) if attrs.get("Policy") else None,
        }
        snapshots.append(Snapshot(KIND, arn, name, config, tags))
    dead_letter_targets = {s.config["dead_letter_target"] for s in snapshots}
    for s in snapshots:
        s.config["is_dead_letter_queue"] = s.arn in dead_letter_targets
    return snapshots


def details(config: Mapping[str, Any]) -> str:
    if config.get("dead_letter_target"):
        return "with DLQ"
    return "dead-letter queue" if config.get("is_dead_letter_queue") else "no DLQ"


def links(config: Mapping[str, Any]) -> list[Link]:
    dlq = config.get("dead_letter_target")
    return [Link(dlq, "Dead-letter queue", "Dead-letter queue of")] if dlq else []


def related(resources: Sequence[Any], metrics: Mapping[int, Mapping[str, float]]) -> dict[int, dict[str, Any]]:
    """Per queue: the configuration of every resource that polls it (its consumers), and
    how many messages wait in its dead-letter queue."""
    by_arn = {r.arn: r for r in resources}
    out: dict[int, dict[str, Any]] = {}
    pollers = [(r, REGISTRY[r.kind].polls(r.config)) for r in resources if r.kind in REGISTRY]
    for queue in (r for r in resources if r.kind == KIND):
        dlq = by_arn.get(queue.config.get("dead_letter_target") or "")
        out[queue.pk] = {
            "consumers": [r.config for r, polled in pollers if queue.arn in polled],
            "dead_letter_queue_messages": metrics.get(dlq.pk, {}).get(VISIBLE) if dlq else None,
        }
    return out


register(
    Kind(
        id=KIND,
        label="SQS queue",
        service="sqs",
        describe=describe,
        tag_type=TAG_TYPE,
        actions=ACTIONS,
        probes=(("sqs", "ListQueues", {"MaxResults": 1}),),
        dimensions=by_name("QueueName"),
        metrics=(
            MetricSpec("AWS/SQS", "ApproximateAgeOfOldestMessage", (MAX,)),
            MetricSpec("AWS/SQS", "ApproximateNumberOfMessagesVisible", (MAX,)),
            MetricSpec("AWS/SQS", "NumberOfMessagesSent", (SUM,)),
            MetricSpec("AWS/SQS", "NumberOfMessagesReceived", (SUM,)),
            MetricSpec("AWS/SQS", "NumberOfMessagesDeleted", (SUM,)),
            MetricSpec("AWS/SQS", "NumberOfEmptyReceives", (SUM,)),
            MetricSpec("AWS/SQS", "SentMessageSize", (AVG,)),
        ),
        poll_seconds=120,
        details=details,
        sections=(
            Section("backlog", "Messages waiting", "metrics", (VISIBLE,)),
            Section("age", "Age of the oldest message", "metrics", (OLDEST,), "s"),
            Section(
                "throughput",
                "Messages sent, received and deleted",
                "metrics",
                (
                    "AWS/SQS:NumberOfMessagesSent:Sum",
                    "AWS/SQS:NumberOfMessagesReceived:Sum",
                    "AWS/SQS:NumberOfMessagesDeleted:Sum",
                ),
            ),
            Section("configuration", "Configuration", "config"),
        ),
        key_numbers=(
            KeyNumber("waiting", (VISIBLE,), "latest"),
            KeyNumber("oldest", (OLDEST,), "latest", "s"),
        ),
        related=related,
        links=links,
    )
)
