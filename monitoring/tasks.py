"""Collection on Celery: each step of an account × region is its own task on its own queue
(settings.CELERY_TASK_ROUTES), so discovery, metrics and logs scale on their own workers.

- The beat's fan-out (every minute) queues discovery and metrics where due, and starts the
  log-poll chain of every unit that has none.
- A unit's log poll schedules its next run itself, LOGS_POLL_SECONDS after its own start, so
  freshness does not depend on the beat's tick. Each chain carries a token kept in Redis; a
  chain whose token is no longer the unit's ends (the fan-out starts a new chain only when
  the unit's key expired: its chain died with a worker).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import redis
from celery import shared_task
from django.conf import settings

from accounts.models import AwsAccount

from .collection.orchestrator import (
    UnitBusy,
    UnitSummary,
    accounts_with_regions_due,
    collect_unit,
    due_units,
    regions_refresh,
)
from .signals import CONFIGURATION, INVOCATIONS, collection_stored

log = logging.getLogger(__name__)

# A busy unit (its discovery or metrics running) delays its log poll by this much, not a tick.
BUSY_RETRY_SECONDS = 5


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)


def _chain_key(account_id: int, region: str) -> str:
    return f"dashbird:logs-chain:{account_id}:{region}"


def _chain_ttl() -> int:
    # Outlives a poll cut off by its hard time limit, so a slow chain is never doubled.
    return int(settings.LOGS_POLL_SECONDS) * 2 + 660


@shared_task(name="monitoring.discovery_fan_out", soft_time_limit=30, time_limit=60)
def discovery_fan_out() -> int:
    """Beat: per account × region, queue discovery and metrics where due and start the log
    poll chain where none runs; and the region listing of each "all regions" account whose
    interval passed (its new regions are collected from the next tick)."""
    for account_id in accounts_with_regions_due():
        refresh_regions.apply_async((account_id,), expires=600)
    units = due_units()
    client = _redis()
    for unit in units:
        args = (unit.account_id, unit.region)
        if unit.discovery:
            discover_account_region.apply_async(args, expires=600)
        if unit.metrics:
            poll_metrics.apply_async(args, expires=120)
        token = uuid.uuid4().hex
        try:
            started = client.set(_chain_key(*args), token, nx=True, ex=_chain_ttl())
        except redis.exceptions.RedisError as exc:
            log.warning("log poll chain of %s %s not checked: %s", *args, exc)
            continue
        if started:
            try:
                poll_logs.apply_async((*args, token), expires=_chain_ttl())
            except Exception:
                client.delete(_chain_key(*args))  # not queued: the next tick starts it
                raise
    return len(units)


@shared_task(name="monitoring.refresh_regions", soft_time_limit=60, time_limit=90)
def refresh_regions(account_id: int) -> list[str] | None:
    account = AwsAccount.objects.filter(pk=account_id, all_regions=True).first()
    if account is None or account.status == AwsAccount.Status.PAUSED:
        return None
    return regions_refresh(account)


def _collectable(account_id: int, region: str) -> AwsAccount | None:
    account = AwsAccount.objects.filter(pk=account_id).first()
    if account is None or account.status == AwsAccount.Status.PAUSED or region not in account.regions:
        return None  # removed, paused or edited since it was queued
    return account


def _announce(account: AwsAccount, region: str, summary: UnitSummary) -> dict[str, Any]:
    data = summary.as_dict()
    changes = frozenset(
        change
        for change, present in (
            (CONFIGURATION, data.get("resources_by_type")),
            (INVOCATIONS, data.get("logs", {}).get("invocations")),
        )
        if present
    )
    if changes:
        # New configuration or new behaviour: insights and alerts re-evaluate now.
        collection_stored.send(sender=AwsAccount, account=account, region=region, changes=changes, summary=data)
    return data


def _run(account_id: int, region: str, **options: Any) -> dict[str, Any] | None:
    account = _collectable(account_id, region)
    if account is None:
        return None
    try:
        summary = collect_unit(account, region, **options)
    except UnitBusy as exc:
        log.info("%s", exc)
        return None
    return _announce(account, region, summary)


@shared_task(name="monitoring.collect_account_region", soft_time_limit=600, time_limit=660)
def collect_account_region(account_id: int, region: str) -> dict[str, Any] | None:
    """Every step of one unit now (a newly connected account's first collection)."""
    return _run(account_id, region, force_discovery=False)


@shared_task(name="monitoring.discover_account_region", soft_time_limit=600, time_limit=660)
def discover_account_region(account_id: int, region: str) -> dict[str, Any] | None:
    return _run(account_id, region, force_discovery=False, steps=("discovery",))


@shared_task(name="monitoring.poll_metrics", soft_time_limit=300, time_limit=360)
def poll_metrics(account_id: int, region: str) -> dict[str, Any] | None:
    return _run(account_id, region, steps=("metrics",))


@shared_task(name="monitoring.poll_logs", soft_time_limit=600, time_limit=660)
def poll_logs(account_id: int, region: str, token: str = "") -> dict[str, Any] | None:
    """One log poll of a unit, then the next one queued LOGS_POLL_SECONDS after this one
    started (at once when this one took longer); a busy unit is tried again in seconds."""
    key = _chain_key(account_id, region)
    client = _redis()
    try:
        current = client.get(key)
    except redis.exceptions.RedisError as exc:
        log.warning("log poll chain of %s %s: %s", account_id, region, exc)
        current = None
    if token and current is not None and (current.decode() if isinstance(current, bytes) else current) != token:
        return None  # a newer chain runs this unit
    account = _collectable(account_id, region)
    if account is None:
        client.delete(key)
        return None
    started = time.monotonic()
    result: dict[str, Any] | None = None
    delay: float = BUSY_RETRY_SECONDS
    try:
        summary = collect_unit(account, region, steps=("logs",))
    except UnitBusy as exc:
        log.info("%s; its log poll is tried again in %s s", exc, BUSY_RETRY_SECONDS)
    else:
        result = _announce(account, region, summary)
        delay = max(0.0, settings.LOGS_POLL_SECONDS - (time.monotonic() - started))
    finally:
        if token and not poll_logs.app.conf.task_always_eager:  # eagerly, a chain never ends
            try:
                client.set(key, token, ex=_chain_ttl())
            except redis.exceptions.RedisError as exc:
                log.warning("log poll chain of %s %s not renewed: %s", account_id, region, exc)
            poll_logs.apply_async((account_id, region, token), countdown=delay, expires=_chain_ttl())
    return result


@shared_task(name="monitoring.poll_plans", soft_time_limit=300, time_limit=360)
def poll_plans() -> int:
    """Plan again the metrics poll intervals of every account with a CloudWatch budget: which
    resources are the least active moves with their traffic."""
    from .budget import poll_plans_update_all

    return poll_plans_update_all()


@shared_task(name="monitoring.flush_usage", soft_time_limit=120, time_limit=180)
def flush_usage() -> dict[str, int]:
    """Move the AWS usage counted in Redis to PostgreSQL (docs/own-cost.md)."""
    from .store.usage import usage_flush

    return usage_flush()


@shared_task(name="monitoring.prune", soft_time_limit=600, time_limit=660)
def prune_data() -> dict[str, Any]:
    from django.utils import timezone

    from .store.retention import prune

    return prune(now=timezone.now()).as_dict()


@shared_task(name="monitoring.build_project_rollups", soft_time_limit=600, time_limit=660)
def build_project_rollups(project_id: int) -> bool:
    """Rebuild a project's rollups after its membership may have changed."""
    from .store.rollups import project_rollups_build

    return project_rollups_build(project_id=project_id)


@shared_task(name="monitoring.build_stale_project_rollups", soft_time_limit=600, time_limit=660)
def build_stale_project_rollups() -> int:
    """Beat: rebuild the projects whose rollups are still stale (a build task lost with a worker)."""
    from .store.rollups import projects_build_stale

    return projects_build_stale()


@shared_task(name="monitoring.partitions_ahead", soft_time_limit=60, time_limit=120)
def partitions_ahead() -> None:
    """Create tomorrow's partitions ahead of midnight, so the first write of a day never waits."""
    from datetime import timedelta

    from django.utils import timezone

    from .store.partitions import PARTITIONED, ensure_partitions

    today = timezone.now().date()
    for table in PARTITIONED:
        ensure_partitions(table, [today, today + timedelta(days=1)])
