"""What storage does to an invocation's values before they reach their columns
(`monitoring.store.invocations._clean`): anything a column cannot hold, or Lambda cannot
report, becomes unknown or is cut to fit; anything storable is kept exactly as it is."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.parsing.lambda_logs import ParsedInvocation
from monitoring.store.invocations import MAX_MB, MAX_MS, TEXT_LIMITS, _clean

DURATIONS = (
    "duration_ms",
    "billed_duration_ms",
    "init_duration_ms",
    "restore_duration_ms",
    "billed_restore_duration_ms",
)
MEMORY = ("memory_size_mb", "max_memory_used_mb")

numbers = st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**20), 10**20) | st.booleans()
texts = st.none() | st.text(max_size=600) | st.sampled_from(["a" * 64, "a" * 65, "x\x00y", "\ud800", "é" * 70, "ok"])


@settings(max_examples=800, deadline=None)
@given(
    durations=st.tuples(*[numbers] * len(DURATIONS)),
    memory=st.tuples(numbers, numbers),
    text=st.tuples(*[texts] * len(TEXT_LIMITS)),
    message=texts,
    frames=st.lists(st.text(max_size=20) | st.sampled_from(["\x00", "\ud800"]), max_size=3),
    attempt=st.integers(-5, 500),
)
def test_every_value_is_storable_and_a_storable_one_is_kept(
    durations: tuple[Any, ...],
    memory: tuple[Any, ...],
    text: tuple[Any, ...],
    message: Any,
    frames: list[str],
    attempt: int,
) -> None:
    inv = ParsedInvocation("r", attempt=attempt, error_message=message, error_frames=list(frames))
    for name, value in [
        *zip(DURATIONS, durations, strict=True),
        *zip(MEMORY, memory, strict=True),
        *zip(TEXT_LIMITS, text, strict=True),
    ]:
        setattr(inv, name, value)
    before = {name: getattr(inv, name) for name in (*DURATIONS, *MEMORY, *TEXT_LIMITS)}
    _clean(inv)
    for name in DURATIONS:
        v, was = getattr(inv, name), before[name]
        ok = type(was) in (int, float) and not math.isnan(was) and 0 <= was <= MAX_MS
        assert v is (was if ok else None), (name, was, v)
    for name in MEMORY:
        v, was = getattr(inv, name), before[name]
        ok = type(was) is int and 0 <= was <= MAX_MB
        assert v is (was if ok else None), (name, was, v)
    for name, limit in TEXT_LIMITS.items():
        v, was = getattr(inv, name), before[name]
        if was is None:
            assert v is None
            continue
        assert len(v) <= limit and "\x00" not in v
        v.encode()  # UTF-8 can hold it
        if len(was) <= limit and "\x00" not in was and was.isascii():
            assert v is was, name
    for value in (inv.error_message, *inv.error_frames):
        if value is not None:
            assert "\x00" not in value
            value.encode()
    assert 1 <= inv.attempt <= 100
