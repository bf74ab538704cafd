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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from aws.errors import THROTTLED, Problem, error_code, explain
from monitoring.models import LogCheckpoint, Resource
from monitoring.parsing.lambda_logs import ParseResult, parse_events
from monitoring.store.invocations import StoreSummary, log_batch_store, log_checkpoint_read_to
from monitoring.store.metrics import invoked_from_stored_metrics

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=2)  # re-read behind the last event: most late events are this late
SETTLE = timedelta(seconds=30)  # after its minute ends, how long a minute's events take to arrive
# Every LATE_SWEEP_EVERY, re-read LATE_WINDOW: an event ingested up to
# LATE_WINDOW − LATE_SWEEP_EVERY (15 minutes) after its timestamp is still collected.
LATE_SWEEP_EVERY = timedelta(minutes=5)
LATE_WINDOW = timedelta(minutes=20)
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


@dataclass
class LogsSummary:
    functions: int = 0
    functions_polled: int = 0
    functions_idle: int = 0
    events: int = 0
    skipped_lines: int = 0
    skipped_invocations: int = 0
    # The late sweep was done: every recently active log group re-read. A throttle or a
    # failed read leaves it undone, and due again at the next run.
    late_sweep: bool = False
    fallback: bool = False
    stored: StoreSummary = field(default_factory=StoreSummary)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "functions": self.functions,
            "log_groups_polled": self.functions_polled,
            "log_groups_idle": self.functions_idle,
            "log_events": self.events,
            "skipped_lines": self.skipped_lines,
            "skipped_invocations": self.skipped_invocations,
            "late_sweep": self.late_sweep,
            "metrics_fallback": self.fallback,
            **self.stored.as_dict(),
        }


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms_delta(d: timedelta) -> int:
    return int(d.total_seconds() * 1000)


def invoked_since(cloudwatch: BaseClient, functions: list[Resource], since: datetime, now: datetime) -> dict[int, int]:
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
                        latest[int(rid[1:])] = max(latest.get(int(rid[1:]), 0), _ms(t))
    return latest


def fetch_events(logs: BaseClient, group: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    paginator = logs.get_paginator("filter_log_events")
    for page in paginator.paginate(logGroupName=group, startTime=start_ms, endTime=end_ms):
        events.extend(page.get("events", []))
    return events


def _is_open(cp: LogCheckpoint | None) -> bool:
    return cp is not None and cp.resume_from_ms < cp.last_event_ms - _ms_delta(OVERLAP)


def _needs_read(cp: LogCheckpoint | None, latest_minute_ms: int | None) -> bool:
    """A minute with invocations whose events may not all have been read yet."""
    if latest_minute_ms is None:
        return False
    read_to = cp.polled_to_ms if cp else 0
    return latest_minute_ms + 60_000 + _ms_delta(SETTLE) > read_to


def collect_logs(
    client_for: ClientFactory,
    functions: list[Resource],
    region: str,
    now: datetime | None = None,
    *,
    metrics_fresh: bool = False,
    late_sweep: bool = False,
    progress: Callable[[], None] | None = None,
) -> LogsSummary:
    """Read the log groups of the given functions that have something new; store it.
    `metrics_fresh`: this run's metrics collector just stored the Lambda Invocations.
    `late_sweep`: also re-read the last LATE_WINDOW of recently active log groups.
    `progress`: called after each log group (the unit lock renews itself there)."""
    now = now or timezone.now()
    summary = LogsSummary(functions=len(functions), late_sweep=late_sweep)
    if not functions:
        return summary
    checkpoints = {c.resource_id: c for c in LogCheckpoint.objects.filter(resource__in=functions)}
    # Looking further back than the first read would is never needed: a function idle for
    # days has its newest minute inside that hour or none at all.
    oldest = min((checkpoints[f.pk].polled_to_ms if f.pk in checkpoints else 0) for f in functions)
    since = max(_dt(oldest) - OVERLAP, now - FIRST_POLL)

    latest: dict[int, int] | None
    try:
        if metrics_fresh:
            latest = invoked_from_stored_metrics(functions, since)  # no extra CloudWatch call
        else:
            latest = invoked_since(client_for("cloudwatch"), functions, since, now)
    except (ClientError, BotoCoreError) as exc:
        latest = None
        problem = explain(
            exc, service="cloudwatch", operation="GetMetricData", region=region, action="cloudwatch:GetMetricData"
        )
        summary.problems.append(
            Problem(
                problem.kind,
                f"{problem.message} Without the Invocations metric, the log groups active in the last hour "
                f"are read instead (at most {FALLBACK_MAX_GROUPS} a run).",
                problem.service,
                problem.operation,
                problem.region,
                problem.code,
            )
        )
        summary.fallback = True

    recent_ms = _ms(now - LATE_WINDOW)
    due: list[Resource] = []
    for fn in functions:
        cp = checkpoints.get(fn.pk)
        swept = late_sweep and cp is not None and cp.last_event_ms >= recent_ms
        if _is_open(cp) or swept or (latest is not None and _needs_read(cp, latest.get(fn.pk))):
            due.append(fn)
    if latest is None:
        due = _fallback(functions, checkpoints, due, now)
    summary.functions_idle = len(functions) - len(due)
    # The most recently active first: when a throttle ends the run, they are the ones read.
    due.sort(key=lambda f: -(checkpoints[f.pk].last_event_ms if f.pk in checkpoints else 0))

    for fn in due:
        if progress is not None:
            progress()
        summary.functions_polled += 1
        try:
            _poll_one(client_for("logs"), fn, checkpoints.get(fn.pk), now, summary, late_sweep=late_sweep)
        except (ClientError, BotoCoreError) as exc:
            code = error_code(exc) if isinstance(exc, ClientError) else ""
            if code in NOT_FOUND:
                log_checkpoint_read_to(resource=fn, end_ms=_ms(now))  # no log group yet: the function has never logged
                continue
            problem = explain(
                exc, service="logs", operation="FilterLogEvents", region=region, action="logs:FilterLogEvents"
            )
            if code in THROTTLED:
                left = len(due) - summary.functions_polled
                summary.problems.append(
                    Problem(
                        problem.kind,
                        f"AWS throttled FilterLogEvents in {region} while reading {fn.name}; the {left} log "
                        "group(s) after it wait for the next run, which resumes from each one's checkpoint.",
                        "logs",
                        "FilterLogEvents",
                        region,
                        code,
                        resource=fn.name,
                    )
                )
                summary.late_sweep = False
                break
            summary.late_sweep = False
            if all(p.operation != problem.operation or p.code != problem.code for p in summary.problems):
                summary.problems.append(problem)
        except Exception as exc:
            # Not the data's fault (that is handled inside) and not AWS's: the database or a
            # bug. Report it with the function, keep the checkpoint, go on with the others.
            log.exception("logs of %s in %s could not be collected", fn.name, region)
            summary.late_sweep = False
            summary.problems.append(
                Problem(
                    "error",
                    f"Could not collect the logs of {fn.name}: {type(exc).__name__}: {exc}"[:500],
                    "logs",
                    "FilterLogEvents",
                    region,
                    resource=fn.name,
                )
            )
    return summary


def _fallback(
    functions: list[Resource], checkpoints: dict[int, LogCheckpoint], due: list[Resource], now: datetime
) -> list[Resource]:
    """Without the metric: the open and recently active log groups, then the least recently
    read ones, so that across runs every log group is read, within the budget."""
    chosen = {fn.pk for fn in due}
    recent = _ms(now - FALLBACK_RECENT)

    def last_event(fn: Resource) -> int:
        cp = checkpoints.get(fn.pk)
        return cp.last_event_ms if cp else 0

    def read_to(fn: Resource) -> int:
        cp = checkpoints.get(fn.pk)
        return cp.polled_to_ms if cp else 0

    active = sorted((f for f in functions if f.pk not in chosen and last_event(f) >= recent), key=last_event)
    rest = sorted((f for f in functions if f.pk not in chosen and last_event(f) < recent), key=read_to)
    return [*due, *reversed(active), *rest][: max(FALLBACK_MAX_GROUPS, len(due))]


def _event_times(events: Iterable[dict[str, Any]]) -> list[int]:
    return [e["timestamp"] for e in events if type(e.get("timestamp")) is int]


def _poll_one(
    logs: BaseClient,
    fn: Resource,
    cp: LogCheckpoint | None,
    now: datetime,
    summary: LogsSummary,
    *,
    late_sweep: bool,
) -> None:
    group = (fn.config or {}).get("log_group") or f"/aws/lambda/{fn.name}"
    end_ms = _ms(now)
    if cp is None or not (cp.last_event_ms or cp.polled_to_ms):
        start_ms = _ms(now - FIRST_POLL)
    else:
        start_ms = max(cp.last_event_ms, cp.polled_to_ms) - _ms_delta(OVERLAP)
        if _is_open(cp):
            start_ms = min(start_ms, cp.resume_from_ms)
        start_ms = max(start_ms, _ms(now - max(FIRST_POLL, LATE_WINDOW)))
    if late_sweep:
        start_ms = min(start_ms, _ms(now - LATE_WINDOW))
    events = fetch_events(logs, group, start_ms, end_ms)
    summary.events += len(events)
    times = _event_times(events)
    if not times:
        log_checkpoint_read_to(resource=fn, end_ms=end_ms)
        return
    try:
        result = parse_events(events)
    except Exception as exc:  # the parser's contract is never to raise; if it does, only this batch suffers
        log.exception("parsing the logs of %s failed", fn.name)
        result = ParseResult([], len(events), [])
        summary.problems.append(_skipped(fn, f"{len(events)} log events could not be parsed ({type(exc).__name__})"))
    summary.skipped_lines += result.skipped
    last_ms = max(times)
    open_starts = [_ms(inv.started_at) for inv in result.invocations if not inv.complete and inv.started_at is not None]
    floor_ms = last_ms - _ms_delta(MAX_OPEN)
    resume_ms = max(min(open_starts), floor_ms) if open_starts else last_ms - _ms_delta(OVERLAP)
    stored, poisoned = log_batch_store(
        resource=fn, result=result, checkpoint=cp, last_event_ms=last_ms, resume_from_ms=resume_ms, polled_to_ms=end_ms
    )
    summary.stored.add(stored)
    if poisoned:
        summary.skipped_invocations += len(poisoned)
        first = poisoned[0]
        summary.problems.append(
            _skipped(
                fn,
                f"{len(poisoned)} invocation(s) could not be stored and were skipped; first: "
                f"request {first.request_id or '(lines outside invocations)'}"
                f"{' at ' + first.started_at.isoformat() if first.started_at else ''}: {first.reason}",
            )
        )


def _skipped(fn: Resource, detail: str) -> Problem:
    return Problem(
        "skipped",
        f"Logs of {fn.name}: {detail}. The rest of its logs were stored and collection went on.",
        "logs",
        "FilterLogEvents",
        fn.region,
        resource=fn.name,
    )
