"""Log lines and their search blocks, exactly once, in bulk (docs/architecture.md §6, docs/collection.md).

Lines go in with binary COPY: no per-field text formatting, no escaping, times sent as
PostgreSQL's own integer microseconds. Lines a window may already hold (an overlap re-read,
a replayed push) go through a temporary table and `INSERT … ON CONFLICT DO NOTHING` on the
line's identity (function, time, event id), so nothing is stored twice.

Every line stored belongs to one `LogBlock`: the lines this call stored, per UTC day, in
time order, cut every `BLOCK_LINES` lines (or `BLOCK_BYTES` of text), with the keys of their
words (`monitoring.logsearch.keys`). Log search finds lines through their blocks only, so a
line is searchable exactly when it is stored, in the same transaction.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter

from django.db import connection

from monitoring.logsearch.keys import BLOCK_BYTES, BLOCK_LINES, block_keys, tsvector_binary
from monitoring.parsing.lambda_logs import LogLine, ParseResult

from .partitions import ensure_partitions

try:
    from monitoring._cingest import encode_blocks as _encode_blocks
    from monitoring._cingest import encode_lines as _encode_lines
except ImportError:  # not built (`make venv` builds it): the Python references, the same rows
    _encode_blocks = _encode_lines = None

COMPILED = _encode_lines is not None

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
TRAILER = b"\xff\xff"
NULL = b"\xff\xff\xff\xff"
PG_EPOCH_MS = 946_684_800_000  # 2000-01-01, where PostgreSQL's timestamps count from
DAY_MS = 86_400_000
UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

# Ordered for `lines_of`: what an invocation's lines in one stream share comes first.
LINE_COLUMNS = ("resource_id", "account_id", "invocation_id", "request_id", "log_stream", "ts", "event_id", "message")
BLOCK_COLUMNS = ("account_id", "resource_id", "ts_min", "ts_max", "lines", "keys")

_int4 = struct.Struct(">i").pack
_int8_field = struct.Struct(">iq").pack  # length 8, then the value
_ts_and_length = struct.Struct(">iqi").pack  # a timestamp field, then the next field's length
_block_head = struct.Struct(">hiqiqiqiqii").pack


@dataclass(slots=True)
class Lines:
    """The lines of one store call, column by column: time (ms), message as stored (UTF-8),
    event id, and the line's whole binary COPY tuple."""

    ms: list[int] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    tuples: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ms)


def day_of(ms: int) -> date:
    return date.fromordinal(UNIX_EPOCH_ORDINAL + ms // DAY_MS)


def _text_field(value: str) -> bytes:
    data = _storable(value)
    return _int4(len(data)) + data


def _storable(value: str) -> bytes:
    """UTF-8 PostgreSQL accepts: no NUL, and a lone surrogate (a JSON "\\ud800" decoded)
    becomes "?" — the text keeps its length, and one such line does not fail the batch."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        return value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace")


def lines_of(
    result: ParseResult, invocation_id: dict[int, int], event_ids: dict[int, str], *, resource_id: int, account_id: int
) -> Lines:
    """The lines of a parse that have an event id (their identity needs one), encoded:
    compiled where built (`monitoring/_cingest.c`), else `lines_of_reference`, the same."""
    if _encode_lines is None:
        return lines_of_reference(result, invocation_id, event_ids, resource_id=resource_id, account_id=account_id)
    head = struct.pack(">hiqiq", len(LINE_COLUMNS), 8, resource_id, 8, account_id)
    ms, messages, ids, tuples = _encode_lines(
        _groups(result, invocation_id), event_ids or None, head, _stream_field, _storable
    )
    return Lines(ms, messages, ids, tuples)


def _stream_field(stream: str) -> bytes:
    return _text_field(stream[:512])


def _groups(result: ParseResult, invocation_id: dict[int, int]) -> list[tuple[bytes, list[LogLine]]]:
    """The lines by invocation, each with what its lines share: the invocation's id (NULL
    for one not stored) and request id, encoded."""
    groups = [
        ((NULL if (inv_id := invocation_id.get(id(inv))) is None else _int8_field(8, inv_id))
         + _text_field(inv.request_id[:64]), inv.lines)
        for inv in result.invocations
    ]  # fmt: skip
    groups.append((NULL + NULL, result.orphans))
    return groups


def lines_of_reference(
    result: ParseResult, invocation_id: dict[int, int], event_ids: dict[int, str], *, resource_id: int, account_id: int
) -> Lines:
    """`lines_of` in Python: what the compiled version computes (the tests compare them)."""
    out = Lines()
    ms_add, messages_add, ids_add, tuples_add = (
        out.ms.append,
        out.messages.append,
        out.event_ids.append,
        out.tuples.append,
    )
    head = struct.pack(">hiqiq", len(LINE_COLUMNS), 8, resource_id, 8, account_id)
    fields: dict[str, bytes] = {}
    for invocation_part, lines in _groups(result, invocation_id):
        for line in lines:
            eid = (event_ids.get(id(line)) or line.event_id) if event_ids else line.event_id
            if not eid:
                continue
            field = fields.get(line.log_stream)
            if field is None:
                field = fields[line.log_stream] = _stream_field(line.log_stream)
            message = line.message
            data = message.encode() if message.isascii() and "\x00" not in message else _storable(message)
            eid = eid[:64]
            eid_data = eid.encode()
            ms = line.timestamp_ms
            ts_field = _ts_and_length(8, (ms - PG_EPOCH_MS) * 1000, len(eid_data))
            tuples_add(b"".join((head, invocation_part, field, ts_field, eid_data, _int4(len(data)), data)))
            ms_add(ms)
            messages_add(data)
            ids_add(eid)
    return out


def _chunks(tuples: list[bytes], indexes: Iterable[int] | None = None) -> Iterator[bytes]:
    """The tuples (all, or those at `indexes`) in writes of ~1,000 lines: the server works on
    one while the next is joined."""
    chosen = tuples if indexes is None else [tuples[i] for i in indexes]
    for i in range(0, len(chosen), 1000):
        yield b"".join(chosen[i : i + 1000])


def copy_binary(table: str, columns: Sequence[str], chunks: Iterable[bytes]) -> None:
    """COPY binary tuples into `table`. The raw psycopg cursor bypasses Django's error
    translation: restore it, so that a unique violation or a bad value is the
    IntegrityError or DataError callers handle."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        copy.write(SIGNATURE)
        for chunk in chunks:
            copy.write(chunk)
        copy.write(TRAILER)


def blocks_of(
    rows: Iterable[tuple[int, bytes]], *, block_lines: int = BLOCK_LINES, block_bytes: int = BLOCK_BYTES
) -> Iterator[tuple[int, int, int, list[bytes]]]:
    """(first ms, last ms, lines, keys) of each block of (ms, message) rows: per UTC day,
    in time order, at most `block_lines` lines or `block_bytes` of text each."""
    by_day: dict[int, list[tuple[int, bytes]]] = {}
    for row in rows:
        by_day.setdefault(row[0] // DAY_MS, []).append(row)
    for day in sorted(by_day):
        items = sorted(by_day[day], key=_ms)
        for start in range(0, len(items), block_lines):
            chunk = items[start : start + block_lines]
            if sum(len(m) for _, m in chunk) <= block_bytes:
                yield _block(chunk)
                continue
            begin, size = 0, 0  # long lines: cut by size too
            for i, (_, message) in enumerate(chunk):
                if i > begin and size + len(message) > block_bytes:
                    yield _block(chunk[begin:i])
                    begin, size = i, 0
                size += len(message)
            yield _block(chunk[begin:])


_ms = itemgetter(0)


def _block(items: list[tuple[int, bytes]]) -> tuple[int, int, int, list[bytes]]:
    return items[0][0], items[-1][0], len(items), block_keys([m for _, m in items])


def block_tuples(
    blocks: Iterable[tuple[int, int, int, list[bytes]]], *, resource_id: int, account_id: int
) -> tuple[bytes, int, set[date]]:
    """(first ms, last ms, lines, keys) blocks as binary COPY tuples: (the tuples, how many,
    the days they start on)."""
    tuples = []
    days = set()
    for first, last, count, keys in blocks:
        days.add(day_of(first))
        tsv = tsvector_binary(keys)
        tuples.append(
            _block_head(
                len(BLOCK_COLUMNS),
                8,
                account_id,
                8,
                resource_id,
                8,
                (first - PG_EPOCH_MS) * 1000,
                8,
                (last - PG_EPOCH_MS) * 1000,
                4,
                count,
            )
            + _int4(len(tsv))
            + tsv
        )
    return b"".join(tuples), len(tuples), days


def blocks_encode(
    ms: Sequence[int],
    messages: Sequence[bytes],
    *,
    resource_id: int,
    account_id: int,
    block_lines: int = BLOCK_LINES,
    block_bytes: int = BLOCK_BYTES,
) -> tuple[bytes, int, set[date]]:
    """The blocks of lines (`ms[i]`, `messages[i]`) as `block_tuples` encodes them, compiled
    where built (`monitoring/_cingest.c`)."""
    if _encode_blocks is None:
        blocks = blocks_of(zip(ms, messages, strict=True), block_lines=block_lines, block_bytes=block_bytes)
        return block_tuples(blocks, resource_id=resource_id, account_id=account_id)
    payload, count, days = _encode_blocks(ms, messages, account_id, resource_id, block_lines, block_bytes)
    return payload, count, {day_of(d * DAY_MS) for d in days}


def blocks_store(*, resource_id: int, account_id: int, rows: Iterable[tuple[int, bytes]]) -> int:
    """Index lines just stored, given as (ms, message) rows: write their blocks. Returns
    how many blocks."""
    rows = list(rows)
    return _blocks_copy(
        *blocks_encode([r[0] for r in rows], [r[1] for r in rows], resource_id=resource_id, account_id=account_id)
    )


def blocks_write(*, resource_id: int, account_id: int, blocks: Iterable[tuple[int, int, int, list[bytes]]]) -> int:
    """Write (first ms, last ms, lines, keys) blocks with one binary COPY."""
    return _blocks_copy(*block_tuples(blocks, resource_id=resource_id, account_id=account_id))


def _blocks_copy(payload: bytes, count: int, days: set[date]) -> int:
    if count:
        ensure_partitions("monitoring_logblock", days)
        copy_binary("monitoring_logblock", BLOCK_COLUMNS, [payload])
    return count


def log_lines_store(
    *,
    resource_id: int,
    account_id: int,
    lines: Lines,
    new_after_ms: int | None,
    recheck: bool = False,
) -> tuple[int, int]:
    """Store lines and their blocks; return (lines stored, of which late: at or before
    `new_after_ms`, the time an earlier window had already read up to). Lines after
    `new_after_ms` cannot be stored yet (the caller's checkpoint says so) and go straight
    in; the others, or all with `recheck`, are checked against what is stored."""
    if not lines:
        return 0, 0
    ensure_partitions("monitoring_logline", {day_of(d * DAY_MS) for d in {ms // DAY_MS for ms in lines.ms}})
    if new_after_ms is None or recheck:
        fresh: list[int] = []
        maybe_seen = list(range(len(lines)))
    else:
        fresh = [i for i, ms in enumerate(lines.ms) if ms > new_after_ms]
        maybe_seen = [i for i, ms in enumerate(lines.ms) if ms <= new_after_ms] if len(fresh) < len(lines) else []
    if fresh:
        everything = len(fresh) == len(lines)
        copy_binary("monitoring_logline", LINE_COLUMNS, _chunks(lines.tuples, None if everything else fresh))
    stored = fresh + _insert_unseen(lines, maybe_seen)
    if len(stored) == len(lines):  # every line (in another order, maybe: blocks sort them)
        ms, messages = lines.ms, lines.messages
    else:
        ms, messages = [lines.ms[i] for i in stored], [lines.messages[i] for i in stored]
    _blocks_copy(*blocks_encode(ms, messages, resource_id=resource_id, account_id=account_id))
    late = sum(1 for i in stored if lines.ms[i] <= new_after_ms) if new_after_ms else 0
    return len(stored), late


def _insert_unseen(lines: Lines, indexes: list[int]) -> list[int]:
    """Through a temporary table and INSERT … ON CONFLICT DO NOTHING, which skips the lines
    already stored; return the indexes of the lines that were new."""
    if not indexes:
        return []
    columns = ", ".join(LINE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS logline_incoming "
            "(LIKE monitoring_logline INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
    copy_binary("logline_incoming", LINE_COLUMNS, _chunks(lines.tuples, indexes))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO monitoring_logline ({columns}) "  # noqa: S608 (constant columns)
            f"SELECT {columns} FROM logline_incoming ON CONFLICT (resource_id, event_id, ts) DO NOTHING "
            "RETURNING event_id, (extract(epoch FROM ts) * 1000)::bigint",
        )
        inserted = set(cursor.fetchall())
        cursor.execute("TRUNCATE logline_incoming")
    return [i for i in indexes if (lines.event_ids[i], lines.ms[i]) in inserted]


def account_lines_purge(*, account_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM monitoring_logline WHERE account_id = %s", [account_id])
        cursor.execute("DELETE FROM monitoring_logblock WHERE account_id = %s", [account_id])
