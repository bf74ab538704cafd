"""Retention (docs/architecture.md §6): old raw data goes by whole partitions, rollups stay far longer.

1. Partitions of invocations, log lines and metric points whose day is older than the
   *longest* raw retention of any organisation are dropped: instant, no bloat.
2. An organisation with a shorter retention has its own older rows deleted from the
   partitions that remain (bounded: at most the difference in days).
3. Hourly and daily rollups older than each organisation's rollup retention are deleted
   (a few rows per function, account × region and project per day), and so are the days of
   our own AWS usage counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from accounts.models import AwsAccount, Organization
from monitoring.models import AccountRollup, ProjectRollup, Rollup, UsageDay

from .partitions import PARTITIONED, drop_partitions_before

DEFAULT_RAW_DAYS = 14


@dataclass
class PruneSummary:
    dropped: dict[str, list[str]] = field(default_factory=dict)
    rows_deleted: int = 0
    rollups_deleted: int = 0
    usage_days_deleted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "partitions_dropped": self.dropped,
            "raw_rows_deleted": self.rows_deleted,
            "rollups_deleted": self.rollups_deleted,
            "usage_days_deleted": self.usage_days_deleted,
        }


def prune(*, now: datetime) -> PruneSummary:
    summary = PruneSummary()
    longest = Organization.objects.aggregate(m=Max("raw_retention_days"))["m"] or DEFAULT_RAW_DAYS
    cutoff_day = (now - timedelta(days=longest)).date()
    for table in PARTITIONED:
        summary.dropped[table] = drop_partitions_before(table, cutoff_day)

    with transaction.atomic(), connection.cursor() as cursor:
        for org in Organization.objects.filter(raw_retention_days__lt=longest):
            accounts = list(AwsAccount.objects.filter(organization=org).values_list("pk", flat=True))
            if not accounts:
                continue
            cutoff = now - timedelta(days=org.raw_retention_days)
            for table, column in PARTITIONED.items():
                # A block goes once none of its lines remain: its later lines stay searchable.
                column = "ts_max" if table == "monitoring_logblock" else column
                cursor.execute(
                    f"DELETE FROM {table} WHERE account_id = ANY(%s) AND {column} < %s",  # noqa: S608 (fixed names)
                    [accounts, cutoff],
                )
                summary.rows_deleted += cursor.rowcount
        for org in Organization.objects.all():
            cutoff = now - timedelta(days=org.rollup_retention_days)
            # Whole buckets go from every level at once: an account's or a project's rows
            # stay the sum of its functions'.
            for model in (Rollup, AccountRollup, ProjectRollup):
                deleted, _ = model.objects.filter(organization_id=org.pk, bucket__lt=cutoff).delete()
                summary.rollups_deleted += deleted
            # Our own usage counts are kept like rollups.
            deleted, _ = UsageDay.objects.filter(account__organization_id=org.pk, day__lt=cutoff.date()).delete()
            summary.usage_days_deleted += deleted
    return summary
