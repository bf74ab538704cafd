"""Storing metric points: an upsert (CloudWatch revises recent periods; a revised value
replaces the old one), and the per-kind checkpoints moved in the same transaction."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from accounts.models import AwsAccount
from monitoring.collection.metrics import PERIOD, Query
from monitoring.models import MetricCheckpoint, Resource
from monitoring.store.partitions import ensure_partitions


@transaction.atomic
def metric_points_store(
    *,
    account: AwsAccount,
    region: str,
    kinds: list[str],
    points: list[tuple[Query, datetime, float]],
    until: datetime,
    now: datetime,
    resource_ids: list[int] | None = None,
) -> int:
    """Store the points of the polled kinds and move their checkpoints to `until`, and note
    when the polled resources (`resource_ids`) were polled."""
    stored = store_points(account.pk, points)
    if resource_ids:
        Resource.objects.filter(pk__in=resource_ids).update(metrics_polled_at=now)
    for kind in kinds:
        MetricCheckpoint.objects.update_or_create(
            account=account, region=region, kind=kind, defaults={"collected_until": until, "last_polled_at": now}
        )
    return stored


@transaction.atomic  # the staging table empties at commit
def store_points(account_id: int, points: list[tuple[Query, datetime, float]], *, period: int = PERIOD) -> int:
    """Upsert points of `period` seconds each (the collector's are per minute; history
    brought in bulk may be coarser); returns the points given."""
    if not points:
        return 0
    ensure_partitions("monitoring_metricpoint", {ts.date() for _, ts, _ in points})
    # A page may repeat a point. The account's own series (resource 0) are one per region.
    rows = {(q.resource_id, q.region, q.metric, q.stat, ts): v for q, ts, v in points}
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS metricpoint_incoming "
            "(LIKE monitoring_metricpoint INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cursor.cursor.copy(
            "COPY metricpoint_incoming (account_id, resource_id, region, metric, stat, period, ts, value) FROM STDIN"
        ) as copy:
            for (resource_id, region, metric, stat, ts), value in rows.items():
                copy.write_row((account_id, resource_id, region, metric, stat, period, ts, value))
        cursor.execute(
            "INSERT INTO monitoring_metricpoint (account_id, resource_id, region, metric, stat, period, ts, value) "
            "SELECT account_id, resource_id, region, metric, stat, period, ts, value FROM metricpoint_incoming "
            "ON CONFLICT (account_id, resource_id, region, metric, stat, period, ts) DO UPDATE SET value = EXCLUDED.value "
            "WHERE monitoring_metricpoint.value IS DISTINCT FROM EXCLUDED.value"
        )
        cursor.execute("TRUNCATE metricpoint_incoming")
    return len(rows)


def invoked_from_stored_metrics(functions: list[Resource], since: datetime) -> dict[int, int]:
    """Per function, the end (epoch ms) of the latest stored minute with invocations since
    `since`: what the logs collector asks CloudWatch otherwise, from the Invocations points
    the metrics collector stored moments ago in the same run."""
    if not functions:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resource_id, max(ts) FROM monitoring_metricpoint WHERE account_id = %s AND resource_id = ANY(%s) "
            "AND metric = 'AWS/Lambda:Invocations' AND stat = 'Sum' AND value > 0 AND ts >= %s GROUP BY resource_id",
            [functions[0].account_id, [fn.pk for fn in functions], since.replace(second=0, microsecond=0)],
        )
        return {rid: int(last.timestamp() * 1000) for rid, last in cursor.fetchall()}
