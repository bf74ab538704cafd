"""Traffic for the sandbox: Lambda log events exactly as Lambda writes them, and the
matching CloudWatch metrics; the CloudWatch metrics of the ECS services and Firehose
delivery streams of the catalogue.

`render_invocation` is pure (seeded randomness in, events out); `TrafficGenerator` writes
them to the sandbox's CloudWatch Logs and Metrics and keeps a ledger of what it wrote, so
tests can compare what the collectors ingested with the truth.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .catalog import DELIVERY_STREAMS, ECS_CLUSTERS, ECS_SERVICES, FunctionSpec

Event = tuple[int, str]  # (timestamp ms, message)


@dataclass
class Invocation:
    request_id: str
    status: str  # success | error | timeout | out_of_memory
    started_ms: int
    duration_ms: float
    billed_ms: int
    max_memory_mb: int
    init_ms: float | None
    trace_id: str | None


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _trace(rng: random.Random, started_ms: int) -> str:
    return f"1-{started_ms // 1000:08x}-{rng.getrandbits(96):024x}"


# Scheduled anomalies, so that the demo shows some: in about one hour in ANOMALY_EVERY (which
# hours is fixed by the seed, and differs from day to day, so that they never become the
# baseline), the first function's durations step up and the second one's traffic drops.
ANOMALY_EVERY = 24
LATENCY_STEP = 6.0
TRAFFIC_DROP = 0.1


def anomaly_hour(seed: int, function: str, effect: str, t: datetime) -> bool:
    """Whether `effect` ("latency" or "drop") is scheduled on `function` (or any named
    resource) in t's UTC hour."""
    digest = hashlib.sha256(f"{seed}:{function}:{effect}:{t.astimezone(UTC):%Y%m%d%H}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % ANOMALY_EVERY == 0


# The demo's daily and weekly rhythm (UTC): traffic peaks mid-afternoon at 1.3 times the
# configured rate, falls to 0.4 of it before dawn, and weekends carry 0.6 of a weekday's.
# Smooth in time, so the live generators and the history (`history.py`) agree minute by minute.
RHYTHM_PEAK, RHYTHM_TROUGH, WEEKEND = 1.3, 0.4, 0.6


def rhythm(t: datetime) -> float:
    """The share of the configured traffic rate at `t`."""
    t = t.astimezone(UTC)
    hour = t.hour + t.minute / 60
    daily = RHYTHM_TROUGH + (RHYTHM_PEAK - RHYTHM_TROUGH) * (0.5 - 0.5 * math.cos(2 * math.pi * (hour - 3) / 24))
    return daily * (WEEKEND if t.weekday() >= 5 else 1.0)


def plan_invocation(
    spec: FunctionSpec, rng: random.Random, started_ms: int, cold: bool, slower: float = 1.0, *, ids: bool = True
) -> Invocation:
    """One invocation of `spec`; without `ids`, no request id or trace id is drawn (the
    history, which keeps only the invocation's figures)."""
    roll = rng.random()
    if roll < spec.oom_rate:
        status = "out_of_memory"
    elif roll < spec.oom_rate + spec.timeout_rate:
        status = "timeout"
    elif roll < spec.oom_rate + spec.timeout_rate + spec.error_rate:
        status = "error"
    else:
        status = "success"
    duration = max(0.8, rng.lognormvariate(math.log(spec.typical_ms), 0.5)) * slower
    if status == "timeout":
        duration = spec.timeout_s * 1000 + rng.uniform(0.5, 30)
    duration = round(min(duration, spec.timeout_s * 1000 + 40), 2)
    init = round(rng.uniform(150, 450) * (4 if spec.family in {"java", "dotnet"} else 1), 2) if cold else None
    # Since August 2025 the init phase of on-demand functions is billed too.
    billed = math.ceil(duration + (init or 0))
    if status == "timeout":
        billed = spec.timeout_s * 1000
    used = (
        spec.memory_mb if status == "out_of_memory" else min(spec.memory_mb, rng.randint(40, 60) + spec.memory_mb // 20)
    )
    if spec.memory_mb >= 3008:
        used = rng.randint(70, 110)  # the over-provisioned one
    if not ids:
        return Invocation("", status, started_ms, duration, billed, used, init, None)
    trace = _trace(rng, started_ms) if spec.tracing else None
    return Invocation(
        str(uuid.UUID(int=rng.getrandbits(128), version=4)), status, started_ms, duration, billed, used, init, trace
    )


def _error_lines(spec: FunctionSpec, inv: Invocation, ts: int) -> list[str]:
    rid = inv.request_id
    if spec.family == "python":
        return [
            "[ERROR] KeyError: 'order_id'\nTraceback (most recent call last):\n"
            '\xa0\xa0File "/var/task/app.py", line 42, in handler\n'
            "\xa0\xa0\xa0\xa0order = event['order_id']\n"
        ]
    if spec.family == "nodejs":
        payload = {
            "errorType": "TypeError",
            "errorMessage": "Cannot read properties of undefined (reading 'id')",
            "stack": [
                "TypeError: Cannot read properties of undefined (reading 'id')",
                "    at Runtime.handler (file:///var/task/index.mjs:14:27)",
                "    at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)",
            ],
        }
        return [f"{_iso(ts)}\t{rid}\tERROR\tInvoke Error \t{json.dumps(payload, separators=(',', ':'))}\n"]
    if spec.family == "java":
        return [
            "java.lang.IllegalStateException: Order 4711 has no customer\n"
            "\tat com.example.Handler.handleRequest(Handler.java:37)\n"
            "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(Unknown Source)\n"
        ]
    if spec.family == "go":
        return [
            "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\n"
            "main.handler({0x0, 0x0})\n\t/src/main.go:21 +0x1d\n",
            json.dumps({"errorMessage": "index out of range [3] with length 3", "errorType": "runtimeError"}),
        ]
    if spec.family == "dotnet":
        return [
            f"{_iso(ts)}\t{rid}\tfail\tSystem.InvalidOperationException: Sequence contains no elements\n"
            "   at System.Linq.ThrowHelper.ThrowNoElementsException()\n"
            "   at Orders.Function.Handler(Order input) in /src/Function.cs:line 28\n"
        ]
    return [  # ruby
        "Error raised from handler method\n"
        + json.dumps(
            {
                "errorMessage": "undefined method `fetch' for nil:NilClass",
                "errorType": "Function<NoMethodError>",
                "stackTrace": ["/var/task/function.rb:9:in `handler'"],
            }
        )
    ]


def _report_text(spec: FunctionSpec, inv: Invocation) -> str:
    parts = [
        f"REPORT RequestId: {inv.request_id}",
        f"Duration: {inv.duration_ms:.2f} ms",
        f"Billed Duration: {inv.billed_ms} ms",
        f"Memory Size: {spec.memory_mb} MB",
        f"Max Memory Used: {inv.max_memory_mb} MB",
    ]
    if inv.init_ms is not None:
        parts.append(f"Init Duration: {inv.init_ms:.2f} ms")
    if inv.status == "timeout":
        parts.append("Status: timeout")
    elif inv.status == "out_of_memory":
        parts += ["Status: error", "Error Type: Runtime.OutOfMemory"]
    line = "\t".join(parts) + "\t"
    if inv.trace_id:
        line += f"\nXRAY TraceId: {inv.trace_id}\tSegmentId: {uuid.UUID(inv.request_id).hex[:16]}\tSampled: true\t"
    return line + "\n"


def render_text(spec: FunctionSpec, inv: Invocation) -> list[Event]:
    t = inv.started_ms
    rid = inv.request_id
    end = t + int(inv.duration_ms)
    events: list[Event] = [(t, f"START RequestId: {rid} Version: $LATEST\n")]
    if spec.family == "python":
        events.append((t + 1, f"[INFO]\t{_iso(t + 1)}\t{rid}\tProcessing order batch\n"))
    elif spec.family == "nodejs":
        events.append((t + 1, f"{_iso(t + 1)}\t{rid}\tINFO\tProcessing order batch\n"))
    else:
        events.append((t + 1, "Processing order batch\n"))
    if inv.status == "error":
        events += [(end, line) for line in _error_lines(spec, inv, end)]
    elif inv.status == "timeout":
        events.append((end, f"{_iso(end)} {rid} Task timed out after {spec.timeout_s:.2f} seconds\n"))
    elif inv.status == "out_of_memory":
        events.append((end, f"{_iso(end)} {rid} Error: Runtime exited with error: signal: killed\nRuntime.ExitError\n"))
    events.append((end, f"END RequestId: {rid}\n"))
    events.append((end, _report_text(spec, inv)))
    return events


def render_json(spec: FunctionSpec, inv: Invocation) -> list[Event]:
    t = inv.started_ms
    rid = inv.request_id
    end = t + int(inv.duration_ms)

    def platform(ts: int, kind: str, record: dict[str, Any]) -> Event:
        return ts, json.dumps({"time": _iso(ts), "type": kind, "record": record})

    events: list[Event] = []
    if inv.init_ms is not None:
        events.append(
            platform(
                t - int(inv.init_ms),
                "platform.initStart",
                {"initializationType": "on-demand", "phase": "init", "runtimeVersion": spec.runtime},
            )
        )
    start_record: dict[str, Any] = {"requestId": rid, "version": "$LATEST"}
    if inv.trace_id:
        start_record["tracing"] = {
            "spanId": uuid.UUID(rid).hex[:16],
            "type": "X-Amzn-Trace-Id",
            "value": f"Root={inv.trace_id};Sampled=1",
        }
    events.append(platform(t, "platform.start", start_record))
    events.append(
        (
            t + 1,
            json.dumps(
                {"timestamp": _iso(t + 1), "level": "INFO", "message": "Processing order batch", "requestId": rid}
            ),
        )
    )
    done: dict[str, Any] = {"requestId": rid, "status": "success"}
    if inv.status == "error":
        events.append(
            (
                end,
                json.dumps(
                    {
                        "timestamp": _iso(end),
                        "level": "ERROR",
                        "message": "Unhandled error",
                        "errorType": "ValueError",
                        "errorMessage": "Order total must be positive, got -3",
                        "stackTrace": ['  File "/var/task/app.py", line 51, in handler\n'],
                        "requestId": rid,
                    }
                ),
            )
        )
        done = {"requestId": rid, "status": "error", "errorType": "ValueError"}
    elif inv.status == "timeout":
        done = {"requestId": rid, "status": "timeout"}
    elif inv.status == "out_of_memory":
        done = {"requestId": rid, "status": "error", "errorType": "Runtime.OutOfMemory"}
    events.append(platform(end, "platform.runtimeDone", {**done, "metrics": {"durationMs": inv.duration_ms}}))
    metrics: dict[str, Any] = {
        "durationMs": inv.duration_ms,
        "billedDurationMs": inv.billed_ms,
        "memorySizeMB": spec.memory_mb,
        "maxMemoryUsedMB": inv.max_memory_mb,
    }
    if inv.init_ms is not None:
        metrics["initDurationMs"] = inv.init_ms
    report: dict[str, Any] = {"requestId": rid, "metrics": metrics, "status": done["status"]}
    if done.get("errorType"):
        report["errorType"] = done["errorType"]
    if inv.trace_id:
        report["tracing"] = start_record["tracing"]
    events.append(platform(end, "platform.report", report))
    return events


# What the traced functions call: (name, namespace, operation, resource, typical ms).
DOWNSTREAM = [
    ("DynamoDB", "aws", "GetItem", "users", 8.0),
    ("SQS", "aws", "SendMessage", "https://sqs.sandbox.local/000000000000/orders", 12.0),
    ("api.payments.example.com", "remote", "POST", "https://api.payments.example.com/v1/charges", 60.0),
    ("DynamoDB", "aws", "PutItem", "orders", 10.0),
]


def call_target(name: str, namespace: str, operation: str) -> str:
    """How the dashboard names a call's target: service + operation, or the host."""
    return f"{name} {operation}" if namespace == "aws" else name


def render_trace(spec: FunctionSpec, inv: Invocation) -> list[dict[str, Any]]:
    """The X-Ray segment document Lambda's runtime would send for one traced invocation:
    the function's segment with a subsegment per downstream call. Its own randomness comes
    from the trace id, so adding traces changes nothing else the generator writes.

    A failed invocation has one failing call (a 503 from the payments host, or DynamoDB
    throttling after retries); a timed-out one a call still waiting when it was killed; a
    few successful ones a slow or retried call."""
    assert inv.trace_id
    rng = random.Random(inv.trace_id)
    picks = sorted(rng.sample(range(len(DOWNSTREAM)), rng.randint(1, 3)))
    start = inv.started_ms / 1000
    end = start + inv.duration_ms / 1000
    raw = [max(1.0, rng.lognormvariate(math.log(DOWNSTREAM[i][4]), 0.4)) for i in picks]
    slow = inv.status == "success" and rng.random() < 0.05
    if slow:
        raw[-1] *= 10
    fail_at = rng.randrange(len(picks)) if inv.status in {"error", "timeout", "out_of_memory"} else None
    room = inv.duration_ms * 0.9
    scale = min(1.0, room / sum(raw)) if sum(raw) else 1.0
    subsegments = []
    t = start + 0.001
    for n, (i, ms) in enumerate(zip(picks, raw, strict=True)):
        name, namespace, operation, resource, _ = DOWNSTREAM[i]
        sub: dict[str, Any] = {
            "id": f"{rng.getrandbits(64):016x}",
            "name": name,
            "namespace": namespace,
            "start_time": round(t, 6),
        }
        duration = ms * scale / 1000
        status = 200
        if n == fail_at:
            if inv.status == "timeout":
                duration = max(duration, end - t)  # still waiting when the function was killed
                sub.update(fault=True)
                status = 504
            elif namespace == "remote":
                sub.update(fault=True)
                status = 503
            else:
                sub.update(error=True, throttle=True)
                status = 400
        sub["end_time"] = round(min(t + duration, end), 6)
        if namespace == "aws":
            key = "queue_url" if name == "SQS" else "table_name"
            sub["aws"] = {"operation": operation, key: resource, "retries": 3 if sub.get("throttle") else 0}
        else:
            sub["http"] = {"request": {"method": operation, "url": resource}}
        sub.setdefault("http", {})["response"] = {"status": status}
        subsegments.append(sub)
        t = sub["end_time"] + 0.0005
    segment: dict[str, Any] = {
        "id": uuid.UUID(inv.request_id).hex[:16],
        "trace_id": inv.trace_id,
        "name": spec.name,
        "origin": "AWS::Lambda::Function",
        "start_time": round(start, 6),
        "end_time": round(end, 6),
        "aws": {"request_id": inv.request_id},
        "subsegments": subsegments,
    }
    if inv.status != "success":
        segment["fault" if inv.status != "error" else "error"] = True
    return [segment]


def render_invocation(spec: FunctionSpec, inv: Invocation) -> list[Event]:
    return render_json(spec, inv) if spec.log_format == "JSON" else render_text(spec, inv)


@dataclass
class Ledger:
    """What the generator wrote, per function: the truth collectors are checked against."""

    invocations: Counter[str] = field(default_factory=Counter)
    by_status: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    cold_starts: Counter[str] = field(default_factory=Counter)
    log_events: int = 0
    # function -> call target -> [calls, failed calls], per trace written to X-Ray
    trace_calls: dict[str, dict[str, list[int]]] = field(default_factory=lambda: defaultdict(dict))
    traces: dict[str, str] = field(default_factory=dict)  # trace id -> function

    def add(self, name: str, inv: Invocation) -> None:
        self.invocations[name] += 1
        self.by_status[name][inv.status] += 1
        if inv.init_ms is not None:
            self.cold_starts[name] += 1

    def add_trace(self, name: str, trace_id: str, segments: list[dict[str, Any]]) -> None:
        self.traces[trace_id] = name
        for segment in segments:
            for sub in segment.get("subsegments", []):
                counts = self.trace_calls[name].setdefault(
                    call_target(sub["name"], sub["namespace"], sub.get("aws", {}).get("operation", "")), [0, 0]
                )
                counts[0] += 1
                counts[1] += bool(sub.get("error") or sub.get("fault"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "invocations": dict(self.invocations),
            "by_status": {k: dict(v) for k, v in self.by_status.items()},
            "cold_starts": dict(self.cold_starts),
            "log_events": self.log_events,
            "total_invocations": sum(self.invocations.values()),
        }


class TrafficGenerator:
    """Writes a tick of traffic per call: logs (one stream per container, one invocation at
    a time in each) and metrics."""

    def __init__(
        self,
        specs: list[FunctionSpec],
        *,
        logs: Any,
        cloudwatch: Any,
        seed: int,
        per_minute: float,
        xray: Any = None,
        anomalies: bool = False,
        rhythm: bool = False,
    ) -> None:
        self.specs = specs
        self.seed = seed
        # With the daily and weekly rhythm (`rhythm`), `per_minute` is the rate at 1.0 of it.
        self.with_rhythm = rhythm
        # (function, effect) of the scheduled anomalies (see `anomaly_hour`), when asked for.
        self.anomalies = [(specs[0].name, "latency"), (specs[1].name, "drop")] if anomalies and len(specs) >= 2 else []
        self.logs = logs
        self.cloudwatch = cloudwatch
        # With an X-Ray client, traced invocations also send their segments (PutTraceSegments).
        self.xray = xray
        self.rng = random.Random(seed)
        self.per_minute = per_minute
        self.streams: dict[str, str] = {}  # function → its latest stream
        self.busy_until: dict[str, dict[str, int]] = {}  # function → stream → when its invocation ends (ms)
        self.ledger = Ledger()

    def _stream(self, spec: FunctionSpec, inv: Invocation, cold: bool, now: datetime) -> str:
        """A warm container's stream that is free when `inv` starts, or a new one (a cold
        start, or one more concurrent container): a Lambda container runs one invocation at
        a time, and its stream says so, which is what parsers of the logs rely on."""
        streams = self.busy_until.setdefault(spec.name, {})
        free = [] if cold else [s for s, busy in streams.items() if busy < inv.started_ms]
        if free:
            name = free[-1]
        else:
            name = f"{now:%Y/%m/%d}/[$LATEST]{self.rng.getrandbits(128):032x}"
            self.logs.create_log_stream(logGroupName=f"/aws/lambda/{spec.name}", logStreamName=name)
            if len(streams) >= 50:  # containers are recycled: forget the oldest
                del streams[next(iter(streams))]
        streams[name] = inv.started_ms + int(inv.duration_ms)
        self.streams[spec.name] = name
        return name

    def tick(self, seconds: float, now: datetime | None = None) -> int:
        """Generate `seconds` worth of traffic ending now; return invocations written."""
        now = now or datetime.now(tz=UTC)
        written = 0
        metric_data: list[dict[str, Any]] = []
        segments: list[str] = []
        for spec in self.specs:
            expected, slower = self.expected(spec, seconds, now)
            count = int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)
            if not count:
                continue
            start_ms = int((now - timedelta(seconds=seconds)).timestamp() * 1000)
            first_cold = spec.name not in self.streams
            invocations = []
            now_ms = int(now.timestamp() * 1000)
            for i in range(count):
                cold = (first_cold and i == 0) or self.rng.random() < spec.cold_start_rate
                started = start_ms + int(self.rng.uniform(0, seconds * 1000 - 50))
                inv = plan_invocation(spec, self.rng, started, cold, slower)
                overrun = started + int(inv.duration_ms) + 1 - now_ms
                if overrun > 0:
                    # Lambda writes END and REPORT when an invocation ends: never in the future.
                    inv.started_ms -= overrun
                invocations.append((cold, inv))
            invocations.sort(key=lambda pair: pair[1].started_ms)
            by_stream: dict[str, list[Event]] = defaultdict(list)
            for cold, inv in invocations:
                stream = self._stream(spec, inv, cold, now)
                by_stream[stream].extend(render_invocation(spec, inv))
                self.ledger.add(spec.name, inv)
                if self.xray is not None and inv.trace_id:
                    docs = render_trace(spec, inv)
                    self.ledger.add_trace(spec.name, inv.trace_id, docs)
                    segments += [json.dumps(d) for d in docs]
            for stream, events in by_stream.items():
                events.sort(key=lambda e: e[0])
                self.logs.put_log_events(
                    logGroupName=f"/aws/lambda/{spec.name}",
                    logStreamName=stream,
                    logEvents=[{"timestamp": ts, "message": msg} for ts, msg in events],
                )
                self.ledger.log_events += len(events)
            written += count
            metric_data += self._metrics(spec, [inv for _, inv in invocations], now)
        for i in range(0, len(metric_data), 500):
            self.cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=metric_data[i : i + 500])
        for i in range(0, len(segments), 50):
            self.xray.put_trace_segments(TraceSegmentDocuments=segments[i : i + 50])
        for namespace, data in self.service_metrics(seconds, now).items():
            for i in range(0, len(data), 500):
                self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[i : i + 500])
        return written

    def rate(self, spec: FunctionSpec) -> float:
        """`spec`'s invocations per minute, before the rhythm and the anomalies."""
        total_weight = sum(s.weight for s in self.specs) or 1
        return self.per_minute * spec.weight / total_weight

    def effects(self, spec: FunctionSpec, t: datetime) -> set[str]:
        """The anomalies scheduled on `spec` in t's hour: "latency", "drop"."""
        return {e for name, e in self.anomalies if name == spec.name and anomaly_hour(self.seed, name, e, t)}

    def expected(self, spec: FunctionSpec, seconds: float, now: datetime) -> tuple[float, float]:
        """How many invocations of `spec` a tick of `seconds` ending `now` expects, and how
        much slower than usual they run (the rhythm, the scheduled anomalies)."""
        expected = self.rate(spec) * seconds / 60 * (rhythm(now) if self.with_rhythm else 1.0)
        effects = self.effects(spec, now)
        if "drop" in effects:
            expected *= TRAFFIC_DROP
        return expected, LATENCY_STEP if "latency" in effects else 1.0

    def backfill(self, since: datetime, now: datetime | None = None) -> int:
        """The traffic of [since, now) at once, a tick a minute (a first start writes the
        current hour's so far: the hour is whole when collected). Returns invocations written."""
        now = now or datetime.now(tz=UTC)
        written = 0
        t = since + timedelta(minutes=1)
        while t <= now:
            written += self.tick(60, now=t)
            t += timedelta(minutes=1)
        return written

    def service_metrics(self, seconds: float, now: datetime) -> dict[str, list[dict[str, Any]]]:
        """One datum per metric per tick for the catalogue's ECS services and delivery
        streams, around each one's typical figures (a service with no running task reports
        no utilisation, as ECS does)."""
        jitter = self.rng.uniform
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # A stretch longer than a tick (the history's) is as many ticks as it holds: gauges get
        # a sample per tick (up to 60), a count's jitter shrinks as it averages out.
        ticks = max(1.0, seconds / 5)
        samples = min(60, round(ticks))

        def datum(namespace: str, name: str, dims: list[dict[str, str]], value: float, unit: str) -> None:
            out[namespace].append(
                {"MetricName": name, "Dimensions": dims, "Timestamp": now, "Value": value, "Unit": unit}
            )

        def gauge(namespace: str, name: str, dims: list[dict[str, str]], values: list[float], unit: str) -> None:
            if len(values) == 1:
                datum(namespace, name, dims, values[0], unit)
            else:
                out[namespace].append(
                    {"MetricName": name, "Dimensions": dims, "Timestamp": now, "Values": values,
                     "Counts": [1.0] * len(values), "Unit": unit}
                )  # fmt: skip

        for svc in ECS_SERVICES:
            dims = [{"Name": "ClusterName", "Value": svc.cluster}, {"Name": "ServiceName", "Value": svc.name}]
            if svc.running:
                cpu = [round(min(100.0, max(0.1, svc.cpu_percent * jitter(0.85, 1.15))), 2) for _ in range(samples)]
                memory = [
                    round(min(100.0, max(0.1, svc.memory_percent * jitter(0.95, 1.05))), 2) for _ in range(samples)
                ]
                gauge("AWS/ECS", "CPUUtilization", dims, cpu, "Percent")
                gauge("AWS/ECS", "MemoryUtilization", dims, memory, "Percent")
            if ECS_CLUSTERS.get(svc.cluster):
                datum("ECS/ContainerInsights", "RunningTaskCount", dims, svc.running, "Count")
                datum("ECS/ContainerInsights", "DesiredTaskCount", dims, svc.desired, "Count")
        busy = rhythm(now) if self.with_rhythm else 1.0
        for stream in DELIVERY_STREAMS:
            dims = [{"Name": "DeliveryStreamName", "Value": stream.name}]
            records = round(stream.records_per_minute * busy * seconds / 60 * (1 + jitter(-0.2, 0.2) / ticks**0.5))
            throttled = round(records * stream.throttled_share)
            datum("AWS/Firehose", "IncomingRecords", dims, records, "Count")
            datum("AWS/Firehose", "IncomingBytes", dims, records * stream.record_bytes, "Bytes")
            datum("AWS/Firehose", "ThrottledRecords", dims, throttled, "Count")
            datum("AWS/Firehose", "DeliveryToS3.Records", dims, round(records * stream.success), "Count")
            datum("AWS/Firehose", "DeliveryToS3.Success", dims, stream.success, "None")
            freshness = [float(round(stream.freshness_s * jitter(0.9, 1.1))) for _ in range(samples)]
            gauge("AWS/Firehose", "DeliveryToS3.DataFreshness", dims, freshness, "Seconds")
        return out

    @staticmethod
    def _metrics(spec: FunctionSpec, invocations: list[Invocation], now: datetime) -> list[dict[str, Any]]:
        dims = [{"Name": "FunctionName", "Value": spec.name}]
        durations = [inv.duration_ms for inv in invocations]
        # Raw values, as Lambda reports them (150 per datum at most), so percentiles exist.
        duration_data = [
            {
                "MetricName": "Duration",
                "Dimensions": dims,
                "Timestamp": now,
                "Values": durations[i : i + 150],
                "Counts": [1.0] * len(durations[i : i + 150]),
                "Unit": "Milliseconds",
            }
            for i in range(0, len(durations), 150)
        ]
        errors = sum(1 for inv in invocations if inv.status != "success")
        return [
            {
                "MetricName": "Invocations",
                "Dimensions": dims,
                "Timestamp": now,
                "Value": len(invocations),
                "Unit": "Count",
            },
            {"MetricName": "Errors", "Dimensions": dims, "Timestamp": now, "Value": errors, "Unit": "Count"},
            {"MetricName": "Throttles", "Dimensions": dims, "Timestamp": now, "Value": 0, "Unit": "Count"},
            *duration_data,
            {"MetricName": "ConcurrentExecutions", "Dimensions": dims, "Timestamp": now, "Value": 1, "Unit": "Count"},
        ]

    def write_ledger(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.ledger.as_dict(), indent=1))
        tmp.replace(path)
