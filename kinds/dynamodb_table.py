"""DynamoDB tables: billing mode, capacity, streams, backups and encryption."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kinds.base import AVG, SUM, KeyNumber, Kind, MetricSpec, Section, by_name, register
from kinds.describe import Context, Snapshot, tags_from_list

KIND = "dynamodb.table"
TAG_TYPE = "dynamodb"  # in the Tagging API: its tags come from the region's tag listing

ACTIONS = {
    "dynamodb:ListTables": "list tables",
    "dynamodb:DescribeTable": "billing mode, capacity, streams",
    "dynamodb:DescribeContinuousBackups": "point-in-time recovery",
    "tag:GetResources": "table tags, from the region's tag listing (one call per 100 resources) rather than one call each",
}


def describe(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for name in ctx.paginate("dynamodb", "ListTables", "TableNames"):
        if not ctx.wanted(KIND, name):
            continue
        table = ctx.call("dynamodb", "DescribeTable", {}, TableName=name).get("Table", {})
        arn = table.get("TableArn", f"arn:aws:dynamodb:{ctx.region}::table/{name}")
        backups = ctx.call("dynamodb", "DescribeContinuousBackups", {}, TableName=name)
        pitr = (backups.get("ContinuousBackupsDescription") or {}).get("PointInTimeRecoveryDescription") or {}
        tags = ctx.listed_tags(TAG_TYPE, arn)
        if tags is None:  # no Tagging API: the kind's own read
            tags = tags_from_list(ctx.call("dynamodb", "ListTagsOfResource", {}, ResourceArn=arn).get("Tags"))
        throughput = table.get("ProvisionedThroughput") or {}
        billing = (table.get("BillingModeSummary") or {}).get("BillingMode") or (
            "PROVISIONED" if throughput.get("ReadCapacityUnits") else "PAY_PER_REQUEST"
        )
        config = {
            "billing_mode": billing,
            "read_capacity": throughput.get("ReadCapacityUnits") if billing == "PROVISIONED" else None,
            "write_capacity": throughput.get("WriteCapacityUnits") if billing == "PROVISIONED" else None,
            "global_secondary_indexes": [g.get("IndexName") for g in table.get("GlobalSecondaryIndexes", [])],
            "stream": (table.get("StreamSpecification") or {}).get("StreamViewType")
            if (table.get("StreamSpecification") or {}).get("StreamEnabled")
            else None,
            "point_in_time_recovery": pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
            "deletion_protection": bool(table.get("DeletionProtectionEnabled")),
            "sse": (table.get("SSEDescription") or {}).get("SSEType") or "AWS_OWNED",
            "table_class": (table.get("TableClassSummary") or {}).get("TableClass", "STANDARD"),
        }
        snapshots.append(Snapshot(KIND, arn, name, config, tags))
    return snapshots


def details(config: Mapping[str, Any]) -> str:
    return str(config.get("billing_mode", ""))


THROTTLES_READ = "AWS/DynamoDB:ReadThrottleEvents:Sum"
THROTTLES_WRITE = "AWS/DynamoDB:WriteThrottleEvents:Sum"

register(
    Kind(
        id=KIND,
        label="DynamoDB table",
        service="dynamodb",
        describe=describe,
        tag_type=TAG_TYPE,
        actions=ACTIONS,
        probes=(("dynamodb", "ListTables", {"Limit": 1}),),
        dimensions=by_name("TableName"),
        metrics=(
            MetricSpec("AWS/DynamoDB", "ConsumedReadCapacityUnits", (SUM,)),
            MetricSpec("AWS/DynamoDB", "ConsumedWriteCapacityUnits", (SUM,)),
            MetricSpec("AWS/DynamoDB", "ProvisionedReadCapacityUnits", (AVG,)),
            MetricSpec("AWS/DynamoDB", "ProvisionedWriteCapacityUnits", (AVG,)),
            MetricSpec("AWS/DynamoDB", "ReadThrottleEvents", (SUM,)),
            MetricSpec("AWS/DynamoDB", "WriteThrottleEvents", (SUM,)),
            MetricSpec("AWS/DynamoDB", "SystemErrors", (SUM,)),
            MetricSpec("AWS/DynamoDB", "SuccessfulRequestLatency", (AVG,), (("Operation", "GetItem"),)),
            MetricSpec("AWS/DynamoDB", "SuccessfulRequestLatency", (AVG,), (("Operation", "PutItem"),)),
        ),
        details=details,
        sections=(
            Section(
                "capacity",
                "Consumed capacity",
                "metrics",
                ("AWS/DynamoDB:ConsumedReadCapacityUnits:Sum", "AWS/DynamoDB:ConsumedWriteCapacityUnits:Sum"),
            ),
            Section(
                "throttles",
                "Throttled requests",
                "metrics",
                (THROTTLES_READ, THROTTLES_WRITE, "AWS/DynamoDB:SystemErrors:Sum"),
            ),
            Section(
                "latency",
                "Request latency",
                "metrics",
                (
                    "AWS/DynamoDB:SuccessfulRequestLatency,Operation=GetItem:Average",
                    "AWS/DynamoDB:SuccessfulRequestLatency,Operation=PutItem:Average",
                ),
                "ms",
            ),
            Section("configuration", "Configuration", "config"),
        ),
        key_numbers=(
            KeyNumber("read units", ("AWS/DynamoDB:ConsumedReadCapacityUnits:Sum",)),
            KeyNumber("throttles", (THROTTLES_READ, THROTTLES_WRITE)),
        ),
    )
)
