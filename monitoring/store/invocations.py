"""Store parsed Lambda invocations: exactly once, in bulk (docs/architecture.md §5, §6).

`invocations_store` is the one write path for logs, used by the logs collector, the push
endpoint and the benchmarks. For one function and one batch of parsed events it:

1. Reconciles attempts with what is stored: an invocation is (function, request id,
   attempt); a parsed one whose start matches a stored attempt (±1 s) *is* that row, so
   re-reading an overlap window updates instead of duplicating. A later start under a
   stored request id is the next attempt (Lambda's async retry).
2. Writes new invocations with COPY (ids drawn from the sequence first, so log lines can
   point at them) and changed ones with one UPDATE … FROM (VALUES …).
3. Writes log lines and their search blocks (`loglines.py`): new lines with binary COPY,
   lines a window may already hold through INSERT … ON CONFLICT DO NOTHING on
   (function, time, event id): an overlap re-read adds nothing.
4. Counts each invocation into its error group once: when it is first stored with a
   failing status, or first turns to one (unknown → timeout). A resolved group that
   recurs reopens as a regression.
5. Recomputes the hourly and daily rollups of the touched hours from raw rows, so they are
   exact however often a window is re-read.

All in the caller's transaction: a crash mid-batch leaves nothing half-written.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from operator import attrgetter
from typing import Any

import orjson
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from monitoring.fingerprint import fingerprint, normalise_message
from monitoring.gcpause import gc_paused
from monitoring.models import INVOCATION_MEASURES, ErrorGroup, Invocation, LogCheckpoint, Resource
from monitoring.parsing.lambda_logs import ParsedInvocation, ParseResult
from monitoring.pricing import invocation_cost

from .loglines import account_lines_purge, lines_of, log_lines_store
from .partitions import ensure_partitions
from .rollups import rollups_recompute

FAILING = {"error", "timeout", "out_of_memory"}
SAME_ATTEMPT = timedelta(seconds=1)
SAMPLES_PER_GROUP = 10

# The table's columns in the model's order, for COPY.
INVOCATION_COLUMNS = [f.column for f in Invocation._meta.concrete_fields]
UPDATABLE = INVOCATION_COLUMNS[INVOCATION_COLUMNS.index("status") :]  # status … error_group_id; never the identity
assert [
    "status", "started_at", "start_source", "ended_at", *INVOCATION_MEASURES, "log_stream", "complete", "cost_usd",
    "error_group_id",
] == UPDATABLE, "the COPY rows below list the columns in this order"  # fmt: skip
_measures = attrgetter(*INVOCATION_MEASURES)


@dataclass
class StoreSummary:
    invocations_new: int = 0
    invocations_updated: int = 0
    log_lines: int = 0
    late_lines: int = 0  # lines stored although a window had already read past their time
    errors_new: int = 0
    cold_starts_new: int = 0
    by_status_new: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: StoreSummary) -> None:
        self.invocations_new += other.invocations_new
        self.invocations_updated += other.invocations_updated
        self.log_lines += other.log_lines
        self.late_lines += other.late_lines
        self.errors_new += other.errors_new
        self.cold_starts_new += other.cold_starts_new
        for k, v in other.by_status_new.items():
            self.by_status_new[k] += v

    def as_dict(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations_new,
            "invocations_updated": self.invocations_updated,
            "errors": self.errors_new,
            "errors_by_status": dict(self.by_status_new),
            "cold_starts": self.cold_starts_new,
            "log_lines": self.log_lines,
            "late_log_events": self.late_lines,
        }


def _start_of(inv: ParsedInvocation) -> datetime:
    """When it started, as the parser knows it (see `start_source`)."""
    if inv.started_at is not None:
        return inv.started_at
    if inv.ended_at is not None and inv.duration_ms is not None:
        return inv.ended_at - timedelta(milliseconds=inv.duration_ms)
    if inv.lines:
        return datetime.fromtimestamp(min(line.timestamp_ms for line in inv.lines) / 1000, tz=UTC)
    return inv.ended_at or timezone.now()


# How well a start is known: the START line's time, REPORT time − Duration (a few ms off),
# or only the earliest line seen (a bound, up to Lambda's 15 minutes late).
START_RANK = {"start": 2, "report": 1, "lines": 0}
LONGEST = timedelta(minutes=15, seconds=1)


def _match(inv: ParsedInvocation, start: datetime, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The stored attempt that this parsed view of `inv` is, or None for a new attempt.

    1. A start known from START or REPORT matches a row within SAME_ATTEMPT of it; or a row
       whose own start was only its earliest line, lying within Lambda's longest run after.
    2. A start known only from lines (a view with neither START nor REPORT) is inside the
       latest attempt that started before it and had not ended before it.
    Async retries of one request id start a minute or more apart, so these never confuse
    two attempts."""
    if not rows:
        return None
    source = getattr(inv, "start_source", "start")
    if source != "lines":
        for row in rows:
            if abs(row["started_at"] - start) <= SAME_ATTEMPT:
                return row
        for row in rows:
            if row["start_source"] == "lines" and start - SAME_ATTEMPT <= row["started_at"] <= start + LONGEST:
                return row
        return None
    before = [r for r in rows if r["started_at"] <= start + SAME_ATTEMPT]
    if before:
        row = max(before, key=lambda r: r["started_at"])
        if row["ended_at"] is None or start <= row["ended_at"] + SAME_ATTEMPT:
            return row
    after = [r for r in rows if not r["complete"] and start < r["started_at"] <= start + LONGEST]
    return min(after, key=lambda r: r["started_at"]) if after else None


# What a value from a log may be before it is stored: anything else is not a real Lambda
# figure (a corrupted or hostile line) and is stored as unknown rather than failing the batch.
MAX_MS = 24 * 3600 * 1000.0
MAX_MB = 1_000_000
TEXT_LIMITS = {"request_id": 64, "xray_trace_id": 64, "error_type": 256, "log_stream": 512}


def _clean_text(value: str) -> str:
    """Storable text: no NUL (PostgreSQL refuses it), no lone surrogate (UTF-8 cannot hold it)."""
    if value.isascii() and "\x00" not in value:  # nearly always: nothing to do
        return value
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode()
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode()
    return value


_DURATIONS = (
    "duration_ms",
    "billed_duration_ms",
    "init_duration_ms",
    "restore_duration_ms",
    "billed_restore_duration_ms",
)
_durations = attrgetter(*_DURATIONS)


_TEXTS = tuple(TEXT_LIMITS)
_texts = attrgetter(*_TEXTS)
_LIMITS = tuple(TEXT_LIMITS.values())


def _clean(inv: ParsedInvocation) -> ParsedInvocation:
    """Bound every value to what its column holds and Lambda can report (in place). Runs
    once per invocation stored: values already storable (nearly all) are tested and left
    alone, never rewritten."""
    for k, v in enumerate(_durations(inv)):
        if v is not None and not ((type(v) is float or type(v) is int) and 0 <= v <= MAX_MS):  # NaN fails the range
            setattr(inv, _DURATIONS[k], None)
    if (v := inv.memory_size_mb) is not None and not (type(v) is int and 0 <= v <= MAX_MB):
        inv.memory_size_mb = None
    if (v := inv.max_memory_used_mb) is not None and not (type(v) is int and 0 <= v <= MAX_MB):
        inv.max_memory_used_mb = None
    for k, v in enumerate(_texts(inv)):
        if v is not None and not (type(v) is str and len(v) <= _LIMITS[k] and v.isascii() and "\x00" not in v):
            setattr(inv, _TEXTS[k], _clean_text(v if type(v) is str else str(v))[: _LIMITS[k]])
    if inv.error_message is not None:
        inv.error_message = _clean_text(inv.error_message)
    if inv.error_frames:
        inv.error_frames = [_clean_text(str(f)) for f in inv.error_frames]
    if not 1 <= inv.attempt <= 100:
        inv.attempt = min(max(inv.attempt, 1), 100)
    return inv


def _existing(resource_id: int, request_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    if not request_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, request_id, attempt, {', '.join(UPDATABLE)} "  # noqa: S608 (constant column names)
            "FROM monitoring_invocation WHERE resource_id = %s "
            # One JSON text: quoting a thousand ids as an array literal costs more than the lookups.
            "AND request_id = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))",
            [resource_id, orjson.dumps(list(request_ids)).decode()],
        )
        names = [c[0] for c in cursor.description]
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in cursor.fetchall():
            record = dict(zip(names, row, strict=True))
            rows[record["request_id"]].append(record)
    return rows


@cache
def _sequence() -> str:
    """The invocations' id sequence (the same for the life of the schema)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('monitoring_invocation', 'id')")
        return str(cursor.fetchone()[0])


def _next_ids(count: int) -> list[int]:
    if not count:
        return []
    with connection.cursor() as cursor:
        # The sequence by its name, a constant: looking it up for every row
        # (pg_get_serial_sequence inside nextval) costs ten times as much.
        cursor.execute("SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", [_sequence(), count])
        return list(cursor.fetchone()[0])


# PostgreSQL types of the columns, for binary COPY (psycopg's C dumpers write each value).
COLUMN_TYPES = {
    "BigAutoField": "int8",
    "BigIntegerField": "int8",
    "ForeignKey": "int8",
    "SmallIntegerField": "int2",
    "IntegerField": "int4",
    "CharField": "text",
    "TextField": "text",
    "DateTimeField": "timestamptz",
    "FloatField": "float8",
    "BooleanField": "bool",
}
INVOCATION_TYPES = [COLUMN_TYPES[f.get_internal_type()] for f in Invocation._meta.concrete_fields]


def _copy_invocations(rows: Iterable[Sequence[Any]]) -> int:
    """COPY new invocations in binary: psycopg's C dumpers write each value, no text
    formatting on our side. The raw psycopg cursor bypasses Django's error translation:
    restore it, so that a unique violation or a bad value is the IntegrityError or
    DataError callers handle."""
    n = 0
    sql = f"COPY monitoring_invocation ({', '.join(INVOCATION_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        copy.set_types(INVOCATION_TYPES)
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def invocations_store(
    *,
    resource: Resource,
    result: ParseResult,
    event_ids: dict[int, str] | None = None,
    new_after_ms: int | None = None,
    recheck_lines: bool = False,
) -> StoreSummary:
    """Store one function's parsed events. `event_ids` maps id(LogLine) → CloudWatch eventId
    where the lines lack theirs. `new_after_ms`: lines after it cannot be stored yet (the
    caller's checkpoint says so, in this same transaction), so they skip the duplicate check.
    `recheck_lines`: check every line against what is stored all the same, for when the
    checkpoint proved wrong (another writer, or a re-read from a checkpoint moved back)."""
    with transaction.atomic(), gc_paused():  # monitoring/gcpause.py: a few objects per line, no cycles
        return _store(
            resource=resource,
            result=result,
            event_ids=event_ids,
            new_after_ms=new_after_ms,
            recheck_lines=recheck_lines,
        )


def _store(
    *,
    resource: Resource,
    result: ParseResult,
    event_ids: dict[int, str] | None,
    new_after_ms: int | None,
    recheck_lines: bool,
) -> StoreSummary:
    summary = StoreSummary()
    parsed = [_clean(inv) for inv in result.invocations]
    if not parsed and not result.orphans:
        return summary
    config = resource.config or {}
    now = timezone.now()
    existing = _existing(resource.pk, sorted({inv.request_id for inv in parsed}))

    new_rows: list[tuple[ParsedInvocation, int, datetime]] = []  # (parsed, attempt, start)
    updates: list[tuple[ParsedInvocation, dict[str, Any], datetime]] = []
    for request_id, invs in _by_request(parsed).items():
        stored = sorted(existing.get(request_id, []), key=lambda r: r["started_at"])
        next_attempt = max((r["attempt"] for r in stored), default=0) + 1
        for inv in invs:
            start = _start_of(inv)
            match = _match(inv, start, stored)
            if match is not None:
                stored.remove(match)  # one parsed view per stored attempt
                updates.append((inv, match, start))
            else:
                attempt = next_attempt if existing.get(request_id) or inv.attempt == 1 else inv.attempt
                new_rows.append((inv, attempt, start))
                next_attempt = max(next_attempt, attempt) + 1

    # Error groups: load the touched ones, create the missing.
    group_keys: dict[int, str] = {}
    for inv, *_ in [*new_rows, *updates]:
        if inv.status in FAILING:
            group_keys[id(inv)] = fingerprint(
                resource_id=resource.pk,
                kind=inv.status,
                error_type=inv.error_type,
                message=inv.error_message,
                frames=inv.error_frames,
            )
    groups = {
        g.fingerprint: g for g in ErrorGroup.objects.filter(resource=resource, fingerprint__in=set(group_keys.values()))
    }
    for inv, *_ in [*new_rows, *updates]:
        fp = group_keys.get(id(inv))
        if fp and fp not in groups:
            start = _start_of(inv)
            groups[fp] = ErrorGroup.objects.create(
                organization_id=resource.organization_id,
                account_id=resource.account_id,
                resource=resource,
                fingerprint=fp,
                kind=inv.status,
                error_type=inv.error_type or "",
                message=normalise_message(inv.error_message),
                sample_message=(inv.error_message or "")[:2000],
                frames=inv.error_frames[:5],
                count=0,
                first_seen=start,
                last_seen=start,
            )

    def cost(inv: ParsedInvocation) -> float | None:
        if inv.billed_duration_ms is None and inv.billed_restore_duration_ms is None:
            return None
        return invocation_cost(
            billed_ms=inv.billed_duration_ms,
            memory_mb=inv.memory_size_mb or config.get("memory_mb"),
            billed_restore_ms=inv.billed_restore_duration_ms,
            region=resource.region,
            architecture=config.get("architecture", "x86_64"),
        )

    def updatable(inv: ParsedInvocation, start: datetime) -> tuple[Any, ...]:
        """The UPDATABLE columns of a parsed invocation, in their order."""
        fp = group_keys.get(id(inv))
        return (
            inv.status,
            start,
            inv.start_source,
            inv.ended_at,
            *_measures(inv),
            inv.log_stream[:512],
            inv.complete,
            cost(inv),
            groups[fp].pk if fp else None,
        )

    def values(inv: ParsedInvocation, start: datetime) -> dict[str, Any]:
        return dict(zip(UPDATABLE, updatable(inv, start), strict=True))

    ensure_partitions(
        "monitoring_invocation", {start.date() for _, _, start in new_rows} | {s.date() for *_, s in updates}
    )
    ids = _next_ids(len(new_rows))
    invocation_id: dict[int, int] = {}
    group_hits: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    copy_rows = []
    identity = (resource.organization_id, resource.account_id, resource.pk)
    for (inv, attempt, start), new_id in zip(new_rows, ids, strict=True):
        copy_rows.append((new_id, *identity, inv.request_id, attempt, *updatable(inv, start)))
        invocation_id[id(inv)] = new_id
        if inv.status in FAILING:
            summary.by_status_new[inv.status] += 1
            summary.errors_new += 1
            group_hits[group_keys[id(inv)]].append((start, new_id))
        summary.cold_starts_new += inv.cold_start
    summary.invocations_new = _copy_invocations(copy_rows)

    changed = []
    for inv, row, start in updates:
        invocation_id[id(inv)] = row["id"]
        v = _merge(row, values(inv, start))
        if row["status"] not in FAILING and inv.status in FAILING:
            summary.errors_new += 1
            summary.by_status_new[inv.status] += 1
            group_hits[group_keys[id(inv)]].append((start, row["id"]))
        if _differs(row, v):
            changed.append((row["id"], row["started_at"], v))
    summary.invocations_updated = _update(changed)
    summary.by_status_new = defaultdict(int, {k: v for k, v in summary.by_status_new.items() if v})

    for fp, hits in group_hits.items():
        _group_count(groups[fp], hits, now)

    summary.log_lines, summary.late_lines = log_lines_store(
        resource_id=resource.pk,
        account_id=resource.account_id,
        lines=lines_of(result, invocation_id, event_ids or {}, resource_id=resource.pk, account_id=resource.account_id),
        new_after_ms=new_after_ms,
        recheck=recheck_lines,
    )
    # A row whose start a better view corrected leaves its old hour as well.
    touched = [start for _, _, start in new_rows] + [t for _, row, start in updates for t in (start, row["started_at"])]
    rollups_recompute(resource=resource, times=touched)
    return summary


# Errors that say "this data cannot be stored" (a value out of range, text that cannot be
# encoded, a parser or ingest bug on one odd event). Anything else — the database gone, a
# lock timeout — is the infrastructure's, and must not be blamed on (and skip) the events.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    DataError,
    ValueError,
    ArithmeticError,
    UnicodeError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
)


@dataclass
class Poisoned:
    """An invocation (or the batch's unattributed lines) that could not be stored."""

    request_id: str | None
    started_at: datetime | None
    reason: str


def invocations_store_isolated(
    *, resource: Resource, result: ParseResult, new_after_ms: int | None = None
) -> tuple[StoreSummary, list[Poisoned]]:
    """`invocations_store`, with one poison event affecting only itself.

    1. Store the batch (in a savepoint). A unique violation means that some of these were
       stored although the caller's checkpoint says not: by a concurrent writer (push and
       poll, or a lock that expired), or before the checkpoint was moved back for a
       re-read. Store again, checking every line: the retry finds and updates those rows
       and skips those lines.
    2. On a data error, store each invocation (and the unattributed lines) on its own; the
       ones that still fail are returned as poisoned, the rest are stored.
    3. When every part fails, the fault is not in the data: raise, so that nothing is
       skipped and the caller reports the problem without moving its checkpoint.
    """
    for attempt in (1, 2):
        try:
            return invocations_store(
                resource=resource, result=result, new_after_ms=new_after_ms, recheck_lines=attempt == 2
            ), []
        except IntegrityError:
            if attempt == 2:
                raise
        except DATA_ERRORS:
            break
    parts = [ParseResult([inv], 0, []) for inv in result.invocations]
    if result.orphans:
        parts.append(ParseResult([], 0, result.orphans))
    summary, poisoned, first_error = StoreSummary(), [], None
    for part in parts:
        try:
            # Rare, so every line is checked: the batch may have failed on both counts.
            summary.add(
                invocations_store(resource=resource, result=part, new_after_ms=new_after_ms, recheck_lines=True)
            )
        except DATA_ERRORS as exc:
            first_error = first_error or exc
            inv = part.invocations[0] if part.invocations else None
            poisoned.append(
                Poisoned(
                    inv.request_id if inv else None,
                    inv.started_at if inv else None,
                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300],
                )
            )
    if len(poisoned) == len(parts) > 1 and first_error is not None:
        raise first_error
    return summary, poisoned


def log_batch_store(
    *,
    resource: Resource,
    result: ParseResult,
    checkpoint: LogCheckpoint | None,
    last_event_ms: int,
    resume_from_ms: int,
    polled_to_ms: int,
) -> tuple[StoreSummary, list[Poisoned]]:
    """Store one read of a log group and move its checkpoint in one transaction: a crash
    mid-batch loses and duplicates nothing (docs/collection.md)."""
    with transaction.atomic():
        stored, poisoned = invocations_store_isolated(
            resource=resource, result=result, new_after_ms=checkpoint.last_event_ms if checkpoint else 0
        )
        LogCheckpoint.objects.update_or_create(
            resource=resource,
            defaults={
                "last_event_ms": max(last_event_ms, checkpoint.last_event_ms if checkpoint else 0),
                "resume_from_ms": resume_from_ms,
                "polled_to_ms": polled_to_ms,
            },
        )
    return stored, poisoned


def pushed_batch_store(
    *, resource: Resource, result: ParseResult, last_event_ms: int
) -> tuple[StoreSummary, list[Poisoned]]:
    """Store one pushed batch of a log group (docs/push.md). Pushed batches arrive in any
    order and may be replays, so every line is checked against what is stored; the
    checkpoint only learns the newest event seen (a conditional GREATEST, safe beside a poll
    of the same log group), so that polling reads this group only for a gap."""
    with transaction.atomic():
        stored, poisoned = invocations_store_isolated(resource=resource, result=result, new_after_ms=None)
        updated = LogCheckpoint.objects.filter(resource=resource).update(
            last_event_ms=Greatest(F("last_event_ms"), Value(last_event_ms)), updated_at=timezone.now()
        )
        if not updated:
            LogCheckpoint.objects.get_or_create(
                resource=resource,
                defaults={
                    "last_event_ms": last_event_ms,
                    "resume_from_ms": last_event_ms,
                    "polled_to_ms": last_event_ms,
                },
            )
    return stored, poisoned


def log_checkpoint_read_to(*, resource: Resource, end_ms: int) -> None:
    """A read that found no event (or no log group yet): only the window moves."""
    updated = LogCheckpoint.objects.filter(resource=resource).update(polled_to_ms=end_ms, updated_at=timezone.now())
    if not updated:
        LogCheckpoint.objects.get_or_create(resource=resource, defaults={"polled_to_ms": end_ms})


def _by_request(parsed: Sequence[ParsedInvocation]) -> dict[str, list[ParsedInvocation]]:
    out: dict[str, list[ParsedInvocation]] = defaultdict(list)
    for inv in parsed:
        out[inv.request_id].append(inv)
    for invs in out.values():
        if len(invs) > 1:
            invs.sort(key=lambda i: (i.attempt, _start_of(i)))
    return out


def _merge(row: dict[str, Any], parsed: dict[str, Any]) -> dict[str, Any]:
    """What a re-read window knows, over what was stored: a partial view of an invocation
    (its REPORT without its START, say) never erases what an earlier poll saw."""
    merged = {k: parsed[k] if parsed[k] is not None else row.get(k) for k in UPDATABLE}
    if parsed["start_source"] == row.get("start_source") == "lines":
        merged["started_at"] = min(parsed["started_at"], row["started_at"])  # both are bounds
    elif START_RANK.get(parsed["start_source"], 0) <= START_RANK.get(row.get("start_source") or "", 0):
        # A view that knows the start no better keeps the stored one: re-reads never move it.
        merged["started_at"], merged["start_source"] = row["started_at"], row["start_source"]
    if parsed["status"] == "unknown" and row.get("status") not in (None, "unknown"):
        merged["status"] = row["status"]
    merged["complete"] = bool(parsed["complete"] or row.get("complete"))
    merged["cold_start"] = bool(parsed["cold_start"] or row.get("cold_start"))
    return merged


def _differs(row: dict[str, Any], v: dict[str, Any]) -> bool:
    return any(row.get(k) != v.get(k) for k in UPDATABLE)


def _update(changed: list[tuple[int, datetime, dict[str, Any]]]) -> int:
    if not changed:
        return 0
    with connection.cursor() as cursor:
        for row_id, old_start, v in changed:
            sets = ", ".join(f"{c} = %s" for c in UPDATABLE)
            cursor.execute(
                f"UPDATE monitoring_invocation SET {sets} WHERE id = %s AND started_at = %s",  # noqa: S608
                [v[c] for c in UPDATABLE] + [row_id, old_start],
            )
    return len(changed)


def _group_count(group: ErrorGroup, hits: list[tuple[datetime, int]], now: datetime) -> None:
    """Add occurrences to a group with conditional SQL, so concurrent batches never lose one."""
    first = min(t for t, _ in hits)
    last = max(t for t, _ in hits)
    samples = [i for _, i in sorted(hits)][-SAMPLES_PER_GROUP:]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE monitoring_errorgroup SET
                count = count + %s,
                first_seen = LEAST(first_seen, %s),
                last_seen = GREATEST(last_seen, %s),
                regression = regression OR (status = 'resolved' AND %s > COALESCE(status_changed_at, first_seen)),
                status_changed_at = CASE WHEN status = 'resolved' AND %s > COALESCE(status_changed_at, first_seen)
                                         THEN %s ELSE status_changed_at END,
                status = CASE WHEN status = 'resolved' AND %s > COALESCE(status_changed_at, first_seen)
                              THEN 'open' ELSE status END,
                sample_invocation_ids = (
                    SELECT COALESCE(jsonb_agg(x), '[]'::jsonb) FROM (
                        SELECT x FROM jsonb_array_elements(sample_invocation_ids || %s::jsonb) AS x
                        ORDER BY (x::text)::bigint DESC LIMIT %s
                    ) recent
                )
            WHERE id = %s
            """,
            [len(hits), first, last, last, last, now, last, _json(samples), SAMPLES_PER_GROUP, group.pk],
        )


def _json(value: Any) -> str:
    return json.dumps(value)


def account_data_purge(*, account_id: int) -> None:
    """Delete the partitioned rows of an account (they carry no FK to cascade from)."""
    account_lines_purge(account_id=account_id)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM monitoring_invocation WHERE account_id = %s", [account_id])
        cursor.execute("DELETE FROM monitoring_metricpoint WHERE account_id = %s", [account_id])
        cursor.execute("DELETE FROM monitoring_trace WHERE account_id = %s", [account_id])
