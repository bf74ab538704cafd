"""The logs collector: Lambda log groups → invocations, exactly once (docs/collection.md).

FilterLogEvents allows 5 calls per second per account and region, and the customer's own
tools share them, so:

1. Find the functions with something new to read. CloudWatch's Invocations metric (Sum,
   per minute) says which minutes had invocations; a function needs a read when one of
   those minutes, plus SETTLE for its events to arrive, ends after the end of the last
   window read from its log group (`polled_to_ms`). An idle function costs no log call.
   Functions with an invocation still open are read too, to complete it. When
   GetMetricData fails, the most recently active log groups are read instead, within a
   budget, and the failure is reported.
2. For each of them, FilterLogEvents, paged by nextToken, within the shared token bucket.
   The window starts OVERLAP before the last event read (or the start of the earliest
   still-open invocation). Every LATE_SWEEP_EVERY the run also re-reads the last
   LATE_WINDOW of every recently active log group: CloudWatch Logs can ingest events
   minutes after their timestamp, and this is what catches them (counted as late). A
   sweep cut short (a throttle, a failed read) is not stamped: the next run sweeps again.
3. Parse, then store (monitoring.store.invocations, idempotent) and move the checkpoint in
   one transaction: a crash mid-batch loses and duplicates nothing. One function's failure is
   its own: an event that cannot be stored is skipped and reported with the function and
   the reason, and the checkpoint moves past it; any other error is reported and the other
   functions go on. A throttled FilterLogEvents ends this run's reads (the next run resumes
   from the checkpoints) rather than paying the retry ladder for every function after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from botocore.client import BaseClient

from aws.errors import Problem
from monitoring.parsing.lambda_logs import ParseResult, parse_events

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=2)  # re-read behind the last event: most late events are this late
SETTLE = timedelta(seconds=30)  # after its minute ends, how long a minute's events take to arrive
# Every LATE_SWEEP_EVERY, re-read LATE_WINDOW: an event ingested up to
# LATE_WINDOW − LATE_SWEEP_EVERY (15 minutes) after its timestamp is still collected.
LATE_SWEEP_EVERY = timedelta(minutes=5)
LATE_WINDOW = timedelta(minutes=20)
# While push is on, how long a delivery may lag behind the invocations it carries before
# polling fills the gap: Firehose buffers up to the template's 60 s, then retries.
PUSH_GRACE = timedelta(minutes=5)
# An invocation never runs longer than Lambda's 15-minute maximum: a START whose REPORT
# never came must not pin the checkpoint for ever.
MAX_OPEN = timedelta(minutes=16)
FIRST_POLL = timedelta(hours=1)  # how far back a function's first read goes
METRIC_QUERIES_PER_CALL = 500
# Without the Invocations metric, read the log groups active in the last FALLBACK_RECENT,
# at most FALLBACK_MAX_GROUPS of them (FilterLogEvents is paced at 3 calls/s).
FALLBACK_RECENT = timedelta(hours=1)
FALLBACK_MAX_GROUPS = 150
NOT_FOUND = {"ResourceNotFoundException"}

ClientFactory = Callable[[str], BaseClient]
F = TypeVar("F", bound="Function")


class Function(Protocol):
    """A Lambda function as collection sees it (a `Resource` row is one)."""

    pk: int
    name: str
    region: str
    config: Any


class Mark(Protocol):
    """How far a log group has been read (a `LogCheckpoint` row is one)."""

    polled_to_ms: int
    last_event_ms: int
    resume_from_ms: int


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms_delta(d: timedelta) -> int:
    return int(d.total_seconds() * 1000)


def invoked_since(
    cloudwatch: BaseClient, functions: Sequence[Function], since: datetime, now: datetime
) -> dict[int, int]:
    """For each function, the start (ms) of its latest minute with Invocations > 0 after `since`."""
    latest: dict[int, int] = {}
    start = since.replace(second=0, microsecond=0)
    for i in range(0, len(functions), METRIC_QUERIES_PER_CALL):
        chunk = functions[i : i + METRIC_QUERIES_PER_CALL]
        queries = [
            {
                "Id": f"f{fn.pk}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Invocations",
                        "Dimensions": [{"Name": "FunctionName", "Value": fn.name}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for fn in chunk
        ]
        params: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": now + timedelta(minutes=1),
        }
        for page in cloudwatch.get_paginator("get_metric_data").paginate(**params):
            for result in page.get("MetricDataResults", []):
                rid = str(result.get("Id", ""))
                if not rid[1:].isascii() or not rid[1:].isdecimal():
                    continue  # not one of our queries: an answer we cannot place
                for t, v in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    if isinstance(t, datetime) and isinstance(v, int | float) and v > 0:
                        latest[int(rid[1:])] = max(latest.get(int(rid[1:]), 0), ms(t))
    return latest


def fetch_events(logs: BaseClient, group: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    paginator = logs.get_paginator("filter_log_events")
    for page in paginator.paginate(logGroupName=group, startTime=start_ms, endTime=end_ms):
        events.extend(page.get("events", []))
    return events


def is_open(cp: Mark | None) -> bool:
    return cp is not None and cp.resume_from_ms < cp.last_event_ms - _ms_delta(OVERLAP)


def needs_read(cp: Mark | None, latest_minute_ms: int | None) -> bool:
    """A minute with invocations whose events may not all have been read yet."""
    if latest_minute_ms is None:
        return False
    read_to = cp.polled_to_ms if cp else 0
    return latest_minute_ms + 60_000 + _ms_delta(SETTLE) > read_to


def push_gap(cp: Mark | None, latest_minute_ms: int | None, now_ms: int) -> bool:
    """While push is on (docs/push.md): the latest minute with invocations ended more than
    PUSH_GRACE ago, no event of it or later was pushed (nor polled), and no poll read it
    yet. Earlier gaps behind later pushed events are not seen: the metric gives the latest
    minute only."""
    if latest_minute_ms is None or latest_minute_ms + 60_000 + _ms_delta(PUSH_GRACE) > now_ms:
        return False
    have = cp.last_event_ms if cp else 0
    return latest_minute_ms > have - have % 60_000 and needs_read(cp, latest_minute_ms)


def fallback(functions: Sequence[F], checkpoints: Mapping[int, Mark], due: list[F], now: datetime) -> list[F]:
    """Without the metric: the open and recently active log groups, then the least recently
    read ones, so that across runs every log group is read, within the budget."""
    chosen = {fn.pk for fn in due}
    recent = ms(now - FALLBACK_RECENT)

    def last_event(fn: F) -> int:
        cp = checkpoints.get(fn.pk)
        return cp.last_event_ms if cp else 0

    def read_to(fn: F) -> int:
        cp = checkpoints.get(fn.pk)
        return cp.polled_to_ms if cp else 0

    active = sorted((f for f in functions if f.pk not in chosen and last_event(f) >= recent), key=last_event)
    rest = sorted((f for f in functions if f.pk not in chosen and last_event(f) < recent), key=read_to)
    return [*due, *reversed(active), *rest][: max(FALLBACK_MAX_GROUPS, len(due))]


def skipped(fn: Function, detail: str) -> Problem:
    return Problem(
        "skipped",
        f"Logs of {fn.name}: {detail}. The rest of its logs were stored and collection went on.",
        "logs",
        "FilterLogEvents",
        fn.region,
        resource=fn.name,
    )


def window(cp: Mark | None, now: datetime, *, late_sweep: bool) -> tuple[int, int]:
    """The (start, end) ms to read a log group: OVERLAP behind the last event read, back to
    the start of an invocation still open, never further than the first read would go."""
    end_ms = ms(now)
    if cp is None or not (cp.last_event_ms or cp.polled_to_ms):
        start_ms = ms(now - FIRST_POLL)
    else:
        start_ms = max(cp.last_event_ms, cp.polled_to_ms) - _ms_delta(OVERLAP)
        if is_open(cp):
            start_ms = min(start_ms, cp.resume_from_ms)
        start_ms = max(start_ms, ms(now - max(FIRST_POLL, LATE_WINDOW)))
    if late_sweep:
        start_ms = min(start_ms, ms(now - LATE_WINDOW))
    return start_ms, end_ms


def log_group_of(fn: Function) -> str:
    return (fn.config or {}).get("log_group") or f"/aws/lambda/{fn.name}"


def event_times(events: Iterable[dict[str, Any]]) -> list[int]:
    return [e["timestamp"] for e in events if type(e.get("timestamp")) is int]


def parse_batch(fn: Function, events: list[dict[str, Any]]) -> tuple[ParseResult, Problem | None]:
    """Parse one log group's events; the parser's contract is never to raise, and if it does
    only this batch suffers (its events counted as skipped, the problem reported)."""
    try:
        return parse_events(events), None
    except Exception as exc:
        log.exception("parsing the logs of %s failed", fn.name)
        return ParseResult([], len(events), []), skipped(
            fn, f"{len(events)} log events could not be parsed ({type(exc).__name__})"
        )


def resume_point(result: ParseResult, last_ms: int) -> int:
    """Where the next read must start at the latest: the earliest invocation still open
    (bounded by MAX_OPEN), else OVERLAP behind the last event."""
    open_starts = [ms(inv.started_at) for inv in result.invocations if not inv.complete and inv.started_at is not None]
    floor_ms = last_ms - _ms_delta(MAX_OPEN)
    return max(min(open_starts), floor_ms) if open_starts else last_ms - _ms_delta(OVERLAP)
