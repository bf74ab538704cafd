"""Kinesis Data Streams checks: consumers falling behind, throughput limits, encryption, retention, usage."""

from __future__ import annotations

from collections.abc import Mapping

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import count, days, fmt, metric, number, percent, seconds

KIND = "kinesis.stream"
SERVICE = "kinesis"
DOCS = "https://docs.aws.amazon.com/streams/latest/dev/"
NS = "AWS/Kinesis"
ITERATOR_AGE = f"{NS}:GetRecords.IteratorAgeMilliseconds:Maximum"


@check(
    id="kinesis-iterator-age-high",
    title="Kinesis consumers falling behind",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="GetRecords iterator age is how far behind the newest record the slowest consumer reads. Over a minute, "
    "consumers process stale data, and if the lag keeps growing records expire before being read.",
    fix="Find the lagging consumer (a Lambda mapping's IteratorAge, a KCL application's MillisBehindLatest), make "
    "it faster or more parallel (ParallelizationFactor, more shards, enhanced fan-out), and make sure a failing "
    "batch cannot block a shard.",
    docs_url=DOCS + "monitoring-with-cloudwatch.html",
    thresholds={"iterator_age_ms": 60000.0},
)
def iterator_age(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    age = metric(inp, ITERATOR_AGE)
    if age is None:
        return None
    evidence = {"iterator_age_ms": age, "threshold_ms": th["iterator_age_ms"]}
    sentence = f"Maximum iterator age {seconds(age)} over {days(inp)}"
    if age > th["iterator_age_ms"]:
        return Result(False, evidence, f"{sentence} is above {seconds(th['iterator_age_ms'])}.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="kinesis-iterator-age-near-retention",
    title="Kinesis records about to expire unread",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="critical",
    why="A consumer lags behind by more than half the stream's retention period. If it does not catch up, records "
    "expire before it reads them and are lost for that consumer, silently.",
    fix="Fix or scale the lagging consumer now; raise the stream's retention (`aws kinesis "
    "increase-stream-retention-period`, up to 8,760 hours) to buy time while it catches up.",
    docs_url=DOCS + "kinesis-extended-retention.html",
    thresholds={"retention_share_percent": 50.0},
)
def iterator_age_near_retention(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    age = metric(inp, ITERATOR_AGE)
    hours = number(inp.config.get("retention_hours"))
    if age is None or not hours:
        return None
    retention_ms = hours * 3600 * 1000
    share = percent(age, retention_ms)
    evidence = {
        "iterator_age_ms": age,
        "retention_hours": hours,
        "share_of_retention_percent": share,
        "threshold_percent": th["retention_share_percent"],
    }
    sentence = f"Consumers lag {fmt(round(age / 3600000, 1))} h behind, {fmt(share)} % of the {fmt(hours)} h retention"
    if share > th["retention_share_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['retention_share_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="kinesis-write-throughput-exceeded",
    title="Kinesis writes throttled",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="More than 1 % of records were rejected with ProvisionedThroughputExceeded: a shard accepts 1 MB/s or "
    "1,000 records/s. Producers must retry (adding latency), and records are lost by producers that do not.",
    fix="Add shards (`aws kinesis update-shard-count`) or switch to on-demand mode; if a few partition keys are "
    "hot, spread them (a random suffix) so records land on all shards.",
    docs_url=DOCS + "troubleshooting-producers.html",
    thresholds={"throttled_percent": 1.0, "min_records": 100},
)
def write_throughput_exceeded(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    exceeded = count(inp, f"{NS}:WriteProvisionedThroughputExceeded:Sum")
    incoming = count(inp, f"{NS}:IncomingRecords:Sum")
    if exceeded is None or incoming is None:
        return None
    attempts = incoming + exceeded
    if attempts < th["min_records"] or attempts <= 0:
        return None
    rate = percent(exceeded, attempts)
    evidence = {
        "throttled_records": exceeded,
        "incoming_records": incoming,
        "throttled_percent": rate,
        "threshold_percent": th["throttled_percent"],
        "open_shards": inp.config.get("open_shards"),
        "mode": inp.config.get("mode"),
    }
    sentence = f"{fmt(exceeded)} of {fmt(attempts)} records ({fmt(rate)} %) were throttled over {days(inp)}"
    if rate > th["throttled_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['throttled_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="kinesis-read-throughput-exceeded",
    title="Kinesis reads throttled",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="GetRecords calls were throttled: a shard serves 5 reads per second and 2 MB/s shared by all consumers "
    "without enhanced fan-out. Consumers then fall behind, more so as consumers are added.",
    fix="Give latency-sensitive consumers enhanced fan-out (a dedicated 2 MB/s per shard), reduce the number of "
    "polling consumers, or add shards.",
    docs_url=DOCS + "troubleshooting-consumers.html",
    thresholds={"min_throttled_reads": 10},
)
def read_throughput_exceeded(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    exceeded = count(inp, f"{NS}:ReadProvisionedThroughputExceeded:Sum")
    if exceeded is None:
        return None
    evidence = {"throttled_reads": exceeded, "threshold": th["min_throttled_reads"]}
    if exceeded >= th["min_throttled_reads"]:
        return Result(False, evidence, f"{fmt(exceeded)} GetRecords calls were throttled over {days(inp)}.")
    return Result(True, evidence, f"{fmt(exceeded)} GetRecords calls were throttled over {days(inp)}.")


@check(
    id="kinesis-no-encryption",
    title="Kinesis stream not encrypted at rest",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="Records are stored unencrypted on the stream's shards for the whole retention period. Server-side "
    "encryption with KMS is transparent to producers and consumers and expected by compliance baselines.",
    fix="Enable server-side encryption (Stream → Configuration → Encryption, `aws kinesis start-stream-encryption "
    "--encryption-type KMS --key-id alias/aws/kinesis`); producers and consumers need kms permissions on a customer "
    "managed key.",
    docs_url=DOCS + "server-side-encryption.html",
    thresholds={},
)
def no_encryption(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    encryption = inp.config.get("encryption")
    if encryption is None:
        return None
    evidence = {"encryption": encryption}
    if encryption == "NONE":
        return Result(False, evidence, "The stream is not encrypted at rest.")
    return Result(True, evidence, f"The stream is encrypted ({encryption}).")


@check(
    id="kinesis-retention-minimum",
    title="Kinesis retention at the 24-hour minimum",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="info",
    why="With the default 24-hour retention a consumer that is broken over a weekend, or blocked by a poison record, "
    "loses data for good; there is no time to fix and replay.",
    fix="Raise the retention to a few days (`aws kinesis increase-stream-retention-period --retention-period-hours "
    "72`, `RetentionPeriodHours` in templates); extended retention is billed per shard-hour.",
    docs_url=DOCS + "kinesis-extended-retention.html",
    thresholds={"min_retention_hours": 48},
)
def retention_minimum(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    hours = number(inp.config.get("retention_hours"))
    if hours is None:
        return None
    evidence = {"retention_hours": hours, "threshold_hours": th["min_retention_hours"]}
    if hours < th["min_retention_hours"]:
        return Result(False, evidence, f"Records are kept only {fmt(hours)} hours.")
    return Result(True, evidence, f"Records are kept {fmt(hours)} hours.")


@check(
    id="kinesis-unused",
    title="Kinesis stream receives no records",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="No record was written to the stream over the window, yet every provisioned shard is billed per hour "
    "(on-demand streams per stream-hour), with enhanced fan-out consumers and extended retention on top.",
    fix="Confirm no producer writes to it, then delete the stream (`aws kinesis delete-stream`) or remove it from "
    "its stack; keep one shard if it must stay.",
    docs_url=DOCS + "monitoring-with-cloudwatch.html",
    thresholds={"max_records": 0},
)
def unused(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    incoming = count(inp, f"{NS}:IncomingRecords:Sum")
    if incoming is None:
        return None
    evidence = {
        "incoming_records": incoming,
        "open_shards": inp.config.get("open_shards"),
        "mode": inp.config.get("mode"),
    }
    if incoming <= th["max_records"]:
        return Result(False, evidence, f"No record was written over {days(inp)}.")
    return Result(True, evidence, f"{fmt(incoming)} records written over {days(inp)}.")
