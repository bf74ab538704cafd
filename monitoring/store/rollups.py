"""Hourly and daily rollups, recomputed from raw invocations for the touched hours.

Recomputing (rather than adding deltas) keeps them exact when a window is re-read or an
open invocation completes; a poll touches an hour or two per function, so it is cheap.
Daily rows are recomputed from the hourly ones. Days and hours are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from monitoring.models import Resource

# The hourly and daily upserts write the same columns and replace them all on conflict.
_INSERT = """INSERT INTO monitoring_rollup (organization_id, account_id, resource_id, period, bucket, invocations, errors,
    error_count, timeouts, out_of_memory, unknown, cold_starts, duration_sum_ms, duration_max_ms, duration_count,
    histogram, billed_ms_sum, gb_seconds, cost_usd)
"""
_UPSERT = """ON CONFLICT (resource_id, period, bucket) DO UPDATE SET
    invocations = EXCLUDED.invocations, errors = EXCLUDED.errors, error_count = EXCLUDED.error_count,
    timeouts = EXCLUDED.timeouts, out_of_memory = EXCLUDED.out_of_memory, unknown = EXCLUDED.unknown,
    cold_starts = EXCLUDED.cold_starts, duration_sum_ms = EXCLUDED.duration_sum_ms,
    duration_max_ms = EXCLUDED.duration_max_ms, duration_count = EXCLUDED.duration_count,
    histogram = EXCLUDED.histogram, billed_ms_sum = EXCLUDED.billed_ms_sum, gb_seconds = EXCLUDED.gb_seconds,
    cost_usd = EXCLUDED.cost_usd
"""

_HOURLY_AGG = """
WITH src AS (
    SELECT status, cold_start, duration_ms, billed_duration_ms, billed_restore_duration_ms,
           memory_size_mb, cost_usd, date_trunc('hour', started_at) AS bucket
    FROM monitoring_invocation
    WHERE resource_id = %(resource)s AND started_at >= %(start)s AND started_at < %(end)s
), hist AS (
    SELECT bucket, jsonb_object_agg(idx::text, n) AS histogram FROM (
        SELECT bucket, LEAST(GREATEST(floor(20 * log(GREATEST(duration_ms, 0.1)::numeric))::int, -20), 119) AS idx,
               count(*) AS n
        FROM src WHERE duration_ms IS NOT NULL GROUP BY 1, 2
    ) h GROUP BY bucket
), agg AS (
    SELECT bucket,
           count(*) AS invocations,
           count(*) FILTER (WHERE status IN ('error', 'timeout', 'out_of_memory')) AS errors,
           count(*) FILTER (WHERE status = 'error') AS error_count,
           count(*) FILTER (WHERE status = 'timeout') AS timeouts,
           count(*) FILTER (WHERE status = 'out_of_memory') AS out_of_memory,
           count(*) FILTER (WHERE status = 'unknown') AS unknown,
           count(*) FILTER (WHERE cold_start) AS cold_starts,
           COALESCE(sum(duration_ms), 0) AS duration_sum_ms,
           COALESCE(max(duration_ms), 0) AS duration_max_ms,
           count(duration_ms) AS duration_count,
           COALESCE(sum(billed_duration_ms), 0) AS billed_ms_sum,
           COALESCE(sum((COALESCE(billed_duration_ms, 0) + COALESCE(billed_restore_duration_ms, 0))
                        / 1000.0 * COALESCE(memory_size_mb, %(memory)s) / 1024.0), 0) AS gb_seconds,
           COALESCE(sum(cost_usd), 0) AS cost_usd
    FROM src GROUP BY bucket
)
"""
_HOURLY_ROWS = """
SELECT %(org)s, %(account)s, %(resource)s, 'hour', agg.bucket, invocations, errors, error_count, timeouts,
       out_of_memory, unknown, cold_starts, duration_sum_ms, duration_max_ms, duration_count,
       COALESCE(hist.histogram, '{}'::jsonb), billed_ms_sum, gb_seconds, cost_usd
FROM agg LEFT JOIN hist ON hist.bucket = agg.bucket
"""
_HOURLY = _HOURLY_AGG + _INSERT + _HOURLY_ROWS + _UPSERT

_DAILY_AGG = """
WITH hours AS (
    SELECT * FROM monitoring_rollup
    WHERE resource_id = %(resource)s AND period = 'hour' AND bucket >= %(start)s AND bucket < %(end)s
), hist AS (
    SELECT day, jsonb_object_agg(key, total) AS histogram FROM (
        SELECT date_trunc('day', bucket) AS day, e.key, sum(e.value::bigint) AS total
        FROM hours, jsonb_each_text(hours.histogram) AS e GROUP BY 1, 2
    ) h GROUP BY day
), agg AS (
    SELECT date_trunc('day', bucket) AS day, sum(invocations) AS invocations, sum(errors) AS errors,
           sum(error_count) AS error_count, sum(timeouts) AS timeouts, sum(out_of_memory) AS out_of_memory,
           sum(unknown) AS unknown, sum(cold_starts) AS cold_starts, sum(duration_sum_ms) AS duration_sum_ms,
           max(duration_max_ms) AS duration_max_ms, sum(duration_count) AS duration_count,
           sum(billed_ms_sum) AS billed_ms_sum, sum(gb_seconds) AS gb_seconds, sum(cost_usd) AS cost_usd
    FROM hours GROUP BY 1
)
"""
_DAILY_ROWS = """
SELECT %(org)s, %(account)s, %(resource)s, 'day', agg.day, invocations, errors, error_count, timeouts, out_of_memory,
       unknown, cold_starts, duration_sum_ms, duration_max_ms, duration_count, COALESCE(hist.histogram, '{}'::jsonb),
       billed_ms_sum, gb_seconds, cost_usd
FROM agg LEFT JOIN hist ON hist.day = agg.day
"""
_DAILY = _DAILY_AGG + _INSERT + _DAILY_ROWS + _UPSERT


# A recomputed hour (day) that no longer has any row: a row whose start a better view
# corrected has left it. The upserts above only write buckets that have rows.
_HOURS_EMPTIED = """
DELETE FROM monitoring_rollup r
WHERE r.resource_id = %(resource)s AND r.period = 'hour' AND r.bucket >= %(start)s AND r.bucket < %(end)s
  AND NOT EXISTS (SELECT 1 FROM monitoring_invocation i WHERE i.resource_id = %(resource)s
                  AND i.started_at >= r.bucket AND i.started_at < r.bucket + interval '1 hour')
"""
_DAYS_EMPTIED = """
DELETE FROM monitoring_rollup r
WHERE r.resource_id = %(resource)s AND r.period = 'day' AND r.bucket >= %(start)s AND r.bucket < %(end)s
  AND NOT EXISTS (SELECT 1 FROM monitoring_rollup h WHERE h.resource_id = %(resource)s AND h.period = 'hour'
                  AND h.bucket >= r.bucket AND h.bucket < r.bucket + interval '1 day')
"""


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def rollups_recompute(*, resource: Resource, times: Iterable[datetime]) -> None:
    """Recompute the hours containing `times`, then the days containing those hours."""
    hours = sorted({_hour(t) for t in times})
    if not hours:
        return
    params = {
        "resource": resource.pk,
        "org": resource.organization_id,
        "account": resource.account_id,
        "memory": (resource.config or {}).get("memory_mb") or 0,
    }
    with connection.cursor() as cursor:
        # Contiguous runs of hours become one range each (a poll usually touches one or two).
        runs: list[tuple[datetime, datetime]] = []
        for h in hours:
            if runs and runs[-1][1] == h:
                runs[-1] = (runs[-1][0], h + timedelta(hours=1))
            else:
                runs.append((h, h + timedelta(hours=1)))
        for start, end in runs:
            cursor.execute(_HOURLY, {**params, "start": start, "end": end})
            cursor.execute(_HOURS_EMPTIED, {"resource": resource.pk, "start": start, "end": end})
        days = sorted({h.replace(hour=0) for h in hours})
        for day in days:
            window: dict[str, Any] = {"resource": resource.pk, "start": day, "end": day + timedelta(days=1)}
            cursor.execute(_DAILY, {**params, **window})
            cursor.execute(_DAYS_EMPTIED, window)
