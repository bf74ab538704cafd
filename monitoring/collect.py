"""Run the collectors for one account × region, the unit of work (DESIGN §7).

Celery tasks, `manage.py collect` and the tests all call these functions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.utils import timezone

from accounts.models import AwsAccount

from .aws import clients
from .aws.errors import explain
from .collectors.discovery import discover
from .collectors.logs import collect_logs
from .collectors.metrics import collect_metrics
from .models import Resource, ResourceKind
from .services import account_health_record, resources_sync

log = logging.getLogger(__name__)

LOCK_SECONDS = 15 * 60


class UnitBusy(Exception):
    """Another worker is collecting this account × region right now."""


@contextmanager
def unit_lock(account_id: int, region: str) -> Iterator[None]:
    """A Redis lock so two workers never poll the same account × region at once."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    lock = client.lock(f"dashbird:lock:collect:{account_id}:{region}", timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        raise UnitBusy(f"account {account_id} {region} is being collected by another worker")
    try:
        yield
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("collect lock for %s/%s expired before release", account_id, region)


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
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "resources_by_type": self.resources,
            "items_ingested": {"resources": sum(self.resources.values()), **self.changes},
            "logs": self.logs,
            "metrics": self.metrics,
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


def collect_unit(account: AwsAccount, region: str, *, force_discovery: bool = True) -> UnitSummary:
    """Every collector for one account × region: discovery (when due, or forced), metrics
    (the kinds whose interval passed) and logs (the functions invoked since last time)."""
    summary = UnitSummary(account_id=account.pk, region=region)
    with unit_lock(account.pk, region), clients.recording() as recorder:
        now = timezone.now()
        if force_discovery or discovery_due(account, region, now):
            _discover(account, region, now, summary)
            if summary.error:
                return summary
        if not summary.error:
            _metrics_and_logs(account, region, summary)
    summary.api_calls = recorder.summary()
    return summary


def _discover(account: AwsAccount, region: str, now: datetime, summary: UnitSummary) -> None:
    try:
        result = discover(lambda service: clients.customer_client(account, region, service), region)
    except (ClientError, BotoCoreError) as exc:
        # AssumeRole itself failed: the whole unit is down; say so on the account.
        problem = explain(exc, service="sts", operation="AssumeRole", region=region)
        summary.error = problem.message
        AwsAccount.objects.filter(pk=account.pk).update(
            status=AwsAccount.Status.ERROR, last_error=problem.message, last_error_at=now
        )
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
    summary.problems = [p.as_dict() for p in result.problems]


def _metrics_and_logs(account: AwsAccount, region: str, summary: UnitSummary) -> None:
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

    functions = list(
        Resource.objects.filter(account=account, region=region, kind=ResourceKind.LAMBDA_FUNCTION, gone_at=None)
    )
    fresh = ResourceKind.LAMBDA_FUNCTION in summary.metrics.get("kinds_polled", [])
    logs = collect_logs(client_for, functions, region, metrics_fresh=fresh)
    account_health_record(
        account=account,
        region=region,
        collector="logs",
        problems=[p.as_dict() for p in logs.problems],
        now=timezone.now(),
    )
    summary.logs = logs.as_dict()
    summary.problems += problems + [p.as_dict() for p in logs.problems]


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
        for region in account.regions:
            try:
                units.append(collect_unit(account, region).as_dict())
            except UnitBusy as exc:
                units.append({"account_id": account.pk, "region": region, "skipped": str(exc)})
    totals: dict[str, int] = {}
    for unit in units:
        for kind, n in unit.get("resources_by_type", {}).items():
            totals[kind] = totals.get(kind, 0) + n
    log_totals: dict[str, int] = {}
    metric_totals: dict[str, int] = {}
    for unit in units:
        for totals_of, section in ((log_totals, "logs"), (metric_totals, "metrics")):
            for key, value in unit.get(section, {}).items():
                if isinstance(value, int):
                    totals_of[key] = totals_of.get(key, 0) + value
    return {
        "units": units,
        "resources_by_type": totals,
        "logs": log_totals,
        "metrics": metric_totals,
        "api_calls_total": sum(u.get("api_calls_total", 0) for u in units),
    }


def due_units(now: datetime | None = None) -> list[tuple[int, str]]:
    """Account × region pairs with a collector due: logs every LOGS_POLL_SECONDS (metrics
    check their own per-kind intervals inside), discovery every DISCOVERY_INTERVAL_MINUTES."""
    now = now or timezone.now()
    due = []
    for account in collectable_accounts():
        for region in account.regions:
            logs_age = _age(account, f"logs:{region}", now)
            if discovery_due(account, region, now) or logs_age is None or logs_age >= settings.LOGS_POLL_SECONDS:
                due.append((account.pk, region))
    return due
