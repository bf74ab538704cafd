"""Pure pieces: configuration diffs, the sandbox's policy checks, its log rendering, pacing."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aws.quotas import Pace, pace_for
from devtools.sandbox.catalog import functions
from devtools.sandbox.server import policy_allows
from devtools.sandbox.traffic import (
    ANOMALY_EVERY,
    LATENCY_STEP,
    Invocation,
    Ledger,
    TrafficGenerator,
    anomaly_hour,
    plan_invocation,
    render_json,
    render_text,
)
from monitoring.diffing import config_diff


def test_config_diff_reports_nested_leaves_and_ignores_equal_ones() -> None:
    old = {"memory_mb": 128, "vpc": None, "async": {"retries": 2, "dest": "a"}, "layers": ["x"]}
    new = {"memory_mb": 256, "vpc": None, "async": {"retries": 2, "dest": "b"}, "layers": ["x", "y"], "new": 1}

    assert config_diff(old, new) == {
        "async.dest": ["a", "b"],
        "layers": [["x"], ["x", "y"]],
        "memory_mb": [128, 256],
        "new": [None, 1],
    }
    assert config_diff(new, new) == {}


@pytest.mark.parametrize(
    ("statements", "action", "allowed"),
    [
        ([{"Effect": "Allow", "Action": ["lambda:List*"], "Resource": "*"}], "lambda:ListFunctions", True),
        ([{"Effect": "Allow", "Action": "lambda:ListFunctions", "Resource": "*"}], "lambda:ListTags", False),
        (
            [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "sqs:*", "Resource": "*"},
            ],
            "sqs:ListQueues",
            False,
        ),
    ],
)
def test_the_sandbox_evaluates_role_policies_like_iam(statements: Any, action: str, allowed: bool) -> None:
    assert policy_allows([{"Version": "2012-10-17", "Statement": statements}], action) is allowed


def invocation(**kw: Any) -> Invocation:
    base = dict(
        request_id="8f5a1f0c-2b7e-4d8e-9a51-3c1d2e4f5a6b",
        status="success",
        started_ms=1_764_000_000_000,
        duration_ms=102.35,
        billed_ms=348,
        max_memory_mb=67,
        init_ms=245.12,
        trace_id="1-6924f400-0123456789abcdef01234567",
    )
    return Invocation(**{**base, **kw})


def test_text_logs_carry_start_end_and_an_exact_report_line() -> None:
    spec = functions(1, seed=1)[0]
    events = render_text(spec, invocation())
    messages = [m for _, m in events]

    assert messages[0] == "START RequestId: 8f5a1f0c-2b7e-4d8e-9a51-3c1d2e4f5a6b Version: $LATEST\n"
    assert messages[-2] == "END RequestId: 8f5a1f0c-2b7e-4d8e-9a51-3c1d2e4f5a6b\n"
    report = messages[-1]
    assert report.startswith(
        "REPORT RequestId: 8f5a1f0c-2b7e-4d8e-9a51-3c1d2e4f5a6b\tDuration: 102.35 ms\tBilled Duration: 348 ms\t"
        f"Memory Size: {spec.memory_mb} MB\tMax Memory Used: 67 MB\tInit Duration: 245.12 ms\t"
    )
    assert "\nXRAY TraceId: 1-6924f400-0123456789abcdef01234567\t" in report
    assert [t for t, _ in events] == sorted(t for t, _ in events)


def test_timeouts_and_oom_kills_are_written_as_lambda_writes_them() -> None:
    spec = functions(1, seed=1)[0]
    timeout = [m for _, m in render_text(spec, invocation(status="timeout", init_ms=None))]
    assert any(f"Task timed out after {spec.timeout_s:.2f} seconds" in m for m in timeout)
    assert "Status: timeout" in timeout[-1]

    oom = [m for _, m in render_text(spec, invocation(status="out_of_memory", init_ms=None))]
    assert any("Runtime exited with error: signal: killed" in m for m in oom)
    assert "Error Type: Runtime.OutOfMemory" in oom[-1]


def test_json_format_logs_carry_platform_records() -> None:
    spec = functions(1, seed=1)[0]
    records = [json.loads(m) for _, m in render_json(spec, invocation(status="error"))]
    types = [r.get("type") for r in records]

    assert types[0] == "platform.initStart"
    assert "platform.start" in types and types[-1] == "platform.report"
    report = records[-1]["record"]
    assert report["metrics"] == {
        "durationMs": 102.35,
        "billedDurationMs": 348,
        "memorySizeMB": spec.memory_mb,
        "maxMemoryUsedMB": 67,
        "initDurationMs": 245.12,
    }
    assert report["status"] == "error"


def test_the_catalogue_covers_every_runtime_family_and_is_reproducible() -> None:
    specs = functions(25, seed=7)
    assert {s.family for s in specs} == {"python", "nodejs", "java", "go", "dotnet", "ruby"}
    assert {s.architecture for s in specs} == {"arm64", "x86_64"}
    assert [s.__dict__ for s in specs] == [s.__dict__ for s in functions(25, seed=7)]
    assert len({s.name for s in functions(60, seed=1)}) == 60


def test_the_ledger_counts_statuses_and_cold_starts() -> None:
    ledger = Ledger()
    ledger.add("f", invocation())
    ledger.add("f", invocation(status="timeout", init_ms=None))
    assert ledger.as_dict()["by_status"] == {"f": {"success": 1, "timeout": 1}}
    assert ledger.as_dict()["cold_starts"] == {"f": 1}


class RecordingLogs:
    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[int, str]]] = {}

    def create_log_stream(self, *, logGroupName: str, logStreamName: str) -> None:
        assert logStreamName not in self.streams
        self.streams[logStreamName] = []

    def put_log_events(self, *, logGroupName: str, logStreamName: str, logEvents: list[Any]) -> None:
        self.streams[logStreamName] += [(e["timestamp"], e["message"]) for e in logEvents]


class NoMetrics:
    def put_metric_data(self, **kwargs: Any) -> None:
        pass


def _request_span(message: str) -> tuple[str, str] | None:
    """("start" | "end", request id) of a START or REPORT event, text or JSON."""
    if message.startswith(("START RequestId: ", "REPORT RequestId: ")):
        return ("start" if message.startswith("START") else "end"), message.split()[2]
    if message.startswith("{"):
        record = json.loads(message)
        kind = {"platform.start": "start", "platform.report": "end"}.get(record.get("type", ""))
        if kind:
            return kind, record["record"]["requestId"]
    return None


def test_a_log_stream_runs_one_invocation_at_a_time_as_a_lambda_container_does() -> None:
    logs = RecordingLogs()
    generator = TrafficGenerator(functions(4, seed=2), logs=logs, cloudwatch=NoMetrics(), seed=3, per_minute=600)
    for _ in range(10):
        generator.tick(60)

    written = 0
    for events in logs.streams.values():
        open_request = None
        for _, message in sorted(events, key=lambda e: e[0]):  # the order FilterLogEvents returns
            span = _request_span(message)
            if span and span[0] == "start":
                assert open_request is None, f"{span[1]} starts while {open_request} runs in the same stream"
                open_request = span[1]
            elif span:
                assert open_request == span[1]
                open_request, written = None, written + 1
    assert written == generator.ledger.as_dict()["total_invocations"] > 5000


def test_a_service_wide_pace_shares_one_bucket() -> None:
    assert pace_for("lambda", "ListTags")[0] == pace_for("lambda", "GetFunctionConcurrency")[0] == "lambda:*"
    assert pace_for("logs", "FilterLogEvents") == ("logs:FilterLogEvents", Pace(rate=3, burst=3))
    assert pace_for("sqs", "ListQueues")[0] != pace_for("sqs", "GetQueueAttributes")[0]


def test_the_token_bucket_paces_calls_shared_through_redis(db: Any) -> None:
    from aws import ratelimit

    key = f"test:{random.random()}"
    pace = Pace(rate=4, burst=2)
    started = time.monotonic()
    waits = [ratelimit.take(key, pace) for _ in range(4)]
    elapsed = time.monotonic() - started

    assert waits[:2] == [0.0, 0.0]  # the burst
    assert elapsed >= 0.45  # two more tokens at 4 per second
    assert ratelimit.take(f"{key}:other", pace) == 0.0  # another API has its own bucket
    with pytest.raises(TimeoutError):
        ratelimit.take(key, Pace(rate=0.01, burst=1), timeout=0.1)


def test_the_sandbox_schedules_a_latency_step_and_a_traffic_drop_in_a_few_hours() -> None:
    specs = functions(4, seed=2)
    hours = [datetime(2026, 3, 2, tzinfo=UTC) + timedelta(hours=h) for h in range(24 * 28)]
    slow = [h for h in hours if anomaly_hour(7, specs[0].name, "latency", h)]
    assert 0 < len(slow) < 3 * len(hours) / ANOMALY_EVERY
    # Rarely the same hour of the day: the same-hour baseline stays normal.
    assert max(sum(1 for h in slow if h.hour == k) for k in range(24)) <= 4

    # The step multiplies the duration the same draw would have had.
    normal = plan_invocation(specs[0], random.Random(1), 0, False)
    stepped = plan_invocation(specs[0], random.Random(1), 0, False, LATENCY_STEP)
    if normal.status == "success":
        assert stepped.duration_ms == pytest.approx(
            min(normal.duration_ms * LATENCY_STEP, specs[0].timeout_s * 1000 + 40), rel=0.01
        )

    def invocations(at: datetime, anomalies: bool) -> dict[str, int]:
        generator = TrafficGenerator(
            specs, logs=RecordingLogs(), cloudwatch=NoMetrics(), seed=7, per_minute=600, anomalies=anomalies
        )
        generator.tick(600, now=at)
        return dict(generator.ledger.invocations)

    drop = next(h for h in hours if anomaly_hour(7, specs[1].name, "drop", h)) + timedelta(minutes=30)
    assert (
        invocations(drop, anomalies=True).get(specs[1].name, 0) < invocations(drop, anomalies=False)[specs[1].name] / 3
    )
