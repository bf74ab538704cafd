"""Properties of the Lambda log parser on arbitrary input: it never raises and only ever
returns numbers Lambda can produce. Pure Python: no database."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitoring.parsing import invocation_to_dict, parse_events
from monitoring.parsing.lambda_logs import MAX_DURATION_MS, MAX_MEMORY_MB

RIDS = ["3d9b7f5e-1a2c-4e6f-8b0d-2c4e6a8b0d1f", "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a", "x", ""]
STREAMS = ["a", "b", ""]

# Numbers as a log could print them: sane, absurd, negative, non-finite, exponent forms.
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 128, 10240, 10241, 900000, 900001, 99999999999, 1e308, -1]),
)
# Text with lone surrogates and the characters that split lines and fields.
weird_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\ud800", "\udfff", "\t", "\r", "\n", "\xa0", "{", "}", '"', ":"]),
    ),
    max_size=60,
)


def _num(value: Any) -> str:
    return str(value)


@st.composite
def report_lines(draw: st.DrawFn) -> str:
    rid = draw(st.sampled_from(RIDS))
    fields = [
        ("Duration", "ms"),
        ("Billed Duration", "ms"),
        ("Memory Size", "MB"),
        ("Max Memory Used", "MB"),
        ("Init Duration", "ms"),
        ("Restore Duration", "ms"),
        ("Billed Restore Duration", "ms"),
    ]
    chosen = draw(st.lists(st.sampled_from(fields), unique=True, min_size=1))
    parts = [f"{name}: {_num(draw(numbers))} {unit}" for name, unit in chosen]
    tail = draw(st.sampled_from(["", "Status: timeout", "Status: error\tError Type: Runtime.OutOfMemory", "Status: x"]))
    return f"REPORT RequestId: {rid}\t" + "\t".join(parts) + ("\t" + tail if tail else "")


@st.composite
def json_records(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["platform.start", "platform.report", "platform.runtimeDone", "platform.initReport"]))
    metrics = {
        key: draw(numbers)
        for key in draw(
            st.lists(
                st.sampled_from(
                    [
                        "durationMs",
                        "billedDurationMs",
                        "memorySizeMB",
                        "maxMemoryUsedMB",
                        "initDurationMs",
                        "restoreDurationMs",
                    ]
                ),
                unique=True,
            )
        )
    }
    record = {
        "requestId": draw(st.sampled_from(RIDS)),
        "metrics": metrics,
        "status": draw(st.sampled_from(["success", "error", "timeout", None])),
        "phase": draw(st.sampled_from(["init", "invoke", None])),
    }
    # allow_nan: Python's json writes NaN / Infinity, which Lambda never does.
    return json.dumps({"time": "2024-01-01T00:00:00.000Z", "type": kind, "record": record}, allow_nan=True)


messages = st.one_of(
    report_lines(),
    json_records(),
    weird_text,
    st.builds(lambda rid: f"START RequestId: {rid} Version: $LATEST", st.sampled_from(RIDS)),
    st.builds(lambda rid: f"END RequestId: {rid}", st.sampled_from(RIDS)),
    st.builds(lambda n: f"INIT_REPORT Init Duration: {n} ms\tPhase: invoke\tStatus: error", numbers),
    st.builds(lambda rid, t: f"RequestId: {rid} Error: {t}\nRuntime.ExitError", st.sampled_from(RIDS), weird_text),
    st.builds(lambda t: f"[ERROR] {t}\rTraceback (most recent call last):INIT_REPORT Init Duration: 1 ms", weird_text),
)

well_formed = st.fixed_dictionaries(
    {
        "timestamp": st.one_of(st.integers(min_value=-(10**16), max_value=10**16), numbers),
        "message": messages,
        "logStreamName": st.sampled_from(STREAMS),
    },
    optional={"eventId": st.one_of(st.text(max_size=3), st.integers())},
)
# Anything at all: not dicts, dicts of the wrong types, nested junk.
junk = st.one_of(
    st.none(),
    st.integers(),
    weird_text,
    st.dictionaries(
        st.sampled_from(["timestamp", "message", "logStreamName", "eventId", "id", "x"]),
        st.recursive(
            st.one_of(st.none(), st.booleans(), numbers, weird_text),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(weird_text, inner, max_size=3),
            max_leaves=6,
        ),
    ),
)


def _duration_ok(value: float | None) -> bool:
    return value is None or (type(value) is float and math.isfinite(value) and 0 <= value <= MAX_DURATION_MS)


def _memory_ok(value: int | None) -> bool:
    return value is None or (type(value) is int and 0 <= value <= MAX_MEMORY_MB)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(well_formed, junk), max_size=25))
def test_it_never_raises_and_only_returns_numbers_lambda_can_produce(events: list[Any]) -> None:
    result = parse_events(events)

    assert 0 <= result.skipped <= len(events)
    for inv in result.invocations:
        assert inv.status in {"success", "error", "timeout", "out_of_memory", "unknown"}
        assert isinstance(inv.started_at, datetime)
        for value in (
            inv.duration_ms,
            inv.billed_duration_ms,
            inv.init_duration_ms,
            inv.restore_duration_ms,
            inv.billed_restore_duration_ms,
        ):
            assert _duration_ok(value), value
        for memory in (inv.memory_size_mb, inv.max_memory_used_mb):
            assert _memory_ok(memory), memory
        # Every verdict names its evidence (what `parselogs --explain` prints).
        assert inv.cold_start == any(item.aspect == "cold_start" for item in inv.evidence)
        assert [item.aspect for item in inv.evidence if item.aspect == "status"]
        json.dumps(invocation_to_dict(inv))
    for report in result.init_reports:
        assert _duration_ok(report.init_duration_ms)


def test_absurd_report_numbers_become_none_and_the_line_still_counts() -> None:
    rid = RIDS[0]
    message = (
        f"REPORT RequestId: {rid}\tDuration: 1200000.00 ms\tBilled Duration: 12 ms\tMemory Size: 99999999999 MB\t"
        f"Max Memory Used: 64 MB\tInit Duration: 9{'9' * 400} ms"
    )
    result = parse_events([{"timestamp": 1_700_000_000_000, "message": message, "logStreamName": "s"}])

    [inv] = result.invocations
    assert result.skipped == 0
    assert (inv.complete, inv.duration_ms, inv.billed_duration_ms) == (True, None, 12.0)
    assert (inv.memory_size_mb, inv.max_memory_used_mb, inv.init_duration_ms) == (None, 64, None)
    assert inv.started_at is not None  # from the REPORT's own time, Duration being unknown


def test_a_timestamp_no_datetime_can_hold_is_skipped_not_fatal() -> None:
    result = parse_events(
        [
            {"timestamp": 10**20, "message": f"START RequestId: {RIDS[0]} Version: $LATEST"},
            {"timestamp": -(10**20), "message": "x"},
        ]
    )
    assert (result.invocations, result.skipped) == ([], 2)


@given(st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999))
@example(-62_135_596_800_000)
@example(253_402_300_799_999)
@example(-1)
@example(-1000)
@example(999)
def test_start_and_end_times_are_exact_to_the_millisecond_from_year_1_to_9999(ms: int) -> None:
    # Whole seconds are cached per parse and milliseconds added from a table: before 1970
    # (negative times) and at either end of the datetime range too.
    rid = RIDS[0]
    result = parse_events(
        [
            {"timestamp": ms, "message": f"START RequestId: {rid} Version: $LATEST"},
            {"timestamp": ms, "message": f"END RequestId: {rid}"},
        ]
    )
    (inv,) = result.invocations
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    assert (inv.started_at, inv.ended_at) == (expected, expected)
