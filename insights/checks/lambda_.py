"""Lambda function checks: configuration (runtime, architecture, security, failure handling) and behaviour
(errors, timeouts, memory, cold starts, throttles, async delivery) from metrics and the invocation statistics."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from insights.checks.base import CheckInput, InvocationStats, Result, check
from insights.checks.helpers import (
    as_dict,
    as_list,
    count,
    days,
    fmt,
    metric,
    number,
    parse_date,
    percent,
    seconds,
)
from monitoring.pricing import price_for

KIND = "lambda.function"
SERVICE = "lambda"

# Lambda accepts any memory size from 128 MB to 10,240 MB in 1 MB steps.
MIN_MEMORY_MB = 128
MAX_MEMORY_MB = 10240

# Deprecation dates (phase 1: no more security patches, "Deprecated" in the console) of the managed runtimes.
# Source: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html ("Supported runtimes" and
# "Deprecated runtimes" tables), as published in late 2025. AWS moves future dates now and then (python3.9 went
# from 2025-10-31 to 2025-12-15): update this table when the page changes.
RUNTIME_DEPRECATION: dict[str, str] = {
    "nodejs": "2016-10-31",
    "nodejs4.3": "2020-03-05",
    "nodejs4.3-edge": "2020-03-05",
    "nodejs6.10": "2019-08-12",
    "nodejs8.10": "2020-03-06",
    "nodejs10.x": "2021-07-30",
    "nodejs12.x": "2023-03-31",
    "nodejs14.x": "2023-12-04",
    "nodejs16.x": "2024-06-12",
    "nodejs18.x": "2025-09-01",
    "nodejs20.x": "2026-04-30",
    "nodejs22.x": "2027-04-30",
    "nodejs24.x": "2028-04-30",
    "python2.7": "2021-07-15",
    "python3.6": "2022-07-18",
    "python3.7": "2023-12-04",
    "python3.8": "2024-10-14",
    "python3.9": "2025-12-15",
    "python3.10": "2026-06-30",
    "python3.11": "2026-06-30",
    "python3.12": "2028-10-31",
    "python3.13": "2029-06-30",
    "python3.14": "2029-06-30",
    "java8": "2024-01-08",
    "java8.al2": "2026-06-30",
    "java11": "2026-06-30",
    "java17": "2026-06-30",
    "java21": "2029-06-30",
    "java25": "2029-06-30",
    "dotnetcore1.0": "2019-07-27",
    "dotnetcore2.0": "2019-05-30",
    "dotnetcore2.1": "2022-01-05",
    "dotnetcore3.1": "2023-04-03",
    "dotnet5.0": "2022-05-10",
    "dotnet6": "2024-11-12",
    "dotnet7": "2024-05-14",
    "dotnet8": "2026-11-10",
    "dotnet10": "2028-11-14",
    "ruby2.5": "2021-07-30",
    "ruby2.7": "2023-11-27",
    "ruby3.2": "2026-03-31",
    "ruby3.3": "2027-03-31",
    "ruby3.4": "2028-03-31",
    "go1.x": "2024-01-08",
    "provided": "2024-01-08",
    "provided.al2": "2026-06-30",
    "provided.al2023": "2029-06-30",
}

# Managed runtimes that never got an arm64 build (Graviton support arrived in 2021 with the Amazon Linux 2
# runtimes); every runtime released since supports both architectures.
NO_ARM64_RUNTIMES = frozenset(
    {
        "nodejs",
        "nodejs4.3",
        "nodejs4.3-edge",
        "nodejs6.10",
        "nodejs8.10",
        "nodejs10.x",
        "python2.7",
        "python3.6",
        "python3.7",
        "java8",
        "go1.x",
        "provided",
        "dotnetcore1.0",
        "dotnetcore2.0",
        "dotnetcore2.1",
        "dotnet5.0",
        "ruby2.5",
    }
)

DOCS = "https://docs.aws.amazon.com/lambda/latest/dg/"


# --- shared readings ------------------------------------------------------------------------------


def _invocations(inp: CheckInput) -> float | None:
    """Invocations over the window: the CloudWatch metric, else the parsed logs."""
    value = metric(inp, "AWS/Lambda:Invocations:Sum")
    if value is not None:
        return value
    return float(inp.stats.invocations) if inp.stats is not None else None


def _failures(inp: CheckInput) -> tuple[int, int, str] | None:
    """(failed invocations, invocations, source). Failed = error + timeout + out of memory, like the Errors metric."""
    if inp.stats is not None:
        s = inp.stats
        return s.errors + s.timeouts + s.out_of_memory, s.invocations, "logs"
    invocations = metric(inp, "AWS/Lambda:Invocations:Sum")
    errors = count(inp, "AWS/Lambda:Errors:Sum")
    if invocations is None or errors is None:
        return None
    return int(errors), int(invocations), "metrics"


def _duration_cost_usd(inp: CheckInput, stats: InvocationStats) -> float:
    """The duration part of the bill over the window (the cost in stats includes the per-request charge)."""
    price = price_for(inp.region, str(inp.config.get("architecture") or "x86_64"))
    if stats.cost_usd > 0:
        return max(0.0, stats.cost_usd - stats.invocations * price.per_request)
    return stats.gb_seconds * price.gb_second


def _monthly(inp: CheckInput, amount: float) -> float:
    return round(amount * 30 / max(inp.window_days, 1), 2)


def _error_rate(inp: CheckInput, th: Mapping[str, float], upper: float | None) -> Result | None:
    counts = _failures(inp)
    if counts is None:
        return None
    failed, invocations, source = counts
    if invocations < th["min_invocations"] or invocations <= 0:
        return None
    rate = percent(failed, invocations)
    limit = th["error_rate_percent"]
    evidence: dict[str, Any] = {
        "error_rate_percent": rate,
        "errors": failed,
        "invocations": invocations,
        "threshold_percent": limit,
        "source": source,
    }
    if inp.stats is not None:
        evidence.update(timeouts=inp.stats.timeouts, out_of_memory=inp.stats.out_of_memory)
    sentence = f"Error rate {fmt(rate)} % ({fmt(failed)} of {fmt(invocations)}) over {days(inp)}"
    if upper is not None and rate > upper:
        return Result(True, evidence, f"{sentence} is above {fmt(upper)} %: reported as critical instead.")
    if rate > limit:
        return Result(False, evidence, f"{sentence} is above {fmt(limit)} %.")
    return Result(True, evidence, f"{sentence} is within {fmt(limit)} %.")


# --- errors and failures --------------------------------------------------------------------------


@check(
    id="lambda-error-rate-high",
    title="Lambda error rate above 1 %",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="More than one invocation in a hundred fails (errors, timeouts and out-of-memory crashes together, as "
    "CloudWatch's Errors metric counts them). Synchronous callers see those failures; asynchronous and stream "
    "events are retried, which multiplies the cost and can reorder or duplicate work.",
    fix="Open the function's error groups to find the dominant exception, fix it or handle it, and add retries "
    "with backoff around flaky downstream calls. Rates above 10 % are reported by lambda-error-rate-critical.",
    docs_url=DOCS + "monitoring-metrics-types.html",
    thresholds={"error_rate_percent": 1.0, "critical_error_rate_percent": 10.0, "min_invocations": 20},
)
def error_rate_high(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    # The warning covers the band up to the critical threshold, so one problem is not reported twice.
    return _error_rate(inp, th, th["critical_error_rate_percent"])


@check(
    id="lambda-error-rate-critical",
    title="Lambda error rate above 10 %",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="critical",
    why="One invocation in ten or more fails: the function is broken for a large share of its traffic. Retried "
    "asynchronous events pile up and may be dropped once the retries or the maximum event age run out.",
    fix="Look at the newest error group and the last deployment first (roll back if the rate rose with it), then "
    "fix the failing dependency or code path. Make sure failed asynchronous events land in a DLQ or on-failure "
    "destination while you do.",
    docs_url=DOCS + "monitoring-metrics-types.html",
    thresholds={"error_rate_percent": 10.0, "min_invocations": 20},
)
def error_rate_critical(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return _error_rate(inp, th, None)


@check(
    id="lambda-timeouts",
    title="Lambda invocations time out",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="critical",
    why="A timed-out invocation is killed mid-work: whatever it had started (writes, messages, payments) may be "
    "half done, and you are billed for the full timeout. Timeouts usually mean a slow or unreachable downstream "
    "service or a timeout set too low.",
    fix="Find which call hangs (X-Ray traces, or log a timer around each downstream call), give the SDK clients "
    "connect/read timeouts shorter than the function's, and raise the function timeout (Configuration → General "
    "configuration, or `aws lambda update-function-configuration --timeout`) only if the work really needs it.",
    docs_url=DOCS + "configuration-timeout.html",
    # Every timeout is a failed invocation: no sample size is needed before reporting one.
    thresholds={"min_timeouts": 1, "min_invocations": 1},
)
def timeouts(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    s = inp.stats
    if s is None or s.invocations < th["min_invocations"] or s.invocations <= 0:
        return None
    evidence = {
        "timeouts": s.timeouts,
        "invocations": s.invocations,
        "timeout_rate_percent": percent(s.timeouts, s.invocations),
        "timeout_s": number(inp.config.get("timeout_s")),
    }
    if s.timeouts >= th["min_timeouts"]:
        return Result(
            False,
            evidence,
            f"{fmt(s.timeouts)} of {fmt(s.invocations)} invocations ({fmt(evidence['timeout_rate_percent'])} %) "
            f"timed out over {days(inp)}.",
        )
    return Result(True, evidence, f"No invocation timed out over {days(inp)}.")


@check(
    id="lambda-duration-near-timeout",
    title="Lambda p99 duration close to the timeout",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="When the slowest invocations already take 95 % of the timeout, a small slowdown of a dependency turns "
    "them into timeouts, which are failures billed at the full timeout.",
    fix="Make the slow path faster (X-Ray shows which call), or raise the timeout with headroom above the observed "
    "maximum duration (Configuration → General configuration → Timeout).",
    docs_url=DOCS + "configuration-timeout.html",
    thresholds={"timeout_share_percent": 95.0, "min_invocations": 20},
)
def duration_near_timeout(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    timeout_s = number(inp.config.get("timeout_s"))
    invocations = _invocations(inp)
    p99 = inp.stats.duration_p99_ms if inp.stats is not None else None
    if p99 is None:
        p99 = metric(inp, "AWS/Lambda:Duration:p99")
    if not timeout_s or p99 is None or invocations is None or invocations < th["min_invocations"]:
        return None
    timeout_ms = timeout_s * 1000
    share = percent(p99, timeout_ms)
    evidence = {
        "duration_p99_ms": round(p99, 1),
        "timeout_ms": timeout_ms,
        "share_of_timeout_percent": share,
        "threshold_percent": th["timeout_share_percent"],
    }
    sentence = f"p99 duration {seconds(p99)} is {fmt(share)} % of the {fmt(timeout_s)} s timeout"
    if share > th["timeout_share_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['timeout_share_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="lambda-out-of-memory",
    title="Lambda invocations run out of memory",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="critical",
    why="An invocation that exceeds its memory size is killed by the runtime: the work is lost, the error message "
    "is often just 'Runtime exited', and the execution environment is recycled (a cold start follows).",
    fix="Raise the memory size (Configuration → General configuration → Memory) above the peak Max Memory Used, "
    "or stream large payloads instead of loading them whole. More memory also brings proportionally more CPU.",
    docs_url=DOCS + "configuration-memory.html",
    thresholds={"min_out_of_memory": 1, "min_invocations": 1},
)
def out_of_memory(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    s = inp.stats
    if s is None or s.invocations < th["min_invocations"] or s.invocations <= 0:
        return None
    evidence = {
        "out_of_memory": s.out_of_memory,
        "invocations": s.invocations,
        "memory_mb": number(inp.config.get("memory_mb")),
        "max_memory_used_mb": s.max_memory_used_mb,
    }
    if s.out_of_memory >= th["min_out_of_memory"]:
        return Result(
            False,
            evidence,
            f"{fmt(s.out_of_memory)} of {fmt(s.invocations)} invocations ran out of memory over {days(inp)}.",
        )
    return Result(True, evidence, f"No invocation ran out of memory over {days(inp)}.")


@check(
    id="lambda-memory-near-limit",
    title="Lambda memory use close to the memory size",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="An invocation used more than 95 % of the configured memory: a slightly larger payload will crash with an "
    "out-of-memory error. Garbage-collected runtimes also slow down sharply near their limit.",
    fix="Raise the memory size by at least 30 % over the peak Max Memory Used (Configuration → General "
    "configuration → Memory, or `MemorySize` in your template); look for caches or globals that grow across "
    "invocations in a warm environment.",
    docs_url=DOCS + "configuration-memory.html",
    thresholds={"memory_used_percent": 95.0, "min_invocations": 1},
)
def memory_near_limit(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    s = inp.stats
    memory_mb = number(inp.config.get("memory_mb"))
    if s is None or not memory_mb or s.max_memory_used_mb is None or s.invocations < th["min_invocations"]:
        return None
    used = percent(s.max_memory_used_mb, memory_mb)
    evidence = {
        "max_memory_used_mb": s.max_memory_used_mb,
        "memory_mb": memory_mb,
        "memory_used_percent": used,
        "threshold_percent": th["memory_used_percent"],
    }
    sentence = f"Peak memory use {fmt(s.max_memory_used_mb)} MB is {fmt(used)} % of {fmt(memory_mb)} MB"
    if used > th["memory_used_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['memory_used_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


def recommended_memory_mb(max_used_mb: float, headroom: float = 1.3) -> int:
    """The memory size to set: the peak use plus headroom, rounded up to the next MB, within Lambda's limits."""
    return int(min(MAX_MEMORY_MB, max(MIN_MEMORY_MB, math.ceil(max_used_mb * headroom))))


@check(
    id="lambda-memory-overprovisioned",
    title="Lambda memory over-provisioned",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="Lambda bills memory × duration. No invocation over the window used even 40 % of the configured memory, so "
    "most of every GB-second is paid for and unused. The saving assumes the duration stays the same: CPU share "
    "scales with memory, so CPU-bound functions may run longer at a smaller size.",
    fix="Set the memory size to the recommended value (Configuration → General configuration → Memory, or "
    "`MemorySize`), then compare duration and cost over a few days; AWS Lambda Power Tuning or Compute Optimizer "
    "can confirm the best size.",
    docs_url=DOCS + "configuration-memory.html",
    thresholds={"memory_used_percent": 40.0, "headroom_factor": 1.3, "min_invocations": 50},
)
def memory_overprovisioned(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    s = inp.stats
    memory_mb = number(inp.config.get("memory_mb"))
    if s is None or not memory_mb or s.max_memory_used_mb is None or s.invocations < th["min_invocations"]:
        return None
    used = percent(s.max_memory_used_mb, memory_mb)
    recommended = recommended_memory_mb(s.max_memory_used_mb, th["headroom_factor"])
    evidence: dict[str, Any] = {
        "memory_mb": memory_mb,
        "max_memory_used_mb": s.max_memory_used_mb,
        "memory_used_percent": used,
        "threshold_percent": th["memory_used_percent"],
    }
    if used >= th["memory_used_percent"] or recommended >= memory_mb:
        return Result(True, evidence, f"Peak memory use is {fmt(used)} % of {fmt(memory_mb)} MB.")
    saving = _monthly(inp, _duration_cost_usd(inp, s) * (1 - recommended / memory_mb))
    evidence.update(recommended_memory_mb=recommended, monthly_saving_usd=saving)
    return Result(
        False,
        evidence,
        f"Peak memory use {fmt(s.max_memory_used_mb)} MB is {fmt(used)} % of {fmt(memory_mb)} MB over {days(inp)}; "
        f"{recommended} MB would save about ${saving:,.2f} a month.",
    )


# --- performance ------------------------------------------------------------------------------------


@check(
    id="lambda-cold-start-share-high",
    title="Many Lambda cold starts",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="info",
    why="More than one invocation in ten starts a new execution environment, adding the init time to the response. "
    "Spiky traffic, frequent deployments and functions invoked rarely cause this.",
    fix="Shrink the package and move heavy initialisation out of the hot path, use SnapStart (Java, Python, .NET) "
    "or provisioned concurrency on an alias for latency-sensitive paths, and prefer fewer, busier functions.",
    docs_url=DOCS + "lambda-runtime-environment.html",
    thresholds={"cold_start_percent": 10.0, "min_invocations": 50},
)
def cold_start_share(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    s = inp.stats
    if s is None or s.invocations < th["min_invocations"] or s.invocations <= 0:
        return None
    share = percent(s.cold_starts, s.invocations)
    evidence = {
        "cold_start_percent": share,
        "cold_starts": s.cold_starts,
        "invocations": s.invocations,
        "threshold_percent": th["cold_start_percent"],
    }
    sentence = f"{fmt(share)} % of invocations ({fmt(s.cold_starts)} of {fmt(s.invocations)}) were cold starts"
    if share > th["cold_start_percent"]:
        return Result(False, evidence, f"{sentence} over {days(inp)}, above {fmt(th['cold_start_percent'])} %.")
    return Result(True, evidence, f"{sentence} over {days(inp)}.")


@check(
    id="lambda-slow-init",
    title="Slow Lambda initialisation",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="The init phase (loading the runtime, the package and your global code) took over a second for one cold "
    "start in twenty. Every cold start adds that to the response, and since August 2025 the init phase is billed.",
    fix="Trim dependencies and the package size, lazy-load clients used by few code paths, avoid network calls at "
    "import time, raise memory (init gets proportionally more CPU), or enable SnapStart where the runtime supports it.",
    docs_url=DOCS + "lambda-runtime-environment.html",
    thresholds={"init_duration_p95_ms": 1000.0, "min_cold_starts": 5},
)
def slow_init(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    s = inp.stats
    if s is None or s.init_duration_p95_ms is None or s.cold_starts < th["min_cold_starts"]:
        return None
    evidence = {
        "init_duration_p95_ms": round(s.init_duration_p95_ms, 1),
        "cold_starts": s.cold_starts,
        "threshold_ms": th["init_duration_p95_ms"],
        "runtime": inp.config.get("runtime"),
        "memory_mb": number(inp.config.get("memory_mb")),
    }
    sentence = f"p95 init duration {seconds(s.init_duration_p95_ms)} over {fmt(s.cold_starts)} cold starts"
    if s.init_duration_p95_ms > th["init_duration_p95_ms"]:
        return Result(False, evidence, f"{sentence} is above {seconds(th['init_duration_p95_ms'])}.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="lambda-throttles",
    title="Lambda invocations throttled",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Throttled requests were rejected because the function hit its reserved concurrency or the account's "
    "concurrency limit. Synchronous callers get a 429 error; asynchronous events are retried for up to 6 hours and "
    "then dropped.",
    fix="Raise the function's reserved concurrency (Configuration → Concurrency) or request a higher account "
    "concurrency quota in Service Quotas; reduce duration so each invocation frees its slot sooner; buffer bursts "
    "with SQS.",
    docs_url=DOCS + "lambda-concurrency.html",
    thresholds={"throttle_rate_percent": 1.0, "min_requests": 20},
)
def throttles(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    throttled = count(inp, "AWS/Lambda:Throttles:Sum")
    invocations = _invocations(inp)
    if throttled is None or invocations is None:
        return None
    # Throttled requests are not counted in Invocations: the attempts are the sum of both.
    requests = invocations + throttled
    if requests < th["min_requests"] or requests <= 0:
        return None
    rate = percent(throttled, requests)
    evidence = {
        "throttles": throttled,
        "invocations": invocations,
        "throttle_rate_percent": rate,
        "threshold_percent": th["throttle_rate_percent"],
        "reserved_concurrency": inp.config.get("reserved_concurrency"),
    }
    sentence = f"{fmt(throttled)} of {fmt(requests)} requests ({fmt(rate)} %) were throttled over {days(inp)}"
    if rate > th["throttle_rate_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['throttle_rate_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="lambda-iterator-age-high",
    title="Lambda stream consumer falling behind",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="IteratorAge is how old the last record of a batch was when the function got it. Above a minute the "
    "function reads a Kinesis or DynamoDB stream slower than records arrive (or keeps retrying a failing batch); "
    "records older than the stream's retention are lost.",
    fix="Raise the mapping's ParallelizationFactor (up to 10 per shard) or batch size, make the function faster, "
    "add shards, and configure BisectBatchOnFunctionError, MaximumRetryAttempts and an on-failure destination so "
    "one bad record cannot block a shard.",
    docs_url=DOCS + "with-kinesis.html",
    thresholds={"iterator_age_ms": 60000.0},
)
def iterator_age(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    age = metric(inp, "AWS/Lambda:IteratorAge:Maximum")
    if age is None:  # only stream consumers publish IteratorAge
        return None
    evidence = {"iterator_age_ms": age, "iterator_age_s": round(age / 1000, 1), "threshold_ms": th["iterator_age_ms"]}
    sentence = f"Maximum iterator age {seconds(age)} over {days(inp)}"
    if age > th["iterator_age_ms"]:
        return Result(False, evidence, f"{sentence} is above {seconds(th['iterator_age_ms'])}.")
    return Result(True, evidence, f"{sentence}.")


# --- asynchronous delivery ----------------------------------------------------------------------


def _async_config(inp: CheckInput) -> Mapping[str, Any]:
    return as_dict(inp.config.get("async"))


@check(
    id="lambda-async-events-dropped",
    title="Asynchronous Lambda events dropped",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="critical",
    why="Lambda discarded asynchronous events without running the function to success: they expired (maximum "
    "event age) or ran out of retries and there was no DLQ or on-failure destination to keep them. That data is "
    "gone.",
    fix="Add an on-failure destination (SQS, SNS, EventBridge or S3) or a DLQ (Configuration → Asynchronous "
    "invocation), fix the failures or throttles that exhaust the retries, and raise MaximumEventAgeInSeconds if "
    "events expire while throttled.",
    docs_url=DOCS + "invocation-async.html",
    thresholds={"min_dropped": 1},
)
def async_events_dropped(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    dropped = metric(inp, "AWS/Lambda:AsyncEventsDropped:Sum")
    if dropped is None:
        if inp.related.get("async_invoked") is not True:
            return None
        dropped = count(inp, "AWS/Lambda:AsyncEventsDropped:Sum")
        if dropped is None:
            return None
    cfg = _async_config(inp)
    evidence = {
        "dropped_events": dropped,
        "maximum_retry_attempts": cfg.get("maximum_retry_attempts"),
        "maximum_event_age_s": cfg.get("maximum_event_age_s"),
    }
    if dropped >= th["min_dropped"]:
        return Result(False, evidence, f"{fmt(dropped)} asynchronous events were dropped over {days(inp)}.")
    return Result(True, evidence, f"No asynchronous event was dropped over {days(inp)}.")


@check(
    id="lambda-dead-letter-errors",
    title="Lambda cannot write to its dead-letter queue",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="critical",
    why="Failed asynchronous events could not be sent to the function's DLQ, so they were lost: usually the "
    "execution role lacks sqs:SendMessage / sns:Publish, the queue or topic was deleted, or its KMS key denies "
    "the role.",
    fix="Check that the DLQ exists, grant the execution role sqs:SendMessage (or sns:Publish) on it and "
    "kms:GenerateDataKey/kms:Decrypt on its key, and watch the DeadLetterErrors metric return to zero.",
    docs_url=DOCS + "invocation-async-retain-records.html",
    thresholds={"min_errors": 1},
)
def dead_letter_errors(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    value = metric(inp, "AWS/Lambda:DeadLetterErrors:Sum")
    if value is None:
        if not inp.config.get("dead_letter_target"):
            return None
        value = count(inp, "AWS/Lambda:DeadLetterErrors:Sum")
        if value is None:
            return None
    evidence = {"dead_letter_errors": value, "dead_letter_target": inp.config.get("dead_letter_target")}
    if value >= th["min_errors"]:
        return Result(False, evidence, f"{fmt(value)} events could not be sent to the DLQ over {days(inp)}.")
    return Result(True, evidence, f"No DLQ delivery error over {days(inp)}.")


@check(
    id="lambda-destination-delivery-failures",
    title="Lambda cannot deliver to its destinations",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Lambda failed to send invocation records to an on-success or on-failure destination (or an event source "
    "mapping's on-failure destination). Records of failed events meant for later replay were lost.",
    fix="Check that the destination exists and is not a FIFO queue or topic (unsupported), and that the execution role may write to it (sqs:SendMessage, "
    "sns:Publish, events:PutEvents, s3:PutObject, lambda:InvokeFunction) including its KMS key.",
    docs_url=DOCS + "invocation-async-retain-records.html",
    thresholds={"min_failures": 1},
)
def destination_delivery_failures(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    value = metric(inp, "AWS/Lambda:DestinationDeliveryFailures:Sum")
    if value is None:
        cfg = _async_config(inp)
        has_destination = cfg.get("on_failure_destination") or cfg.get("on_success_destination")
        has_destination = has_destination or any(
            as_dict(m).get("on_failure_destination") for m in as_list(inp.config.get("event_source_mappings"))
        )
        if not has_destination:
            return None
        value = count(inp, "AWS/Lambda:DestinationDeliveryFailures:Sum")
        if value is None:
            return None
    evidence = {"destination_delivery_failures": value}
    if value >= th["min_failures"]:
        return Result(
            False, evidence, f"{fmt(value)} records could not be delivered to a destination over {days(inp)}."
        )
    return Result(True, evidence, f"No destination delivery failure over {days(inp)}.")


@check(
    id="lambda-async-no-failure-destination",
    title="Asynchronously invoked Lambda without a DLQ or on-failure destination",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="The function is invoked asynchronously (SNS, EventBridge, S3…). When an event still fails after Lambda's "
    "retries (two by default) or waits longer than the maximum event age, it is discarded unless a DLQ or an "
    "on-failure destination keeps it.",
    fix="Configure an on-failure destination (Configuration → Destinations, or `aws lambda "
    "put-function-event-invoke-config --destination-config`), or a DLQ (Configuration → Asynchronous invocation); "
    "alarm on its depth and replay from it.",
    docs_url=DOCS + "invocation-async-retain-records.html",
    thresholds={},
)
def async_no_failure_destination(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if inp.related.get("async_invoked") is not True:
        return None
    if "dead_letter_target" not in inp.config or "async" not in inp.config:
        return None
    dlq = inp.config.get("dead_letter_target")
    destination = _async_config(inp).get("on_failure_destination")
    evidence = {"dead_letter_target": dlq, "on_failure_destination": destination}
    if dlq or destination:
        return Result(True, evidence, "Failed asynchronous events go to a DLQ or an on-failure destination.")
    return Result(
        False, evidence, "The function is invoked asynchronously and has neither a DLQ nor an on-failure destination."
    )


# --- runtime and architecture ------------------------------------------------------------------


def _runtime_deprecation(inp: CheckInput) -> tuple[str, Any, Any] | None:
    runtime = inp.config.get("runtime")
    today = parse_date(inp.today)
    if not isinstance(runtime, str) or not runtime or runtime == "container" or today is None:
        return None
    deprecated_on = parse_date(RUNTIME_DEPRECATION.get(runtime))
    return runtime, deprecated_on, today


@check(
    id="lambda-runtime-deprecated",
    title="Lambda runtime deprecated",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="critical",
    why="The runtime has reached its deprecation date: AWS no longer applies security patches to it, support may "
    "not help, and function creation and then updates get blocked some months later, which can stop an urgent fix "
    "from deploying.",
    fix="Move to a supported runtime of the same language (e.g. python3.13, nodejs22.x, java21), run your tests on "
    "it, and deploy with the new `Runtime` in your template or `aws lambda update-function-configuration --runtime`.",
    docs_url=DOCS + "lambda-runtimes.html",
    thresholds={},
)
def runtime_deprecated(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    found = _runtime_deprecation(inp)
    if found is None:
        return None
    runtime, deprecated_on, today = found
    if deprecated_on is None:
        return Result(True, {"runtime": runtime}, f"{runtime} has no announced deprecation date.")
    evidence = {"runtime": runtime, "deprecation_date": deprecated_on.isoformat()}
    if deprecated_on <= today:
        evidence["days_since_deprecation"] = (today - deprecated_on).days
        return Result(False, evidence, f"{runtime} was deprecated on {deprecated_on.isoformat()}.")
    return Result(True, evidence, f"{runtime} is supported until {deprecated_on.isoformat()}.")


@check(
    id="lambda-runtime-deprecation-soon",
    title="Lambda runtime deprecated within 180 days",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="The runtime reaches its deprecation date within six months. After it, AWS stops security patches, and "
    "creating then updating functions on it gets blocked; migrating now leaves time to test.",
    fix="Plan the upgrade to the newest runtime of the language, test it in a staging stage, and change `Runtime` "
    "in your template (or `aws lambda update-function-configuration --runtime`).",
    docs_url=DOCS + "lambda-runtimes.html",
    thresholds={"days_ahead": 180},
)
def runtime_deprecation_soon(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    found = _runtime_deprecation(inp)
    if found is None:
        return None
    runtime, deprecated_on, today = found
    if deprecated_on is None:
        return Result(True, {"runtime": runtime}, f"{runtime} has no announced deprecation date.")
    evidence = {
        "runtime": runtime,
        "deprecation_date": deprecated_on.isoformat(),
        "days_left": (deprecated_on - today).days,
    }
    if deprecated_on <= today:
        return Result(True, evidence, f"{runtime} is already deprecated: reported by lambda-runtime-deprecated.")
    if deprecated_on <= today + timedelta(days=int(th["days_ahead"])):
        return Result(
            False,
            evidence,
            f"{runtime} will be deprecated on {deprecated_on.isoformat()}, in {evidence['days_left']} days.",
        )
    return Result(True, evidence, f"{runtime} is supported until {deprecated_on.isoformat()}.")


@check(
    id="lambda-arm64-candidate",
    title="Lambda on x86_64 could run on arm64 (Graviton)",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="arm64 (Graviton2) costs 20 % less per GB-second than x86_64 and is often as fast or faster. A zip-packaged "
    "function on a runtime with an arm64 build and no layers usually needs no code change; native dependencies "
    "(wheels, node-gyp modules) must be rebuilt for arm64.",
    fix="Set Architectures to arm64 (Configuration → Runtime settings, `Architectures: [arm64]`), rebuild native "
    "dependencies for aarch64, and run your tests before switching production.",
    docs_url=DOCS + "foundation-arch.html",
    thresholds={},
)
def arm64_candidate(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    architecture = inp.config.get("architecture")
    runtime = inp.config.get("runtime")
    if architecture is None or not isinstance(runtime, str):
        return None
    if architecture == "arm64":
        return Result(True, {"architecture": architecture}, "The function already runs on arm64.")
    # Container images and layers may carry x86-only binaries that the configuration cannot reveal.
    if inp.config.get("package_type") != "Zip" or as_list(inp.config.get("layers")) or "layers" not in inp.config:
        return None
    if runtime in NO_ARM64_RUNTIMES or runtime == "container":
        return Result(True, {"architecture": architecture, "runtime": runtime}, f"{runtime} has no arm64 build.")
    evidence: dict[str, Any] = {"architecture": architecture, "runtime": runtime}
    if inp.stats is not None and (inp.stats.cost_usd > 0 or inp.stats.gb_seconds > 0):
        x86 = price_for(inp.region, "x86_64").gb_second
        arm = price_for(inp.region, "arm64").gb_second
        evidence["monthly_saving_usd"] = _monthly(inp, _duration_cost_usd(inp, inp.stats) * (1 - arm / x86))
    saving = (
        f", saving about ${evidence['monthly_saving_usd']:,.2f} a month" if "monthly_saving_usd" in evidence else ""
    )
    return Result(False, evidence, f"{runtime} on x86_64 with no layers could run on arm64{saving}.")


# --- usage and sizing -----------------------------------------------------------------------------


@check(
    id="lambda-unused",
    title="Lambda function not invoked",
    service=SERVICE,
    kind=KIND,
    pillar="sustainability",
    severity="info",
    why="The function had no invocation over the window. Unused functions still carry an execution role, "
    "environment variables and an outdated runtime that someone has to patch, and they clutter every review.",
    fix="Confirm nothing calls it (triggers, schedules, other services' code), then delete it with its log group "
    "and role, or remove it from the stack that creates it.",
    docs_url=DOCS + "monitoring-metrics-types.html",
    thresholds={"max_invocations": 0},
)
def unused(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    invocations = _invocations(inp)
    if invocations is None:
        return None
    modified = parse_date(inp.config.get("last_modified"))
    today = parse_date(inp.today)
    # Deployed or changed within the window: too recent to call unused.
    if modified is not None and today is not None and (today - modified).days < inp.window_days:
        return None
    evidence = {"invocations": invocations, "window_days": inp.window_days}
    if invocations <= th["max_invocations"]:
        return Result(False, evidence, f"The function was invoked {fmt(invocations)} times over {days(inp)}.")
    return Result(True, evidence, f"The function was invoked {fmt(invocations)} times over {days(inp)}.")


@check(
    id="lambda-timeout-far-above-p99",
    title="Lambda timeout far above the observed duration",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="info",
    why="The timeout is more than five times the p99 duration. When a dependency hangs, each stuck invocation "
    "holds a concurrency slot and is billed until the far-off timeout, which turns a slow dependency into "
    "throttling and a large bill; behind API Gateway the client has given up at 29 s anyway.",
    fix="Lower the timeout to about three times the p99 and above the maximum duration (Configuration → General "
    "configuration → Timeout), and set SDK/HTTP client timeouts below it.",
    docs_url=DOCS + "configuration-timeout.html",
    thresholds={"timeout_to_p99_ratio": 5.0, "min_timeout_s": 10.0, "min_invocations": 50},
)
def timeout_far_above_p99(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    timeout_s = number(inp.config.get("timeout_s"))
    invocations = _invocations(inp)
    p99 = inp.stats.duration_p99_ms if inp.stats is not None else None
    if p99 is None:
        p99 = metric(inp, "AWS/Lambda:Duration:p99")
    if not timeout_s or p99 is None or invocations is None or invocations < th["min_invocations"]:
        return None
    peak = inp.stats.duration_max_ms if inp.stats is not None else None
    peak = peak if peak is not None else metric(inp, "AWS/Lambda:Duration:Maximum")
    suggested = max(3, math.ceil(max(p99 * 3, (peak or 0) * 1.2) / 1000))
    evidence = {
        "timeout_s": timeout_s,
        "duration_p99_ms": round(p99, 1),
        "duration_max_ms": peak,
        "suggested_timeout_s": suggested,
    }
    ratio = timeout_s * 1000 / p99 if p99 > 0 else math.inf
    if timeout_s > th["min_timeout_s"] and ratio > th["timeout_to_p99_ratio"] and suggested < timeout_s:
        return Result(
            False,
            evidence,
            f"The {fmt(timeout_s)} s timeout is {fmt(round(min(ratio, 1e6), 1))}× the p99 duration of {seconds(p99)}; "
            f"about {suggested} s would do.",
        )
    return Result(True, evidence, f"The {fmt(timeout_s)} s timeout fits the p99 duration of {seconds(p99)}.")


@check(
    id="lambda-reserved-concurrency-zero",
    title="Lambda reserved concurrency set to 0",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Reserved concurrency 0 throttles every invocation: the function is switched off. It is the emergency "
    "brake; left on by accident, synchronous callers get 429 errors and asynchronous events go straight to the DLQ "
    "or on-failure destination without retries, or are lost if there is none.",
    fix="If the function should run, remove the reservation (Configuration → Concurrency → Edit → Use unreserved "
    "account concurrency, or `aws lambda delete-function-concurrency`) or set a positive value.",
    docs_url=DOCS + "configuration-concurrency.html",
    thresholds={},
)
def reserved_concurrency_zero(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if "reserved_concurrency" not in inp.config:
        return None
    reserved = inp.config.get("reserved_concurrency")
    evidence = {"reserved_concurrency": reserved}
    if reserved == 0:
        return Result(False, evidence, "Reserved concurrency is 0: every invocation is throttled.")
    return Result(True, evidence, "Reserved concurrency does not block the function.")


@check(
    id="lambda-provisioned-concurrency-spillover",
    title="Traffic spills over provisioned concurrency",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="Provisioned concurrency is paid for to avoid cold starts, but more than a tenth of invocations exceeded "
    "it and ran on on-demand environments, with cold starts the configuration was meant to remove.",
    fix="Raise the provisioned concurrency on the alias or version, or let Application Auto Scaling track "
    "ProvisionedConcurrencyUtilization (target around 0.7).",
    docs_url=DOCS + "provisioned-concurrency.html",
    thresholds={"spillover_percent": 10.0, "min_invocations": 100},
)
def provisioned_spillover(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if not as_list(inp.config.get("provisioned_concurrency")):
        return None
    spill = count(inp, "AWS/Lambda:ProvisionedConcurrencySpilloverInvocations:Sum")
    invocations = _invocations(inp)
    if spill is None or invocations is None or invocations < th["min_invocations"] or invocations <= 0:
        return None
    share = percent(spill, invocations)
    evidence = {
        "spillover_invocations": spill,
        "invocations": invocations,
        "spillover_percent": share,
        "threshold_percent": th["spillover_percent"],
    }
    sentence = (
        f"{fmt(share)} % of invocations ({fmt(spill)} of {fmt(invocations)}) spilled over provisioned concurrency"
    )
    if share > th["spillover_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['spillover_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="lambda-java-without-snapstart",
    title="Java Lambda without SnapStart",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="info",
    why="Java functions have the slowest cold starts (JVM start, class loading, dependency injection). SnapStart "
    "restores a snapshot of the initialised environment instead, often cutting cold starts by 90 %, and costs "
    "nothing extra for Java.",
    fix="Enable SnapStart on published versions (Configuration → General configuration → SnapStart: "
    "PublishedVersions, or `SnapStart: {ApplyOn: PublishedVersions}`), invoke through a version or alias, and make "
    "sure unique values (random seeds, connections) are created after restore.",
    docs_url=DOCS + "snapstart.html",
    thresholds={},
)
def java_without_snapstart(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    runtime = inp.config.get("runtime")
    snap_start = inp.config.get("snap_start")
    # SnapStart supports Java 11 and later, and not together with provisioned concurrency.
    if not isinstance(runtime, str) or not runtime.startswith("java") or runtime.startswith("java8"):
        return None
    if snap_start is None or as_list(inp.config.get("provisioned_concurrency")):
        return None
    evidence = {"runtime": runtime, "snap_start": snap_start}
    if snap_start == "PublishedVersions":
        return Result(True, evidence, "SnapStart is enabled.")
    return Result(False, evidence, f"The {runtime} function does not use SnapStart.")


# --- security and observability ---------------------------------------------------------------


@check(
    id="lambda-function-url-no-auth",
    title="Lambda function URL without authentication",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="The function URL uses auth type NONE: anyone on the internet who finds the URL can invoke the function, "
    "and every call is billed to you. That is only right for code that authenticates requests itself (e.g. "
    "verifies a webhook signature).",
    fix="Switch the URL to AWS_IAM (`aws lambda update-function-url-config --auth-type AWS_IAM`) and sign "
    "requests with SigV4, put CloudFront with origin access control in front, or verify a signature in the code "
    "and cap the function's reserved concurrency.",
    docs_url=DOCS + "urls-auth.html",
    thresholds={},
)
def function_url_no_auth(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if "function_url" not in inp.config:
        return None
    url = inp.config.get("function_url")
    if not url:
        return Result(True, {}, "The function has no function URL.")
    auth = as_dict(url).get("auth_type")
    evidence = {"auth_type": auth}
    if auth == "NONE":
        return Result(False, evidence, "The function URL accepts unauthenticated requests (auth type NONE).")
    return Result(True, evidence, f"The function URL requires {auth} authentication.")


@check(
    id="lambda-public-policy",
    title="Lambda resource policy allows anyone",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="critical",
    why="A statement of the function's resource-based policy allows any principal with no condition: any AWS "
    "account can invoke (or, with a wide action, change) the function.",
    fix="Remove the statement (`aws lambda remove-permission --statement-id …`) and grant the calling service or "
    "account explicitly, with aws:SourceArn or aws:SourceAccount conditions for service principals.",
    docs_url=DOCS + "access-control-resource-based.html",
    thresholds={},
)
def public_policy(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    # Discovery keeps only a summary of the policy (kinds/lambda_function.py `policy_summary`);
    # no key: the policy could not be read, so there is nothing to judge.
    if "resource_policy" not in inp.config:
        return None
    summary = as_dict(inp.config.get("resource_policy"))
    if not summary:
        return Result(True, {}, "The function has no resource policy.")
    statements = [str(s) for s in as_list(summary.get("public_statements"))]
    evidence = {"statements": statements, "principals": [str(p) for p in as_list(summary.get("principals"))]}
    if not statements:
        return Result(True, evidence, "No statement of the function's resource policy allows everyone.")
    return Result(
        False,
        evidence,
        f"The function's resource policy allows any principal without a condition ({', '.join(statements)}).",
    )


# Words that mark a variable holding a secret; matched as whole words of the NAME, except the unambiguous ones.
_SECRET_ANYWHERE = re.compile(r"PASSWORD|PASSWD|SECRET|CREDENTIAL|PRIVATE_?KEY")
_SECRET_WORD = re.compile(
    r"(?:^|_)(?:TOKEN|API_?KEY|ACCESS_?KEY|AUTH_?KEY|SIGNING_?KEY|ENCRYPTION_?KEY|PASS|PWD|CONN(?:ECTION)?_?STR(?:ING)?)(?:_|$)"
)
# A last word like these names where the secret lives, not the secret itself (DB_PASSWORD_SECRET_ARN).
_REFERENCE_SUFFIXES = frozenset(
    {
        "ARN",
        "NAME",
        "ID",
        "PATH",
        "PARAM",
        "PARAMETER",
        "SSM",
        "URL",
        "URI",
        "ENDPOINT",
        "TABLE",
        "BUCKET",
        "QUEUE",
        "TOPIC",
        "REGION",
        "TTL",
        "EXPIRY",
        "HEADER",
        "FILE",
        "REF",
        "KEY_ID",
        "LENGTH",
    }
)
# Set by Lambda or the shell, not by the user: reserved names, and PWD the working directory.
_RESERVED = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "PWD", "OLDPWD"})


def secret_like(name: str) -> bool:
    upper = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
    if not upper or upper in _RESERVED:
        return False
    words = upper.split("_")
    if words[-1] in _REFERENCE_SUFFIXES or "_".join(words[-2:]) in _REFERENCE_SUFFIXES:
        return False
    return bool(_SECRET_ANYWHERE.search(upper) or _SECRET_WORD.search(upper))


@check(
    id="lambda-secrets-in-environment",
    title="Lambda environment variables look like secrets",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="Environment variable values are visible to anyone with lambda:GetFunctionConfiguration, appear in "
    "infrastructure templates and CI logs, and cannot be rotated without a deployment. Names such as PASSWORD, "
    "TOKEN or API_KEY suggest a secret stored in plain text.",
    fix="Store the secret in Secrets Manager or SSM Parameter Store (SecureString), pass its ARN or name instead, "
    "and read it at runtime (the AWS Parameters and Secrets Lambda Extension caches it); then rotate the exposed "
    "value.",
    docs_url=DOCS + "configuration-envvars.html",
    thresholds={},
)
def secrets_in_environment(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if "env_var_names" not in inp.config:
        return None
    suspicious = sorted(str(n) for n in as_list(inp.config.get("env_var_names")) if secret_like(str(n)))
    if suspicious:
        return Result(
            False,
            {"names": suspicious},
            f"{len(suspicious)} environment variable name(s) suggest a secret: {', '.join(suspicious)}.",
        )
    return Result(True, {}, "No environment variable name suggests a secret.")


@check(
    id="lambda-no-tracing",
    title="Lambda X-Ray tracing off",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="info",
    why="Without active tracing there is no timeline of where an invocation spends its time (init, downstream "
    "calls, retries) and no service map across functions, which makes latency and timeout investigations guesswork.",
    fix="Enable active tracing (Configuration → Monitoring and operations tools → Active tracing, `Tracing: "
    "Active`, or `aws lambda update-function-configuration --tracing-config Mode=Active`); the role needs "
    "xray:PutTraceSegments. Sampling keeps the cost low.",
    docs_url=DOCS + "services-xray.html",
    thresholds={},
)
def no_tracing(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    tracing = inp.config.get("tracing")
    if tracing is None:
        return None
    evidence = {"tracing": tracing}
    if tracing == "Active":
        return Result(True, evidence, "Active X-Ray tracing is on.")
    return Result(False, evidence, f"X-Ray tracing mode is {tracing}.")


# --- event source mappings ------------------------------------------------------------------------


def _is_stream(source_arn: Any) -> bool:
    return isinstance(source_arn, str) and (
        source_arn.startswith("arn:aws:kinesis:") or (":dynamodb:" in source_arn and "/stream/" in source_arn)
    )


@check(
    id="lambda-stream-mapping-no-failure-destination",
    title="Stream event source without an on-failure destination",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="For Kinesis and DynamoDB streams a failing batch is retried until it succeeds or expires (by default, "
    "for the stream's whole retention), blocking its shard; with a retry limit but no on-failure destination the "
    "records are skipped with no trace.",
    fix="On the event source mapping set MaximumRetryAttempts and MaximumRecordAgeInSeconds, enable "
    "BisectBatchOnFunctionError, and add an on-failure destination (SQS or SNS) that receives the failed batch's "
    "metadata for replay.",
    docs_url=DOCS + "with-kinesis.html",
    thresholds={},
)
def stream_mapping_no_failure_destination(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    streams = [as_dict(m) for m in as_list(inp.config.get("event_source_mappings"))]
    streams = [m for m in streams if _is_stream(m.get("event_source_arn"))]
    if not streams:
        return None
    missing = [
        {"event_source_arn": m.get("event_source_arn"), "maximum_retry_attempts": m.get("maximum_retry_attempts")}
        for m in streams
        if not m.get("on_failure_destination")
    ]
    if missing:
        return Result(
            False,
            {"mappings": missing},
            f"{len(missing)} of {len(streams)} stream mapping(s) have no on-failure destination.",
        )
    return Result(True, {}, "Every stream mapping has an on-failure destination.")


@check(
    id="lambda-batch-without-partial-failures",
    title="Batch event source without partial batch responses",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="info",
    why="Without ReportBatchItemFailures one failed message makes the whole batch fail: the messages that "
    "succeeded are processed again (duplicates, extra cost), and a poison message can push a whole batch to the "
    "DLQ.",
    fix="Enable ReportBatchItemFailures on the event source mapping (`FunctionResponseTypes: "
    "[ReportBatchItemFailures]`) and return `batchItemFailures` with the ids of the failed records (Powertools' "
    "batch utility does it).",
    docs_url=DOCS + "services-sqs-errorhandling.html",
    thresholds={"min_batch_size": 2},
)
def batch_without_partial_failures(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    batched = []
    for m in (as_dict(m) for m in as_list(inp.config.get("event_source_mappings"))):
        source = m.get("event_source_arn")
        is_queue = isinstance(source, str) and source.startswith("arn:aws:sqs:")
        batch = number(m.get("batch_size")) or 0
        if (is_queue or _is_stream(source)) and batch >= th["min_batch_size"]:
            batched.append(m)
    if not batched:
        return None
    missing = [
        {"event_source_arn": m.get("event_source_arn"), "batch_size": m.get("batch_size")}
        for m in batched
        if "ReportBatchItemFailures" not in as_list(m.get("function_response_types"))
    ]
    if missing:
        return Result(
            False,
            {"mappings": missing},
            f"{len(missing)} of {len(batched)} batch mapping(s) retry whole batches (no ReportBatchItemFailures).",
        )
    return Result(True, {}, "Every batch mapping reports partial batch failures.")
