"""Figures over any window [start, end), exactly: rollups for the whole buckets inside it,
raw invocations for the partial hours at its edges (docs/architecture.md §6).

A window "the last 24 hours" at 10:05 is the raw rows of 10:05–11:00 yesterday, the hourly
rollups of 11:00–24:00 and today's daily rollup. A bucket that reaches past the window's end
is read whole only when the window ends now (nothing is stored after now); otherwise its
part inside the window is read raw. So the raw rows read are at most an hour at each edge,
whatever the window's length, and the number of rollup rows grows with the number of days,
not of hours.

Every figure is computed from raw rows with the very expressions the rollups are built with
(`monitoring.store.rollups.RAW`, `bucket_index_sql`), so the two parts add up exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db import connection

from .store.rollups import ADDED, COUNTS, HISTOGRAMS, MAXES, RAW, bucket_index_sql

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
Step = Literal["minute", "hour", "day"]
STEPS: dict[str, timedelta] = {"minute": timedelta(minutes=1), "hour": HOUR, "day": DAY}


def floor(t: datetime, step: Step) -> datetime:
    if step == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    if step == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    return t.replace(second=0, microsecond=0)


@dataclass
class Plan:
    """Where each part of a window is read from: raw time ranges, ranges of bucket starts
    of the hourly and the daily rollups, and raw ranges to take away (the part of an hour
    read whole that lies outside the window)."""

    raw: list[tuple[datetime, datetime]] = field(default_factory=list)
    hours: list[tuple[datetime, datetime]] = field(default_factory=list)
    days: list[tuple[datetime, datetime]] = field(default_factory=list)
    minus: list[tuple[datetime, datetime]] = field(default_factory=list)
    minus_hours: list[tuple[datetime, datetime]] = field(default_factory=list)

    def add(self, kind: str, start: datetime, end: datetime) -> None:
        if start >= end:
            return
        ranges = getattr(self, kind)
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))


def plan(start: datetime, end: datetime, *, now: datetime, coarsest: Step = "day", subtract: bool = False) -> Plan:
    """Cover [start, end) with the coarsest buckets that fit (up to `coarsest`; "minute"
    reads everything raw), raw rows for the rest. `subtract` (for counts, sums and
    histograms, not maxima): a partial hour is read as its whole hour less the raw rows of
    the rest of it when that rest is the shorter, so at most half an hour is read raw at
    each edge; and the first, partial day of a window of days as its whole day less its
    hours before the window, when those are fewer (at most 12 hourly rows a function)."""
    out = Plan()
    open_end = end >= now
    t = start
    while t < end:
        day = floor(t, "day")
        if coarsest == "day" and t == day and (t + DAY <= end or open_end):
            out.add("days", t, t + DAY)
            t += DAY
        elif (
            coarsest == "day"
            and subtract
            and t == floor(t, "hour")
            and (day + DAY <= end or open_end)
            and t - day < min(day + DAY, max(now, end)) - t
        ):
            before = t
            if out.hours and out.hours[-1][1] == t and out.hours[-1][0] <= t - HOUR and t - HOUR >= day:
                # The hour just read whole (a partial first hour) is in the day already.
                before = t - HOUR
                out.hours[-1] = (out.hours[-1][0], before)
                if out.hours[-1][0] == before:
                    out.hours.pop()
            out.add("days", day, day + DAY)
            out.add("minus_hours", day, before)
            t = day + DAY
        elif coarsest != "minute" and t == floor(t, "hour") and (t + HOUR <= end or open_end):
            out.add("hours", t, t + HOUR)
            t += HOUR
        elif coarsest == "minute":
            out.add("raw", t, end)
            t = end
        else:
            hour = floor(t, "hour")
            upto = min(hour + HOUR, end)
            # What the hour's rollup holds beyond the part wanted (nothing is stored after now).
            rest = [(hour, t), (upto, min(hour + HOUR, max(now, upto)))]
            if subtract and sum((b - a for a, b in rest), timedelta()) < upto - t:
                out.add("hours", hour, hour + HOUR)
                for a, b in rest:
                    out.add("minus", a, b)
            else:
                out.add("raw", t, upto)
            t = upto
    return out


@dataclass(frozen=True)
class Source:
    """Whose figures: rollup rows of `table` (alias r) that `where` selects, and the raw
    invocations (alias i) that `raw_where` selects. `per_function`: the rollups are per
    function (r.resource_id exists)."""

    table: str
    where: str
    params: tuple[Any, ...]
    raw_where: str
    raw_params: tuple[Any, ...]
    per_function: bool = False


def account_source(organization_id: int, account: int | None = None, region: str = "") -> Source:
    """An organisation, one of its accounts and/or one region: account × region rollups."""
    where, raw_where = "r.organization_id = %s", "i.organization_id = %s"
    params: list[Any] = [organization_id]
    raw_params: list[Any] = [organization_id]
    if account:
        where += " AND r.account_id = %s"
        params.append(account)
        raw_where += " AND i.account_id = %s"
        raw_params.append(account)
    if region:
        where += " AND r.region = %s"
        params.append(region)
        raw_where += (
            " AND i.resource_id IN (SELECT id FROM monitoring_resource WHERE organization_id = %s AND region = %s)"
        )
        raw_params += [organization_id, region]
    return Source("monitoring_accountrollup", where, tuple(params), raw_where, tuple(raw_params))


def project_source(organization_id: int, project_id: int, resource_ids: list[int]) -> Source:
    """A project whose rollups are current (its members: `resource_ids`)."""
    return Source(
        "monitoring_projectrollup",
        "r.project_id = %s",
        (project_id,),
        "i.organization_id = %s AND i.resource_id = ANY(%s)",
        (organization_id, resource_ids),
    )


def function_source(
    organization_id: int, *, account: int | None = None, region: str = "", resource_ids: list[int] | None = None
) -> Source:
    """Functions' own rollups: all of an organisation's (optionally of one account or
    region), or those in `resource_ids`."""
    where, raw_where = "r.organization_id = %s", "i.organization_id = %s"
    params: list[Any] = [organization_id]
    raw_params: list[Any] = [organization_id]
    if account:
        where += " AND r.account_id = %s"
        params.append(account)
        raw_where += " AND i.account_id = %s"
        raw_params.append(account)
    if region:
        regional = "(SELECT id FROM monitoring_resource WHERE organization_id = %s AND region = %s)"
        where += f" AND r.resource_id IN {regional}"
        params += [organization_id, region]
        raw_where += f" AND i.resource_id IN {regional}"
        raw_params += [organization_id, region]
    if resource_ids is not None:
        where += " AND r.resource_id = ANY(%s)"
        params.append(list(resource_ids))
        raw_where += " AND i.resource_id = ANY(%s)"
        raw_params.append(list(resource_ids))
    return Source("monitoring_rollup", where, tuple(params), raw_where, tuple(raw_params), per_function=True)


Group = Literal["resource"] | Step | None


def _keys(group: Group) -> tuple[str, str]:
    """The grouping key over rollup rows and over raw rows."""
    if group is None:
        return "NULL::int", "NULL::int"
    if group == "resource":
        return "r.resource_id", "i.resource_id"
    if group == "minute":
        return "date_trunc('minute', r.bucket)", "date_trunc('minute', i.started_at)"
    return f"date_trunc('{group}', r.bucket)", f"date_trunc('{group}', i.started_at)"


def _ranges(p: Plan, kind: str = "raw") -> tuple[str, list[Any]]:
    """The raw ranges (or those to take away) as a condition on invocations `i`."""
    conditions, params = [], []
    for start, end in getattr(p, kind):
        conditions.append("(i.started_at >= %s AND i.started_at < %s)")
        params += [start, end]
    return " OR ".join(conditions), params


def _rollup_ranges(p: Plan) -> tuple[str, list[Any]]:
    conditions, params = [], []
    for period, ranges in (("hour", p.hours), ("day", p.days)):
        for start, end in ranges:
            conditions.append("(r.period = %s AND r.bucket >= %s AND r.bucket < %s)")
            params += [period, start, end]
    return " OR ".join(conditions), params


def _rollup_parts(head: str, source: Source, p: Plan) -> tuple[list[str], list[Any]]:
    """`head` (a SELECT … FROM the source's rollups r, its values prefixed by `{sign}`) once
    per range of buckets, negated for the hours taken away: ranges joined by OR would make
    PostgreSQL merge bitmaps of the rows, where one range each reads the covering index alone."""
    parts, params = [], []
    for period, ranges, sign in (("hour", p.hours, ""), ("day", p.days, ""), ("hour", p.minus_hours, "-")):
        for start, end in ranges:
            parts.append(
                f"{head.format(sign=sign)} WHERE {source.where} AND r.period = %s AND r.bucket >= %s AND r.bucket < %s"
            )
            params += [*source.params, period, start, end]
    return parts, params


def _raw_parts(
    source: Source, p: Plan, *, keys: list[str], values: list[tuple[str, str]], where: str = ""
) -> tuple[list[str], list[Any]]:
    """The raw rows' part of a window, grouped by `keys` (expressions over invocations i),
    each of `values` (aggregate, name) added for `p.raw` and taken away for `p.minus`."""
    parts, params = [], []
    for kind, sign in (("raw", ""), ("minus", "-")):
        ranges, range_params = _ranges(p, kind)
        if not ranges:
            continue
        selected = [f"{key} AS k{n}" for n, key in enumerate(keys)]
        selected += [f"{sign}({aggregate}) AS {name}" for aggregate, name in values]
        parts.append(
            f"SELECT {', '.join(selected)} FROM monitoring_invocation i WHERE {source.raw_where} AND ({ranges})"
            f"{where} GROUP BY {', '.join(str(n + 1) for n in range(len(keys)))}"
        )
        params += [*source.raw_params, *range_params]
    return parts, params


def figures(source: Source, p: Plan, *, columns: list[str], group: Group = None) -> dict[Any, dict[str, Any]]:
    """{group key (None without a group): {column: value}} of counts, sums and maxima."""
    if group == "resource" and not source.per_function:
        raise ValueError("per-function figures need function rollups")
    if (p.minus or p.minus_hours) and any(c in MAXES for c in columns):
        raise ValueError("a maximum cannot be taken away: plan without `subtract`")
    key_r, key_i = _keys(group)
    parts, params = _rollup_parts(
        f"SELECT {key_r} AS k0, {', '.join(f'{{sign}}r.{c} AS {c}' for c in columns)} FROM {source.table} r", source, p
    )
    raw_parts, raw_params = _raw_parts(source, p, keys=[key_i], values=[(RAW[c], c) for c in columns])
    parts, params = parts + raw_parts, params + raw_params
    if not parts:
        return {}
    combine = ", ".join(f"{'max' if c in MAXES else 'sum'}(x.{c})" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT x.k0, {combine} FROM ({' UNION ALL '.join(parts)}) x GROUP BY x.k0", params)
        return {row[0]: {c: _number(c, v) for c, v in zip(columns, row[1:], strict=True)} for row in cursor.fetchall()}


def _number(column: str, value: Any) -> int | float | None:
    """SQL's sums of integers are decimals: counts as int, the rest as float."""
    if value is None:
        return None
    return int(value) if column in COUNTS else float(value)


def histograms(source: Source, p: Plan, *, column: str = "histogram", group: Group = None) -> dict[Any, dict[int, int]]:
    """{group key: {bucket index: count}} of one of the rollups' histograms."""
    key_r, key_i = _keys(group)
    value = HISTOGRAMS[column]
    parts, params = _rollup_parts(
        f"SELECT {key_r} AS k0, e.key::int AS k1, {{sign}}e.value::bigint AS n FROM {source.table} r, "
        f"jsonb_each_text(r.{column}) e",
        source,
        p,
    )
    raw_parts, raw_params = _raw_parts(
        source,
        p,
        keys=[key_i, bucket_index_sql(f"i.{value}")],
        values=[("count(*)", "n")],
        where=f" AND i.{value} IS NOT NULL",
    )
    parts, params = parts + raw_parts, params + raw_params
    out: dict[Any, dict[int, int]] = defaultdict(dict)
    if not parts:
        return out
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT x.k0, x.k1, sum(x.n) FROM ({' UNION ALL '.join(parts)}) x GROUP BY 1, 2", params)
        for key, index, count in cursor.fetchall():
            if count:
                out[key][int(index)] = int(count)
    return out


def ranked(
    source: Source, p: Plan, *, columns: list[str], orders: dict[str, str], limit: int
) -> dict[str, list[tuple[int, float]]]:
    """Per ranking: the `limit` functions with the highest value of its expression over the
    `columns` (counts and sums, e.g. "sum(errors)"), above zero, in one pass over the rows."""
    if not source.per_function or any(c not in ADDED for c in columns):
        raise ValueError("rankings sum function rollups' counts and sums")
    # In double precision: a sum of bigints is a numeric, three times slower to add up over
    # the hundreds of thousands of rows of ten thousand functions' month (and exact as a
    # double up to 2^53, far beyond any count here).
    parts, params = _rollup_parts(
        f"SELECT r.resource_id AS k0, {', '.join(f'{{sign}}r.{c}::float8 AS {c}' for c in columns)} "
        f"FROM {source.table} r",
        source,
        p,
    )
    raw_parts, raw_params = _raw_parts(
        source, p, keys=["i.resource_id"], values=[(f"({RAW[c]})::float8", c) for c in columns]
    )
    parts, params = parts + raw_parts, params + raw_params
    out: dict[str, list[tuple[int, float]]] = {name: [] for name in orders}
    if not parts:
        return out
    values = ", ".join(f"{expression} AS {name}" for name, expression in orders.items())
    selects = " UNION ALL ".join(
        f"(SELECT %s, k0, {name} FROM per WHERE {name} > 0 ORDER BY {name} DESC, k0 LIMIT %s)" for name in orders
    )
    sql = (
        f"WITH per AS MATERIALIZED (SELECT x.k0, {values} FROM ({' UNION ALL '.join(parts)}) x GROUP BY x.k0) {selects}"
    )
    for name in orders:
        params += [name, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for name, key, value in cursor.fetchall():
            out[name].append((key, float(value)))
    return out


# Alert figures the rollups hold exactly (counts, sums, maxima): the rollup columns each needs
# and its expression over them. Percentiles (exact on raw rows), minima and retries are not.
WINDOW_FIGURES = {
    "errors": (["errors"], "sum(errors)"),
    "error_rate": (["errors", "invocations"], "100.0 * sum(errors) / NULLIF(sum(invocations), 0)"),
    "timeouts": (["timeouts"], "sum(timeouts)"),
    "out_of_memory": (["out_of_memory"], "sum(out_of_memory)"),
    "cold_starts": (["cold_starts"], "sum(cold_starts)"),
    "duration_max": (
        ["duration_max_ms", "duration_count"],
        "max(CASE WHEN duration_count > 0 THEN duration_max_ms END)",
    ),
    "duration_avg": (["duration_sum_ms", "duration_count"], "sum(duration_sum_ms) / NULLIF(sum(duration_count), 0)"),
    "memory_use": (["memory_max_percent"], "max(memory_max_percent)"),
    "cost": (["cost_usd"], "sum(cost_usd)"),
}


def window_values(
    *, figure: str, resource_ids: list[int], start: datetime, end: datetime, width: timedelta
) -> list[tuple[int, int, float | None]]:
    """(function, window index from `start`, value) of one of WINDOW_FIGURES over the
    consecutive windows of `width` in [start, end): each window's whole hours and days from
    the function rollups, its partial hours from raw rows, all in one query."""
    columns, expression = WINDOW_FIGURES[figure]
    combined = Plan()
    t = start
    while t < end:
        # Closed windows (`now` after them): a bucket is read only when it lies inside one.
        part = plan(t, t + width, now=end + timedelta(microseconds=1))
        for kind in ("raw", "hours", "days"):
            for a, b in getattr(part, kind):
                combined.add(kind, a, b)
        t += width
    rollup, rollup_params = _rollup_ranges(combined)
    raw, raw_params = _ranges(combined)
    seconds = width.total_seconds()
    parts, params = [], []
    if rollup:
        parts.append(
            f"SELECT r.resource_id AS k, floor(extract(epoch FROM r.bucket - %s) / %s)::int AS w, "
            f"{', '.join(f'r.{c}' for c in columns)} FROM monitoring_rollup r "
            f"WHERE r.resource_id = ANY(%s) AND ({rollup})"
        )
        params += [start, seconds, resource_ids, *rollup_params]
    if raw:
        parts.append(
            f"SELECT i.resource_id AS k, floor(extract(epoch FROM i.started_at - %s) / %s)::int AS w, "
            f"{', '.join(f'{RAW[c]} AS {c}' for c in columns)} FROM monitoring_invocation i "
            f"WHERE i.resource_id = ANY(%s) AND ({raw}) GROUP BY 1, 2"
        )
        params += [start, seconds, resource_ids, *raw_params]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT k, w, {expression} FROM ({' UNION ALL '.join(parts)}) x GROUP BY 1, 2", params)
        return [(k, w, float(v) if v is not None else None) for k, w, v in cursor.fetchall()]
