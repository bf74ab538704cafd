"""Our AWS usage counts, from Redis to PostgreSQL (docs/own-cost.md, "Where the counts live").

Redis counts each call as it is made (aws/usage.py); a periodic flush takes each account ×
region × day's counts out of Redis at once and adds them to `UsageDay`, in a transaction that
also records the batch's id (`UsageFlush`). So a flush that dies after taking the counts
leaves them in Redis for the next one, and one that dies after storing them but before
deleting them from Redis is recognised by its id: nothing is lost, nothing added twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import redis
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AwsAccount
from aws import usage
from monitoring.models import UsageDay, UsageFlush

# A flush id is needed only until its claimed key is gone: a day is plenty.
FLUSH_IDS_KEPT = timedelta(days=2)


def usage_flush(*, now: datetime | None = None) -> dict[str, int]:
    """Move every count from Redis to PostgreSQL; returns what it did."""
    now = now or timezone.now()
    done = {"batches": 0, "rows": 0, "already_stored": 0, "accounts_gone": 0}
    accounts: set[int] | None = None
    for claimed in usage.flush_claim():
        if accounts is None:
            accounts = set(AwsAccount.objects.values_list("pk", flat=True))
        if claimed.account_id not in accounts:
            done["accounts_gone"] += 1  # removed since: its counts go with it
        elif _store(claimed, now):
            done["batches"] += 1
            done["rows"] += len(claimed.counters)
        else:
            done["already_stored"] += 1
        usage.flush_done(claimed)
    UsageFlush.objects.filter(flushed_at__lt=now - FLUSH_IDS_KEPT).delete()
    return done


@transaction.atomic
def _store(claimed: usage.Claimed, now: datetime) -> bool:
    """Add one batch, unless its id says it was added already (False)."""
    _, created = UsageFlush.objects.get_or_create(id=claimed.flush_id, defaults={"flushed_at": now})
    if not created or not claimed.counters:
        return created
    rows: list[Any] = []
    for name, value in claimed.counters.items():
        service, operation, unit = usage.counter_parts(name)
        rows += [claimed.account_id, claimed.region, claimed.day, service[:64], operation[:128], unit[:16], value]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(claimed.counters))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monitoring_usageday (account_id, region, day, service, operation, unit, value) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (account_id, region, day, service, operation, unit) "
            "DO UPDATE SET value = monitoring_usageday.value + EXCLUDED.value",
            rows,
        )
    return True


def usage_days(account_id: int, *, days: int, today: date | None = None) -> dict[str, dict[str, dict[str, int]]]:
    """{region: {day: {counter: n}}} of the last `days` days (today included): what PostgreSQL
    keeps plus what Redis counted since the last flush (a Redis outage shows the stored part)."""
    today = today or timezone.now().date()
    out: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))

    def add(region: str, day: str, counter: str, value: int) -> None:
        by_day = out[region][day]
        by_day[counter] = by_day.get(counter, 0) + value

    rows: Any = UsageDay.objects.filter(account_id=account_id, day__gt=today - timedelta(days=days)).values_list(
        "region", "day", "service", "operation", "unit", "value"
    )
    for region, day, service, operation, unit, value in rows:
        add(region, day.isoformat(), usage.counter_name(service, operation, unit), value)
    try:
        live = usage.usage_of(account_id, days=days, today=today)
    except redis.RedisError:
        live = {}
    for region, by_day in live.items():
        for day, counters in by_day.items():
            for counter, value in counters.items():
                add(region, day, counter, value)
    return {region: dict(by_day) for region, by_day in out.items()}
