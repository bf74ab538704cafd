"""`manage.py parselogs`: the tool a user runs to see why a log parsed the way it did."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

RID = "c6af9ac6-7b61-11e6-9a41-93e812345678"
EVENTS = [
    {
        "timestamp": 1764160000000,
        "message": f"START RequestId: {RID} Version: $LATEST\n",
        "logStreamName": "2026/11/26/[$LATEST]abc",
    },
    {
        "timestamp": 1764160000002,
        "message": f"2026-11-26T12:26:40.002Z\t{RID}\tINFO\thello\n",
        "logStreamName": "2026/11/26/[$LATEST]abc",
    },
    {"timestamp": 1764160077090, "message": f"END RequestId: {RID}\n", "logStreamName": "2026/11/26/[$LATEST]abc"},
    {
        "timestamp": 1764160077090,
        "message": f"REPORT RequestId: {RID}\tDuration: 77089.90 ms\tBilled Duration: 77311 ms\tMemory Size: 1769 MB\t"
        "Max Memory Used: 123 MB\tInit Duration: 220.37 ms\t\nXRAY TraceId: 1-6926f1c0-0123456789abcdef01234567\t"
        "SegmentId: 0a1b2c3d4e5f6071\tSampled: true\t\n",
        "logStreamName": "2026/11/26/[$LATEST]abc",
    },
    # a REPORT cut short in transit: its numbers are lost, so it is counted and skipped
    {
        "timestamp": 1764160077091,
        "message": "REPORT RequestId: 9a9a9a9a-0000-4000-8000-0000000000",
        "logStreamName": "x",
    },
]


def run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, object]], str]:
    out = StringIO()
    call_command("parselogs", str(path), stdout=out)
    return json.loads(out.getvalue()), capsys.readouterr().err


def test_numbers_are_those_of_the_lines_to_the_hundredth_of_a_ms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")

    invocations, err = run(path, capsys)

    assert len(invocations) == 1
    inv = invocations[0]
    assert list(inv)[:18] == [
        "request_id", "attempt", "status", "started_at", "ended_at", "duration_ms", "billed_duration_ms",
        "memory_size_mb", "max_memory_used_mb", "init_duration_ms", "restore_duration_ms",
        "billed_restore_duration_ms", "cold_start", "xray_trace_id", "error_type", "error_message", "log_stream",
        "complete",
    ]  # fmt: skip
    assert inv["request_id"] == RID
    assert inv["status"] == "success"
    assert inv["duration_ms"] == 77089.9
    assert inv["billed_duration_ms"] == 77311
    assert (inv["memory_size_mb"], inv["max_memory_used_mb"]) == (1769, 123)
    assert inv["init_duration_ms"] == 220.37
    assert inv["cold_start"] is True
    assert inv["xray_trace_id"] == "1-6926f1c0-0123456789abcdef01234567"
    assert inv["started_at"] == "2025-11-26T12:26:40.000Z"
    assert inv["complete"] is True
    assert "1 lines skipped" in err


def test_a_filterlogevents_response_is_read_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "response.json"
    path.write_text(json.dumps({"events": EVENTS[:4], "searchedLogStreams": []}, indent=2))

    invocations, _ = run(path, capsys)

    assert [i["duration_ms"] for i in invocations] == [77089.9]


def test_a_line_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(EVENTS[0]) + "\n{oops\n")
    with pytest.raises(CommandError, match=r"bad.jsonl:2: not a JSON event"):
        call_command("parselogs", str(path), stdout=StringIO())


DATA = Path(__file__).resolve().parent / "data"


def test_explain_names_the_lines_and_rules_behind_each_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    out = StringIO()
    call_command("parselogs", str(DATA / "init_image_entrypoint_exec_format_error.jsonl"), explain=True, stdout=out)
    text = out.getvalue()

    assert text.splitlines()[0] == (
        "8e4fda21-3939-4a20-8d52-8eb18debcd13  error  Runtime.InvalidEntrypoint: "
        "fork/exec /lambda-entrypoint.sh: exec format error  cold_start=true"
    )
    # The INIT_REPORT printed before the START decided both the failure and the cold start.
    assert "  status     INIT_REPORT Phase: invoke status error\n" in text
    assert "  cold_start INIT_REPORT Phase: invoke (init ran inside this invocation)\n" in text
    assert "2025-07-21T10:00:00.102Z  INIT_REPORT Init Duration: 0.68 ms Phase: invoke Status: error" in text
    # The platform's own line gave type and message; its line break is shown, not printed.
    assert "  error      platform line 'RequestId: … Error: …' with the error type\n" in text
    assert "exec format error⏎Runtime.Inval…\n" in text
    assert "1 invocations, 0 lines skipped" in capsys.readouterr().err


def test_explain_says_why_a_success_is_one_and_shortens_long_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS[:4]) + "\n")
    out = StringIO()
    call_command("parselogs", str(path), explain=True, stdout=out)
    lines = out.getvalue().splitlines()

    assert lines[0] == f"{RID}  success  cold_start=true"
    assert lines[1] == "  status     REPORT without a failure status"
    assert lines[2].startswith("             2025-11-26T12:27:57.090Z  REPORT RequestId: c6af9ac6")
    assert len(lines[2]) == 13 + 26 + 120 and lines[2].endswith("…")
    assert lines[3] == "  cold_start Init Duration in REPORT"
