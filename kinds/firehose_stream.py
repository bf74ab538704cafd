"""Kinesis Data Firehose delivery streams: source, destination, buffering, encryption, error
logging and backup; incoming records, throttling, delivery success and data freshness.

Delivery metrics are catalogued for the S3 and HTTP endpoint destinations (`DeliveryToS3.*`,
`DeliveryToHttpEndpoint.*`): S3 is where most streams deliver and HTTP endpoints are how
logs are pushed to this product. Every GetMetricData query is billed, so the other
destinations' delivery metrics are not polled for every stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from kinds.base import AVG, MAX, SUM, KeyNumber, Kind, MetricSpec, Section, by_name, register
from kinds.describe import Context, Snapshot, tags_from_list

KIND = "firehose.delivery_stream"
TAG_TYPE = "firehose"  # in the Tagging API: its tags come from the region's tag listing
NS = "AWS/Firehose"

ACTIONS = {
    "firehose:ListDeliveryStreams": "list delivery streams",
    "firehose:DescribeDeliveryStream": "source, destination, buffering, encryption, error logging",
    "tag:GetResources": "delivery stream tags, from the region's tag listing (one call per 100 resources) rather than one call each",
}

# Destination description keys, most specific first (an extended S3 destination is also
# described as a plain S3 one), and the name people read.
DESTINATIONS = (
    ("ExtendedS3DestinationDescription", "S3"),
    ("RedshiftDestinationDescription", "Redshift"),
    ("AmazonopensearchserviceDestinationDescription", "OpenSearch"),
    ("AmazonOpenSearchServerlessDestinationDescription", "OpenSearch Serverless"),
    ("ElasticsearchDestinationDescription", "Elasticsearch"),
    ("SplunkDestinationDescription", "Splunk"),
    ("HttpEndpointDestinationDescription", "HTTP endpoint"),
    ("SnowflakeDestinationDescription", "Snowflake"),
    ("IcebergDestinationDescription", "Iceberg"),
    ("S3DestinationDescription", "S3"),
)
SOURCES = {"DirectPut": "Direct PUT", "KinesisStreamAsSource": "Kinesis stream", "MSKAsSource": "MSK"}
TAGS_LIMIT = 50  # a delivery stream has at most 50 tags: one call reads them all


def _host(url: Any) -> str | None:
    """Only the host of an endpoint URL: its path or query may carry an access token."""
    return urlsplit(str(url)).hostname if url else None


def _target(key: str, d: Mapping[str, Any]) -> str | None:
    if key in {"ExtendedS3DestinationDescription", "S3DestinationDescription", "IcebergDestinationDescription"}:
        return d.get("BucketARN") or (d.get("S3DestinationDescription") or {}).get("BucketARN")
    if key == "HttpEndpointDestinationDescription":
        endpoint = d.get("EndpointConfiguration") or {}
        return endpoint.get("Name") or _host(endpoint.get("Url"))
    if key == "SplunkDestinationDescription":
        return _host(d.get("HECEndpoint"))
    if key == "RedshiftDestinationDescription":
        return _host(str(d.get("ClusterJDBCURL") or "").removeprefix("jdbc:"))
    return d.get("DomainARN") or d.get("CollectionEndpoint") or d.get("ClusterEndpoint")


def _lambdas(processing: Mapping[str, Any]) -> list[str]:
    return [
        str(p.get("ParameterValue"))
        for processor in processing.get("Processors") or []
        for p in processor.get("Parameters") or []
        if p.get("ParameterName") == "LambdaArn"
    ]


def _destination(destinations: list[Mapping[str, Any]]) -> dict[str, Any]:
    if not destinations:
        return {"destination": None}
    first = destinations[0]
    key, label = next(((k, name) for k, name in DESTINATIONS if first.get(k)), ("", None))
    d: Mapping[str, Any] = first.get(key) or {}
    # Redshift (and Snowflake, Iceberg) stage through S3: that part has the buffering.
    staging = d.get("S3DestinationDescription") or first.get("S3DestinationDescription") or {}
    hints = d.get("BufferingHints") or staging.get("BufferingHints") or {}
    logging = d.get("CloudWatchLoggingOptions") or {}
    processing = d.get("ProcessingConfiguration") or {}
    return {
        "destination": label,
        "destination_target": _target(key, d),
        "buffer_size_mb": hints.get("SizeInMBs"),
        "buffer_interval_s": hints.get("IntervalInSeconds"),
        "compression": d.get("CompressionFormat") or staging.get("CompressionFormat"),
        "error_output_prefix": d.get("ErrorOutputPrefix") if label == "S3" else None,
        "backup_mode": d.get("S3BackupMode"),
        "error_logging": bool(logging.get("Enabled")),
        "error_log_group": logging.get("LogGroupName") if logging.get("Enabled") else None,
        "processing_lambdas": _lambdas(processing) if processing.get("Enabled") else [],
        "format_conversion": bool((d.get("DataFormatConversionConfiguration") or {}).get("Enabled")),
        "dynamic_partitioning": bool((d.get("DynamicPartitioningConfiguration") or {}).get("Enabled")),
    }


def _encryption(stream: Mapping[str, Any]) -> dict[str, Any]:
    sse = stream.get("DeliveryStreamEncryptionConfiguration") or {}
    status = sse.get("Status") or ("ENABLED" if sse.get("KeyType") else "DISABLED")
    return {"encryption": status, "encryption_key_type": sse.get("KeyType") if status == "ENABLED" else None}


def describe(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for name in ctx.paginate("firehose", "ListDeliveryStreams", "DeliveryStreamNames"):
        if not ctx.wanted(KIND, name):
            continue
        stream = ctx.call("firehose", "DescribeDeliveryStream", {}, DeliveryStreamName=name).get(
            "DeliveryStreamDescription", {}
        )
        arn = stream.get("DeliveryStreamARN", f"arn:aws:firehose:{ctx.region}::deliverystream/{name}")
        tags = ctx.listed_tags(TAG_TYPE, arn)
        if tags is None:  # no Tagging API: the kind's own read
            tags = tags_from_list(
                ctx.call("firehose", "ListTagsForDeliveryStream", {}, DeliveryStreamName=name, Limit=TAGS_LIMIT).get(
                    "Tags"
                )
            )
        source = stream.get("Source") or {}
        config = {
            "type": stream.get("DeliveryStreamType"),
            "status": stream.get("DeliveryStreamStatus"),
            "source_arn": (source.get("KinesisStreamSourceDescription") or {}).get("KinesisStreamARN")
            or (source.get("MSKSourceDescription") or {}).get("MSKClusterARN"),
            **_encryption(stream),
            **_destination(stream.get("Destinations") or []),
        }
        snapshots.append(Snapshot(KIND, arn, name, config, tags))
    return snapshots


def details(config: Mapping[str, Any]) -> str:
    source = SOURCES.get(str(config.get("type")), config.get("type"))
    destination = config.get("destination")
    return " → ".join(str(p) for p in (source, destination) if p)


register(
    Kind(
        id=KIND,
        key_numbers=(
            KeyNumber("records", (f"{NS}:IncomingRecords:Sum",)),
            KeyNumber("throttled", (f"{NS}:ThrottledRecords:Sum",)),
        ),
        label="Firehose delivery stream",
        service="firehose",
        describe=describe,
        tag_type=TAG_TYPE,
        actions=ACTIONS,
        probes=(("firehose", "ListDeliveryStreams", {"Limit": 1}),),
        dimensions=by_name("DeliveryStreamName"),
        metrics=(
            MetricSpec(NS, "IncomingRecords", (SUM,)),
            MetricSpec(NS, "IncomingBytes", (SUM,)),
            MetricSpec(NS, "ThrottledRecords", (SUM,)),
            MetricSpec(NS, "DeliveryToS3.Records", (SUM,)),
            MetricSpec(NS, "DeliveryToS3.Success", (AVG,)),
            MetricSpec(NS, "DeliveryToS3.DataFreshness", (MAX,)),
            MetricSpec(NS, "DeliveryToHttpEndpoint.Success", (AVG,)),
            MetricSpec(NS, "DeliveryToHttpEndpoint.DataFreshness", (MAX,)),
            MetricSpec(NS, "ExecuteProcessing.Success", (AVG,)),
        ),
        details=details,
        sections=(
            Section(
                "records",
                "Incoming and throttled records",
                "metrics",
                (f"{NS}:IncomingRecords:Sum", f"{NS}:ThrottledRecords:Sum"),
            ),
            Section("bytes", "Incoming bytes", "metrics", (f"{NS}:IncomingBytes:Sum",), "bytes"),
            Section(
                "delivery",
                "Delivery success",
                "metrics",
                (f"{NS}:DeliveryToS3.Success:Average", f"{NS}:DeliveryToHttpEndpoint.Success:Average"),
            ),
            Section(
                "freshness",
                "Data freshness",
                "metrics",
                (f"{NS}:DeliveryToS3.DataFreshness:Maximum", f"{NS}:DeliveryToHttpEndpoint.DataFreshness:Maximum"),
                "s",
            ),
            Section("configuration", "Configuration", "config"),
        ),
    )
)
