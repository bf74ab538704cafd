"""Collect one account × region, the unit of work (docs/collection.md): under the unit's
lock, assume the role, then discovery (when due), metrics (the kinds whose interval passed)
and logs (the functions with something new). Each step fetches (`monitoring.collection.*`)
and hands what it fetched to `monitoring.store`.

Celery tasks, `manage.py collect` and the tests all call these functions.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db.models import Max, Min
from django.db.models.functions import TruncHour
from django.utils import timezone

import kinds
from accounts.models import AwsAccount, LogIngestion
from accounts.services import aws_account_regions_found
from aws import clients
from aws.errors import ACCESS_DENIED, THROTTLED, Problem, assume_role_refused, error_code, explain
from aws.regions import HOME_REGION, RegionsUnavailable, enabled_regions
from kinds import lambda_function
from kinds.filters import ResourceFilters
from monitoring.collection import logs as logs_fetch
from monitoring.collection import traces as traces_fetch
from monitoring.collection.discovery import discover
from monitoring.collection.logs import LATE_SWEEP_EVERY
from monitoring.collection.metrics import (
    ACCOUNT_KIND,
    FIRST_WINDOW,
    LATE_DATA,
    ClientFactory,
    MetricsSummary,
    Query,
    build_queries,
    fetch,
)
from monitoring.gcpause import gc_paused
from monitoring.models import Invocation, LogCheckpoint, MetricCheckpoint, Resource, Trace, TraceCheckpoint
from monitoring.parsing.lambda_logs import ParseResult
from monitoring.services import account_access_failed, account_access_ok, account_health_record
from monitoring.store.invocations import StoreSummary, log_batch_store, log_checkpoint_read_to
from monitoring.store.metrics import invoked_from_stored_metrics, metric_points_store
from monitoring.store.resources import discovery_known, resources_sync
from monitoring.store.traces import traces_store

log = logging.getLogger(__name__)


class UnitBusy(Exception):
    """Another worker is collecting this account × region right now."""


def _lock_key(account_id: int, region: str) -> str:
    return f"dashbird:lock:collect:{account_id}:{region}"


class UnitLock:
    """A Redis lock so two workers never collect the same account × region at once.

    Its TTL is short (COLLECT_LOCK_SECONDS) and renewed while the run makes progress (each
    AWS call, each function stored), so a worker killed with SIGKILL, or a run cut off by a
    Redis outage, holds the unit at most that long: the next run finds the key expired and
    takes over. Who holds it, and since when, is kept beside it for the account page and
    `collect --once`."""

    def __init__(self, account_id: int, region: str) -> None:
        self.key = _lock_key(account_id, region)
        self.seconds = max(10, int(settings.COLLECT_LOCK_SECONDS))
        self.client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        # Not thread-local: the logs step's reading thread renews it too (its AWS calls are progress).
        self.lock = self.client.lock(self.key, timeout=self.seconds, blocking=False, thread_local=False)
        self._touched = 0.0

    def acquire(self) -> None:
        if not self.lock.acquire():
            raise UnitBusy(unit_busy_message(self.client, self.key))
        holder = {"worker": f"{socket.gethostname()}:{os.getpid()}", "since": timezone.now().isoformat()}
        self.client.set(f"{self.key}:holder", json.dumps(holder), ex=self.seconds)
        self._touched = time.monotonic()

    def touch(self) -> None:
        """Renew the TTL, at most every few seconds (called on each unit of progress)."""
        if time.monotonic() - self._touched < self.seconds / 6:
            return
        self._touched = time.monotonic()
        try:
            self.lock.reacquire()
            self.client.expire(f"{self.key}:holder", self.seconds)
        except redis.exceptions.LockError:
            # Expired and possibly taken over: finishing is still safe (storage is
            # idempotent and the database enforces identity), but say so.
            log.warning("collect lock %s was lost during the run", self.key)
        except redis.exceptions.RedisError as exc:
            log.warning("collect lock %s could not be renewed: %s", self.key, exc)

    def release(self) -> None:
        try:
            self.lock.release()
            self.client.delete(f"{self.key}:holder")
        except redis.exceptions.LockError:
            log.warning("collect lock %s expired before release", self.key)
        except redis.exceptions.RedisError as exc:
            log.warning("collect lock %s not released (%s); it expires in %s s", self.key, exc, self.seconds)


def unit_busy_message(client: redis.Redis, key: str) -> str:
    holder: dict[str, Any] = {}
    try:
        raw = client.get(f"{key}:holder")
        holder = json.loads(raw) if raw else {}
        ttl = client.ttl(key)
    except (redis.exceptions.RedisError, ValueError):
        ttl = -1
    who = f" by worker {holder['worker']} since {str(holder.get('since', ''))[:19]}" if holder.get("worker") else ""
    left = f"; its lock expires in {ttl} s unless that run renews it" if isinstance(ttl, int) and ttl > 0 else ""
    return f"being collected{who}{left}"


def unit_busy(account_id: int, region: str) -> str | None:
    """What the account page says of a unit being collected right now, or None."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    key = _lock_key(account_id, region)
    try:
        if not client.exists(key):
            return None
    except redis.exceptions.RedisError:
        return None
    return unit_busy_message(client, key)


@contextmanager
def unit_lock(account_id: int, region: str) -> Iterator[UnitLock]:
    lock = UnitLock(account_id, region)
    try:
        lock.acquire()
    except redis.exceptions.RedisError as exc:
        raise UnitBusy(f"the collection lock is unavailable (Redis: {exc})") from exc
    try:
        yield lock
    finally:
        lock.release()


@dataclass
class UnitSummary:
    account_id: int
    region: str
    resources: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    api_calls: dict[str, dict[str, int]] = field(default_factory=dict)
    logs: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    traces: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "resources_by_type": self.resources,
            "items_ingested": {"resources": sum(self.resources.values()), **self.changes},
            "logs": self.logs,
            "metrics": self.metrics,
            "traces": self.traces,
            "problems": self.problems,
            "api_calls": self.api_calls,
            "api_calls_total": sum(sum(ops.values()) for ops in self.api_calls.values()),
            **({"error": self.error} if self.error else {}),
        }


def _age(account: AwsAccount, key: str, now: datetime) -> float | None:
    last = account.last_collected.get(key)
    return (now - datetime.fromisoformat(last)).total_seconds() if last else None


def discovery_due(account: AwsAccount, region: str, now: datetime) -> bool:
    age = _age(account, f"discovery:{region}", now)
    return age is None or age >= settings.DISCOVERY_INTERVAL_MINUTES * 60


STEPS = ("discovery", "logs", "metrics")


def collect_unit(
    account: AwsAccount, region: str, *, force_discovery: bool = True, steps: Iterable[str] = STEPS
) -> UnitSummary:
    """The collectors of one account × region, in this order: discovery (when due, or
    forced), logs (the functions with something new), then metrics (the kinds whose interval
    passed). Logs come before metrics so that a run's slowest step never delays the rows
    people wait for. `steps` runs only some of them (the scheduled path runs each step as
    its own task, on its own queue); the unit's lock covers whichever run."""
    steps = set(steps)
    summary = UnitSummary(account_id=account.pk, region=region)
    with unit_lock(account.pk, region) as lock, clients.recording(on_call=lock.touch) as recorder:
        now = timezone.now()
        # The role first: when AWS refuses it, that is the unit's one problem, named as such,
        # not a "permission missing" on every call after it.
        if _assume(account, region, summary, now):
            if "discovery" in steps and (force_discovery or discovery_due(account, region, now)):
                _discover(account, region, now, summary)
            if "logs" in steps:
                _logs(account, region, summary, lock)
            if "metrics" in steps:
                _metrics(account, region, summary, lock)
            if recorder.all_denied:
                # Every call denied: the role was deleted or stripped while its credentials
                # were cached. Drop them; assuming again tells which.
                clients.forget_credentials(account)
                _assume(account, region, summary, timezone.now())
            if not summary.error:
                account_access_ok(account=account, region=region)
    summary.api_calls = recorder.summary()
    return summary


def _assume(account: AwsAccount, region: str, summary: UnitSummary, now: datetime) -> bool:
    from accounts.onboarding import platform_principal

    try:
        clients.account_credentials(account)
        return True
    except (ClientError, BotoCoreError) as exc:
        clients.forget_credentials(account)
        if isinstance(exc, ClientError) and error_code(exc) in ACCESS_DENIED:
            message = assume_role_refused(
                role_arn=account.role_arn, external_id=account.external_id, principal=platform_principal()
            )
        else:
            message = explain(exc, service="sts", operation="AssumeRole", region=region).message
    summary.error = message
    account_access_failed(account=account, region=region, message=message, now=now)
    return False


def _discover(account: AwsAccount, region: str, now: datetime, summary: UnitSummary) -> None:
    known, since_last = discovery_known(account=account, region=region, now=now)
    try:
        result = discover(
            lambda service: clients.customer_client(account, region, service),
            region,
            ResourceFilters.from_lists(account.include_filters, account.exclude_filters),
            known=known,
            now=now,
            since_last=since_last,
            refresh=timedelta(hours=settings.DISCOVERY_DETAILS_REFRESH_HOURS),
        )
    except (ClientError, BotoCoreError) as exc:  # the credentials went bad mid-run
        problem = explain(exc, service="sts", operation="AssumeRole", region=region).as_dict()
        account_health_record(account=account, region=region, collector="discovery", problems=[problem], now=now)
        summary.problems.append(problem)
        return
    stored = resources_sync(account=account, result=result, now=now)
    account_health_record(
        account=account,
        region=region,
        collector="discovery",
        problems=[p.as_dict() for p in result.problems],
        now=now,
    )
    for snap in result.snapshots:
        summary.resources[snap.kind] = summary.resources.get(snap.kind, 0) + 1
    summary.changes = {k: v for k, v in stored.items() if k != "updated"}
    summary.changes["details_read"] = sum(1 for snap in result.snapshots if snap.details_read)
    summary.problems = [p.as_dict() for p in result.problems]


def _metrics(account: AwsAccount, region: str, summary: UnitSummary, lock: UnitLock) -> None:
    def client_for(service: str) -> Any:
        return clients.customer_client(account, region, service)

    problems: list[dict[str, Any]] = []
    try:
        summary.metrics = collect_metrics(client_for, account, region, timezone.now()).as_dict()
    except (ClientError, BotoCoreError) as exc:
        problems.append(
            explain(
                exc, service="cloudwatch", operation="GetMetricData", region=region, action="cloudwatch:GetMetricData"
            ).as_dict()
        )
    account_health_record(account=account, region=region, collector="metrics", problems=problems, now=timezone.now())
    summary.problems += problems
    lock.touch()


def _logs(account: AwsAccount, region: str, summary: UnitSummary, lock: UnitLock) -> None:
    def client_for(service: str) -> Any:
        return clients.customer_client(account, region, service)

    functions = list(Resource.objects.filter(account=account, region=region, kind=lambda_function.KIND, gone_at=None))
    now = timezone.now()
    push = account.log_ingestion == LogIngestion.PUSH
    sweep = not push and late_sweep_due(account, region, now)
    # Logs run before this run's metrics: which functions were invoked comes from CloudWatch
    # now (one GetMetricData per 500 functions), not from the points stored a poll ago.
    logs = collect_logs(
        client_for, functions, region, now, metrics_fresh=False, late_sweep=sweep, progress=lock.touch, push=push
    )
    account_health_record(
        account=account,
        region=region,
        collector="logs",
        problems=[p.as_dict() for p in logs.problems],
        now=timezone.now(),
        # Stamped only when done: a sweep cut short by a throttle is due again at the next run,
        # or the events it was there to catch fall out of the window before the one after.
        stamps=[f"logs_sweep:{region}"] if logs.late_sweep else [],
    )
    summary.logs = logs.as_dict()
    summary.problems += [p.as_dict() for p in logs.problems]

    # Traces last: they are of the invocations the logs step just stored.
    lock.touch()
    trace_problems: list[dict[str, Any]] = []
    try:
        summary.traces = collect_traces(client_for, account, region, functions, timezone.now())
    except (ClientError, BotoCoreError) as exc:
        trace_problems.append(
            explain(
                exc, service="xray", operation="BatchGetTraces", region=region, action="xray:BatchGetTraces"
            ).as_dict()
        )
    account_health_record(
        account=account, region=region, collector="traces", problems=trace_problems, now=timezone.now()
    )
    summary.problems += trace_problems


# X-Ray indexes a trace within seconds of its last segment; a minute leaves room.
TRACE_SETTLE = timedelta(seconds=60)
TRACE_FIRST_WINDOW = timedelta(hours=1)
LAMBDA_LONGEST = timedelta(minutes=15)


def trace_budget(account: AwsAccount, now: datetime) -> int:
    """Traces this run may fetch: the account's hourly budget less what the last hour
    fetched (all regions), and at most XRAY_TRACES_PER_RUN."""
    spent = Trace.objects.filter(
        account_id=account.pk, started_at__gte=now - timedelta(hours=3), fetched_at__gte=now - timedelta(hours=1)
    ).count()
    return max(0, min(int(settings.XRAY_TRACES_PER_RUN), int(settings.XRAY_TRACES_PER_HOUR) - spent))


def collect_traces(
    client_for: Callable[[str], Any], account: AwsAccount, region: str, functions: list[Resource], now: datetime
) -> dict[str, Any]:
    """The traces step (docs/traces.md): the traced invocations that ended since the
    checkpoint, chosen within the budget (`traces_fetch.choose`), BatchGetTraces five at a
    time, stored with the checkpoint. An invocation left out stays without a trace: its
    page says it was outside the budget."""
    cp = TraceCheckpoint.objects.filter(account=account, region=region).first()
    since = cp.considered_to if cp else now - TRACE_FIRST_WINDOW
    until = now - TRACE_SETTLE
    ids = [f.pk for f in functions]
    # An invocation still running (its REPORT, which carries the trace id in the text log
    # format, not read yet) holds the window back, for at most Lambda's longest run.
    running = Invocation.objects.filter(
        resource_id__in=ids, started_at__gte=max(since, now - LAMBDA_LONGEST), started_at__lt=until, complete=False
    ).aggregate(first=Min("started_at"))["first"]
    if running is not None:
        until = running
    if until <= since or not functions:
        return {}
    traced = Invocation.objects.filter(resource_id__in=ids, complete=True, xray_trace_id__isnull=False)
    rows = traced.filter(started_at__gte=since, started_at__lt=until).values_list(
        "pk", "resource_id", "xray_trace_id", "started_at", "status", "duration_ms"
    )
    candidates = [traces_fetch.Candidate(pk, fn, trace or "", at, status, ms) for pk, fn, trace, at, status, ms in rows]
    # The slowest each function's hour had before this window, so that "the slowest of the
    # hour" means the hour, not this run's minute of it.
    earlier = (
        traced.filter(started_at__gte=traces_fetch.hour_of(since), started_at__lt=since, duration_ms__isnull=False)
        .annotate(hour=TruncHour("started_at"))
        .values_list("resource_id", "hour")
        .annotate(slowest=Max("duration_ms"))
    )
    slowest_before = {(fn, hour): float(ms) for fn, hour, ms in earlier}
    budget = trace_budget(account, now)
    choices = traces_fetch.choose(
        candidates, budget=budget, sample_rate=float(settings.XRAY_SAMPLE_RATE), slowest_before=slowest_before
    )
    fetched = traces_fetch.fetch(client_for("xray"), [c.candidate.trace_id for c in choices]) if choices else None
    stored = traces_store(
        account=account,
        region=region,
        choices=choices,
        fetched=fetched or traces_fetch.Fetched({}, [], 0),
        considered_to=until,
        now=now,
    )
    return {
        "traced_invocations": len(candidates),
        "traces_chosen": len(choices),
        "trace_budget": budget,
        "xray_calls": fetched.calls if fetched else 0,
        **stored,
    }


def poll_interval(account: AwsAccount, kind: str) -> int:
    override = (account.metric_intervals or {}).get(kind)
    if override:
        return int(override)
    return int(settings.METRICS_POLL_SECONDS.get(kind, settings.METRICS_POLL_SECONDS.get("default", 300)))


def resource_metrics_due(resource: Resource, base_seconds: int, now: datetime) -> bool:
    """Whether a resource is polled with its kind this time: always at 1×; at `poll_multiplier`
    × (the CloudWatch budget, monitoring/budget.py) once that long has passed since its last
    poll, less half an interval so that a poll a little early does not skip a whole one."""
    multiplier = max(1, resource.poll_multiplier)
    if multiplier == 1 or resource.metrics_polled_at is None:
        return True
    return (now - resource.metrics_polled_at).total_seconds() >= (multiplier - 0.5) * base_seconds


def collect_metrics(client_for: ClientFactory, account: AwsAccount, region: str, now: datetime) -> MetricsSummary:
    """Poll the kinds whose interval passed (settings.METRICS_POLL_SECONDS, overridable per
    account in AwsAccount.metric_intervals) in one shared window, and store the points. Of a
    kind's resources, those the CloudWatch budget polls less often join every n-th poll
    (`resource_metrics_due`), their window reaching back to their own last poll."""
    summary = MetricsSummary()
    # Include the current, partial minute: the next poll re-reads the last LATE_DATA anyway,
    # and the upsert replaces a value CloudWatch has since revised.
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    checkpoints = {c.kind: c for c in MetricCheckpoint.objects.filter(account=account, region=region)}
    resources: dict[str, list[Resource]] = {}
    for r in Resource.objects.filter(account=account, region=region, gone_at=None, kind__in=kinds.ids()):
        resources.setdefault(r.kind, []).append(r)
    due = []
    for kind in [*resources, ACCOUNT_KIND]:
        cp = checkpoints.get(kind)
        if cp is None or (now - cp.last_polled_at).total_seconds() >= poll_interval(account, kind):
            due.append(kind)
    if not due:
        return summary
    polled: dict[str, list[Resource]] = {
        kind: [r for r in resources.get(kind, []) if resource_metrics_due(r, poll_interval(account, kind), now)]
        for kind in due
        if kind != ACCOUNT_KIND
    }

    def since(kind: str, resource: Resource | None = None) -> datetime:
        kind_until = checkpoints[kind].collected_until if kind in checkpoints else end - FIRST_WINDOW + LATE_DATA
        if resource is not None and resource.metrics_polled_at is not None:
            # A resource the budget skipped reads from the end of its own last window (a
            # poll's `end` is its minute's end), also once it is back at 1×.
            own_until = resource.metrics_polled_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
            return min(own_until, kind_until) - LATE_DATA
        return kind_until - LATE_DATA

    starts = [since(k) for k in due if k == ACCOUNT_KIND or polled.get(k)]
    starts += [since(k, r) for k, rs in polled.items() for r in rs]
    start = min(starts, default=end - FIRST_WINDOW)
    queries: list[Query] = []
    for kind in due:
        targets: list[Any] = [None] if kind == ACCOUNT_KIND else polled[kind]
        queries += build_queries(kind, targets, len(queries), region=region)
    points, calls = fetch(client_for("cloudwatch"), queries, start, end) if queries else ([], 0)
    summary.points = metric_points_store(
        account=account,
        region=region,
        kinds=due,
        points=points,
        until=end,
        now=now,
        resource_ids=[r.pk for rs in polled.values() for r in rs],
    )
    summary.kinds, summary.queries, summary.calls = due, len(queries), calls
    summary.skipped = sum(len(resources.get(k, [])) - len(polled[k]) for k in polled)
    summary.window = (start.isoformat(), end.isoformat())
    return summary


def regions_due(account: AwsAccount, now: datetime) -> bool:
    """An "all regions" account lists its enabled regions again every discovery interval."""
    if not account.all_regions:
        return False
    found = account.regions_found_at
    return found is None or (now - found).total_seconds() >= settings.DISCOVERY_INTERVAL_MINUTES * 60


def regions_refresh(account: AwsAccount) -> list[str] | None:
    """With "all regions": list the account's enabled regions (aws/regions.py: two global
    reads at most) and collect exactly those from now on. Returns the regions found, or
    None when neither API answered: the regions found last stay, the page says why."""
    now = timezone.now()
    try:
        found, _ = enabled_regions(lambda service: clients.customer_client(account, HOME_REGION, service))
    except RegionsUnavailable as exc:
        problems = [exc.problem.as_dict()]
        found = None
    except (ClientError, BotoCoreError) as exc:  # the role itself was refused
        problems = [explain(exc, service="sts", operation="AssumeRole", region="").as_dict()]
        found = None
    else:
        problems = []
        if not found:
            problems = [Problem("error", "The account lists no enabled region; the regions found last stay.").as_dict()]
    if found:
        aws_account_regions_found(account=account, regions=found, now=now)
    account_health_record(account=account, region="", collector="regions", problems=problems, now=now)
    return found or None


def late_sweep_due(account: AwsAccount, region: str, now: datetime) -> bool:
    age = _age(account, f"logs_sweep:{region}", now)
    return age is None or age >= LATE_SWEEP_EVERY.total_seconds()


def collectable_accounts(account_ids: Iterable[int] | None = None) -> list[AwsAccount]:
    qs = AwsAccount.objects.filter(status__in=[AwsAccount.Status.CONNECTED, AwsAccount.Status.ERROR]).exclude(
        role_arn=""
    )
    if account_ids is not None:
        qs = qs.filter(pk__in=list(account_ids))
    return list(qs.order_by("pk"))


def collect_once(account_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """Every collector for every (or the given) account × region, synchronously."""
    units = []
    for account in collectable_accounts(account_ids):
        if regions_due(account, timezone.now()):
            regions_refresh(account)
        for region in account.regions:
            try:
                units.append(collect_unit(account, region).as_dict())
            except UnitBusy as exc:
                units.append({"account_id": account.pk, "region": region, "busy": str(exc)})
    totals: dict[str, int] = {}
    for unit in units:
        for kind, n in unit.get("resources_by_type", {}).items():
            totals[kind] = totals.get(kind, 0) + n
    log_totals: dict[str, int] = {}
    metric_totals: dict[str, int] = {}
    trace_totals: dict[str, int] = {}
    for unit in units:
        for totals_of, section in ((log_totals, "logs"), (metric_totals, "metrics"), (trace_totals, "traces")):
            for key, value in unit.get(section, {}).items():
                if isinstance(value, int):
                    totals_of[key] = totals_of.get(key, 0) + value
    return {
        "units": units,
        "resources_by_type": totals,
        "logs": log_totals,
        "metrics": metric_totals,
        "traces": trace_totals,
        "api_calls_total": sum(u.get("api_calls_total", 0) for u in units),
    }


def accounts_with_regions_due(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return [a.pk for a in collectable_accounts() if regions_due(a, now)]


@dataclass(frozen=True)
class DueUnit:
    """What the beat's fan-out queues for one account × region."""

    account_id: int
    region: str
    discovery: bool
    metrics: bool


def metrics_due(account: AwsAccount, region: str, now: datetime) -> bool:
    """Whether a kind present in the region (or the account-level series) passed its interval."""
    polled = dict(MetricCheckpoint.objects.filter(account=account, region=region).values_list("kind", "last_polled_at"))
    present = set(
        Resource.objects.filter(account=account, region=region, gone_at=None, kind__in=kinds.ids())
        .values_list("kind", flat=True)
        .distinct()
    )
    return any(
        kind not in polled or (now - polled[kind]).total_seconds() >= poll_interval(account, kind)
        for kind in [*present, ACCOUNT_KIND]
    )


def due_units(now: datetime | None = None) -> list[DueUnit]:
    """Every account × region, with what is due there: discovery every
    DISCOVERY_INTERVAL_MINUTES, metrics per kind (settings.METRICS_POLL_SECONDS). Logs are
    not the fan-out's: each unit's log poll schedules its next itself (monitoring.tasks)."""
    now = now or timezone.now()
    return [
        DueUnit(account.pk, region, discovery_due(account, region, now), metrics_due(account, region, now))
        for account in collectable_accounts()
        for region in account.regions
    ]


# --- the logs step: what to read and how (monitoring.collection.logs, pure) → store ----------


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


def collect_logs(
    client_for: logs_fetch.ClientFactory,
    functions: list[Resource],
    region: str,
    now: datetime | None = None,
    *,
    metrics_fresh: bool = False,
    late_sweep: bool = False,
    progress: Callable[[], None] | None = None,
    push: bool = False,
) -> LogsSummary:
    """Read the log groups of the given functions that have something new; store it.
    `metrics_fresh`: this run's metrics collector just stored the Lambda Invocations.
    `late_sweep`: also re-read the last LATE_WINDOW of recently active log groups.
    `progress`: called after each log group (the unit lock renews itself there).
    `push`: the account pushes its logs (docs/push.md): read only the gaps push left."""
    now = now or timezone.now()
    summary = LogsSummary(functions=len(functions), late_sweep=late_sweep)
    if not functions:
        return summary
    checkpoints = {c.resource_id: c for c in LogCheckpoint.objects.filter(resource__in=functions)}
    # Looking further back than the first read would is never needed: a function idle for
    # days has its newest minute inside that hour or none at all.
    oldest = min((checkpoints[f.pk].polled_to_ms if f.pk in checkpoints else 0) for f in functions)
    since = max(logs_fetch.dt(oldest) - logs_fetch.OVERLAP, now - logs_fetch.FIRST_POLL)

    latest: dict[int, int] | None
    try:
        if metrics_fresh:
            latest = invoked_from_stored_metrics(functions, since)  # no extra CloudWatch call
        else:
            latest = logs_fetch.invoked_since(client_for("cloudwatch"), functions, since, now)
    except (ClientError, BotoCoreError) as exc:
        latest = None
        problem = explain(
            exc, service="cloudwatch", operation="GetMetricData", region=region, action="cloudwatch:GetMetricData"
        )
        summary.problems.append(
            Problem(
                problem.kind,
                f"{problem.message} Without the Invocations metric, the log groups active in the last hour "
                f"are read instead (at most {logs_fetch.FALLBACK_MAX_GROUPS} a run).",
                problem.service,
                problem.operation,
                problem.region,
                problem.code,
            )
        )
        summary.fallback = True

    recent_ms = logs_fetch.ms(now - logs_fetch.LATE_WINDOW)
    due: list[Resource] = []
    for fn in functions:
        cp = checkpoints.get(fn.pk)
        if push:
            if latest is not None and logs_fetch.push_gap(cp, latest.get(fn.pk), logs_fetch.ms(now)):
                due.append(fn)
            continue
        swept = late_sweep and cp is not None and cp.last_event_ms >= recent_ms
        if logs_fetch.is_open(cp) or swept or (latest is not None and logs_fetch.needs_read(cp, latest.get(fn.pk))):
            due.append(fn)
    if latest is None and not push:
        due = logs_fetch.fallback(functions, checkpoints, due, now)
    summary.functions_idle = len(functions) - len(due)
    # The most recently active first: when a throttle ends the run, they are the ones read.
    due.sort(key=lambda f: -(checkpoints[f.pk].last_event_ms if f.pk in checkpoints else 0))

    # One log group is read (FilterLogEvents, then the parser) while the one before it is
    # stored: the read waits on AWS and the store on PostgreSQL, both without the GIL. The
    # read side touches no database; its errors surface here, in the same order as before.
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logs-read")
    reads: dict[int, Future[_Read]] = {}

    def read(i: int) -> None:
        if i < len(due) and i not in reads:
            fn = due[i]
            # In a copy of this context: its AWS calls count in the run's recorders (own cost).
            context = copy_context()
            reads[i] = reader.submit(
                context.run, _read_one, client_for("logs"), fn, checkpoints.get(fn.pk), now, late_sweep
            )

    # No collection between two log groups either: it would traverse the next group's
    # parse, alive meanwhile (monitoring/gcpause.py); the run's cycles wait for its end.
    with gc_paused():
        try:
            for i, fn in enumerate(due):
                if progress is not None:
                    progress()
                summary.functions_polled += 1
                try:
                    read(i)
                    window = reads.pop(i).result()
                    read(i + 1)
                    _store_one(fn, checkpoints.get(fn.pk), window, summary)
                except (ClientError, BotoCoreError) as exc:
                    code = error_code(exc) if isinstance(exc, ClientError) else ""
                    if code in logs_fetch.NOT_FOUND:
                        log_checkpoint_read_to(
                            resource=fn, end_ms=logs_fetch.ms(now)
                        )  # no log group yet: the function has never logged
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
        finally:
            reader.shutdown(wait=False, cancel_futures=True)
    return summary


@dataclass
class _Read:
    """One log group's window, read and parsed."""

    end_ms: int
    events: int
    times: list[int]
    result: ParseResult | None
    problem: Problem | None


def _read_one(client: BaseClient, fn: Resource, cp: LogCheckpoint | None, now: datetime, late_sweep: bool) -> _Read:
    """Read one log group's window (fetch, pure) and parse it (pure): no database here."""
    start_ms, end_ms = logs_fetch.window(cp, now, late_sweep=late_sweep)
    events = logs_fetch.fetch_events(client, logs_fetch.log_group_of(fn), start_ms, end_ms)
    times = logs_fetch.event_times(events)
    result, problem = logs_fetch.parse_batch(fn, events) if times else (None, None)
    return _Read(end_ms, len(events), times, result, problem)


def _store_one(fn: Resource, cp: LogCheckpoint | None, read: _Read, summary: LogsSummary) -> None:
    """Store one log group's read with its checkpoint."""
    summary.events += read.events
    if read.result is None:
        log_checkpoint_read_to(resource=fn, end_ms=read.end_ms)
        return
    result, end_ms = read.result, read.end_ms
    if read.problem is not None:
        summary.problems.append(read.problem)
    summary.skipped_lines += result.skipped
    last_ms = max(read.times)
    stored, poisoned = log_batch_store(
        resource=fn,
        result=result,
        checkpoint=cp,
        last_event_ms=last_ms,
        resume_from_ms=logs_fetch.resume_point(result, last_ms),
        polled_to_ms=end_ms,
    )
    summary.stored.add(stored)
    if poisoned:
        summary.skipped_invocations += len(poisoned)
        first = poisoned[0]
        summary.problems.append(
            logs_fetch.skipped(
                fn,
                f"{len(poisoned)} invocation(s) could not be stored and were skipped; first: "
                f"request {first.request_id or '(lines outside invocations)'}"
                f"{' at ' + first.started_at.isoformat() if first.started_at else ''}: {first.reason}",
            )
        )
