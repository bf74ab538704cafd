"""Daily range partitions of the time-series tables (docs/architecture.md §6).

Retention drops a whole day's partition: instant, no row-by-row DELETE, no bloat.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, ProgrammingError, connection, transaction

# table -> partition column
PARTITIONED = {
    "monitoring_invocation": "started_at",
    "monitoring_logline": "ts",
    # A block of log lines lies within one day (monitoring/store/loglines.py): dropped with its lines.
    "monitoring_logblock": "ts_min",
    "monitoring_metricpoint": "ts",
    # On the invocation's start: a trace lives exactly as long as its invocation.
    "monitoring_trace": "started_at",
}
# PostgreSQL refuses a unique index on a partitioned table that leaves out the partition
# key, but accepts one on each partition: the identity of an invocation (function, request
# id, attempt) is enforced by the database within each day, and the ingest path matches a
# re-read to its row by request id across days. `INSERT … ON CONFLICT DO NOTHING` honours it.
UNIQUE_PER_PARTITION = {
    "monitoring_invocation": ("identity", "resource_id, request_id, attempt"),
    "monitoring_trace": ("identity", "resource_id, trace_id"),
}


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def ensure_partitions(table: str, days: Iterable[date]) -> None:
    """Create the partitions of these days if missing (cheap when they exist)."""
    assert table in PARTITIONED
    wanted = {partition_name(table, day): day for day in set(days)}
    if not wanted:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s)", [list(wanted)])
        existing = {row[0] for row in cursor.fetchall()}
        for name, day in sorted(wanted.items()):
            if name in existing:
                continue
            _created_or_raced(
                cursor,
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{table}" '
                f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')",
            )
            partition_unique_index(cursor, table, name)


# What PostgreSQL answers the second of two transactions creating the same relation at once:
# IF NOT EXISTS checks before the first one commits, so the second fails on the catalogue's
# unique index (or sees the relation, if the first committed before it looked).
RACED = {"42P07", "23505"}  # duplicate_table, unique_violation


def _created_or_raced(cursor: Any, sql: str) -> None:
    """Run one CREATE … IF NOT EXISTS in a savepoint; when another transaction created the
    same relation meanwhile (two workers ingesting the first events of a new day), it
    exists once that one has committed, which is when this one's statement fails."""
    try:
        with transaction.atomic():
            cursor.execute(sql)
    except (IntegrityError, ProgrammingError) as exc:
        if getattr(exc.__cause__, "sqlstate", None) not in RACED:
            raise


def partition_unique_index(cursor: Any, table: str, name: str) -> None:
    """Create the partition's own unique index, if its table has one (idempotent)."""
    if table in UNIQUE_PER_PARTITION:
        suffix, columns = UNIQUE_PER_PARTITION[table]
        _created_or_raced(cursor, f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}_{suffix}" ON "{name}" ({columns})')


def ensure_partitions_for(table: str, times: Iterable[datetime]) -> None:
    ensure_partitions(table, {t.date() for t in times})


def partitions(table: str) -> list[tuple[str, date]]:
    """(name, day) of every partition of `table`, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s ORDER BY c.relname
            """,
            [table],
        )
        names = [row[0] for row in cursor.fetchall()]
    prefix = f"{table}_p"
    return [(n, datetime.strptime(n[len(prefix) :], "%Y%m%d").date()) for n in names if n.startswith(prefix)]


def drop_partitions_before(table: str, cutoff: date) -> list[str]:
    """Drop every partition whose whole day is before `cutoff`; return their names."""
    dropped = []
    with connection.cursor() as cursor:
        for name, day in partitions(table):
            if day < cutoff:
                cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
                dropped.append(name)
    return dropped
