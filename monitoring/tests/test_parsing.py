"""The Lambda log parser against the shared corpus (read in place), our own cases in
`data/`, and focused unit tests. Pure Python: no database, no Django settings needed."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitoring.parsing import (
    ParsedInvocation,
    ParseResult,
    error_groups,
    invocation_to_dict,
    parse_events,
)

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "lambda-logs"
DATA = Path(__file__).resolve().parent / "data"
MISSING_CORPUS = f"shared Lambda log corpus not found at {CORPUS} (it lives beside the checkout, not in it)"

DICT_KEYS = [
    "request_id",
    "attempt",
    "status",
    "started_at",
    "ended_at",
    "duration_ms",
    "billed_duration_ms",
    "memory_size_mb",
    "max_memory_used_mb",
    "init_duration_ms",
    "restore_duration_ms",
    "billed_restore_duration_ms",
    "cold_start",
    "xray_trace_id",
    "error_type",
    "error_message",
    "log_stream",
    "complete",
    "lines",
]


# -- helpers ----------------------------------------------------------------------------


def load_events(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _actual_fields(inv: ParsedInvocation) -> dict[str, Any]:
    fields = invocation_to_dict(inv)
    fields["error_frames"] = inv.error_frames
    fields["line_count"] = len(inv.lines)
    return fields


def _init_report_fields(result: ParseResult) -> list[dict[str, Any]]:
    return [
        {"phase": r.phase, "status": r.status, "error_type": r.error_type, "init_duration_ms": r.init_duration_ms}
        for r in result.init_reports
    ]


def _group_key(group: dict[str, Any]) -> tuple[str, str, int, list[str]]:
    return (str(group["error_type"]), str(group["error_message"]), group["count"], sorted(group["request_ids"]))


def assert_matches_expected(result: ParseResult, expected: dict[str, Any]) -> None:
    """Every expected field of every expected invocation, except `_lenient` ones and honouring
    `_acceptable`; `_optional` invocations may be missing; no invocation may be invented; the
    mandatory invocations come in the expected order. Top-level `skipped`, `orphans`,
    `init_reports` and `error_groups` are checked when the case states them."""
    problems: list[str] = []
    actual: dict[tuple[str, int], ParsedInvocation] = {}
    for inv in result.invocations:
        key = (inv.request_id, inv.attempt)
        if key in actual:
            problems.append(f"{key}: produced twice")
        actual[key] = inv

    expected_keys: set[tuple[str, int]] = set()
    mandatory_order: list[tuple[str, int]] = []
    matched: list[ParsedInvocation] = []
    for exp in expected["invocations"]:
        key = (exp["request_id"], exp.get("attempt", 1))
        expected_keys.add(key)
        optional = bool(exp.get("_optional"))
        if not optional:
            mandatory_order.append(key)
        found = actual.get(key)
        if found is None:
            if not optional:
                problems.append(f"{key}: missing")
            continue
        inv = found
        if not optional:
            matched.append(inv)
        got = _actual_fields(inv)
        lenient = set(exp.get("_lenient", []))
        acceptable = exp.get("_acceptable", {})
        for field_name, want in exp.items():
            if field_name.startswith("_") or field_name in lenient:
                continue
            have = got[field_name]
            allowed = acceptable.get(field_name, [want])
            # `in` alone would let True stand for 1 and 1.0 for True: compare types too.
            if not any(have == a and isinstance(have, bool) == isinstance(a, bool) for a in allowed):
                problems.append(f"{key}.{field_name}: got {have!r}, expected {' or '.join(map(repr, allowed))}")

    for key in actual:
        if key not in expected_keys:
            problems.append(f"{key}: not expected (invented invocation)")

    # Optional invocations have no reliable place: the corpus lists the ruby case's optional
    # START-only invocation after the mandatory one although it started first.
    got_mandatory = [
        (inv.request_id, inv.attempt) for inv in result.invocations if (inv.request_id, inv.attempt) in mandatory_order
    ]
    if got_mandatory != mandatory_order:
        problems.append(f"order: got {got_mandatory}, expected {mandatory_order}")
    starts = [inv.started_at for inv in result.invocations if inv.started_at is not None]
    if starts != sorted(starts):
        problems.append("invocations are not in order of start")

    if "skipped" in expected and result.skipped != expected["skipped"]:
        problems.append(f"skipped: got {result.skipped}, expected {expected['skipped']}")
    if "orphans" in expected and len(result.orphans) != expected["orphans"]:
        problems.append(f"orphans: got {len(result.orphans)}, expected {expected['orphans']}")
    if "init_reports" in expected and _init_report_fields(result) != expected["init_reports"]:
        problems.append(f"init_reports: got {_init_report_fields(result)}, expected {expected['init_reports']}")
    if "error_groups" in expected:
        got_groups = sorted(map(_group_key, error_groups(matched)))
        want_groups = sorted(map(_group_key, expected["error_groups"]))
        if got_groups != want_groups:
            problems.append(f"error_groups: got {got_groups}, expected {want_groups}")

    assert not problems, f"{expected.get('case')}:\n  " + "\n  ".join(problems)


def _corpus_cases() -> list[Any]:
    if not (CORPUS / "expected").is_dir():
        return [pytest.param(None, id="corpus-missing")]
    return sorted(p.stem for p in (CORPUS / "expected").glob("*.json"))


def _own_cases() -> list[str]:
    return sorted(p.name.removesuffix(".expected.json") for p in DATA.glob("*.expected.json"))


# -- ground truth -------------------------------------------------------------------------


@pytest.mark.parametrize("case", _corpus_cases())
def test_corpus_case(case: str | None) -> None:
    if case is None:
        pytest.skip(MISSING_CORPUS)
    expected = json.loads((CORPUS / "expected" / f"{case}.json").read_text(encoding="utf-8"))
    result = parse_events(load_events(CORPUS / "logs" / f"{case}.jsonl"))
    assert_matches_expected(result, expected)


@pytest.mark.parametrize("case", _own_cases())
def test_own_case(case: str) -> None:
    expected = json.loads((DATA / f"{case}.expected.json").read_text(encoding="utf-8"))
    result = parse_events(load_events(DATA / f"{case}.jsonl"))
    assert_matches_expected(result, expected)


def test_own_cases_cover_every_format() -> None:
    tags = set()
    for case in _own_cases():
        tags.update(json.loads((DATA / f"{case}.expected.json").read_text(encoding="utf-8"))["tags"])
    required = {
        "nbsp-indent",
        "unhandled-rejection",
        "json-format",
        "snapstart",
        "timeout",
        "out-of-memory",
        "js-heap",
        "init-failure",
        "async-retry",
        "interleaved",
        "missing-start",
        "report-only",
        "malformed",
    }
    assert required <= tags, required - tags
    assert len(_own_cases()) >= 15


# -- subscription payloads and GetLogEvents responses from the corpus -----------------------


def _payload(name: str) -> dict[str, Any]:
    path = CORPUS / "payloads" / name
    if not path.is_file():
        pytest.skip(MISSING_CORPUS)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _subscription_events(payload: dict[str, Any]) -> list[dict[str, Any]]:
    # A DATA_MESSAGE names the stream once for all its events.
    return [{**event, "logStreamName": payload["logStream"]} for event in payload["logEvents"]]


def test_subscription_payload_gives_the_same_invocation_as_the_events() -> None:
    payload = _payload("subscription_DATA_MESSAGE_datadog_nodejs_invocation.decoded.json")
    result = parse_events(_subscription_events(payload))
    [inv] = result.invocations
    assert (inv.request_id, inv.status, inv.duration_ms, inv.billed_duration_ms) == (
        "f08bb4c8-d6b2-4f05-ac17-af7e2ba005fb",
        "success",
        619.31,
        700.0,
    )
    assert inv.xray_trace_id == "1-5e61292c-cc1229a4dfbeae1043928548"
    assert inv.lines[0].event_id == payload["logEvents"][0]["id"]


def test_double_escaped_fixture_does_not_invent_numbers() -> None:
    # Literal "\\n"/"\\t" instead of newline/tab: END and REPORT are unreadable, not guessed.
    payload = _payload("subscription_DATA_MESSAGE_datadog_timeout_double_escaped.decoded.json")
    result = parse_events(_subscription_events(payload))
    assert all(not inv.complete and inv.duration_ms is None for inv in result.invocations)
    assert result.skipped >= 2


def test_get_log_events_response_without_stream_names() -> None:
    response = _payload("get_log_events_response_aws_docs.json")
    [inv] = parse_events(response["events"]).invocations
    assert (inv.request_id, inv.status, inv.complete, inv.log_stream) == (
        "4ce9340a-b765-490f-ad8a-02ab3415e2bf",
        "success",
        True,
        "",
    )
    assert len(inv.lines) == len(response["events"])


def test_error_processor_payload_line_with_empty_error_body() -> None:
    payload = _payload("subscription_DATA_MESSAGE_aws_docs_error_processor.decoded.json")
    [inv] = parse_events(_subscription_events(payload)).invocations
    # A console.error("") is a logged line, not a failure; nothing else is known.
    assert (inv.request_id, inv.status, inv.complete) == ("1d2c1444-efd1-43ec-b16e-8fb2d37508b8", "unknown", False)


# -- REPORT fields ------------------------------------------------------------------------

RID = "3d9b7f5e-1a2c-4e6f-8b0d-2c4e6a8b0d1f"


def _report(message: str) -> ParsedInvocation:
    result = parse_events([{"timestamp": 1_700_000_000_000, "message": message, "logStreamName": "s"}])
    assert result.skipped == 0, message
    [inv] = result.invocations
    return inv


@pytest.mark.parametrize(
    "message",
    [
        f"REPORT RequestId: {RID}\tDuration: 102.35 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 67 MB\tInit Duration: 245.12 ms\t\n",
        f"REPORT RequestId: {RID} Init Duration: 245.12 ms   Duration: 102.35 ms   Billed Duration: 103 ms   Memory Size: 128 MB   Max Memory Used: 67 MB",
        f"REPORT RequestId: {RID}  Duration: 102.35 ms   Billed Duration: 103 ms Memory Size: 128 MB Max Memory Used: 67 MB  Init Duration: 245.12 ms",
        f"REPORT RequestId: {RID} Max Memory Used: 67 MB Memory Size: 128 MB Billed Duration: 103 ms Init Duration: 245.12 ms Duration: 102.35 ms",
        f"REPORT RequestId: {RID}\tBilled Duration: 103 ms \tInit Duration: 245.12 ms\tDuration: 102.35 ms\tMax Memory Used: 67 MB\tMemory Size: 128 MB\t",
    ],
    ids=["tabs", "init-first-spaces", "space-runs", "reversed", "space-before-tab"],
)
def test_report_fields_whatever_the_separators_and_order(message: str) -> None:
    inv = _report(message)
    assert (inv.duration_ms, inv.billed_duration_ms, inv.init_duration_ms) == (102.35, 103.0, 245.12)
    assert (inv.memory_size_mb, inv.max_memory_used_mb) == (128, 67)
    assert inv.cold_start and inv.complete and inv.status == "success"


def test_report_duration_is_not_read_from_init_billed_or_restore_duration() -> None:
    inv = _report(
        f"REPORT RequestId: {RID}\tRestore Duration: 428.23 ms\tBilled Restore Duration: 247 ms\t"
        "Init Duration: 9.99 ms\tBilled Duration: 249 ms\tDuration: 1.28 ms\tMemory Size: 512 MB\tMax Memory Used: 150 MB"
    )
    assert inv.duration_ms == 1.28
    assert inv.billed_duration_ms == 249.0
    assert inv.init_duration_ms == 9.99
    assert (inv.restore_duration_ms, inv.billed_restore_duration_ms) == (428.23, 247.0)


def test_report_numbers_are_taken_as_written() -> None:
    inv = _report(
        f"REPORT RequestId: {RID}\tDuration: 77089.90 ms\tBilled Duration: 77090 ms\tMemory Size: 10240 MB\t"
        "Max Memory Used: 3001 MB\tInit Duration: 1234 ms"
    )
    assert inv.duration_ms == 77089.9
    assert inv.init_duration_ms == 1234.0
    assert isinstance(inv.memory_size_mb, int) and inv.memory_size_mb == 10240


def test_report_without_init_is_warm_and_xray_is_read_inline_or_after_newline() -> None:
    inline = _report(
        f"REPORT RequestId: {RID}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t"
        "XRAY TraceId: 1-5d9d007f-0a8c7fd02b1e480aed55ef01\tSegmentId: 3d752b1e1bbe37e1\tSampled: true"
    )
    newline = _report(
        f"REPORT RequestId: {RID}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t\n"
        "XRAY TraceId: 1-5d9d007f-0a8c7fd02b1e480aed55ef01\tSegmentId: 3d752b1e1bbe37e1\tSampled: true"
    )
    for inv in (inline, newline):
        assert inv.xray_trace_id == "1-5d9d007f-0a8c7fd02b1e480aed55ef01"
        assert inv.cold_start is False and inv.init_duration_ms is None


@pytest.mark.parametrize(
    ("tail", "status", "error_type"),
    [
        ("Status: timeout", "timeout", None),
        ("Status: error\tError Type: Runtime.OutOfMemory", "out_of_memory", "Runtime.OutOfMemory"),
        ("Error Type: Runtime.ExitError\tStatus: error", "error", "Runtime.ExitError"),
        ("", "success", None),
    ],
)
def test_report_status_and_error_type(tail: str, status: str, error_type: str | None) -> None:
    inv = _report(
        f"REPORT RequestId: {RID}\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t{tail}"
    )
    assert (inv.status, inv.error_type) == (status, error_type)


def test_memory_full_is_not_out_of_memory() -> None:
    inv = _report(
        f"REPORT RequestId: {RID} Duration: 5 ms Billed Duration: 5 ms Memory Size: 128 MB Max Memory Used: 128 MB"
    )
    assert inv.status == "success"


@pytest.mark.parametrize(
    "message",
    [
        "REPORT invalid report log line",
        "REPORT RequestId: ",
        f"REPORT RequestId: {RID}\tDurat",
        f"REPORT RequestId: {RID}\tDuration: n/a ms",
        "REPORT RequestId: <redacted>\\tDuration: 1.76 ms\\tBilled Duration: 100 ms",
    ],
)
def test_malformed_report_is_skipped(message: str) -> None:
    result = parse_events([{"timestamp": 1, "message": message, "logStreamName": "s"}])
    assert (result.invocations, result.skipped) == ([], 1)


# -- invocation_to_dict --------------------------------------------------------------------


def test_invocation_to_dict_keys_order_and_iso_formatting() -> None:
    events = [
        {"timestamp": 1585282200000, "message": f"START RequestId: {RID} Version: $LATEST\n", "logStreamName": "s"},
        {"timestamp": 1585282200007, "message": "hello\tworld\r\n", "logStreamName": "s", "eventId": "e1"},
        {"timestamp": 1585282204157, "message": f"END RequestId: {RID}\n", "logStreamName": "s"},
        {
            "timestamp": 1585282204157,
            "message": f"REPORT RequestId: {RID}\tDuration: 4157.16 ms\tBilled Duration: 4158 ms\tMemory Size: 256 MB\tMax Memory Used: 99 MB\t\n",
            "logStreamName": "s",
        },
    ]
    [inv] = parse_events(events).invocations
    assert inv.started_at == datetime(2020, 3, 27, 4, 10, 0, tzinfo=UTC)
    assert inv.ended_at is not None and inv.ended_at.tzinfo is not None
    data = invocation_to_dict(inv)
    assert list(data) == DICT_KEYS
    assert data["started_at"] == "2020-03-27T04:10:00.000Z"
    assert data["ended_at"] == "2020-03-27T04:10:04.157Z"
    assert data["lines"][1] == {"timestamp": "2020-03-27T04:10:00.007Z", "message": "hello\tworld\r"}
    assert [set(line) for line in data["lines"]] == [{"timestamp", "message"}] * 4
    assert inv.lines[1].event_id == "e1"
    json.dumps(data)  # serialisable as is


def test_invocation_to_dict_nulls_and_aware_non_utc_datetimes() -> None:
    from datetime import timedelta, timezone

    inv = ParsedInvocation(request_id=RID)
    data = invocation_to_dict(inv)
    assert (data["started_at"], data["ended_at"], data["lines"]) == (None, None, [])
    inv.started_at = datetime(2024, 1, 1, 12, 0, 0, 123999, tzinfo=timezone(timedelta(hours=2)))
    assert invocation_to_dict(inv)["started_at"] == "2024-01-01T10:00:00.123Z"


# -- attribution, robustness -----------------------------------------------------------------


def test_init_phase_output_is_orphaned_and_bracketing_is_per_stream() -> None:
    other = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
    events = [
        {"timestamp": 5, "message": "init: loading model", "logStreamName": "a"},
        {"timestamp": 10, "message": f"START RequestId: {RID} Version: $LATEST", "logStreamName": "a"},
        {"timestamp": 11, "message": f"START RequestId: {other} Version: $LATEST", "logStreamName": "b"},
        {"timestamp": 12, "message": "[ERROR] KeyError: 'x'\nTraceback (most recent call last):", "logStreamName": "a"},
        {"timestamp": 13, "message": "fine", "logStreamName": "b"},
    ]
    result = parse_events(iter(events))  # any iterable
    first, second = result.invocations
    assert [line.message for line in result.orphans] == ["init: loading model"]
    assert (first.request_id, first.status, first.error_type, first.error_message) == (RID, "error", "KeyError", "'x'")
    assert (second.request_id, second.status, [ln.message for ln in second.lines][-1]) == (other, "unknown", "fine")


def test_timeout_line_after_report_in_the_same_millisecond() -> None:
    events = [
        {"timestamp": 1, "message": f"START RequestId: {RID} Version: $LATEST\n", "logStreamName": "s"},
        {"timestamp": 3004, "message": f"END RequestId: {RID}\n", "logStreamName": "s"},
        {
            "timestamp": 3004,
            "message": f"REPORT RequestId: {RID}\tDuration: 3003.16 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 48 MB\t\n",
            "logStreamName": "s",
        },
        {
            "timestamp": 3004,
            "message": f"2020-06-09T15:02:26.150Z {RID} Task timed out after 3.00 seconds\n\n",
            "logStreamName": "s",
        },
    ]
    [inv] = parse_events(events).invocations
    assert (inv.status, inv.error_message, inv.complete) == ("timeout", "Task timed out after 3.00 seconds", True)
    assert inv.lines[-1].message.endswith("seconds")


def _mutations(rng: random.Random, message: str) -> list[str]:
    cuts = sorted({rng.randrange(len(message) + 1) for _ in range(12)})
    out = [message[:cut] for cut in cuts]
    out += [message.replace("\t", " " * rng.randint(0, 3)), message[::-1], message.upper()]
    noise = '\t\n\r {}"\xa0'
    out.append("".join(rng.choice(noise) if rng.random() < 0.1 else c for c in message))
    return out


def test_never_raises_on_cut_and_scrambled_lines() -> None:
    if not (CORPUS / "logs").is_dir() and not DATA.is_dir():
        pytest.skip("no sample lines")
    rng = random.Random(20240611)
    samples: list[Any] = []
    for path in sorted(DATA.glob("*.jsonl")) + sorted((CORPUS / "logs").glob("*.jsonl")):
        samples += [e for e in load_events(path) if isinstance(e, dict) and isinstance(e.get("message"), str)]
    samples = [e for e in samples if type(e.get("timestamp")) is int]
    events: list[Any] = []
    for sample in samples:
        for message in _mutations(rng, sample["message"]):
            events.append({**sample, "message": message, "timestamp": sample["timestamp"] + rng.randint(-5, 5)})
    events += [{"timestamp": float("nan"), "message": "x"}, {"timestamp": float("inf"), "message": "x"}, 42, object()]
    deep = '{"message":' * 5000 + "1" + "}" * 5000
    infinite = '{"time":"x","type":"platform.report","record":{"requestId":"r","metrics":{"memorySizeMB":Infinity}}}'
    events += [{"timestamp": 7, "message": deep, "logStreamName": "s"}, {"timestamp": 8, "message": infinite}]
    result = parse_events(events)
    assert result.skipped >= 4
    for inv in result.invocations:
        invocation_to_dict(inv)
        assert inv.status in {"success", "error", "timeout", "out_of_memory", "unknown"}


def test_duplicate_event_ids_are_dropped_not_taken_for_retries() -> None:
    start = {
        "timestamp": 1,
        "message": f"START RequestId: {RID} Version: $LATEST",
        "logStreamName": "s",
        "eventId": "1",
    }
    report = {
        "timestamp": 9,
        "message": f"REPORT RequestId: {RID}\tDuration: 7.50 ms\tBilled Duration: 8 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB",
        "logStreamName": "s",
        "eventId": "2",
    }
    result = parse_events([start, report, dict(start), dict(report)])
    [inv] = result.invocations
    assert (inv.attempt, inv.status, len(inv.lines), result.skipped) == (1, "success", 2, 0)


# -- failure modes as each runtime prints them ------------------------------------------------

STREAM = "2025/01/01/[$LATEST]0123456789abcdef0123456789abcdef"


def _one(*messages: str) -> ParsedInvocation:
    events = [
        {"timestamp": 1_735_700_000_000 + i, "message": m, "logStreamName": STREAM} for i, m in enumerate(messages)
    ]
    [inv] = parse_events(events).invocations
    return inv


def _bracketed(*body: str) -> ParsedInvocation:
    return _one(
        f"START RequestId: {RID} Version: $LATEST",
        *body,
        f"END RequestId: {RID}",
        f"REPORT RequestId: {RID}\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t",
    )


@pytest.mark.parametrize(
    ("line", "error_type"),
    [
        ("[ERROR] MemoryError\rTraceback (most recent call last):", "MemoryError"),
        (
            "Java heap space: java.lang.OutOfMemoryError\njava.lang.OutOfMemoryError: Java heap space\n\tat a.B.c(B.java:1)",
            "java.lang.OutOfMemoryError",
        ),
        (
            f"2025-01-01T00:00:00.000Z\t{RID}\tfail\tSystem.OutOfMemoryException: Insufficient memory",
            "System.OutOfMemoryException",
        ),
        (
            '{"errorMessage": "failed to allocate memory", "errorType": "Function<NoMemoryError>"}',
            "Function<NoMemoryError>",
        ),
    ],
    ids=["python", "java", "dotnet", "ruby"],
)
def test_a_runtimes_own_out_of_memory_error_is_out_of_memory_with_its_type(line: str, error_type: str) -> None:
    inv = _bracketed(line)
    assert (inv.status, inv.error_type) == ("out_of_memory", error_type)


def test_go_running_out_of_memory_keeps_the_exit_type_lambda_printed() -> None:
    inv = _bracketed(
        "fatal error: runtime: out of memory\n\nruntime stack:\nruntime.throw(0x6d6a72, 0x16)",
        f"RequestId: {RID} Error: Runtime exited with error: exit status 2\nRuntime.ExitError",
    )
    assert (inv.status, inv.error_type, inv.error_message) == (
        "out_of_memory",
        "Runtime.ExitError",
        "fatal error: runtime: out of memory",
    )


def test_java_report_in_the_json_log_format_is_the_records_message() -> None:
    record = {
        "timestamp": "2025-01-01T00:00:00.100Z",
        "level": "ERROR",
        "message": "boom: java.lang.IllegalStateException\njava.lang.IllegalStateException: boom\n\tat example.Handler.handleRequest(Handler.java:9)\n",
        "AWSRequestId": RID,
    }
    inv = _one(json.dumps(record))
    assert (inv.request_id, inv.status, inv.error_type, inv.error_message) == (
        RID,
        "error",
        "java.lang.IllegalStateException",
        "boom",
    )
    assert inv.error_frames == ["example.Handler.handleRequest(Handler.java:9)"]


def test_a_functions_own_error_log_shaped_like_a_runtime_report_is_not_a_failure() -> None:
    inv = _bracketed(
        f"[ERROR]\t2025-01-01T00:00:00.002Z\t{RID}\tretrying: java.lang.IllegalStateException\n"
        "java.lang.IllegalStateException: busy\n\tat example.Client.call(Client.java:3)",
        f'2025-01-01T00:00:00.003Z\t{RID}\tERROR\tnote {{"errorType": "Timeout", "errorMessage": "slow"}}',
    )
    assert (inv.status, inv.error_type) == ("success", None)


def test_a_json_error_record_decides_only_when_the_platform_does_not() -> None:
    record = {
        "timestamp": "2025-01-01T00:00:00.100Z",
        "level": "ERROR",
        "requestId": RID,
        "message": {
            "errorType": "TypeError",
            "errorMessage": "x is undefined",
            "stackTrace": ["TypeError: x", "    at h (/var/task/index.mjs:3:9)"],
        },
    }
    alone = _one(json.dumps(record))
    report = json.dumps(
        {
            "time": "2025-01-01T00:00:00.200Z",
            "type": "platform.report",
            "record": {"requestId": RID, "metrics": {"durationMs": 3.1}, "status": "success"},
        }
    )
    handled = _one(json.dumps(record), report)
    assert (alone.status, alone.error_type, alone.error_message) == ("error", "TypeError", "x is undefined")
    assert handled.status == "success"


def test_an_invoke_phase_init_before_start_belongs_to_the_next_start_of_its_stream_only() -> None:
    other = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
    events = [
        {
            "timestamp": 1,
            "message": "INIT_REPORT Init Duration: 9.50 ms\tPhase: invoke\tStatus: error\tError Type: Runtime.ExitError",
            "logStreamName": "a",
        },
        {"timestamp": 2, "message": f"START RequestId: {other} Version: $LATEST", "logStreamName": "b"},
        {"timestamp": 3, "message": f"START RequestId: {RID} Version: $LATEST", "logStreamName": "a"},
    ]
    result = parse_events(events)
    by_rid = {inv.request_id: inv for inv in result.invocations}
    assert (by_rid[RID].status, by_rid[RID].init_duration_ms, by_rid[RID].cold_start) == ("error", 9.5, True)
    assert (by_rid[other].status, by_rid[other].cold_start) == ("unknown", False)
    assert result.init_reports[0].request_id == RID
    assert result.orphans == []


def test_a_report_billed_below_its_duration_is_a_timeout_but_a_long_one_billed_above_is_not() -> None:
    timed_out = _one(
        f"REPORT RequestId: {RID}\tDuration: 6003.21 ms\tBilled Duration: 6000 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\t"
    )
    long_one = _one(
        f"REPORT RequestId: {RID}\tDuration: 899000.50 ms\tBilled Duration: 899001 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\t"
    )
    explicit = _one(
        f"REPORT RequestId: {RID}\tDuration: 6003.21 ms\tBilled Duration: 6000 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tStatus: error\tError Type: Runtime.ExitError"
    )
    assert (timed_out.status, long_one.status, explicit.status) == ("timeout", "success", "error")


def test_every_verdict_names_the_line_and_rule_that_decided_it() -> None:
    inv = _bracketed(
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'x'\rTraceback (most recent call last):"
    )
    evidence = {item.aspect: item for item in inv.evidence}
    assert evidence["status"].rule == evidence["error"].rule == "Python runtime '[ERROR] <Type>: <message>'"
    assert evidence["error"].line is not None and evidence["error"].line.message.startswith("[ERROR] Runtime.Import")
    assert evidence["cold_start"].rule.startswith("Runtime.ImportModuleError is an init-phase failure")


# -- the project's own cases: real, sourced, covering every failure family -----------------------

FAMILIES = {"init-failure", "unhandled-error", "timeout", "out-of-memory", "control"}


def _own_expected() -> dict[str, dict[str, Any]]:
    return {case: json.loads((DATA / f"{case}.expected.json").read_text(encoding="utf-8")) for case in _own_cases()}


def test_every_own_case_names_its_runtime_and_failure_family() -> None:
    for case, expected in _own_expected().items():
        assert expected.get("runtime"), case
        assert expected.get("family") in FAMILIES, case
        assert expected.get("log_format") in {"text", "json"}, case


def test_at_least_forty_own_cases_come_from_public_logs_and_say_where() -> None:
    public = {case: e for case, e in _own_expected().items() if e.get("sources")}
    assert len(public) >= 40
    for case, expected in public.items():
        assert expected.get("judgement"), case  # what was added to the published lines
        for source in expected["sources"]:
            assert source.startswith("https://github.com/") or "search index file id" in source, (case, source)
    families = {e["family"] for e in public.values()}
    formats = {e["log_format"] for e in public.values()}
    assert {"init-failure", "unhandled-error", "timeout", "out-of-memory"} <= families
    assert formats == {"text", "json"}
