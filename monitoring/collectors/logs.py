"""The logs collector: Lambda log groups → invocations, exactly once (DESIGN §4, §5).

FilterLogEvents allows 5 calls per second per account and region, and the customer's own
tools share them, so:

1. Ask CloudWatch which functions were invoked since each one's checkpoint: one
   GetMetricData per 500 functions (Invocations, Sum, per minute). An idle function costs
   no log call. Functions with an invocation still open are polled too, to complete it.
2. For each active function, FilterLogEvents from its checkpoint, paged by nextToken, within
   the shared token bucket. The window starts OVERLAP before the last stored event (late
   ingestion) or at the start of the earliest still-open invocation (one spanning polls).
3. Parse, store (monitoring.ingest, idempotent), and move the checkpoint, all in one
   transaction: a crash mid-batch loses and duplicates nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from django.db import connection, transaction
from django.utils import timezone

from monitoring.aws.errors import Problem, error_code, explain
from monitoring.ingest import StoreSummary, invocations_store
from monitoring.models import LogCheckpoint, Resource
from monitoring.parsing.lambda_logs import parse_events

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=2)  # CloudWatch Logs may ingest an event this late
# An invocation never runs longer than Lambda's 15-minute maximum: a START whose REPORT
# never came must not pin the checkpoint for ever.
MAX_OPEN = timedelta(minutes=16)
FIRST_POLL = timedelta(hours=1)  # how far back a function's first poll reads
METRIC_QUERIES_PER_CALL = 500
NOT_FOUND = {"ResourceNotFoundException"}

ClientFactory = Callable[[str], BaseClient]


@dataclass
class LogsSummary:
    functions: int = 0
    functions_polled: int = 0
    events: int = 0
    skipped_lines: int = 0
    stored: StoreSummary = field(default_factory=StoreSummary)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "functions": self.functions,
            "log_groups_polled": self.functions_polled,
            "log_events": self.events,
            "skipped_lines": self.skipped_lines,
            **self.stored.as_dict(),
        }


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def invoked_since(
    cloudwatch: BaseClient, functions: list[tuple[Resource, datetime]], now: datetime
) -> tuple[set[int], int]:
    """Ids of the functions with Invocations > 0 after their own `since`; and calls made."""
    active: set[int] = set()
    calls = 0
    for i in range(0, len(functions), METRIC_QUERIES_PER_CALL):
        chunk = functions[i : i + METRIC_QUERIES_PER_CALL]
        start = min(since for _, since in chunk).replace(second=0, microsecond=0)
        queries = [
            {
                "Id": f"f{resource.pk}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Invocations",
                        "Dimensions": [{"Name": "FunctionName", "Value": resource.name}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for resource, _ in chunk
        ]
        since_of = {f"f{r.pk}": s for r, s in chunk}
        token = None
        while True:
            params: dict[str, Any] = {
                "MetricDataQueries": queries,
                "StartTime": start,
                "EndTime": now + timedelta(minutes=1),
            }
            if token:
                params["NextToken"] = token
            response = cloudwatch.get_metric_data(**params)
            calls += 1
            for result in response.get("MetricDataResults", []):
                cutoff = since_of[result["Id"]] - timedelta(minutes=1)  # periods are minute-aligned
                if any(
                    v > 0 and t >= cutoff
                    for t, v in zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                ):
                    active.add(int(result["Id"][1:]))
            token = response.get("NextToken")
            if not token:
                break
    return active, calls


def fetch_events(logs: BaseClient, group: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    paginator = logs.get_paginator("filter_log_events")
    for page in paginator.paginate(logGroupName=group, startTime=start_ms, endTime=end_ms):
        events.extend(page.get("events", []))
    return events


def invoked_from_stored_metrics(functions: list[tuple[Resource, datetime]]) -> set[int]:
    """The same answer as `invoked_since`, from the Invocations points the metrics collector
    stored moments ago in this run: no extra CloudWatch call."""
    if not functions:
        return set()
    since = {fn.pk: s for fn, s in functions}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resource_id, max(ts) FROM monitoring_metricpoint WHERE account_id = %s AND resource_id = ANY(%s) "
            "AND metric = 'AWS/Lambda:Invocations' AND stat = 'Sum' AND value > 0 AND ts >= %s GROUP BY resource_id",
            [functions[0][0].account_id, list(since), min(since.values()) - timedelta(minutes=1)],
        )
        return {rid for rid, last in cursor.fetchall() if last >= since[rid] - timedelta(minutes=1)}


def collect_logs(
    client_for: ClientFactory,
    functions: list[Resource],
    region: str,
    now: datetime | None = None,
    *,
    metrics_fresh: bool = False,
) -> LogsSummary:
    """Poll the log groups of the given functions that were invoked; store what they hold.
    `metrics_fresh`: this run's metrics collector just stored the Lambda Invocations."""
    now = now or timezone.now()
    summary = LogsSummary(functions=len(functions))
    if not functions:
        return summary
    checkpoints = {c.resource_id: c for c in LogCheckpoint.objects.filter(resource__in=functions)}
    windows: list[tuple[Resource, datetime]] = []
    for fn in functions:
        cp = checkpoints.get(fn.pk)
        since = datetime.fromtimestamp(cp.last_event_ms / 1000, tz=UTC) if cp and cp.last_event_ms else now - FIRST_POLL
        windows.append((fn, since))
    try:
        if metrics_fresh:
            active = invoked_from_stored_metrics(windows)
        else:
            active, _ = invoked_since(client_for("cloudwatch"), windows, now)
    except (ClientError, BotoCoreError) as exc:
        summary.problems.append(
            explain(
                exc, service="cloudwatch", operation="GetMetricData", region=region, action="cloudwatch:GetMetricData"
            )
        )
        return summary
    for fn, _ in windows:
        cp = checkpoints.get(fn.pk)
        still_open = cp is not None and cp.resume_from_ms < cp.last_event_ms - _ms_delta(OVERLAP)
        if fn.pk not in active and not still_open:
            continue
        summary.functions_polled += 1
        try:
            _poll_one(client_for("logs"), fn, cp, now, summary)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and error_code(exc) in NOT_FOUND:
                continue  # no log group yet: the function has never logged
            problem = explain(
                exc, service="logs", operation="FilterLogEvents", region=region, action="logs:FilterLogEvents"
            )
            if all(p.operation != problem.operation for p in summary.problems):
                summary.problems.append(problem)
    return summary


def _ms_delta(d: timedelta) -> int:
    return int(d.total_seconds() * 1000)


def _poll_one(logs: BaseClient, fn: Resource, cp: LogCheckpoint | None, now: datetime, summary: LogsSummary) -> None:
    group = (fn.config or {}).get("log_group") or f"/aws/lambda/{fn.name}"
    if cp is None or not cp.last_event_ms:
        start_ms = _ms(now - FIRST_POLL)
    else:
        start_ms = min(cp.resume_from_ms, cp.last_event_ms - _ms_delta(OVERLAP))
    end_ms = _ms(now)
    events = fetch_events(logs, group, start_ms, end_ms)
    summary.events += len(events)
    if not events:
        return
    result = parse_events(events)
    summary.skipped_lines += result.skipped
    last_ms = max(int(e["timestamp"]) for e in events)
    open_starts = [_ms(inv.started_at) for inv in result.invocations if not inv.complete and inv.started_at is not None]
    floor_ms = last_ms - _ms_delta(MAX_OPEN)
    resume_ms = max(min(open_starts), floor_ms) if open_starts else last_ms - _ms_delta(OVERLAP)
    with transaction.atomic():
        stored = invocations_store(resource=fn, result=result, new_after_ms=cp.last_event_ms if cp else 0)
        LogCheckpoint.objects.update_or_create(
            resource=fn,
            defaults={"last_event_ms": max(last_ms, cp.last_event_ms if cp else 0), "resume_from_ms": resume_ms},
        )
    summary.stored.add(stored)
