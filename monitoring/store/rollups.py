"""Hourly and daily rollups: per function, per account × region and per project
(docs/architecture.md §6). Days and hours are UTC.

Per function, the rollups of the hours an ingest touched are **recomputed** from raw
invocations, then the days from those hours: exact however often a window is re-read or an
open invocation completes, and a poll touches an hour or two per function.

The account × region and project rollups are sums of function rollups, which are kept by
**deltas**: in the same transaction, the change of each touched function row (new − old) is
added to the rows of its account × region and of the projects it belongs to. So they are
exactly the sum of their functions after every commit, at the cost of a few rows per ingest,
whatever the number of functions. Concurrency:

1. A transaction-level advisory lock per function serialises the recomputes of one function
   (a poll and a push of the same log group): the second recomputes from raw rows that
   include the first's, and reads the first's rows as its "old".
2. Counts, sums and histograms are added, so concurrent ingests of other functions commute
   (the scope row's lock orders them). A maximum can only be raised by a delta (GREATEST);
   when a function's maximum went down (a row moved to another hour), the scope's maximum
   is read again from its functions' rows once the scope row is locked, so every committed
   change is seen and a later one raises it again.
3. A project's members are whatever its tag and name pattern select today. Anything that
   may change them (its definition, a member's tags or name, an account removed) bumps
   `Project.rollups_generation`; `project_rollups_build` rebuilds them from function rollups
   under the organisation's exclusive advisory lock, which every ingest holds shared while
   it updates project rows, and marks the generation built. Until then readers use the
   function rollups of its members, and ingests leave its rows alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import F

from monitoring.models import InvocationStatus, Project, Resource

log = logging.getLogger(__name__)

# --- What a rollup holds, and how each figure is computed from raw invocations --------------

COUNTS = [
    "invocations",
    "errors",
    "error_count",
    "timeouts",
    "out_of_memory",
    "unknown",
    "cold_starts",
    "duration_count",
]
SUMS = ["duration_sum_ms", "billed_ms_sum", "gb_seconds", "cost_usd"]
MAXES = ["duration_max_ms", "memory_max_mb", "memory_max_percent"]
# histogram column -> the invocation column it counts, in monitoring/histogram.py's buckets
HISTOGRAMS = {
    "histogram": "duration_ms",
    "memory_histogram": "max_memory_used_mb",
    "init_histogram": "init_duration_ms",
}
COLUMNS = [*COUNTS, *SUMS, *MAXES, *HISTOGRAMS]
ADDED = [*COUNTS, *SUMS]

FAILING_SQL = "('error', 'timeout', 'out_of_memory')"
# The memory size of a row that does not report one: the function's configured size (a
# correlated subquery that COALESCE evaluates only for such rows).
_MEMORY_FALLBACK = (
    "(SELECT CASE WHEN jsonb_typeof(c.config -> 'memory_mb') = 'number' THEN (c.config ->> 'memory_mb')::float "
    "ELSE 0 END FROM monitoring_resource c WHERE c.id = i.resource_id)"
)
# Each figure over raw invocations `i` (also what the pages read for partial hours).
RAW = {
    "invocations": "count(*)",
    "errors": f"count(*) FILTER (WHERE i.status IN {FAILING_SQL})",
    "error_count": "count(*) FILTER (WHERE i.status = 'error')",
    "timeouts": "count(*) FILTER (WHERE i.status = 'timeout')",
    "out_of_memory": "count(*) FILTER (WHERE i.status = 'out_of_memory')",
    "unknown": "count(*) FILTER (WHERE i.status = 'unknown')",
    "cold_starts": "count(*) FILTER (WHERE i.cold_start)",
    "duration_count": "count(i.duration_ms)",
    "duration_sum_ms": "COALESCE(sum(i.duration_ms), 0)",
    "billed_ms_sum": "COALESCE(sum(i.billed_duration_ms), 0)",
    "gb_seconds": (
        "COALESCE(sum((COALESCE(i.billed_duration_ms, 0) + COALESCE(i.billed_restore_duration_ms, 0)) / 1000.0 "
        f"* COALESCE(i.memory_size_mb, {_MEMORY_FALLBACK}) / 1024.0), 0)"
    ),
    "cost_usd": "COALESCE(sum(i.cost_usd), 0)",
    "duration_max_ms": "COALESCE(max(i.duration_ms), 0)",
    "memory_max_mb": "max(i.max_memory_used_mb)",
    "memory_max_percent": "max(100.0 * i.max_memory_used_mb / NULLIF(i.memory_size_mb, 0))",
}
# How rollup rows of a bucket combine.
MERGE = {**{c: f"sum({{}}.{c})" for c in ADDED}, **{c: f"max({{}}.{c})" for c in MAXES}}


def bucket_index_sql(value: str) -> str:
    """monitoring.histogram.bucket_index in SQL. In double precision, like Python's
    math.log10 (the same C library): it agrees with it on bucket boundaries, where the
    numeric logarithm does not, and is thirty times faster."""
    return f"LEAST(GREATEST(floor(20 * log(GREATEST({value}, 0.1)::float8))::int, -20), 119)"


def _upsert(table: str, keys: Sequence[str], conflict: Sequence[str]) -> str:
    """INSERT … ON CONFLICT that replaces every figure of the bucket."""
    columns = [*keys, *COLUMNS]
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)
    return f"INSERT INTO {table} ({', '.join(columns)}) {{select}} ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {sets}"


_FUNCTION_KEYS = ["organization_id", "account_id", "resource_id", "period", "bucket"]
_FUNCTION_CONFLICT = ["resource_id", "period", "bucket"]


@dataclass(frozen=True)
class Level:
    """Whose rollups a statement over raw rows builds: the table, what it groups by (column
    -> expression over invocations i and their function res), what each group carries."""

    table: str
    keys: dict[str, str]
    carried: dict[str, str]

    @property
    def columns(self) -> list[str]:
        return [*self.carried, *self.keys]


FUNCTION_LEVEL = Level(
    "monitoring_rollup",
    {"resource_id": "i.resource_id"},
    {"organization_id": "min(i.organization_id)", "account_id": "min(i.account_id)"},
)
ACCOUNT_LEVEL = Level(
    "monitoring_accountrollup",
    {"account_id": "i.account_id", "region": "res.region"},
    {"organization_id": "min(i.organization_id)"},
)


def project_level(project_id: int) -> Level:
    return Level(
        "monitoring_projectrollup", {"project_id": str(int(project_id))}, {"organization_id": "min(i.organization_id)"}
    )


# What the figures read of an invocation.
_SOURCE_COLUMNS = [
    "resource_id", "organization_id", "account_id", "status", "cold_start", "duration_ms", "billed_duration_ms",
    "billed_restore_duration_ms", "memory_size_mb", "max_memory_used_mb", "init_duration_ms", "cost_usd",
]  # fmt: skip


def _from_raw_sql(
    where: str,
    *,
    days: bool = False,
    level: Level = FUNCTION_LEVEL,
    table: str = "monitoring_invocation",
    then: str = "",
) -> str:
    """Hourly rollups of the invocations `where` selects in `table` (the raw ones, or
    `rollups_import`'s staging table), at `level` (per function by default), upserted; with `days`, their days too, merged from those hours in the same
    statement (for whole days written in bulk: the ingest path merges a function's day from
    all its stored hours instead).

    The three histograms come from one grouping of (group, hour, histogram, bucket index),
    pivoted into one JSON object each."""
    kinds = list(HISTOGRAMS.items())
    keys = list(level.keys)
    key_list = ", ".join(keys)
    histogram_rows = " UNION ALL ".join(
        f"SELECT {key_list}, bucket, {n} AS kind, {bucket_index_sql(column)} AS idx FROM src WHERE {column} IS NOT NULL"
        for n, (_, column) in enumerate(kinds)
    )
    figures = ", ".join(f"{RAW[c]} AS {c}" for c in [*ADDED, *MAXES])
    carried = ", ".join(f"{expression} AS {name}" for name, expression in level.carried.items())
    n_keys = len(keys)

    def pivot() -> str:
        return ", ".join(
            f"jsonb_object_agg(idx::text, n) FILTER (WHERE kind = {n}) AS {name}" for n, (name, _) in enumerate(kinds)
        )

    def rows(period: str, key: str, agg: str, hist: str) -> str:
        return (
            f"SELECT {', '.join(f'a.{c}' for c in level.columns)}, '{period}', a.{key}, "
            f"{', '.join(f'a.{c}' for c in [*ADDED, *MAXES])}, "
            f"{', '.join(f'COALESCE(p.{name}, {_EMPTY})' for name in HISTOGRAMS)} "
            f"FROM {agg} a LEFT JOIN ({hist}) p USING ({key_list}, {key}) ORDER BY {', '.join(f'a.{k}' for k in keys)}, a.{key}"
        )

    upsert = _upsert(level.table, [*level.columns, "period", "bucket"], [*keys, "period", "bucket"])
    group_by = ", ".join(str(k + 1) for k in range(n_keys + 1))
    hourly = upsert.format(
        select=rows("hour", "bucket", "agg", f"SELECT {key_list}, bucket, {pivot()} FROM h GROUP BY {group_by}")
    )
    join = " JOIN monitoring_resource res ON res.id = i.resource_id" if "res." in " ".join(level.keys.values()) else ""
    base = [c for c in _SOURCE_COLUMNS if c not in level.keys]
    head = f"""WITH src AS MATERIALIZED (
    SELECT {", ".join(f"{expression} AS {name}" for name, expression in level.keys.items())},
           {", ".join(f"i.{c}" for c in base)}, date_trunc('hour', i.started_at) AS bucket
    FROM {table} i{join} WHERE {where}
), agg AS MATERIALIZED (
    SELECT {", ".join(f"i.{k}" for k in keys)}, i.bucket, {carried}, {figures}
    FROM src i GROUP BY {", ".join(f"i.{k}" for k in keys)}, i.bucket
), h AS MATERIALIZED (
    SELECT {key_list}, bucket, kind, idx, count(*) AS n FROM ({histogram_rows}) x GROUP BY {group_by}, {n_keys + 2}, {n_keys + 3}
)"""
    if not days:
        return f"{head}\n{hourly}"
    merged = ", ".join(f"{MERGE[c].format('agg')} AS {c}" for c in [*ADDED, *MAXES])
    carried_again = ", ".join(f"min(agg.{name}) AS {name}" for name in level.carried)
    day_agg = (
        f"(SELECT {', '.join(f'agg.{k}' for k in keys)}, date_trunc('day', agg.bucket) AS day, {carried_again}, "
        f"{merged} FROM agg GROUP BY {group_by})"
    )
    day_hist = (
        f"SELECT {key_list}, day, {pivot()} FROM (SELECT {key_list}, date_trunc('day', bucket) AS day, kind, "
        f"idx, sum(n) AS n FROM h GROUP BY {group_by}, {n_keys + 2}, {n_keys + 3}) x GROUP BY {group_by}"
    )
    return f"{head}, hourly AS ({hourly}){then}\n{upsert.format(select=rows('day', 'day', day_agg, day_hist))}"


_EMPTY = "'{}'::jsonb"


def _merge_sql(*, source: str, where: str, keys: dict[str, str], target: str, conflict: Sequence[str]) -> str:
    """Rollup rows of `source` (alias s) that `where` selects, combined per `keys` (output
    column -> expression over s) and upserted into `target`."""
    names = list(keys)
    key_list = ", ".join(names)
    hists = "".join(
        f""", h_{name} AS (
    SELECT {key_list}, jsonb_object_agg(k, total) AS h FROM (
        SELECT {key_list}, e.key AS k, sum(e.value::bigint) AS total
        FROM src, jsonb_each_text(src.{name}) e GROUP BY {key_list}, e.key
    ) x GROUP BY {key_list}
)"""
        for name in HISTOGRAMS
    )
    select = (
        f"SELECT {', '.join(f'agg.{k}' for k in names)}, {', '.join(f'agg.{c}' for c in [*ADDED, *MAXES])}, "
        f"{', '.join(f'COALESCE(h_{name}.h, {_EMPTY})' for name in HISTOGRAMS)} FROM agg "
        + " ".join(f"LEFT JOIN h_{name} USING ({key_list})" for name in HISTOGRAMS)
        + f" ORDER BY {key_list}"
    )
    return f"""WITH src AS MATERIALIZED (
    SELECT {", ".join(f"{expr} AS {name}" for name, expr in keys.items())},
           {", ".join(f"s.{c}" for c in COLUMNS)}
    FROM {source} WHERE {where}
), agg AS (
    SELECT {key_list}, {", ".join(f"{MERGE[c].format('src')} AS {c}" for c in [*ADDED, *MAXES])}
    FROM src GROUP BY {key_list}
){hists}
""" + _upsert(target, names, conflict).format(select=select)


# Function daily rows from their hourly rows.
_DAILY = _merge_sql(
    source="monitoring_rollup s",
    where="s.resource_id = ANY(%(resources)s) AND s.period = 'hour' AND s.bucket >= %(start)s AND s.bucket < %(end)s",
    keys={
        "organization_id": "s.organization_id",
        "account_id": "s.account_id",
        "resource_id": "s.resource_id",
        "period": "'day'",
        "bucket": "date_trunc('day', s.bucket)",
    },
    target="monitoring_rollup",
    conflict=_FUNCTION_CONFLICT,
)

# Transaction-level advisory locks (two int4 keys: a namespace, an id).
LOCK_ORGANIZATION = 20_001  # shared by ingests, exclusive by project rebuilds
LOCK_FUNCTION = 20_002  # one function's rollup recompute


RUN_GAP = timedelta(hours=3)


def _key(pk: int) -> int:
    return pk % 2_147_483_647


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


# --- The ingest path ---------------------------------------------------------------------------


def rollups_recompute(*, resource: Resource, times: Iterable[datetime]) -> None:
    """Recompute one function's hours containing `times`, then the days containing those
    hours, and carry the change to its account × region and its projects (in the caller's
    transaction)."""
    # UTC hours as epoch hours first: a float division per time, not a datetime built per time.
    hours = [_EPOCH + timedelta(hours=h) for h in sorted({int(t.timestamp() // 3600) for t in times})]
    if not hours:
        return
    days = sorted({_day(h) for h in hours})
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock_shared(%s, %s), pg_advisory_xact_lock(%s, %s)",
            [LOCK_ORGANIZATION, _key(resource.organization_id), LOCK_FUNCTION, _key(resource.pk)],
        )
        # Runs of hours become one range each (a poll usually touches one or two); hours a
        # short gap apart join one run: one statement instead of many for a batch spread
        # over a day, for the price of recomputing the few hours between.
        runs: list[tuple[datetime, datetime]] = []
        for h in hours:
            if runs and h - runs[-1][1] <= RUN_GAP:
                runs[-1] = (runs[-1][0], h + timedelta(hours=1))
            else:
                runs.append((h, h + timedelta(hours=1)))
        recomputed = [
            start + timedelta(hours=k) for start, end in runs for k in range((end - start) // timedelta(hours=1))
        ]
        before = _function_rows(cursor, resource.pk, recomputed, days)
        after: dict[tuple[str, datetime], dict[str, Any]] = {}
        for start, end in runs:
            cursor.execute(_HOURLY_ONE, {"resource": resource.pk, "start": start, "end": end})
            after.update(_returned(cursor))
        _emptied(cursor, resource.pk, "hour", before, after)  # a row whose corrected start left its hour
        for day in days:
            cursor.execute(_DAILY_ONE, {"resources": [resource.pk], "start": day, "end": day + timedelta(days=1)})
            after.update(_returned(cursor))
        _emptied(cursor, resource.pk, "day", before, after)
        deltas = _deltas(before, after)
        if not deltas:
            return
        _scope_apply(cursor, AccountScope(resource.organization_id, resource.account_id, resource.region), deltas)
        for project in _current_projects(cursor, resource.pk):
            _scope_apply(cursor, ProjectScope(resource.organization_id, project), deltas)


# The ingest path's upserts hand back what they wrote (the function's rows after).
_RETURNING = f" RETURNING period, bucket, {', '.join(COLUMNS)}"
_HOURLY_ONE = (
    _from_raw_sql("i.resource_id = %(resource)s AND i.started_at >= %(start)s AND i.started_at < %(end)s") + _RETURNING
)
_DAILY_ONE = _DAILY + _RETURNING


def _returned(cursor: Any) -> dict[tuple[str, datetime], dict[str, Any]]:
    return {(row[0], row[1]): dict(zip(COLUMNS, row[2:], strict=True)) for row in cursor.fetchall()}


def _emptied(
    cursor: Any,
    resource_id: int,
    period: str,
    before: dict[tuple[str, datetime], dict[str, Any]],
    after: dict[tuple[str, datetime], dict[str, Any]],
) -> None:
    """Delete the recomputed buckets that had a row and have no invocation left: the
    upserts only write buckets that have rows."""
    gone = [bucket for p, bucket in before if p == period and (p, bucket) not in after]
    if gone:
        cursor.execute(
            "DELETE FROM monitoring_rollup WHERE resource_id = %s AND period = %s AND bucket = ANY(%s)",
            [resource_id, period, gone],
        )


_ROW_COLUMNS = ", ".join(COLUMNS)


def _function_rows(
    cursor: Any, resource_id: int, hours: list[datetime], days: list[datetime]
) -> dict[tuple[str, datetime], dict[str, Any]]:
    cursor.execute(
        f"SELECT period, bucket, {_ROW_COLUMNS} FROM monitoring_rollup WHERE resource_id = %s "
        "AND ((period = 'hour' AND bucket = ANY(%s)) OR (period = 'day' AND bucket = ANY(%s)))",
        [resource_id, hours, days],
    )
    return {(row[0], row[1]): dict(zip(COLUMNS, row[2:], strict=True)) for row in cursor.fetchall()}


def _histogram(value: Any) -> dict[str, int]:
    if isinstance(value, str):  # psycopg hands jsonb over decoded; a str only from a text cast
        value = json.loads(value)
    return {str(k): int(v) for k, v in (value or {}).items()}


def _deltas(
    before: dict[tuple[str, datetime], dict[str, Any]], after: dict[tuple[str, datetime], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per changed bucket: what to add to a scope's row (counts, sums, histograms), the
    function's new maxima (to raise the scope's), and whether one of them went down."""
    out = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        old_values, new_values = old or {}, new or {}
        delta: dict[str, Any] = {"period": key[0], "bucket": key[1]}
        for c in ADDED:
            delta[c] = (new_values.get(c) or 0) - (old_values.get(c) or 0)
        for name in HISTOGRAMS:
            h_old, h_new = _histogram(old_values.get(name)), _histogram(new_values.get(name))
            delta[name] = {k: n for k in set(h_old) | set(h_new) if (n := h_new.get(k, 0) - h_old.get(k, 0))}
        for c in MAXES:
            delta[c] = new_values.get(c)
        delta["max_lowered"] = any(
            old_values.get(c) is not None and (new_values.get(c) is None or new_values[c] < old_values[c])
            for c in MAXES
        )
        out.append(delta)
    return out


class AccountScope:
    """The rollup rows of one account × region."""

    table = "monitoring_accountrollup"

    def __init__(self, organization_id: int, account_id: int, region: str) -> None:
        self.account_id, self.region = account_id, region
        self.keys: dict[str, Any] = {"organization_id": organization_id, "account_id": account_id, "region": region}
        self.identity = ["account_id", "region"]

    def members(self, alias: str) -> tuple[str, list[Any]]:
        """A condition on function rollups `alias` that selects this scope's functions."""
        return (
            f"{alias}.account_id = %s AND {alias}.resource_id IN "
            "(SELECT id FROM monitoring_resource WHERE account_id = %s AND region = %s)",
            [self.account_id, self.account_id, self.region],
        )


class ProjectScope:
    """The rollup rows of one project."""

    table = "monitoring_projectrollup"

    def __init__(self, organization_id: int, project: Project) -> None:
        self.project = project
        self.keys = {"organization_id": organization_id, "project_id": project.pk}
        self.identity = ["project_id"]

    def members(self, alias: str) -> tuple[str, list[Any]]:
        sql, params = self.project.resources().values("pk").query.sql_with_params()
        return f"{alias}.resource_id IN ({sql})", list(params)


Scope = AccountScope | ProjectScope


def _hist_add(table: str, column: str) -> str:
    return (
        f"(SELECT COALESCE(jsonb_object_agg(k, n), {_EMPTY}) FROM ("
        f"SELECT k, sum(n) AS n FROM (SELECT key AS k, value::bigint AS n FROM jsonb_each_text({table}.{column}) "
        f"UNION ALL SELECT key, value::bigint FROM jsonb_each_text(EXCLUDED.{column})) s "
        f"GROUP BY k HAVING sum(n) <> 0) t)"
    )


def _scope_apply(cursor: Any, scope: Scope, deltas: list[dict[str, Any]]) -> None:
    """Add the deltas to the scope's rows (buckets in order, so concurrent writers lock them
    in the same order), re-read the maxima that went down, drop the rows left empty."""
    keys = list(scope.keys)
    columns = [*keys, "period", "bucket", *COLUMNS]
    sets = [f"{c} = {scope.table}.{c} + EXCLUDED.{c}" for c in ADDED]
    sets += [f"{c} = GREATEST({scope.table}.{c}, EXCLUDED.{c})" for c in MAXES]
    sets += [f"{c} = {_hist_add(scope.table, c)}" for c in HISTOGRAMS]
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params: list[Any] = []
    for d in deltas:
        params += [*scope.keys.values(), d["period"], d["bucket"]]
        params += [d[c] for c in ADDED]
        params += [0 if c == "duration_max_ms" and d[c] is None else d[c] for c in MAXES]
        params += [json.dumps(d[c]) for c in HISTOGRAMS]
    cursor.execute(
        f"INSERT INTO {scope.table} ({', '.join(columns)}) VALUES {', '.join([row] * len(deltas))} "
        f"ON CONFLICT ({', '.join([*scope.identity, 'period', 'bucket'])}) DO UPDATE SET {', '.join(sets)}",
        params,
    )
    for d in deltas:
        if d["max_lowered"]:
            _scope_maxima(cursor, scope, d["period"], d["bucket"])
    # Only a bucket that lost invocations can have been left empty.
    buckets = [(d["period"], d["bucket"]) for d in deltas if d["invocations"] < 0]
    if not buckets:
        return
    identity = " AND ".join(f"{c} = %s" for c in scope.identity)
    cursor.execute(
        f"DELETE FROM {scope.table} WHERE {identity} AND invocations = 0 "
        f"AND (period, bucket) IN ({', '.join(['(%s, %s)'] * len(buckets))})",
        [*(scope.keys[c] for c in scope.identity), *(v for b in buckets for v in b)],
    )


def _scope_maxima(cursor: Any, scope: Scope, period: str, bucket: datetime) -> None:
    members, params = scope.members("r")
    identity = " AND ".join(f"t.{c} = %s" for c in scope.identity)
    cursor.execute(
        f"UPDATE {scope.table} t SET duration_max_ms = COALESCE(m.duration, 0), memory_max_mb = m.memory, "
        "memory_max_percent = m.percent FROM (SELECT max(r.duration_max_ms) AS duration, max(r.memory_max_mb) AS memory, "
        f"max(r.memory_max_percent) AS percent FROM monitoring_rollup r WHERE {members} AND r.period = %s AND r.bucket = %s) m "
        f"WHERE {identity} AND t.period = %s AND t.bucket = %s",
        [*params, period, bucket, *(scope.keys[c] for c in scope.identity), period, bucket],
    )


def _current_projects(cursor: Any, resource_id: int) -> list[Project]:
    """The projects whose rollups are current and that this function belongs to, read in
    one statement with the function's tags and name."""
    cursor.execute(
        "SELECT p.id, p.organization_id, p.tag_key, p.tag_value, p.name_pattern, r.tags, r.name "
        "FROM monitoring_project p JOIN monitoring_resource r ON r.organization_id = p.organization_id "
        "WHERE r.id = %s AND p.rollups_built = p.rollups_generation ORDER BY p.id",
        [resource_id],
    )
    out = []
    for pk, org, tag_key, tag_value, pattern, tags, name in cursor.fetchall():
        project = Project(pk=pk, organization_id=org, tag_key=tag_key, tag_value=tag_value, name_pattern=pattern)
        if project.includes(tags=json.loads(tags) if isinstance(tags, str) else tags, name=name):
            out.append(project)
    return out


# --- Projects: membership changes and rebuilds ------------------------------------------------


def projects_stale(
    *, projects: Iterable[Project] | None = None, organization_id: int | None = None, schedule: bool = True
) -> list[int]:
    """Mark projects' rollups stale (these, or all of an organisation's) and (`schedule`)
    rebuild them once the transaction commits. Returns their ids."""
    if projects is not None:
        ids = [p.pk for p in projects]
        qs = Project.objects.filter(pk__in=ids)
    else:
        qs = Project.objects.filter(organization_id=organization_id or 0)
        ids = list(qs.values_list("pk", flat=True))
    if ids:
        qs.update(rollups_generation=F("rollups_generation") + 1)
        if schedule:
            _schedule_builds(ids)
    return ids


def _schedule_builds(ids: list[int]) -> None:
    from monitoring import tasks  # the store is below the tasks that call it

    transaction.on_commit(lambda: [tasks.build_project_rollups.delay(pk) for pk in ids])


def projects_membership_changed(*, organization_id: int, changes: list[tuple[Any, str, Any, str]]) -> list[int]:
    """Resources' tags or names changed, each (old tags, old name, new tags, new name): mark
    the projects whose membership that changes."""
    if not changes:
        return []
    affected = [
        p
        for p in Project.objects.filter(organization_id=organization_id)
        if any(
            p.includes(tags=old_tags, name=old_name) != p.includes(tags=new_tags, name=new_name)
            for old_tags, old_name, new_tags, new_name in changes
        )
    ]
    return projects_stale(projects=affected) if affected else []


def project_rollups_build(*, project_id: int) -> bool:
    """Rebuild a project's rollups from its members' function rollups, if they are stale.
    False when there was nothing to do (gone, or current)."""
    with transaction.atomic(), connection.cursor() as cursor:
        project = Project.objects.filter(pk=project_id).first()
        if project is None or project.rollups_current:
            return False
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_ORGANIZATION, _key(project.organization_id)])
        # Read after the lock: the generation this build answers for.
        project = Project.objects.get(pk=project_id)
        generation = project.rollups_generation
        cursor.execute(BULK_WORK_MEM)
        cursor.execute("DELETE FROM monitoring_projectrollup WHERE project_id = %s", [project.pk])
        members, params = ProjectScope(project.organization_id, project).members("s")
        cursor.execute(
            _merge_sql(
                source="monitoring_rollup s",
                where=members,
                keys={
                    "organization_id": "s.organization_id",
                    "project_id": str(int(project.pk)),
                    "period": "s.period",
                    "bucket": "s.bucket",
                },
                target="monitoring_projectrollup",
                conflict=["project_id", "period", "bucket"],
            ),
            params,
        )
        # A change during the build bumped the generation again: it stays stale, and that
        # change scheduled another build.
        Project.objects.filter(pk=project.pk, rollups_generation=generation).update(rollups_built=generation)
    return True


def projects_build_stale(*, organization_id: int | None = None) -> int:
    """Rebuild every stale project (the beat's safety net for a lost build task)."""
    qs = Project.objects.exclude(rollups_built=F("rollups_generation"))
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    return sum(project_rollups_build(project_id=pk) for pk in qs.values_list("pk", flat=True))


# --- Bulk: backfills and seeding ---------------------------------------------------------------

# Bulk merges group hundreds of thousands of rows and histogram entries: with the default
# 4 MB they spill to disk and take thirty times longer. For the transaction only.
BULK_WORK_MEM = "SET LOCAL work_mem = '128MB'"


def function_rollups_build(*, start: datetime, end: datetime) -> None:
    """Recompute every function's hourly rollups of the hours in [start, end) from the raw
    invocations (the same SQL as the ingest path), then their days. For raw rows written in
    bulk (a benchmark's older days): the scope rollups are then built with `scope_rollups_build`."""
    start, end = _hour(start), _hour(end - timedelta(microseconds=1)) + timedelta(hours=1)
    window = {"start": start, "end": end}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BULK_WORK_MEM)
        if start == _day(start) and end == _day(end):  # whole days: hours and days in one pass
            cursor.execute(_BULK_DAYS, window)
            return
        cursor.execute(_BULK_HOURS, window)
        day, last = _day(start), _day(end - timedelta(microseconds=1))
        while day <= last:  # a day partly written: merged from all its stored hours
            cursor.execute(_DAILY_ALL, {"start": day, "end": day + timedelta(days=1)})
            day += timedelta(days=1)


_BULK_WHERE = "i.started_at >= %(start)s AND i.started_at < %(end)s"
_BULK_HOURS = _from_raw_sql(_BULK_WHERE)
_BULK_DAYS = _from_raw_sql(_BULK_WHERE, days=True)
_DAILY_ALL = _DAILY.replace("s.resource_id = ANY(%(resources)s) AND ", "")

_MEMORY_BACKFILL = (
    """
WITH src AS MATERIALIZED (
    SELECT i.resource_id, date_trunc('hour', i.started_at) AS bucket, i.max_memory_used_mb, i.memory_size_mb,
           i.init_duration_ms
    FROM monitoring_invocation i WHERE i.started_at >= %(start)s AND i.started_at < %(end)s
), agg AS (
    SELECT i.resource_id, i.bucket, """
    + RAW["memory_max_mb"]
    + " AS memory_max_mb, "
    + RAW["memory_max_percent"]
    + """ AS memory_max_percent
    FROM src i GROUP BY 1, 2
), mem AS (
    SELECT resource_id, bucket, jsonb_object_agg(idx::text, n) AS h FROM (
        SELECT resource_id, bucket, """
    + bucket_index_sql("max_memory_used_mb")
    + """ AS idx, count(*) AS n
        FROM src WHERE max_memory_used_mb IS NOT NULL GROUP BY 1, 2, 3) x GROUP BY 1, 2
), init AS (
    SELECT resource_id, bucket, jsonb_object_agg(idx::text, n) AS h FROM (
        SELECT resource_id, bucket, """
    + bucket_index_sql("init_duration_ms")
    + """ AS idx, count(*) AS n
        FROM src WHERE init_duration_ms IS NOT NULL GROUP BY 1, 2, 3) x GROUP BY 1, 2
)
UPDATE monitoring_rollup r SET memory_max_mb = agg.memory_max_mb, memory_max_percent = agg.memory_max_percent,
       memory_histogram = COALESCE(mem.h, '{}'::jsonb), init_histogram = COALESCE(init.h, '{}'::jsonb)
FROM agg LEFT JOIN mem USING (resource_id, bucket) LEFT JOIN init USING (resource_id, bucket)
WHERE r.resource_id = agg.resource_id AND r.period = 'hour' AND r.bucket = agg.bucket
"""
)

_MEMORY_DAILY = """
WITH src AS MATERIALIZED (
    SELECT resource_id, date_trunc('day', bucket) AS day, memory_max_mb, memory_max_percent, memory_histogram,
           init_histogram
    FROM monitoring_rollup WHERE period = 'hour' AND bucket >= %(start)s AND bucket < %(end)s
), agg AS (
    SELECT resource_id, day, max(memory_max_mb) AS mb, max(memory_max_percent) AS pct FROM src GROUP BY 1, 2
), mem AS (
    SELECT resource_id, day, jsonb_object_agg(k, n) AS h FROM (
        SELECT resource_id, day, e.key AS k, sum(e.value::bigint) AS n FROM src, jsonb_each_text(src.memory_histogram) e
        GROUP BY 1, 2, 3) x GROUP BY 1, 2
), init AS (
    SELECT resource_id, day, jsonb_object_agg(k, n) AS h FROM (
        SELECT resource_id, day, e.key AS k, sum(e.value::bigint) AS n FROM src, jsonb_each_text(src.init_histogram) e
        GROUP BY 1, 2, 3) x GROUP BY 1, 2
)
UPDATE monitoring_rollup r SET memory_max_mb = agg.mb, memory_max_percent = agg.pct,
       memory_histogram = COALESCE(mem.h, '{}'::jsonb), init_histogram = COALESCE(init.h, '{}'::jsonb)
FROM agg LEFT JOIN mem USING (resource_id, day) LEFT JOIN init USING (resource_id, day)
WHERE r.resource_id = agg.resource_id AND r.period = 'day' AND r.bucket = agg.day
"""


def memory_figures_backfill(*, day: datetime) -> None:
    """The memory and init-duration figures of one day's function rollups, from the raw
    invocations still stored (only those columns: an hour whose raw rows retention already
    deleted keeps its counts and gets no memory figure)."""
    day = _day(day)
    window: dict[str, Any] = {"start": day, "end": day + timedelta(days=1)}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BULK_WORK_MEM)
        cursor.execute(_MEMORY_BACKFILL, window)
        cursor.execute(_MEMORY_DAILY, window)


_ACCOUNT_BUILD = _merge_sql(
    source="monitoring_rollup s JOIN monitoring_resource res ON res.id = s.resource_id",
    where="s.organization_id = %(org)s AND s.bucket >= %(start)s AND s.bucket < %(end)s",
    keys={
        "organization_id": "s.organization_id",
        "account_id": "s.account_id",
        "region": "res.region",
        "period": "s.period",
        "bucket": "s.bucket",
    },
    target="monitoring_accountrollup",
    conflict=["account_id", "region", "period", "bucket"],
)


def scope_rollups_build(*, organization_id: int, start: datetime, end: datetime, from_raw: bool = False) -> None:
    """Rebuild an organisation's account × region rollups, and those of each of its
    projects, of the buckets in [start, end) (widened to whole days): from its function
    rollups, or (`from_raw`) from the raw invocations themselves, for days written in bulk
    whose raw rows are all there (the same figures, a few groups instead of a row per
    function). For backfills and bulk-written data; it does not mark projects current (see
    `projects_built`). Holds the organisation's lock exclusively, like a project build, so
    that no ingest adds a delta meanwhile."""
    start, end = _day(start), _day(end - timedelta(microseconds=1)) + timedelta(days=1)
    projects = list(Project.objects.filter(organization_id=organization_id))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_ORGANIZATION, _key(organization_id)])
        cursor.execute(BULK_WORK_MEM)
        day = start
        while day < end:
            window: dict[str, Any] = {"org": organization_id, "start": day, "end": day + timedelta(days=1)}
            cursor.execute(
                "DELETE FROM monitoring_accountrollup WHERE organization_id = %(org)s "
                "AND bucket >= %(start)s AND bucket < %(end)s",
                window,
            )
            cursor.execute(_ACCOUNT_FROM_RAW if from_raw else _ACCOUNT_BUILD, window)
            for project in projects:
                cursor.execute(
                    "DELETE FROM monitoring_projectrollup WHERE project_id = %s AND bucket >= %s AND bucket < %s",
                    [project.pk, window["start"], window["end"]],
                )
                members = list(project.resources().values_list("pk", flat=True))
                if from_raw:
                    sql = _from_raw_sql(
                        f"{_ORG_DAY_RAW} AND i.resource_id = ANY(%(members)s)",
                        days=True,
                        level=project_level(project.pk),
                    )
                else:
                    sql = _merge_sql(
                        source="monitoring_rollup s",
                        where="s.organization_id = %(org)s AND s.bucket >= %(start)s AND s.bucket < %(end)s "
                        "AND s.resource_id = ANY(%(members)s)",
                        keys={
                            "organization_id": "s.organization_id",
                            "project_id": str(int(project.pk)),
                            "period": "s.period",
                            "bucket": "s.bucket",
                        },
                        target="monitoring_projectrollup",
                        conflict=["project_id", "period", "bucket"],
                    )
                cursor.execute(sql, {**window, "members": members})
            day += timedelta(days=1)


def projects_built(*, organization_id: int) -> None:
    """Mark the organisation's projects' rollups current. Only right after
    `scope_rollups_build` rebuilt every bucket the organisation has rollups in (loading or
    migrating a database), under no concurrent change of membership."""
    Project.objects.filter(organization_id=organization_id).update(rollups_built=F("rollups_generation"))


_ORG_DAY_RAW = "i.organization_id = %(org)s AND i.started_at >= %(start)s AND i.started_at < %(end)s"
_ACCOUNT_FROM_RAW = _from_raw_sql(_ORG_DAY_RAW, days=True, level=ACCOUNT_LEVEL)


def _scope_from_groups_sql(name: str, table: str, keys: dict[str, str], join: str = "") -> str:
    """Data-modifying CTEs that upsert a scope's hourly and daily rollups from the function
    groups of `_from_raw_sql` (agg: figures per function and hour; h: histogram entries per
    function, hour, histogram and bucket index), in the same statement: counts and sums
    added, maxima of maxima, histogram entries added, so the figures of the raw rows. `keys`:
    the scope's key columns, as expressions over a function group x, its function res and
    what `join` adds; only the organisation %(org)s's functions count."""
    names = list(keys)
    selected = ", ".join(f"{expression} AS {key}" for key, expression in keys.items())
    n = len(names)
    by = ", ".join(str(k + 1) for k in range(n + 1))
    figures = [*ADDED, *MAXES]
    kinds = list(HISTOGRAMS)
    source = f"JOIN monitoring_resource res ON res.id = x.resource_id {join} WHERE res.organization_id = %(org)s"

    def pivot(groups: str, bucket: str) -> str:
        return (
            f"SELECT {', '.join(names)}, {bucket} AS bucket, "
            + ", ".join(f"jsonb_object_agg(idx::text, n) FILTER (WHERE kind = {k}) AS {h}" for k, h in enumerate(kinds))
            + f" FROM {groups} GROUP BY {by}"
        )

    def upsert(period: str, agg: str, hist: str) -> str:
        select = (
            f"SELECT a.organization_id, {', '.join(f'a.{k}' for k in names)}, '{period}', a.bucket, "
            f"{', '.join(f'a.{c}' for c in figures)}, {', '.join(f'COALESCE(p.{h}, {_EMPTY})' for h in kinds)} "
            f"FROM {agg} a LEFT JOIN ({hist}) p USING ({', '.join(names)}, bucket) "
            f"ORDER BY {', '.join(f'a.{k}' for k in names)}, a.bucket"
        )
        return _upsert(table, ["organization_id", *names, "period", "bucket"], [*names, "period", "bucket"]).format(
            select=select
        )

    merged = ", ".join(f"{MERGE[c].format('x')} AS {c}" for c in figures)
    day_merged = ", ".join(f"{MERGE[c].format('y')} AS {c}" for c in figures)
    days = (
        f"(SELECT {', '.join(f'y.{k}' for k in names)}, date_trunc('day', y.bucket) AS bucket, "
        f"min(y.organization_id) AS organization_id, {day_merged} FROM {name}_agg y GROUP BY {by})"
    )
    day_entries = (
        f"(SELECT {', '.join(names)}, date_trunc('day', bucket) AS day, kind, idx, sum(n) AS n "
        f"FROM {name}_h GROUP BY {by}, {n + 2}, {n + 3}) d"
    )
    return f""", {name}_agg AS MATERIALIZED (
    SELECT {selected}, x.bucket, min(x.organization_id) AS organization_id, {merged}
    FROM agg x {source} GROUP BY {by}
), {name}_h AS MATERIALIZED (
    SELECT {selected}, x.bucket, x.kind, x.idx, sum(x.n) AS n FROM h x {source} GROUP BY {by}, {n + 2}, {n + 3}
), {name}_hourly AS ({upsert("hour", f"{name}_agg", pivot(f"{name}_h", "bucket"))}
), {name}_daily AS ({upsert("day", days, pivot(day_entries, "day"))})"""


_SCOPES_FROM_GROUPS = _scope_from_groups_sql(
    "acc", "monitoring_accountrollup", {"account_id": "res.account_id", "region": "res.region"}
) + _scope_from_groups_sql(
    "proj",
    "monitoring_projectrollup",
    {"project_id": "m.project_id"},
    "JOIN unnest(%(projects)s::bigint[], %(members)s::bigint[]) AS m(project_id, resource_id) "
    "ON m.resource_id = x.resource_id",
)
_BULK_DAYS_WITH_SCOPES = _from_raw_sql(_BULK_WHERE, days=True, then=_SCOPES_FROM_GROUPS)


def bulk_days_build(*, organization_id: int, start: datetime, end: datetime, exclusive: bool = True) -> None:
    """For whole days written in bulk whose raw rows are all there (a benchmark's, a
    migration's), in one statement per call: every function's hourly and daily rollups of
    [start, end) (`function_rollups_build`'s SQL), and the organisation's account × region
    and project rollups of those days from the same groups of raw rows (the figures
    `scope_rollups_build` computes from them, without reading the rows again). Replaces
    the scope rows of those days; holds the organisation's lock exclusively like a project
    build; marks no project current (see `projects_built`).

    `exclusive=False`, for a caller that lets nothing else write into the organisation
    meanwhile (a seed, a migration): the lock is held shared, still keeping project builds
    out, so that calls over different days run side by side on as many connections (they
    touch no row in common); never two over the same day."""
    start, end = _day(start), _day(end - timedelta(microseconds=1)) + timedelta(days=1)
    projects, members = [], []
    for project in Project.objects.filter(organization_id=organization_id):
        for pk in project.resources().values_list("pk", flat=True):
            projects.append(project.pk)
            members.append(pk)
    window: dict[str, Any] = {"org": organization_id, "start": start, "end": end}
    lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT {lock}(%s, %s)", [LOCK_ORGANIZATION, _key(organization_id)])
        cursor.execute(BULK_WORK_MEM)
        for scope_table in ("monitoring_accountrollup", "monitoring_projectrollup"):
            cursor.execute(
                f"DELETE FROM {scope_table} WHERE organization_id = %(org)s AND bucket >= %(start)s AND bucket < %(end)s",
                window,
            )
        cursor.execute(_BULK_DAYS_WITH_SCOPES, {**window, "projects": projects, "members": members})


# --- Imported history: rollups of invocations whose raw rows are not kept --------------------


class ImportedInvocation(NamedTuple):
    """An invocation known only for its rollups (`_IMPORT_FIGURES`, in order)."""

    started_at: datetime
    status: str
    cold_start: bool
    duration_ms: float | None
    billed_duration_ms: int | None
    billed_restore_duration_ms: int | None
    memory_size_mb: int | None
    max_memory_used_mb: int | None
    cost_usd: float | None


_IMPORT_FIGURES = ImportedInvocation._fields
_STATUSES = frozenset(InvocationStatus.values)
_NULL = "\\N"


def _number(value: float | None) -> str:
    return _NULL if value is None else repr(float(value))


def _whole(value: int | None) -> str:
    return _NULL if value is None else str(int(value))


def _import_line(prefix: str, inv: ImportedInvocation) -> str:
    """One COPY text line: ids, then numbers and a status from a closed set (nothing to escape)."""
    if inv.status not in _STATUSES:
        raise ValueError(f"not an invocation status: {inv.status!r}")
    return (
        f"{prefix}{inv.started_at.isoformat()}\t{inv.status}\t{'t' if inv.cold_start else 'f'}\t"
        f"{_number(inv.duration_ms)}\t{_whole(inv.billed_duration_ms)}\t{_whole(inv.billed_restore_duration_ms)}\t"
        f"{_whole(inv.memory_size_mb)}\t{_whole(inv.max_memory_used_mb)}\t{_number(inv.cost_usd)}\n"
    )


_IMPORT_TABLE = """CREATE TEMP TABLE IF NOT EXISTS rollup_import (
    resource_id bigint, organization_id bigint, account_id bigint, started_at timestamptz, status varchar(16),
    cold_start boolean, duration_ms double precision, billed_duration_ms double precision,
    billed_restore_duration_ms double precision, memory_size_mb integer, max_memory_used_mb integer,
    cost_usd double precision, init_duration_ms double precision
) ON COMMIT DELETE ROWS"""
# The hours of the range that have no stored invocation of the function: those keep theirs.
_HOURLY_IMPORTED = (
    _from_raw_sql(
        "i.started_at >= %(start)s AND i.started_at < %(end)s AND date_trunc('hour', i.started_at) NOT IN ("
        "SELECT date_trunc('hour', s.started_at) FROM monitoring_invocation s WHERE s.resource_id = %(resource)s "
        "AND s.started_at >= %(start)s AND s.started_at < %(end)s)",
        table="rollup_import",
    )
    + _RETURNING
)


def rollups_import(*, resource: Resource, invocations: Iterable[ImportedInvocation]) -> int:
    """The hourly and daily rollups of one function's invocations whose raw rows are not kept
    (history brought from elsewhere, the sandbox's), computed by the ingest path's own SQL
    over a staging table, and carried to its account × region and projects like an ingest.
    Returns the hours written. An hour with stored invocations is left alone (its rollup is
    theirs), so an import never overwrites collected data; importing the same invocations
    again changes nothing (the upserts write the same values, so no delta)."""
    prefix = f"{int(resource.pk)}\t{int(resource.organization_id)}\t{int(resource.account_id)}\t"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_IMPORT_TABLE)
        cursor.execute("TRUNCATE rollup_import")  # an enclosing transaction's earlier import
        first: datetime | None = None
        last: datetime | None = None
        columns = ", ".join(["resource_id", "organization_id", "account_id", *_IMPORT_FIGURES])
        with connection.wrap_database_errors, cursor.cursor.copy(f"COPY rollup_import ({columns}) FROM STDIN") as copy:
            chunk: list[str] = []  # text lines in large writes: far faster than a write_row per row
            for inv in invocations:
                chunk.append(_import_line(prefix, inv))
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
        hours = [start + timedelta(hours=k) for k in range((end - start) // timedelta(hours=1))]
        days = sorted({_day(h) for h in hours})
        cursor.execute(
            "SELECT pg_advisory_xact_lock_shared(%s, %s), pg_advisory_xact_lock(%s, %s)",
            [LOCK_ORGANIZATION, _key(resource.organization_id), LOCK_FUNCTION, _key(resource.pk)],
        )
        before = _function_rows(cursor, resource.pk, hours, days)
        cursor.execute(BULK_WORK_MEM)
        cursor.execute(_HOURLY_IMPORTED, {"resource": resource.pk, "start": start, "end": end})
        written = _returned(cursor)
        # Hours not written (they have stored invocations) keep their rows: no change there.
        after = {key: row for key, row in before.items() if key[0] == "hour"} | written
        for day in days:
            cursor.execute(_DAILY_ONE, {"resources": [resource.pk], "start": day, "end": day + timedelta(days=1)})
            after.update(_returned(cursor))
        deltas = _deltas(before, after)
        if deltas:
            _scope_apply(cursor, AccountScope(resource.organization_id, resource.account_id, resource.region), deltas)
            for project in _current_projects(cursor, resource.pk):
                _scope_apply(cursor, ProjectScope(resource.organization_id, project), deltas)
    return len(written)
