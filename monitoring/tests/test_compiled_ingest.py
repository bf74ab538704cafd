"""The compiled parts of ingestion (monitoring/_cingest.c) compute exactly what their Python
references compute, on any input: the parser's first pass (events to log lines), the keys
a block of log lines is found by, the binary COPY tuples of log lines and those of their
search blocks. A difference would parse an event differently, make a line unfindable by
log search, or store it differently from the Python path."""

from __future__ import annotations

import random
import shutil
import string
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.logsearch import keys
from monitoring.parsing import lambda_logs
from monitoring.parsing.lambda_logs import LogLine, ParsedInvocation, ParseResult
from monitoring.store import loglines


@pytest.mark.skipif(
    not (shutil.which(sysconfig.get_config_var("CC").split()[0]) and Path(sysconfig.get_paths()["include"]).is_dir()),
    reason="no C compiler or Python headers here: `make venv` leaves the Python versions in use",
)
def test_make_venv_built_both_extensions() -> None:
    # Without them ingestion still works, with about a third more CPU (docs/architecture.md §6).
    assert keys.COMPILED
    assert loglines.COMPILED
    assert loglines._encode_blocks is not None
    assert lambda_logs._event_lines is not None


# Words that exercise every rule: camelCase tails, digits, numbers, non-ASCII letters,
# characters cut at a key's length, NUL, a lone surrogate (a JSON "\ud800" decoded).
PIECES = [
    "Error", "KeyError", "aB", "xYzW", "123", "4567", "x1", "ab12cd", "REPORT", "RequestId:",
    " ", "-", "_", ":", ".", "'", '"', "\t", "\n", "$LATEST", "Ä", "éé", "Ж", "中文", "😀", "a" * 120,
    "中" * 40, "\x00", "\ud800", "0", "ßtraße",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=30).map("".join)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_block_keys_of_any_bytes_are_the_references(messages: list[bytes]) -> None:
    assert keys.block_keys(messages) == keys.block_keys_reference(messages)


@settings(max_examples=1500, deadline=None)
@given(st.lists(texts, max_size=10))
def test_block_keys_of_any_text_are_the_references(lines: list[str]) -> None:
    messages = [loglines._storable(line) for line in lines]
    assert keys.block_keys(messages) == keys.block_keys_reference(messages)


def test_block_keys_refuses_what_is_not_bytes() -> None:
    with pytest.raises(TypeError):
        keys.block_keys(["text"])  # type: ignore[list-item]


event_ids = st.none() | st.sampled_from(["", "e1", "e2"]) | st.text(max_size=80)
log_lines = st.builds(
    LogLine,
    timestamp_ms=st.integers(min_value=0, max_value=253_402_300_799_999),
    message=texts,
    log_stream=st.sampled_from(["2026/11/26/[$LATEST]abc", "s" * 600, "strøm\x00"]),
    event_id=event_ids,
)


def parse_result(invocations: list[list[LogLine]], orphans: list[LogLine]) -> ParseResult:
    parsed = []
    for n, lines in enumerate(invocations):
        inv = ParsedInvocation(request_id=f"req-{n}" + "x" * (n * 10))
        inv.lines = lines
        parsed.append(inv)
    return ParseResult(parsed, 0, orphans)


def both(result: ParseResult, invocation_id: dict[int, int], ids: dict[int, str]) -> tuple[Any, Any]:
    def outcome(function: Any) -> Any:
        try:
            lines = function(result, invocation_id, ids, resource_id=7, account_id=3)
        except (UnicodeError, ValueError, OverflowError) as exc:
            return type(exc).__mro__[1:3]  # the same kind of error
        return (lines.ms, lines.messages, lines.event_ids, lines.tuples)

    return outcome(loglines.lines_of), outcome(loglines.lines_of_reference)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.lists(log_lines, max_size=6), max_size=4), st.lists(log_lines, max_size=4), st.data())
def test_encoded_lines_are_the_references(invocations: list[list[LogLine]], orphans: list[LogLine], data: Any) -> None:
    result = parse_result(invocations, orphans)
    stored = {id(inv): 1000 + n for n, inv in enumerate(result.invocations) if data.draw(st.booleans())}
    every_line = [line for inv in result.invocations for line in inv.lines] + orphans
    ids = {id(line): data.draw(st.sampled_from(["", "pushed-1", "p" * 70])) for line in every_line[:3]}
    compiled, reference = both(result, stored, ids)
    assert compiled == reference


def test_a_line_stored_through_the_compiled_path_reads_back_as_written() -> None:
    line = LogLine(1_764_000_000_123, "KeyError: 'user_id' \u00e9", "stream", "ev-1")
    lines = loglines.lines_of(parse_result([[line]], []), {}, {}, resource_id=7, account_id=3)
    (encoded,) = lines.tuples
    assert lines.messages == ["KeyError: 'user_id' \u00e9".encode()]
    assert encoded.endswith(len(lines.messages[0]).to_bytes(4, "big") + lines.messages[0])
    assert ((1_764_000_000_123 - loglines.PG_EPOCH_MS) * 1000).to_bytes(8, "big") + b"\x00\x00\x00\x04ev-1" in encoded


@settings(max_examples=800, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-3 * 86_400_000, max_value=3 * 86_400_000) | st.sampled_from([0, 86_399_999, 5]),
            st.binary(max_size=40) | texts.map(loglines._storable),
        ),
        max_size=40,
    ),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=1, max_value=80),
)
def test_encoded_blocks_are_the_references(rows: list[tuple[int, bytes]], block_lines: int, block_bytes: int) -> None:
    ms, messages = [r[0] for r in rows], [r[1] for r in rows]
    compiled = loglines.blocks_encode(
        ms, messages, resource_id=7, account_id=3, block_lines=block_lines, block_bytes=block_bytes
    )
    reference = loglines.block_tuples(
        loglines.blocks_of(rows, block_lines=block_lines, block_bytes=block_bytes), resource_id=7, account_id=3
    )
    assert compiled == reference


def test_blocks_refuse_columns_of_different_lengths_and_wrong_types() -> None:
    with pytest.raises(ValueError):
        loglines.blocks_encode([1, 2], [b"a"], resource_id=7, account_id=3)
    with pytest.raises(TypeError):
        loglines.blocks_encode([1], ["text"], resource_id=7, account_id=3)  # type: ignore[list-item]


@pytest.mark.parametrize(
    "line",
    [
        b"xY" + "\u00e9".encode() * 60,  # a camelCase tail cut at 100 bytes inside a character
        b"aB1" + "\u4e2d".encode() * 2 + b"Cd",  # a tail with a digit and a character outside ASCII
        b"aB" * 20_000,  # 20,000 tails: as long as the line, not its square (both versions)
    ],
)
def test_camel_case_tails_have_the_references_keys(line: bytes) -> None:
    assert keys.block_keys([line]) == keys.block_keys_reference([line])


def random_case_word(size: int, seed: int = 1) -> bytes:
    """Letters of random case: a camelCase tail at nearly every other letter, each key a
    different 100 bytes."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters) for _ in range(size)).encode()


def test_a_block_whose_keys_exceed_a_tsvector_is_marked_unindexed_by_both_versions() -> None:
    word = random_case_word(45_000)
    assert sum(map(len, keys.block_keys([word]))) > keys.KEYS_MAX  # 1 MB is PostgreSQL's limit
    rows = [(1_764_000_000_000, b"hello world"), (1_764_000_000_001, word), (1_764_000_000_002, b"KeyError again")]
    compiled = loglines.blocks_encode([r[0] for r in rows], [r[1] for r in rows], resource_id=7, account_id=3)
    reference = loglines.block_tuples(loglines.blocks_of(rows), resource_id=7, account_id=3)
    assert compiled == reference
    assert compiled[0].endswith(b"\x00\x00\x00\x01" + keys.UNINDEXED + b"\x00\x00\x00")  # one lexeme: the mark
    # A block under the limit keeps its keys.
    small = loglines.blocks_encode([1], [random_case_word(2_000)], resource_id=7, account_id=3)
    assert keys.UNINDEXED not in small[0]


class Text(str):
    """A str subclass: Python's checks (`type(x) is str`) and C's must agree on it."""


class Number(int):
    pass


class Event(dict):
    """A Mapping that is not exactly a dict: the compiled pass hands it to Python."""


# What a hostile or broken source may put in an event's fields.
odd_values: st.SearchStrategy[Any] = st.sampled_from(
    [None, "", "e1", "e2", Text("e1"), Text(""), 0, 1, True, False, 1.5, float("nan"), float("inf"), [], {}, b"e1"]
)
timestamps = (
    st.integers(min_value=-62_135_596_800_000 - 2, max_value=-62_135_596_800_000 + 2)
    | st.integers(min_value=253_402_300_799_999 - 2, max_value=253_402_300_799_999 + 2)
    | st.integers(min_value=0, max_value=2_000_000_000_000)
    | st.sampled_from([2**63, -(2**63) - 1, 2**70, Number(5), True, 1.0e12, 1.5, float("nan"), "12", None])
)
messages = texts.map(lambda t: t + "\n" * (len(t) % 3)) | st.sampled_from(
    ["\n\n", "", "x\n\ny\n", Text("t\n"), 7, None]
)
events = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": timestamps,
        "message": messages,
        "logStreamName": st.sampled_from(["2026/11/26/[$LATEST]abc", "", Text("s"), None, 3]),
        "eventId": odd_values,
        "id": odd_values,
    },
)
any_event = events | events.map(Event) | st.sampled_from([None, "event", 3, [("timestamp", 1)]])


def first_pass(function: Any, batch: list[Any]) -> Any:
    seen: set[str] = set()
    lines, skipped = function(batch, seen)
    return [(line.timestamp_ms, type(line.timestamp_ms), line.message, type(line.message), line.log_stream,
             type(line.log_stream), line.event_id, type(line.event_id)) for line in lines], skipped, seen  # fmt: skip


def compiled_first_pass(batch: list[Any], seen: set[str]) -> Any:
    assert lambda_logs._event_lines is not None
    return lambda_logs._event_lines(batch, LogLine, seen, lambda event: lambda_logs.event_line(event, seen))


@pytest.mark.skipif(lambda_logs._event_lines is None, reason="the module is not built")
@settings(max_examples=1500, deadline=None)
@given(st.lists(any_event, max_size=12))
def test_the_first_pass_over_any_events_is_the_references(batch: list[Any]) -> None:
    assert first_pass(compiled_first_pass, batch) == first_pass(lambda_logs.event_lines_reference, batch)


@pytest.mark.skipif(lambda_logs._event_lines is None, reason="the module is not built")
def test_the_first_pass_builds_real_log_lines_and_counts_what_it_skips() -> None:
    batch = [
        {"timestamp": 1_764_000_000_123, "message": "START RequestId: abc\n", "logStreamName": "s", "eventId": "1"},
        {"timestamp": 1_764_000_000_124, "message": "again", "logStreamName": "s", "eventId": "1"},  # a repeat
        {"timestamp": 1_764_000_000_125, "message": "no id", "id": "2"},
        {"timestamp": 2**64, "message": "out of range"},
        {"message": "no time"},
        Event(timestamp=1_764_000_000_126, message="a Mapping", eventId="3"),
    ]
    lines, skipped = compiled_first_pass(batch, set())
    assert lines == [
        LogLine(1_764_000_000_123, "START RequestId: abc", "s", "1"),
        LogLine(1_764_000_000_125, "no id", "", "2"),
        LogLine(1_764_000_000_126, "a Mapping", "", "3"),
    ]
    assert skipped == 2
    lines[0].message = "changed"  # a real slot, writable as any LogLine's
    assert lines[0].message == "changed"


class Clearing:
    """A key that collides with "logStreamName" and empties its event when compared: no JSON
    decoder builds one, but the compiled pass must not read what it freed."""

    def __init__(self, event: dict[Any, Any]) -> None:
        self.event = event

    def __hash__(self) -> int:
        return hash("logStreamName")

    def __eq__(self, other: object) -> bool:
        self.event.clear()
        return False


class Reordered:
    """Four slots, stored by __init__ in another order than the fields are named."""

    __slots__ = ("event_id", "log_stream", "message", "timestamp_ms")

    def __init__(self, a: Any, b: Any, c: Any, d: Any) -> None:
        self.timestamp_ms, self.message, self.log_stream, self.event_id = d, c, b, a


class Counting(set):
    """A set that counts membership its own way: Python's `in` and `add` must decide."""

    def __contains__(self, item: object) -> bool:
        return item == "blocked" or super().__contains__(item)


def hostile_event() -> dict[Any, Any]:
    event: dict[Any, Any] = {"timestamp": int("1764000012345"), "message": "m" * 50, "eventId": "x" * 40}
    event[Clearing(event)] = 1
    return event


@pytest.mark.skipif(lambda_logs._event_lines is None, reason="the module is not built")
@pytest.mark.parametrize(
    ("batch", "line_type", "seen"),
    [
        ([hostile_event()], LogLine, set),
        ([{"timestamp": 5, "message": "m", "eventId": "e"}] * 3, Reordered, set),
        ([{"timestamp": 5, "message": "m", "eventId": "blocked"}, {"timestamp": 6, "message": "n"}], LogLine, Counting),
    ],
    ids=["key-emptying-its-event", "slots-stored-in-another-order", "set-subclass"],
)
def test_the_first_pass_does_what_python_does_with_odd_objects(batch: list[Any], line_type: Any, seen: Any) -> None:
    def run(compiled: bool) -> Any:
        copy = [dict(event) if not any(isinstance(k, Clearing) for k in event) else hostile_event() for event in batch]
        found: set[str] = seen()
        if compiled:
            assert lambda_logs._event_lines is not None
            lines, skipped = lambda_logs._event_lines(
                copy, line_type, found, lambda event: lambda_logs.event_line(event, found)
            )
        else:
            lines, skipped = lambda_logs.event_lines_reference(copy, found)
            lines = [line_type(line.timestamp_ms, line.message, line.log_stream, line.event_id) for line in lines]
        return [(x.timestamp_ms, x.message, x.log_stream, x.event_id) for x in lines], skipped, sorted(found)

    assert run(compiled=True) == run(compiled=False)
