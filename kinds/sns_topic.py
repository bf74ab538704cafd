"""SNS topics: encryption, policy and subscriptions (endpoints kept only for AWS targets)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kinds.base import SUM, KeyNumber, Kind, Link, MetricSpec, Section, by_name, register
from kinds.describe import Context, ListingFailed, Snapshot, tags_from_list

KIND = "sns.topic"
TAG_TYPE = "sns"  # in the Tagging API: its tags come from the region's tag listing

ACTIONS = {
    "sns:ListTopics": "list topics",
    "sns:GetTopicAttributes": "topic settings and encryption",
    "sns:ListSubscriptionsByTopic": "subscriptions and their protocols",
    "sns:GetSubscriptionAttributes": "a subscription's dead-letter queue",
    "tag:GetResources": "topic tags, from the region's tag listing (one call per 100 resources) rather than one call each",
}


def describe(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for topic in ctx.paginate("sns", "ListTopics", "Topics"):
        arn = topic["TopicArn"]
        if not ctx.wanted(KIND, arn.rsplit(":", 1)[-1]):
            continue
        attrs = ctx.call("sns", "GetTopicAttributes", {}, TopicArn=arn).get("Attributes", {})
        subscriptions = []
        try:
            for sub in ctx.paginate("sns", "ListSubscriptionsByTopic", "Subscriptions", TopicArn=arn):
                sub_arn = sub.get("SubscriptionArn", "")
                sub_attrs = {}
                if sub_arn.startswith("arn:"):
                    sub_attrs = ctx.call("sns", "GetSubscriptionAttributes", {}, SubscriptionArn=sub_arn).get(
                        "Attributes", {}
                    )
                redrive = json.loads(sub_attrs["RedrivePolicy"]) if sub_attrs.get("RedrivePolicy") else None
                subscriptions.append(
                    {
                        "protocol": sub.get("Protocol"),
                        # Endpoints can be people's addresses: keep only what the checks need.
                        "endpoint": sub.get("Endpoint")
                        if sub.get("Protocol") in {"sqs", "lambda", "firehose"}
                        else None,
                        "dead_letter_target": redrive.get("deadLetterTargetArn") if redrive else None,
                        "raw_message_delivery": sub_attrs.get("RawMessageDelivery") == "true",
                    }
                )
        except ListingFailed:
            pass
        tags = ctx.listed_tags(TAG_TYPE, arn)
        if tags is None:  # no Tagging API: the kind's own read
            tags = tags_from_list(ctx.call("sns", "ListTagsForResource", {}, ResourceArn=arn).get("Tags"))
        config = {
            "fifo": arn.endswith(".fifo"),
            "kms_key": attrs.get("KmsMasterKeyId"),
            "policy": json.loads(attrs["Policy"]) if attrs.get("Policy") else None,
            "subscriptions": subscriptions,
        }
        snapshots.append(Snapshot(KIND, arn, arn.rsplit(":", 1)[-1], config, tags))
    return snapshots


def invokes(config: Mapping[str, Any]) -> list[str]:
    return [
        s["endpoint"] for s in config.get("subscriptions", []) if s.get("protocol") == "lambda" and s.get("endpoint")
    ]


PUBLISHED = "AWS/SNS:NumberOfMessagesPublished:Sum"
FAILED = "AWS/SNS:NumberOfNotificationsFailed:Sum"


def links(config: Mapping[str, Any]) -> list[Link]:
    out = []
    for s in config.get("subscriptions", []):
        if s.get("endpoint") and s.get("protocol") != "lambda":  # lambda: `invokes`
            out.append(Link(s["endpoint"], f"Subscription ({s.get('protocol')})", "Subscribed to"))
        if s.get("dead_letter_target"):
            out.append(Link(s["dead_letter_target"], "Subscription dead-letter queue", "Dead-letter queue of"))
    return out


register(
    Kind(
        id=KIND,
        label="SNS topic",
        service="sns",
        describe=describe,
        tag_type=TAG_TYPE,
        actions=ACTIONS,
        probes=(("sns", "ListTopics", {}),),
        dimensions=by_name("TopicName"),
        metrics=(
            MetricSpec("AWS/SNS", "NumberOfMessagesPublished", (SUM,)),
            MetricSpec("AWS/SNS", "NumberOfNotificationsFailed", (SUM,)),
        ),
        sections=(
            Section("published", "Messages published", "metrics", (PUBLISHED,)),
            Section("failed", "Notifications failed", "metrics", (FAILED,)),
            Section("subscriptions", "Subscriptions", "config"),
        ),
        key_numbers=(KeyNumber("published", (PUBLISHED,)), KeyNumber("failed", (FAILED,))),
        invokes=invokes,
        links=links,
    )
)
