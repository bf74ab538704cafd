"""Log search against the database: blocks first, then their lines, newest first, under a
time limit and cancellable (docs/architecture.md §6; what matches: `keys.py`).

1. Find the blocks of the window (and of the function or project asked for) whose keys hold
   the text's keys: by testing the newest blocks in order, `WALK` of them, then twice as
   many… (a common word is found at once, where the GIN index would list every block of
   the window); once fewer than `RARE` of a chunk's blocks hold them, from the GIN index
   for the older ones (a rare word: a few blocks, each fetched). Without keys to test (no
   text, or no word of two characters), every block is a candidate.
2. Read the lines of those blocks' time ranges (merged per function) that match the text
   exactly, newest first, at most `limit` per range: with text, a slice of time at a time
   across the blocks found (the newest sixteenth of their span, then twice as far back…),
   since a block can span hours and hold one match; without, a page of blocks at a time
   (16 blocks, then 32, … 512), newest block end first.
3. Stop once `limit` lines are found that are all newer than the end of every block not
   read yet (and than the slice read last): no unread line can be newer.

Every statement runs with the time left of the search's budget as its `statement_timeout`
and carries a marker comment, so that `search_cancel` can find and cancel it.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from django.core.cache import cache
from django.db import OperationalError, connection, transaction

from monitoring.models import LogLine

from .keys import SearchText, blocks_tsquery

FIRST_PAGE = 16
LARGEST_PAGE = 512
CANCELLED_FOR = 120  # seconds a cancel request is remembered
LINE_FIELDS = (
    "l.id, l.resource_id, l.account_id, l.invocation_id, l.request_id, l.ts, l.log_stream, l.event_id, l.message"
)
SEARCH_ID = re.compile(r"^[0-9A-Za-z-]{8,64}$")


class LogSearchTimeout(Exception):
    """The search used its time limit."""


class LogSearchCancelled(Exception):
    """The user started another search or left the page."""


@dataclass(frozen=True)
class LineQuery:
    organization_id: int
    accounts: Sequence[int]
    resources: Sequence[int] | None  # None: every function of the accounts
    text: SearchText | None
    status: str
    start: datetime
    end: datetime
    before: tuple[datetime, int] | None = None  # the (time, id) of the last line already shown
    limit: int = 100


def marker(user_id: int, search_id: str) -> str:
    return f"logsearch u{user_id} {search_id}"


def lines_matching(query: LineQuery, *, timeout_ms: int, mark: str = "") -> list[LogLine]:
    """The newest `limit` lines of the query, newest first. Raises LogSearchTimeout when the
    statements together take longer than `timeout_ms`, LogSearchCancelled when `mark`'s
    search is cancelled."""
    if not query.accounts or query.resources == [] or query.start >= query.end:
        return []
    budget = _Budget(timeout_ms, mark)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            previous = budget.start(cursor)
            rows = _search(cursor, query, budget)
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.QueryCanceled):
            if mark and cache.get(_cancel_key(mark)):
                raise LogSearchCancelled from exc
            raise LogSearchTimeout from exc
        raise
    return [
        LogLine(
            id=r[0],
            resource_id=r[1],
            account_id=r[2],
            invocation_id=r[3],
            request_id=r[4],
            ts=r[5],
            log_stream=r[6],
            event_id=r[7],
            message=r[8],
        )
        for r in rows
    ]


class _Found:
    """The newest `limit` lines found so far, by (time, id), each once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.top: list[tuple[Any, ...]] = []

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        merged = {r[0]: r for r in self.top} | {r[0]: r for r in rows}
        self.top = sorted(merged.values(), key=lambda r: (r[5], r[0]), reverse=True)[: self.limit]

    def newer_than(self, ts: datetime) -> bool:
        """`limit` lines are found, all newer than `ts`: a block ending at `ts` or before
        cannot change the result."""
        return len(self.top) >= self.limit and self.top[-1][5] > ts


def _search(cursor: Any, q: LineQuery, budget: _Budget) -> list[tuple[Any, ...]]:
    prefix = _prefix(budget.mark)
    found = _Found(q.limit)
    if q.text is None or not q.text.tsquery:
        # Every block of the window holds candidates: read them newest first, a page at a time.
        after: tuple[datetime, int] | None = None
        page = FIRST_PAGE
        while True:
            budget.next_statement(cursor)
            cursor.execute(prefix + _blocks_sql(q, after), _blocks_params(q, after, page))
            blocks = cursor.fetchall()
            if blocks:
                _read_lines(cursor, q, blocks, found, budget)
            if len(blocks) < page or found.newer_than(blocks[-1][3]):
                return found.top
            after = (blocks[-1][3], blocks[-1][0])
            page = min(page * 2, LARGEST_PAGE)
    # Newest blocks first, each one's keys tested, a chunk at a time: a common word is found
    # in the first chunk (the GIN index would list every block of the window). Once a chunk
    # shows the keys to be rare, the GIN index lists the older blocks that hold them.
    after = None
    chunk = WALK
    while True:
        budget.next_statement(cursor)
        cursor.execute(prefix + _walk_sql(q, after), _blocks_params(q, after, chunk))
        walked = cursor.fetchall()  # the blocks holding the keys, and the last one walked
        hits = [b for b in walked if b[4]]
        if _read_pages(cursor, q, hits, found, budget) or not walked or walked[0][5] < chunk:
            return found.top
        after = (walked[-1][3], walked[-1][0])
        if found.newer_than(after[0]):
            return found.top
        if len(hits) < RARE * chunk:
            break
        chunk = min(chunk * 2, LARGEST_WALK)
    budget.next_statement(cursor)
    cursor.execute(prefix + _keyed_blocks_sql(q), _blocks_params(q, after, 0))
    older = sorted(cursor.fetchall(), key=lambda b: (b[3], b[0]), reverse=True)
    _read_pages(cursor, q, older, found, budget)
    return found.top


def _read_pages(cursor: Any, q: LineQuery, blocks: list[tuple[Any, ...]], found: _Found, budget: _Budget) -> bool:
    """Read the lines of `blocks` (the ones holding the text's keys) newest first, a slice
    of time at a time across all of them: the newest `SLICES`-th of their span, then twice
    as far back… until `limit` lines are found no older than the slice read last. Blocks
    can each span hours (a function that logs little fills one slowly) while their matches
    are few: reading block by block would scan every line of every block ending in the last
    minutes; by slices, only the lines back to the `limit`-th newest match. True once no
    later block can change the result."""
    if not blocks:
        return False
    # In UTC: arithmetic on a local time would step across a daylight-saving change unevenly.
    oldest = min(b[2] for b in blocks).astimezone(UTC)
    newest = max(b[3] for b in blocks).astimezone(UTC)
    if q.before is not None:
        newest = min(newest, q.before[0].astimezone(UTC))
    width = max((newest - oldest) / SLICES, SMALLEST_SLICE)
    upper: datetime | None = None  # lines from here on are read (None: all of the blocks' newest)
    floor = newest - width
    while True:
        lower = floor if floor > oldest else None
        overlapping = [b for b in blocks if (lower is None or b[3] >= lower) and (upper is None or b[2] < upper)]
        if overlapping:
            _read_lines(cursor, q, overlapping, found, budget, lower=lower, upper=upper)
        if lower is None or (len(found.top) >= found.limit and found.top[-1][5] >= lower):
            break  # every line of the blocks is read, or none older than `lower` can be kept
        upper, width = lower, width * 2
        floor = lower - width
    return found.newer_than(min(b[3] for b in blocks))


def _read_lines(
    cursor: Any,
    q: LineQuery,
    blocks: list[tuple[Any, ...]],
    found: _Found,
    budget: _Budget,
    *,
    lower: datetime | None = None,
    upper: datetime | None = None,
) -> None:
    """Add the matching lines of `blocks` (of their lines at `lower` or later and before `upper`)."""
    budget.next_statement(cursor)
    sql = _lines_sql(q, lower=lower is not None, upper=upper is not None)
    cursor.execute(_prefix(budget.mark) + sql, _lines_params(q, _merged(blocks), lower, upper))
    found.add(cursor.fetchall())


class _Budget:
    """The search's time limit, across its statements. Each statement runs under
    `statement_timeout`; it is lowered to the time left only once that is `SLACK` below
    what is set (a round trip saved per statement: a search takes at most `SLACK` more
    than its limit). A cancel request (Redis) is checked between statements, at most every
    `CANCEL_CHECK` seconds; a running statement is cancelled by `search_cancel` itself."""

    SLACK = 0.1
    CANCEL_CHECK = 0.2

    def __init__(self, timeout_ms: int, mark: str) -> None:
        self.timeout_ms = timeout_ms
        self.mark = mark
        self.deadline = time.monotonic() + timeout_ms / 1000
        self.set_ms = timeout_ms
        self.checked = float("-inf")  # the first statement checks

    def start(self, cursor: Any) -> str:
        """Set the statement timeout; return the one to restore."""
        cursor.execute(
            "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
            [str(self.timeout_ms)],
        )
        return str(cursor.fetchone()[0])

    def next_statement(self, cursor: Any) -> None:
        now = time.monotonic()
        if self.mark and now - self.checked >= self.CANCEL_CHECK:
            self.checked = now
            if cache.get(_cancel_key(self.mark)):
                raise LogSearchCancelled
        left_ms = int((self.deadline - now) * 1000)
        if left_ms < 1:
            raise LogSearchTimeout
        if left_ms < self.set_ms - self.SLACK * self.timeout_ms:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(left_ms)])
            self.set_ms = left_ms


BRANCHES = 8  # up to this many functions (else accounts) are each read in time order on their own
WALK = 2000  # the newest blocks whose keys are tested in order, then twice as many… up to:
LARGEST_WALK = 16_000
RARE = 0.01  # a share of blocks holding the keys below which the GIN index lists the rest
SLICES = 16  # the first slice of time whose lines are read: this share of the blocks' span
SMALLEST_SLICE = timedelta(seconds=1)


def _window(q: LineQuery) -> list[str]:
    where = [
        # A block lies within one UTC day: one ending in the window started on its first day or later.
        "ts_min >= %(first_day)s",
        "ts_min < %(end)s",
        "ts_max >= %(start)s",
    ]
    if q.before is not None:
        where.append("ts_min <= %(before_ts)s")
    return where


def _blocks_sql(q: LineQuery, after: tuple[datetime, int] | None, *, test_keys: bool = False) -> str:
    """The next page of blocks, newest end first (with `test_keys`, whether each holds the
    text's keys). Each function asked for (or each account) is its own branch, so that its
    blocks are read in time order from an index: a page costs a page, not a sort of every
    block of the window."""
    where = _window(q)
    if after is not None:
        where.append("(ts_max, id) < (%(after_ts)s, %(after_id)s)")
    if q.resources is not None:
        where.append("account_id = ANY(%(accounts)s)")
        scopes = (
            [f"resource_id = %(scope{i})s" for i in range(len(q.resources))]
            if len(q.resources) <= BRANCHES
            else ["resource_id = ANY(%(resources)s)"]
        )
    else:
        scopes = (
            [f"account_id = %(scope{i})s" for i in range(len(q.accounts))]
            if len(q.accounts) <= BRANCHES
            else ["account_id = ANY(%(accounts)s)"]
        )
    columns = "id, resource_id, ts_min, ts_max" + (", keys @@ %(tsquery)s::tsquery AS hit" if test_keys else "")
    conditions = " AND ".join(where)
    branches = [
        f"(SELECT {columns} FROM monitoring_logblock WHERE {scope} AND {conditions} "  # noqa: S608 (fixed clauses)
        "ORDER BY ts_max DESC, id DESC LIMIT %(page)s)"
        for scope in scopes
    ]
    if len(branches) == 1:
        return branches[0][1:-1]
    return f"SELECT * FROM ({' UNION ALL '.join(branches)}) b ORDER BY ts_max DESC, id DESC LIMIT %(page)s"  # noqa: S608


def _walk_sql(q: LineQuery, after: tuple[datetime, int] | None) -> str:
    """A chunk of blocks, newest first, each one's keys tested: those holding them, and the
    last one (where the next chunk starts), with how many were walked."""
    walk = _blocks_sql(q, after, test_keys=True)
    return (
        f"WITH w AS MATERIALIZED ({walk}) "  # noqa: S608 (fixed clauses)
        "SELECT id, resource_id, ts_min, ts_max, hit, (SELECT count(*) FROM w) FROM w "
        "WHERE hit OR (ts_max, id) = (SELECT ts_max, id FROM w ORDER BY ts_max, id LIMIT 1) "
        "ORDER BY ts_max DESC, id DESC"
    )


def _keyed_blocks_sql(q: LineQuery) -> str:
    """Every block of the window before `after` that holds the text's keys (the GIN index)."""
    where = [
        *_window(q),
        "account_id = ANY(%(accounts)s)",
        "keys @@ %(tsquery)s::tsquery",
        "(ts_max, id) < (%(after_ts)s, %(after_id)s)",
    ]
    if q.resources is not None:
        where.append("resource_id = ANY(%(resources)s)")
    return f"SELECT id, resource_id, ts_min, ts_max FROM monitoring_logblock WHERE {' AND '.join(where)}"  # noqa: S608


def _blocks_params(q: LineQuery, after: tuple[datetime, int] | None, page: int) -> dict[str, Any]:
    start = q.start.astimezone(UTC)
    scope = q.resources if q.resources is not None else q.accounts
    return {
        "accounts": list(q.accounts),
        "first_day": start.replace(hour=0, minute=0, second=0, microsecond=0),
        "start": q.start,
        "end": q.end,
        "before_ts": q.before[0] if q.before else None,
        "resources": list(q.resources) if q.resources is not None else None,
        # A block whose keys did not fit a tsvector holds only UNINDEXED: read for every text.
        "tsquery": blocks_tsquery(q.text.tsquery) if q.text is not None and q.text.tsquery else None,
        "after_ts": after[0] if after else None,
        "after_id": after[1] if after else None,
        "page": page,
        **{f"scope{i}": value for i, value in enumerate(scope)},
    }


def _merged(blocks: list[tuple[Any, ...]]) -> list[tuple[int, datetime, datetime]]:
    """The blocks' time ranges, overlapping ones of a function merged: each line once."""
    by_resource: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for _, resource_id, ts_min, ts_max, *_ in blocks:
        by_resource[resource_id].append((ts_min, ts_max))
    ranges = []
    for resource_id, spans in by_resource.items():
        spans.sort()
        lo, hi = spans[0]
        for a, b in spans[1:]:
            if a <= hi:
                hi = max(hi, b)
            else:
                ranges.append((resource_id, lo, hi))
                lo, hi = a, b
        ranges.append((resource_id, lo, hi))
    return ranges


def _lines_sql(q: LineQuery, *, lower: bool = False, upper: bool = False) -> str:
    where = [
        "l.resource_id = r.resource_id",
        "l.ts >= r.lo",
        "l.ts <= r.hi",
        "l.ts >= %(start)s",
        "l.ts < %(end)s",
        "l.account_id = ANY(%(accounts)s)",
    ]
    if lower:
        where.append("l.ts >= %(lower)s")
    if upper:
        where.append("l.ts < %(upper)s")
    if q.before is not None:
        where.append("(l.ts < %(before_ts)s OR (l.ts = %(before_ts)s AND l.id < %(before_id)s))")
    if q.text is not None:
        # ILIKE is a cheap superset of the exact test. In the "C" collation it folds ASCII
        # letters only, as the exact test does, and costs half the database's default
        # (C.UTF-8: every character through the C library's locale).
        where.append('l.message COLLATE "C" ILIKE %(like)s AND l.message ~ %(regex)s')
    if q.status:
        where.append(
            "l.invocation_id IN (SELECT id FROM monitoring_invocation WHERE organization_id = %(org)s "
            "AND status = %(status)s AND started_at >= %(status_start)s AND started_at < %(end)s)"
        )
    # Each range's newest lines through the identity index (function, time), then the newest of all.
    inner = f"SELECT {LINE_FIELDS} FROM monitoring_logline l WHERE {' AND '.join(where)}"  # noqa: S608 (fixed clauses)
    ranges = "unnest(%(rids)s::bigint[], %(los)s::timestamptz[], %(his)s::timestamptz[]) AS r(resource_id, lo, hi)"
    newest = "ORDER BY l.ts DESC, l.id DESC LIMIT %(limit)s"
    return f"SELECT m.* FROM {ranges} CROSS JOIN LATERAL ({inner} {newest}) m ORDER BY m.ts DESC, m.id DESC LIMIT %(limit)s"  # noqa: S608


def _lines_params(
    q: LineQuery,
    ranges: list[tuple[int, datetime, datetime]],
    lower: datetime | None = None,
    upper: datetime | None = None,
) -> dict[str, Any]:
    return {
        "lower": lower,
        "upper": upper,
        "rids": [r[0] for r in ranges],
        "los": [r[1] for r in ranges],
        "his": [r[2] for r in ranges],
        "start": q.start,
        "end": q.end,
        "accounts": list(q.accounts),
        "before_ts": q.before[0] if q.before else None,
        "before_id": q.before[1] if q.before else None,
        "like": q.text.like if q.text is not None else None,
        "regex": q.text.regex if q.text is not None else None,
        "org": q.organization_id,
        "status": q.status,
        # An invocation's lines come up to Lambda's 15 minutes after its start.
        "status_start": q.start - timedelta(minutes=15),
        "limit": q.limit,
    }


def _prefix(mark: str) -> str:
    """What starts each statement of a marked search (pg_stat_activity shows it)."""
    return f"/* {mark} */ " if mark else ""


def _cancel_key(mark: str) -> str:
    return f"dashbird:{mark.replace(' ', ':')}:cancelled"


def search_cancel(*, user_id: int, search_id: str) -> bool:
    """Cancel a running search of this user: remember it (the search stops before its next
    statement) and cancel its statement in PostgreSQL if one is running. Only a backend
    whose running statement carries this user's marker is signalled. Returns whether a
    statement was cancelled."""
    if not SEARCH_ID.match(search_id):
        return False
    mark = marker(user_id, search_id)
    cache.set(_cancel_key(mark), True, CANCELLED_FOR)
    prefix = _prefix(mark)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
            "WHERE state = 'active' AND pid <> pg_backend_pid() AND left(query, %s) = %s",
            [len(prefix), prefix],
        )
        return any(row[0] for row in cursor.fetchall())
