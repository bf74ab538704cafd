from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from accounts.models import AwsAccount

from .collection.orchestrator import UnitBusy, accounts_with_regions_due, collect_unit, due_units, regions_refresh
from .signals import CONFIGURATION, INVOCATIONS, collection_stored

log = logging.getLogger(__name__)


@shared_task(name="monitoring.discovery_fan_out", soft_time_limit=30, time_limit=60)
def discovery_fan_out() -> int:
    """Beat: queue one collection per due account × region, and the region listing of each
    "all regions" account whose interval passed (its new regions are due at the next tick)."""
    for account_id in accounts_with_regions_due():
        refresh_regions.apply_async((account_id,), expires=600)
    units = due_units()
    for account_id, region in units:
        collect_account_region.apply_async((account_id, region), expires=600)
    return len(units)


@shared_task(name="monitoring.refresh_regions", soft_time_limit=60, time_limit=90)
def refresh_regions(account_id: int) -> list[str] | None:
    account = AwsAccount.objects.filter(pk=account_id, all_regions=True).first()
    if account is None or account.status == AwsAccount.Status.PAUSED:
        return None
    return regions_refresh(account)


@shared_task(name="monitoring.collect_account_region", soft_time_limit=600, time_limit=660)
def collect_account_region(account_id: int, region: str) -> dict[str, Any] | None:
    account = AwsAccount.objects.filter(pk=account_id).first()
    if account is None or account.status == AwsAccount.Status.PAUSED or region not in account.regions:
        return None  # removed, paused or edited since it was queued
    try:
        summary = collect_unit(account, region, force_discovery=False).as_dict()
    except UnitBusy as exc:
        log.info("%s", exc)
        return None
    changes = frozenset(
        change
        for change, present in (
            (CONFIGURATION, summary.get("resources_by_type")),
            (INVOCATIONS, summary.get("logs", {}).get("invocations")),
        )
        if present
    )
    if changes:
        # New configuration or new behaviour: insights and alerts re-evaluate now.
        collection_stored.send(sender=AwsAccount, account=account, region=region, changes=changes, summary=summary)
    return summary


@shared_task(name="monitoring.prune", soft_time_limit=600, time_limit=660)
def prune_data() -> dict[str, Any]:
    from django.utils import timezone

    from .store.retention import prune

    return prune(now=timezone.now()).as_dict()


@shared_task(name="monitoring.partitions_ahead", soft_time_limit=60, time_limit=120)
def partitions_ahead() -> None:
    """Create tomorrow's partitions ahead of midnight, so the first write of a day never waits."""
    from datetime import timedelta

    from django.utils import timezone

    from .store.partitions import PARTITIONED, ensure_partitions

    today = timezone.now().date()
    for table in PARTITIONED:
        ensure_partitions(table, [today, today + timedelta(days=1)])
