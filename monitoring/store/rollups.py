"""Hourly and daily rollups, recomputed from raw invocations for the touched hours.

Recomputing (rather than adding deltas) keeps them exact when a window is re-read or an
open invocation completes; a poll touches an hour or two per function, so it is cheap.
Daily rows are recomputed from the hourly ones. Days and hours are UTC.

`rollups_import` builds them with the same aggregation from invocations whose raw rows are
not kept (history brought from elsewhere): they go through a staging table instead of
`monitoring_invocation`, and an hour that has stored invocations keeps the rollup computed
from those.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, transaction

from monitoring.models import InvocationStatus, Resource

# The hourly and daily upserts write the same columns and replace them all on conflict.
_INSERT = """INSERT INTO monitoring_rollup (organization_id, account_id, resource_id, period, bucket, invocations, errors,
    error_count, timeouts, out_of_memory, unknown, cold_starts, duration_sum_ms, duration_max_ms, duration_count,
    histogram, billed_ms_sum, gb_seconds, cost_usd, memory_max_mb)
"""
_UPSERT = """ON CONFLICT (resource_id, period, bucket) DO UPDATE SET
    invocations = EXCLUDED.invocations, errors = EXCLUDED.errors, error_count = EXCLUDED.error_count,
    timeouts = EXCLUDED.timeouts, out_of_memory = EXCLUDED.out_of_memory, unknown = EXCLUDED.unknown,
    cold_starts = EXCLUDED.cold_starts, duration_sum_ms = EXCLUDED.duration_sum_ms,
    duration_max_ms = EXCLUDED.duration_max_ms, duration_count = EXCLUDED.duration_count,
    histogram = EXCLUDED.histogram, billed_ms_sum = EXCLUDED.billed_ms_sum, gb_seconds = EXCLUDED.gb_seconds,
    cost_usd = EXCLUDED.cost_usd, memory_max_mb = EXCLUDED.memory_max_mb
"""

# What the hourly aggregation reads of an invocation, whichever table holds it.
SOURCE_COLUMNS = (
    "started_at",
    "status",
    "cold_start",
    "duration_ms",
    "billed_duration_ms",
    "billed_restore_duration_ms",
    "memory_size_mb",
    "max_memory_used_mb",
    "cost_usd",
)


# The hourly aggregation over `{source}`: a FROM clause yielding SOURCE_COLUMNS of one function.
# The histogram's bucket is `monitoring.histogram.bucket_index`: log() of a double precision
# is the C library's log10, as Python's math.log10 is, so both agree to the last bucket (and
# it costs a twentieth of log() of a numeric).
_HOURLY_AGG = """
WITH src AS (
    SELECT status, cold_start, duration_ms, billed_duration_ms, billed_restore_duration_ms,
           memory_size_mb, max_memory_used_mb, cost_usd, date_trunc('hour', started_at) AS bucket
    FROM {source}
), hist AS (
    SELECT bucket, jsonb_object_agg(idx::text, n) AS histogram FROM (
        SELECT bucket, LEAST(GREATEST(floor(20 * log(GREATEST(duration_ms, 0.1)))::int, -20), 119) AS idx,
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
           COALESCE(sum(cost_usd), 0) AS cost_usd,
           max(max_memory_used_mb) AS memory_max_mb
    FROM src GROUP BY bucket
)
"""
_HOURLY_ROWS = """
SELECT %(org)s, %(account)s, %(resource)s, 'hour', agg.bucket, invocations, errors, error_count, timeouts,
       out_of_memory, unknown, cold_starts, duration_sum_ms, duration_max_ms, duration_count,
       COALESCE(hist.histogram, '{}'::jsonb), billed_ms_sum, gb_seconds, cost_usd, memory_max_mb
FROM agg LEFT JOIN hist ON hist.bucket = agg.bucket
"""
_HOURLY_OVER = _HOURLY_AGG + _INSERT + _HOURLY_ROWS + _UPSERT


def _hourly(source: str) -> str:
    """The hourly upsert over `source` (one of the two constants below, never input)."""
    return _HOURLY_OVER.replace("{source}", source)


_HOURLY = _hourly(
    "monitoring_invocation WHERE resource_id = %(resource)s AND started_at >= %(start)s AND started_at < %(end)s"
)
# Imported invocations, in the hours of the range that have no stored invocation.
_HOURLY_IMPORTED = _hourly(
    """rollup_import WHERE started_at >= %(start)s AND started_at < %(end)s
      AND date_trunc('hour', started_at) NOT IN (
          SELECT date_trunc('hour', started_at) FROM monitoring_invocation
          WHERE resource_id = %(resource)s AND started_at >= %(start)s AND started_at < %(end)s)"""
)

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
           sum(billed_ms_sum) AS billed_ms_sum, sum(gb_seconds) AS gb_seconds, sum(cost_usd) AS cost_usd,
           max(memory_max_mb) AS memory_max_mb
    FROM hours GROUP BY 1
)
"""
_DAILY_ROWS = """
SELECT %(org)s, %(account)s, %(resource)s, 'day', agg.day, invocations, errors, error_count, timeouts, out_of_memory,
       unknown, cold_starts, duration_sum_ms, duration_max_ms, duration_count, COALESCE(hist.histogram, '{}'::jsonb),
       billed_ms_sum, gb_seconds, cost_usd, memory_max_mb
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


def _params(resource: Resource) -> dict[str, Any]:
    return {
        "resource": resource.pk,
        "org": resource.organization_id,
        "account": resource.account_id,
        "memory": (resource.config or {}).get("memory_mb") or 0,
    }


def rollups_recompute(*, resource: Resource, times: Iterable[datetime]) -> None:
    """Recompute the hours containing `times`, then the days containing those hours."""
    hours = sorted({_hour(t) for t in times})
    if not hours:
        return
    params = _params(resource)
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


class ImportedInvocation(NamedTuple):
    """An invocation known only for its rollups (SOURCE_COLUMNS, in order)."""

    started_at: datetime
    status: str
    cold_start: bool
    duration_ms: float | None
    billed_duration_ms: int | None
    billed_restore_duration_ms: int | None
    memory_size_mb: int | None
    max_memory_used_mb: int | None
    cost_usd: float | None


_STATUSES = frozenset(InvocationStatus.values)
NULL = "\\N"


def _number(value: float | None) -> str:
    return NULL if value is None else repr(float(value))


def _whole(value: int | None) -> str:
    return NULL if value is None else str(int(value))


def _import_line(inv: ImportedInvocation) -> str:
    """One COPY text line (SOURCE_COLUMNS): numbers and a status from a closed set, so
    nothing needs escaping."""
    if inv.status not in _STATUSES:
        raise ValueError(f"not an invocation status: {inv.status!r}")
    cold = "t" if inv.cold_start else "f"
    return (
        f"{inv.started_at.isoformat()}\t{inv.status}\t{cold}\t{_number(inv.duration_ms)}\t"
        f"{_whole(inv.billed_duration_ms)}\t{_whole(inv.billed_restore_duration_ms)}\t{_whole(inv.memory_size_mb)}\t"
        f"{_whole(inv.max_memory_used_mb)}\t{_number(inv.cost_usd)}\n"
    )


@transaction.atomic
def rollups_import(*, resource: Resource, invocations: Iterable[ImportedInvocation]) -> int:
    """The hourly and daily rollups of one function's invocations whose raw rows are not kept
    (history from elsewhere), computed exactly as for stored invocations; returns the hours
    written. An hour with stored invocations is left alone (its rollup is theirs), so an
    import never overwrites collected data, and importing the same invocations again changes
    nothing (the upsert replaces a row with the same values).

    1. COPY the invocations into a staging table (emptied at commit).
    2. Upsert the hourly rows of the hours that have no stored invocation.
    3. Recompute the daily rows of the days those hours are in, from all their hours.
    """
    params = _params(resource)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS rollup_import (started_at timestamptz, status varchar(16), cold_start boolean, "
            "duration_ms double precision, billed_duration_ms integer, billed_restore_duration_ms integer, "
            "memory_size_mb integer, max_memory_used_mb integer, cost_usd double precision) ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE rollup_import")  # an enclosing transaction's earlier import
        first: datetime | None = None
        last: datetime | None = None
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY rollup_import ({', '.join(SOURCE_COLUMNS)}) FROM STDIN") as copy,
        ):
            # Text lines in large writes: several times faster than psycopg's write_row per row.
            chunk: list[str] = []
            for inv in invocations:
                chunk.append(_import_line(inv))
                first = inv.started_at if first is None or inv.started_at < first else first
                last = inv.started_at if last is None or inv.started_at > last else last
                if len(chunk) >= 10_000:
                    copy.write("".join(chunk))
                    chunk = []
            if chunk:
                copy.write("".join(chunk))
        if first is None or last is None:
            return 0
        start, end = _hour(first), _hour(last) + timedelta(hours=1)
        cursor.execute(_HOURLY_IMPORTED, {**params, "start": start, "end": end})
        written = cursor.rowcount
        window = {"start": start.replace(hour=0), "end": _hour(last).replace(hour=0) + timedelta(days=1)}
        cursor.execute(_DAILY, {**params, **window})
    return max(written, 0)
