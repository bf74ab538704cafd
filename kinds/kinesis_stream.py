"""Kinesis data streams: capacity mode, shards, retention, encryption and shard-level metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kinds.base import MAX, SUM, KeyNumber, Kind, MetricSpec, Section, by_name, register
from kinds.describe import Context, Snapshot, tags_from_list

KIND = "kinesis.stream"

ACTIONS = {
    "kinesis:ListStreams": "list streams",
    "kinesis:DescribeStreamSummary": "shards, retention, encryption",
    "kinesis:ListTagsForStream": "stream tags",
}


def describe(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for name in ctx.paginate("kinesis", "ListStreams", "StreamNames"):
        if not ctx.wanted(KIND, name):
            continue
        summary = ctx.call("kinesis", "DescribeStreamSummary", {}, StreamName=name).get("StreamDescriptionSummary", {})
        tags = ctx.call("kinesis", "ListTagsForStream", {}, StreamName=name).get("Tags", [])
        arn = summary.get("StreamARN", f"arn:aws:kinesis:{ctx.region}::stream/{name}")
        config = {
            "mode": (summary.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED"),
            "open_shards": summary.get("OpenShardCount"),
            "retention_hours": summary.get("RetentionPeriodHours"),
            "encryption": summary.get("EncryptionType", "NONE"),
            "enhanced_monitoring": sorted(
                {m for e in summary.get("EnhancedMonitoring", []) for m in e.get("ShardLevelMetrics", [])}
            ),
        }
        snapshots.append(Snapshot(KIND, arn, name, config, tags_from_list(tags)))
    return snapshots


def details(config: Mapping[str, Any]) -> str:
    return str(config.get("mode", ""))


INCOMING = "AWS/Kinesis:IncomingRecords:Sum"
ITERATOR_AGE = "AWS/Kinesis:GetRecords.IteratorAgeMilliseconds:Maximum"

register(
    Kind(
        id=KIND,
        label="Kinesis stream",
        service="kinesis",
        describe=describe,
        actions=ACTIONS,
        probes=(("kinesis", "ListStreams", {"Limit": 1}),),
        dimensions=by_name("StreamName"),
        metrics=(
            MetricSpec("AWS/Kinesis", "IncomingRecords", (SUM,)),
            MetricSpec("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", (MAX,)),
            MetricSpec("AWS/Kinesis", "ReadProvisionedThroughputExceeded", (SUM,)),
            MetricSpec("AWS/Kinesis", "WriteProvisionedThroughputExceeded", (SUM,)),
        ),
        details=details,
        sections=(
            Section("records", "Incoming records", "metrics", (INCOMING,)),
            Section("iterator-age", "Iterator age (how far readers lag)", "metrics", (ITERATOR_AGE,), "ms"),
            Section(
                "throttling",
                "Throughput exceeded",
                "metrics",
                (
                    "AWS/Kinesis:ReadProvisionedThroughputExceeded:Sum",
                    "AWS/Kinesis:WriteProvisionedThroughputExceeded:Sum",
                ),
            ),
            Section("configuration", "Configuration", "config"),
        ),
        key_numbers=(KeyNumber("records", (INCOMING,)), KeyNumber("iterator age", (ITERATOR_AGE,), "max", "ms")),
    )
)
