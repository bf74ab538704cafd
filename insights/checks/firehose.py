"""Kinesis Data Firehose checks: failing or late delivery, throttled producers, encryption,
error logging and error records, buffering cost, streams nobody writes to."""

from __future__ import annotations

from collections.abc import Mapping

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import count, days, fmt, metric, number, percent

KIND = "firehose.delivery_stream"
SERVICE = "firehose"
DOCS = "https://docs.aws.amazon.com/firehose/latest/dev/"
NS = "AWS/Firehose"
INCOMING = f"{NS}:IncomingRecords:Sum"
# The delivery metrics catalogued per destination (kinds/firehose_stream.py).
DELIVERY_METRIC = {"S3": "DeliveryToS3", "HTTP endpoint": "DeliveryToHttpEndpoint"}
DEFAULT_BUFFER_INTERVAL_S = 300


def _delivery(inp: CheckInput, name: str, stat: str) -> float | None:
    prefix = DELIVERY_METRIC.get(str(inp.config.get("destination")))
    return metric(inp, f"{NS}:{prefix}.{name}:{stat}") if prefix else None


@check(
    id="firehose-delivery-failing",
    title="Firehose deliveries failing",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="critical",
    why="Some deliveries to the destination failed over the window. Firehose retries, then gives up: S3 deliveries "
    "are retried for up to 24 hours, HTTP endpoint ones for the configured retry duration, and records that still "
    "fail land in the error prefix or the backup bucket, or are lost.",
    fix="Read the delivery errors (the stream's CloudWatch log group, error output prefix in S3), fix the cause "
    "(the delivery role's permissions, a bucket policy or KMS key, an endpoint that rejects requests), then "
    "re-ingest the failed records.",
    docs_url=DOCS + "monitoring-with-cloudwatch-metrics.html",
    thresholds={"success_percent": 99.0},
)
def delivery_failing(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    success = _delivery(inp, "Success", "Average")
    if success is None:
        return None
    share = round(success * 100, 2)
    evidence = {
        "destination": inp.config.get("destination"),
        "success_percent": share,
        "threshold_percent": th["success_percent"],
    }
    sentence = f"{fmt(share)} % of deliveries to {inp.config.get('destination')} succeeded over {days(inp)}"
    if share < th["success_percent"]:
        return Result(False, evidence, f"Only {sentence}.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="firehose-data-freshness-high",
    title="Firehose data delivered late",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="The oldest record waiting in the stream was older than its buffering interval plus 15 minutes: delivery "
    "falls behind (retries, a slow destination, a slow transform Lambda), so what reads the destination sees stale "
    "data, and records past 24 hours are dropped.",
    fix="Look at delivery errors and the transform's duration and errors, raise the destination's capacity (or the "
    "HTTP endpoint's), and check the buffering hints are not larger than the freshness you need.",
    docs_url=DOCS + "monitoring-with-cloudwatch-metrics.html",
    thresholds={"extra_seconds": 900.0},
)
def data_freshness_high(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    freshness = _delivery(inp, "DataFreshness", "Maximum")
    if freshness is None:
        return None
    interval = number(inp.config.get("buffer_interval_s"))
    limit = (interval if interval is not None else DEFAULT_BUFFER_INTERVAL_S) + th["extra_seconds"]
    evidence = {"data_freshness_s": freshness, "buffer_interval_s": interval, "limit_s": limit}
    sentence = f"The oldest undelivered record was {fmt(round(freshness))} s old at worst over {days(inp)}"
    if freshness > limit:
        return Result(False, evidence, f"{sentence}, above {fmt(limit)} s.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="firehose-throttled",
    title="Firehose producers throttled",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="More than 1 % of the records sent to the stream were throttled: a Direct PUT stream has per-second quotas "
    "on records, requests and bytes. Producers must retry, and those that do not lose the records.",
    fix="Ask for a higher quota (Service Quotas → Amazon Kinesis Data Firehose, per stream), batch records with "
    "PutRecordBatch, or spread the load over several streams; make sure producers retry throttled records.",
    docs_url=DOCS + "limits.html",
    thresholds={"throttled_percent": 1.0, "min_records": 100},
)
def throttled(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    rejected, incoming = count(inp, f"{NS}:ThrottledRecords:Sum"), count(inp, INCOMING)
    if rejected is None or incoming is None:
        return None
    attempts = incoming + rejected
    if attempts < th["min_records"] or attempts <= 0:
        return None
    rate = percent(rejected, attempts)
    evidence = {"throttled_records": rejected, "incoming_records": incoming, "throttled_percent": rate}
    sentence = f"{fmt(rejected)} of {fmt(attempts)} records ({fmt(rate)} %) were throttled over {days(inp)}"
    if rate > th["throttled_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['throttled_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="firehose-no-encryption",
    title="Firehose stream not encrypted at rest",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="Server-side encryption is off: records are stored unencrypted while Firehose buffers them (up to 24 hours "
    "when the destination is down). Compliance baselines expect encryption at rest everywhere data waits.",
    fix="Enable it (Stream → Configuration → Server-side encryption, `aws firehose start-delivery-stream-encryption "
    "--delivery-stream-encryption-configuration-input KeyType=AWS_OWNED_CMK`), or with a customer managed key.",
    docs_url=DOCS + "encryption.html",
    thresholds={},
)
def no_encryption(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    encryption = inp.config.get("encryption")
    # A stream reading from Kinesis is encrypted as its source stream is.
    if not isinstance(encryption, str) or inp.config.get("type") != "DirectPut":
        return None
    evidence = {"encryption": encryption, "key_type": inp.config.get("encryption_key_type")}
    if encryption == "ENABLED":
        return Result(True, evidence, f"Records are encrypted at rest ({inp.config.get('encryption_key_type')}).")
    return Result(False, evidence, f"Server-side encryption is {encryption.lower().replace('_', ' ')}.")


@check(
    id="firehose-no-error-logging",
    title="Firehose delivery errors not logged",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="warning",
    why="CloudWatch error logging is off for the stream's destination: when deliveries or transforms fail, the "
    "metrics say that they failed but nothing says why (denied by the bucket, a rejected request, a Lambda error).",
    fix="Enable error logging on the destination (Stream → Configuration → Destination error logs, or "
    "CloudWatchLoggingOptions {Enabled: true, LogGroupName: /aws/kinesisfirehose/<stream>}).",
    docs_url=DOCS + "monitoring-with-cloudwatch-logs.html",
    thresholds={},
)
def no_error_logging(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    enabled = inp.config.get("error_logging")
    if not isinstance(enabled, bool) or not inp.config.get("destination"):
        return None
    evidence = {"error_logging": enabled, "log_group": inp.config.get("error_log_group")}
    if enabled:
        return Result(True, evidence, f"Delivery errors are logged to {inp.config.get('error_log_group')}.")
    return Result(False, evidence, "Delivery errors are not logged.")


@check(
    id="firehose-no-error-output-prefix",
    title="Firehose failed records mixed with data",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="info",
    why="The S3 destination has no error output prefix: records that failed transformation or format conversion are "
    "written under the data prefix (or a default one), where readers of the data trip over them and nobody "
    "notices them.",
    fix="Set an error output prefix such as `errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/` on the "
    "destination, and alert on objects arriving under it.",
    docs_url=DOCS + "s3-prefixes.html",
    thresholds={},
)
def no_error_output_prefix(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if inp.config.get("destination") != "S3" or "error_output_prefix" not in inp.config:
        return None
    prefix = inp.config.get("error_output_prefix")
    evidence = {"error_output_prefix": prefix}
    if prefix:
        return Result(True, evidence, f"Failed records go to {prefix}.")
    return Result(False, evidence, "Failed records have no prefix of their own.")


@check(
    id="firehose-small-buffer",
    title="Firehose writes many small S3 objects",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="The S3 destination flushes at least every minute with small buffers: many small objects mean more S3 PUT "
    "requests, and queries over the data (Athena, Spark) that pay per object opened and run slower.",
    fix="Raise the buffering hints (Stream → Configuration → Buffer hints: 64–128 MB and 300–900 s) where the data "
    "need not arrive within the minute, and enable compression.",
    docs_url=DOCS + "buffering-hints.html",
    thresholds={"min_interval_s": 60, "min_size_mb": 64},
)
def small_buffer(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    interval, size = number(inp.config.get("buffer_interval_s")), number(inp.config.get("buffer_size_mb"))
    if inp.config.get("destination") != "S3" or interval is None or size is None:
        return None
    evidence = {
        "buffer_interval_s": interval,
        "buffer_size_mb": size,
        "objects_per_day_at_least": round(86400 / interval) if interval else None,
    }
    if interval < th["min_interval_s"] and size < th["min_size_mb"]:
        return Result(False, evidence, f"Buffers flush every {fmt(interval)} s or {fmt(size)} MB.")
    return Result(True, evidence, f"Buffers flush every {fmt(interval)} s or {fmt(size)} MB.")


@check(
    id="firehose-unused",
    title="Firehose stream receives no records",
    service=SERVICE,
    kind=KIND,
    pillar="sustainability",
    severity="info",
    why="No record reached the stream over the window. A forgotten stream keeps its role, its destination and "
    "its producers' permissions alive, and a stream reading from Kinesis still costs its source's shards.",
    fix="Confirm no producer writes to it, then delete it (`aws firehose delete-delivery-stream`) or remove it from "
    "the stack that creates it.",
    docs_url=DOCS + "monitoring-with-cloudwatch-metrics.html",
    thresholds={"max_records": 0},
)
def unused(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    incoming = count(inp, INCOMING)
    if incoming is None:
        return None
    evidence = {"incoming_records": incoming}
    if incoming <= th["max_records"]:
        return Result(False, evidence, f"No record was received over {days(inp)}.")
    return Result(True, evidence, f"{fmt(incoming)} records received over {days(inp)}.")
