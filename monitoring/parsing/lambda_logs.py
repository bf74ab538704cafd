"""AWS Lambda CloudWatch Logs events → invocations.

Pure Python (no Django). `parse_events` takes events as FilterLogEvents / GetLogEvents /
a decoded subscription payload return them and never raises on bad input.

Algorithm:

1. Normalise: keep events that are mappings with a numeric `timestamp` and a str
   `message`; strip the message's trailing newline. Anything else is counted in `skipped`.
   An event whose `eventId` was already seen is a duplicate and dropped.
2. Sort stably by timestamp. FilterLogEvents interleaves streams and sources are not always
   chronological, but events of one millisecond keep their source order, which is
   Lambda's (END, then REPORT, then an old-style "Task timed out" line).
3. Single pass. Each line is classified by its first characters: START / END / REPORT /
   INIT_* / XRAY text lines, JSON lines (`platform.*` records or application JSON),
   runtime-prefixed lines (`<time>\\t<request id>\\t<level>\\t...`), bare lines. A line
   that names its request id goes to that invocation (created on first sight, so windows
   that start mid-invocation still work); a line that does not goes to the invocation open
   in the same log stream (START/END bracketing: an execution environment runs one
   invocation at a time); else it is an orphan (init phase output, foreign lines).
   A START for a request id whose earlier execution already started or reported opens a
   new attempt (Lambda retries async events under the same request id).
   Metrics, status and error evidence are collected on a per-invocation accumulator.
4. Assembly: status by precedence out_of_memory > timeout > error > success > unknown
   (evidence arrives in any order: old logs print "Task timed out" after the REPORT),
   the best-ranked error candidate gives type, message and frames, invocations are ordered
   by start (START time, else their earliest line).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import isfinite
from typing import Any

from .lambda_errors import (
    KIND_OOM,
    KIND_TIMEOUT,
    OUT_OF_MEMORY_TYPE,
    RANK_PLATFORM,
    ErrorInfo,
    detect_text,
    error_from_json,
    error_groups,
)

__all__ = [
    "InitReport",
    "LogLine",
    "ParseResult",
    "ParsedInvocation",
    "error_groups",
    "invocation_to_dict",
    "parse_events",
]


@dataclass(slots=True)
class LogLine:
    timestamp_ms: int
    message: str  # verbatim, trailing newline stripped
    log_stream: str
    event_id: str | None = None


@dataclass
class ParsedInvocation:
    request_id: str
    attempt: int = 1
    status: str = "unknown"  # success | error | timeout | out_of_memory | unknown
    started_at: datetime | None = None
    # How `started_at` is known: "start" (its START line or platform.start), "report"
    # (REPORT time − Duration: the window began after the START) or "lines" (its earliest
    # line: a lower bound on a view that saw neither). Storage matches re-reads on it.
    start_source: str = "lines"
    ended_at: datetime | None = None
    duration_ms: float | None = None
    billed_duration_ms: float | None = None
    memory_size_mb: int | None = None
    max_memory_used_mb: int | None = None
    init_duration_ms: float | None = None
    restore_duration_ms: float | None = None
    billed_restore_duration_ms: float | None = None
    cold_start: bool = False
    xray_trace_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_frames: list[str] = field(default_factory=list)
    log_stream: str = ""
    complete: bool = False
    lines: list[LogLine] = field(default_factory=list)


@dataclass
class InitReport:
    """An INIT_REPORT / platform.initReport: init outcome of an execution environment."""

    log_stream: str
    timestamp_ms: int
    phase: str | None = None  # init | invoke (init retried inside an invocation)
    status: str | None = None  # success | error | timeout (absent = success in old text lines)
    error_type: str | None = None
    init_duration_ms: float | None = None
    request_id: str | None = None  # the invocation it happened in (phase invoke)


@dataclass
class ParseResult:
    invocations: list[ParsedInvocation]  # in order of start
    skipped: int  # malformed / unattributable lines counted and skipped
    orphans: list[LogLine]  # lines that belong to no invocation (init phase output, foreign lines)
    init_reports: list[InitReport] = field(default_factory=list)


# Request ids are UUIDs; the AWS docs obfuscate hex digits with "xmpl", and elide ("f8ac1208...").
_RID = r"[0-9A-Za-z][\w.\-]*"
_UUID = r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}"
_START = re.compile(r"START RequestId:[ \t]*(" + _RID + r")(?=\s|$)")
_END = re.compile(r"END RequestId:[ \t]*(" + _RID + r")(?=\s|$)")
_REPORT = re.compile(r"REPORT RequestId:[ \t]*(" + _RID + r")(?=\s|$)")
# Longest names first: a bare "Duration:" also matches inside "Init Duration:",
# "Billed Duration:" and "Restore Duration:". Scanning left to right, the longer name
# starts earlier, so it wins its position and the inner "Duration" is never seen.
_REPORT_FIELD = re.compile(
    r"(Billed Restore Duration|Restore Duration|Init Duration|Billed Duration|Max Memory Used|Memory Size"
    r"|Duration|Status|Error Type|Phase):[ \t]*([^\s]+)"
)
_XRAY = re.compile(r"XRAY TraceId:[ \t]*(1-[0-9A-Za-z]+-[0-9A-Za-z]+)")
_TRACE_ROOT = re.compile(r"Root=(1-[0-9A-Za-z]+-[0-9A-Za-z]+)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?$")
MAX_DURATION_MS = 900_000  # Lambda's 15-minute maximum: a longer "Duration" is not a real one
# "<time>\t<request id>\t<LEVEL>\t" (Node, .NET, Java log4j), "[LEVEL]\t<time>\t<id>\t"
# (Python logging; the docs render the tabs as spaces), "<time> <id> " (old Node, timeouts).
_RID_LINE = re.compile(
    r"(?:\[([A-Za-z]+)\][ \t]+)?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?Z?[ \t]+(" + _UUID + r")"
    r"(?:[ \t]+([A-Za-z]+)\t|[ \t]+|$)"
)
# A Node error line behind someone else's prefix (log shippers, Netlify's "7:12:32 PM: ").
_NODE_ERROR = re.compile(
    r"\d{4}-\d\d-\d\dT[\d:.]+Z\t(\S+)\t(ERROR)\t((?:Invoke Error|Uncaught Exception|Unhandled Promise Rejection).*)",
    re.S,
)
_RID_PREFIX = re.compile(r"RequestId:[ \t]*(" + _UUID + r")[ \t]+")
_UUID_ONLY = re.compile(_UUID + r"$")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAILED = ("error", "failure")

# What a line means for its invocation.
_LINE = 0
_BEGIN = 1
_FINISH = 2  # END / platform.runtimeDone
_REPORTED = 3  # REPORT / platform.report


class _Acc:
    """Evidence for one execution (request id + attempt) while the pass runs."""

    __slots__ = (
        "attempt",
        "best",
        "billed",
        "billed_restore",
        "duration",
        "end_ms",
        "error",
        "first_ms",
        "has_end",
        "has_report",
        "has_start",
        "init",
        "init_fallback",
        "lines",
        "max_memory",
        "memory",
        "oom",
        "oom_message",
        "report_ms",
        "restore",
        "rid",
        "seq",
        "start_ms",
        "stream",
        "success",
        "timeout",
        "timeout_message",
        "xray",
    )

    def __init__(self, rid: str, attempt: int, stream: str, seq: int, ts: int) -> None:
        self.rid = rid
        self.attempt = attempt
        self.stream = stream
        self.seq = seq
        self.first_ms = ts
        self.start_ms: int | None = None
        self.end_ms: int | None = None
        self.report_ms: int | None = None
        self.has_start = False
        self.has_end = False
        self.has_report = False
        self.duration: float | None = None
        self.billed: float | None = None
        self.memory: int | None = None
        self.max_memory: int | None = None
        self.init: float | None = None
        self.init_fallback: float | None = None
        self.restore: float | None = None
        self.billed_restore: float | None = None
        self.xray: str | None = None
        self.oom = False
        self.timeout = False
        self.error = False
        self.success = False
        self.oom_message: str | None = None
        self.timeout_message: str | None = None
        self.best: ErrorInfo | None = None
        self.lines: list[LogLine] = []

    def evidence(self, info: ErrorInfo) -> None:
        if info.kind == KIND_OOM:
            self.oom = True
            if self.oom_message is None:
                self.oom_message = info.message
        elif info.kind == KIND_TIMEOUT:
            self.timeout = True
            if self.timeout_message is None:
                self.timeout_message = info.message
        else:
            if info.decisive:
                self.error = True
            if self.best is None or info.rank > self.best.rank:
                self.best = info

    def platform_status(self, status: Any, error_type: Any) -> None:
        """Status / Error Type of a REPORT, platform.report, runtimeDone or invoke-phase init."""
        if error_type == OUT_OF_MEMORY_TYPE:
            self.oom = True
        elif status == "timeout":
            self.timeout = True
        elif status in _FAILED:
            self.error = True
        elif status == "success":
            self.success = True
        if isinstance(error_type, str) and error_type and error_type != OUT_OF_MEMORY_TYPE:
            self.evidence(ErrorInfo("error", RANK_PLATFORM, False, error_type))


def _ms_to_dt(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _iso(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
        return None
    return int(value)


def _trace_root(tracing: Any) -> str | None:
    if isinstance(tracing, dict):
        value = tracing.get("value")
        if isinstance(value, str):
            m = _TRACE_ROOT.search(value)
            if m:
                return m.group(1)
    return None


class _Parser:
    def __init__(self) -> None:
        self.skipped = 0
        self.orphans: list[LogLine] = []
        self.init_reports: list[InitReport] = []
        self.accs: list[_Acc] = []
        self.by_rid: dict[str, list[_Acc]] = {}
        self.open: dict[str, list[_Acc]] = {}  # per stream, most recent last
        self.last_report: dict[str, _Acc] = {}  # per stream, for an XRAY line of its own

    # -- attribution -------------------------------------------------------------------

    def acc_for(self, rid: str, stream: str, ts: int, role: int) -> _Acc:
        attempts = self.by_rid.get(rid)
        acc: _Acc | None = None
        if attempts:
            for candidate in reversed(attempts):
                if candidate.stream == stream:
                    acc = candidate
                    break
            if acc is not None and (
                (role == _BEGIN and (acc.has_start or acc.has_end or acc.has_report))
                or (role == _FINISH and acc.has_end)
                or (role == _REPORTED and acc.has_report)
            ):
                acc = None  # a second execution of the same request id: an async retry
        if acc is None:
            if attempts is None:
                attempts = self.by_rid[rid] = []
            acc = _Acc(rid, len(attempts) + 1, stream, len(self.accs), ts)
            attempts.append(acc)
            self.accs.append(acc)
            if role == _LINE and not self.open.get(stream):
                # Its START is before the window and it is still running: bracket what follows.
                # (Not while another invocation is open: then this is a late line of an
                # earlier one, e.g. Node output of a callback that outlived its invocation.)
                self.open[stream] = [acc]
        return acc

    def close(self, acc: _Acc) -> None:
        stack = self.open.get(acc.stream)
        if stack and acc in stack:
            stack.remove(acc)

    def attach(self, line: LogLine, rid: str | None, info: ErrorInfo | None) -> None:
        if rid is not None:
            acc: _Acc | None = self.acc_for(rid, line.log_stream, line.timestamp_ms, _LINE)
        else:
            stack = self.open.get(line.log_stream)
            acc = stack[-1] if stack else None
        if acc is None:
            self.orphans.append(line)
            return
        acc.lines.append(line)
        if info is not None:
            acc.evidence(info)

    # -- text platform lines -----------------------------------------------------------

    def start(self, line: LogLine) -> None:
        m = _START.match(line.message)
        if m is None:
            self.skipped += 1
            return
        self.begin(self.acc_for(m.group(1), line.log_stream, line.timestamp_ms, _BEGIN), line)

    def begin(self, acc: _Acc, line: LogLine) -> None:
        acc.has_start = True
        acc.start_ms = line.timestamp_ms
        acc.lines.append(line)
        # One execution environment runs one invocation at a time: a START means whatever
        # was open in this stream has finished (its END/REPORT fell outside the window).
        self.open[line.log_stream] = [acc]

    def end(self, line: LogLine) -> None:
        m = _END.match(line.message)
        if m is None:
            self.skipped += 1
            return
        acc = self.acc_for(m.group(1), line.log_stream, line.timestamp_ms, _FINISH)
        self.finish(acc, line)

    def finish(self, acc: _Acc, line: LogLine) -> None:
        acc.has_end = True
        acc.end_ms = line.timestamp_ms
        acc.lines.append(line)
        self.close(acc)

    def report(self, line: LogLine) -> None:
        msg = line.message
        m = _REPORT.match(msg)
        if m is None:
            self.skipped += 1
            return
        fields: dict[str, str] = {}
        for key, value in _REPORT_FIELD.findall(msg, m.end()):
            fields.setdefault(key, value)
        duration = fields.get("Duration")
        if duration is None or not _NUMBER.match(duration):
            self.skipped += 1  # truncated or not a Lambda REPORT at all
            return
        acc = self.acc_for(m.group(1), line.log_stream, line.timestamp_ms, _REPORTED)
        acc.duration = float(duration)
        acc.billed = _text_number(fields.get("Billed Duration"))
        memory = _text_number(fields.get("Memory Size"))
        acc.memory = int(memory) if memory is not None else None
        used = _text_number(fields.get("Max Memory Used"))
        acc.max_memory = int(used) if used is not None else None
        acc.init = _text_number(fields.get("Init Duration"))
        acc.restore = _text_number(fields.get("Restore Duration"))
        acc.billed_restore = _text_number(fields.get("Billed Restore Duration"))
        # The X-Ray segment follows after "\n", or after a tab on the same line (Node 12).
        x = _XRAY.search(msg, m.end())
        if x:
            acc.xray = x.group(1)
        # "Status:" / "Error Type:" exist since about 2023; older REPORTs say nothing.
        acc.platform_status(fields.get("Status"), fields.get("Error Type"))
        self.reported(acc, line)

    def reported(self, acc: _Acc, line: LogLine) -> None:
        acc.has_report = True
        acc.report_ms = line.timestamp_ms
        acc.lines.append(line)
        self.close(acc)
        self.last_report[line.log_stream] = acc

    def init_report(self, line: LogLine) -> None:
        fields = dict(_REPORT_FIELD.findall(line.message))
        report = InitReport(
            line.log_stream,
            line.timestamp_ms,
            phase=fields.get("Phase"),
            status=fields.get("Status"),
            error_type=fields.get("Error Type"),
            init_duration_ms=_text_number(fields.get("Init Duration")),
        )
        self.add_init_report(line, report)

    def add_init_report(self, line: LogLine, report: InitReport) -> None:
        self.init_reports.append(report)
        stack = self.open.get(line.log_stream)
        if report.phase == "invoke" and stack:
            # Init failed before and Lambda retried it inside this invocation.
            acc = stack[-1]
            report.request_id = acc.rid
            if report.init_duration_ms is not None:
                acc.init_fallback = report.init_duration_ms
            acc.platform_status(report.status, report.error_type)
        self.attach(line, None, None)

    def xray_line(self, line: LogLine) -> None:
        # A source that split the REPORT's "\nXRAY ..." part into an event of its own.
        acc = self.last_report.get(line.log_stream)
        m = _XRAY.match(line.message)
        if acc is None or m is None:
            self.attach(line, None, None)
            return
        acc.xray = acc.xray or m.group(1)
        acc.lines.append(line)

    # -- JSON lines ----------------------------------------------------------------------

    def json_line(self, line: LogLine) -> bool:
        """Handle a JSON message; False when it is not a JSON object (treat as text)."""
        try:
            obj = json.loads(line.message)
        except (ValueError, RecursionError):
            return False
        if not isinstance(obj, dict):
            return False
        kind = obj.get("type")
        if isinstance(kind, str) and kind.startswith("platform.") and "record" in obj:
            self.platform(line, kind, obj["record"])
            return True
        rid = None
        for key in ("requestId", "AWSRequestId", "awsRequestId", "function_request_id"):
            value = obj.get(key)
            if isinstance(value, str) and value:
                rid = value
                break
        info = error_from_json(obj) if ("errorType" in obj or "errorMessage" in obj or "message" in obj) else None
        self.attach(line, rid, info)
        return True

    def platform(self, line: LogLine, kind: str, record: Any) -> None:
        if not isinstance(record, dict):
            self.skipped += 1
            return
        rid = record.get("requestId")
        if not isinstance(rid, str) or not rid:
            rid = None
        if kind in ("platform.start", "platform.runtimeDone", "platform.report"):
            if rid is None:
                self.skipped += 1
                return
            if kind == "platform.start":
                acc = self.acc_for(rid, line.log_stream, line.timestamp_ms, _BEGIN)
                acc.xray = acc.xray or _trace_root(record.get("tracing"))
                self.begin(acc, line)
            elif kind == "platform.runtimeDone":
                acc = self.acc_for(rid, line.log_stream, line.timestamp_ms, _FINISH)
                acc.xray = acc.xray or _trace_root(record.get("tracing"))
                acc.platform_status(record.get("status"), record.get("errorType"))
                self.finish(acc, line)
            else:
                acc = self.acc_for(rid, line.log_stream, line.timestamp_ms, _REPORTED)
                metrics = record.get("metrics")
                if isinstance(metrics, dict):
                    acc.duration = _float(metrics.get("durationMs"))
                    acc.billed = _float(metrics.get("billedDurationMs"))
                    acc.memory = _int(metrics.get("memorySizeMB"))
                    acc.max_memory = _int(metrics.get("maxMemoryUsedMB"))
                    acc.init = _float(metrics.get("initDurationMs"))
                    acc.restore = _float(metrics.get("restoreDurationMs"))
                    acc.billed_restore = _float(metrics.get("billedRestoreDurationMs"))
                acc.xray = _trace_root(record.get("tracing")) or acc.xray
                acc.platform_status(record.get("status"), record.get("errorType"))
                self.reported(acc, line)
            return
        if kind == "platform.initReport":
            metrics = record.get("metrics")
            report = InitReport(
                line.log_stream,
                line.timestamp_ms,
                phase=record.get("phase") if isinstance(record.get("phase"), str) else None,
                status=record.get("status") if isinstance(record.get("status"), str) else None,
                error_type=record.get("errorType") if isinstance(record.get("errorType"), str) else None,
                init_duration_ms=_float(metrics.get("durationMs")) if isinstance(metrics, dict) else None,
            )
            self.add_init_report(line, report)
            return
        # initStart, restoreReport, extension, telemetrySubscription, logsDropped...: they
        # name no request id; inside an invocation they belong to it, else to the init phase.
        self.attach(line, rid, None)

    # -- everything else ---------------------------------------------------------------

    def text_line(self, line: LogLine) -> None:
        msg = line.message
        rid: str | None = None
        level: str | None = None
        body = msg
        head = msg[:1]
        if head.isdigit() or head == "[":
            m = _RID_LINE.match(msg)
            if m is not None:
                rid = m.group(2)
                level = m.group(1) or m.group(3)
                body = msg[m.end() :]
        elif head == "R" and msg.startswith("RequestId:"):
            # "RequestId: <id> Error: Runtime exited with error: signal: killed"
            m = _RID_PREFIX.match(msg)
            if m is not None:
                rid = m.group(1)
                body = msg[m.end() :]
                if body.startswith("Error: "):
                    body = body[7:]
        if rid is None and "\tERROR\t" in msg:
            m = _NODE_ERROR.search(msg)
            if m is not None:
                # During init the Node runtime writes "undefined" where the id goes.
                rid = m.group(1) if _UUID_ONLY.match(m.group(1)) else None
                level = m.group(2)
                body = m.group(3)
        self.attach(line, rid, detect_text(body, level))

    def feed(self, line: LogLine) -> None:
        msg = line.message
        head = msg[:1]
        if head == "S" and msg.startswith("START RequestId:"):
            self.start(line)
        elif head == "E" and msg.startswith("END RequestId:"):
            self.end(line)
        elif head == "R" and msg.startswith("REPORT "):
            self.report(line)
        elif head == "I" and msg.startswith("INIT_REPORT "):
            self.init_report(line)
        elif head == "X" and msg.startswith("XRAY TraceId:"):
            self.xray_line(line)
        elif head == "{":
            if msg.endswith("}") and self.json_line(line):
                return
            if '"platform.' in msg and '"type"' in msg:
                self.skipped += 1  # a platform record cut short: its numbers are lost
                return
            self.text_line(line)
        else:
            self.text_line(line)

    # -- assembly ----------------------------------------------------------------------

    def result(self) -> ParseResult:
        invocations = [_assemble(acc) for acc in sorted(self.accs, key=_start_key)]
        return ParseResult(invocations, self.skipped, self.orphans, self.init_reports)


def _text_number(value: str | None) -> float | None:
    if value is None or not _NUMBER.match(value):
        return None
    return float(value)


def _start_key(acc: _Acc) -> tuple[int, int]:
    return (_start_of(acc)[0], acc.seq)


def _start_of(acc: _Acc) -> tuple[int, str]:
    """When the invocation started, and how that is known. A window that begins after the
    START still holds the REPORT, whose time is the end: end − Duration is the start to a
    few milliseconds, never the end itself (a re-read must find the same row)."""
    if acc.start_ms is not None:
        return acc.start_ms, "start"
    if acc.report_ms is not None and acc.duration is not None and 0 <= acc.duration <= MAX_DURATION_MS:
        return min(acc.first_ms, acc.report_ms - round(acc.duration)), "report"
    return acc.first_ms, "lines"


def _assemble(acc: _Acc) -> ParsedInvocation:
    if acc.oom:
        status = "out_of_memory"
    elif acc.timeout:
        status = "timeout"
    elif acc.error:
        status = "error"
    elif acc.has_report or acc.success:
        status = "success"
    else:
        status = "unknown"
    error_type: str | None = None
    error_message: str | None = None
    frames: list[str] = []
    if status == "out_of_memory":
        # One type for every way Lambda reports exhausted memory, so they group together.
        error_type, error_message = OUT_OF_MEMORY_TYPE, acc.oom_message
    elif status == "timeout":
        error_message = acc.timeout_message
    elif status == "error" and acc.best is not None:
        error_type, error_message, frames = acc.best.error_type, acc.best.message, list(acc.best.frames)
    init = acc.init if acc.init is not None else acc.init_fallback
    # Lines arrive in time order, so the line that created the accumulator is its earliest.
    started, start_source = _start_of(acc)
    ended = acc.report_ms if acc.report_ms is not None else acc.end_ms
    return ParsedInvocation(
        request_id=acc.rid,
        attempt=acc.attempt,
        status=status,
        started_at=_ms_to_dt(started),
        start_source=start_source,
        ended_at=_ms_to_dt(ended) if ended is not None else None,
        duration_ms=acc.duration,
        billed_duration_ms=acc.billed,
        memory_size_mb=acc.memory,
        max_memory_used_mb=acc.max_memory,
        init_duration_ms=init,
        restore_duration_ms=acc.restore,
        billed_restore_duration_ms=acc.billed_restore,
        cold_start=init is not None or acc.restore is not None,
        xray_trace_id=acc.xray,
        error_type=error_type,
        error_message=error_message,
        error_frames=frames,
        log_stream=acc.stream,
        complete=acc.has_report,
        lines=acc.lines,
    )


def parse_events(events: Iterable[Mapping[str, Any]]) -> ParseResult:
    """Parse CloudWatch Logs events of one or more Lambda log streams into invocations."""
    lines: list[LogLine] = []
    append = lines.append
    seen_ids: set[str] = set()
    skipped = 0
    for event in events:
        if type(event) is not dict and not isinstance(event, Mapping):
            skipped += 1
            continue
        ts = event.get("timestamp")
        msg = event.get("message")
        if type(ts) is not int and (isinstance(ts, bool) or not isinstance(ts, int | float) or not isfinite(ts)):
            skipped += 1
            continue
        if type(msg) is not str and not isinstance(msg, str):
            skipped += 1
            continue
        stream = event.get("logStreamName")
        # Subscription payloads ("awslogs" DATA_MESSAGE) call it "id".
        event_id = event.get("eventId") or event.get("id")
        if type(event_id) is str:
            # Overlapping FilterLogEvents windows return an event twice; a repeated START
            # would otherwise pass for an async retry.
            if event_id in seen_ids:
                continue
            seen_ids.add(event_id)
        append(
            LogLine(
                int(ts),
                msg.rstrip("\n"),
                stream if type(stream) is str else "",
                event_id if type(event_id) is str else None,
            )
        )
    lines.sort(key=_line_ts)
    parser = _Parser()
    parser.skipped = skipped
    for line in lines:
        parser.feed(line)
    return parser.result()


def _line_ts(line: LogLine) -> int:
    return line.timestamp_ms


def invocation_to_dict(inv: ParsedInvocation) -> dict[str, Any]:
    """Exactly these keys, in this order: request_id, attempt, status, started_at, ended_at, duration_ms,
    billed_duration_ms, memory_size_mb, max_memory_used_mb, init_duration_ms, restore_duration_ms,
    billed_restore_duration_ms, cold_start, xray_trace_id, error_type, error_message, log_stream, complete,
    lines (list of {"timestamp": ISO 8601 UTC with milliseconds and Z, "message": str}).
    started_at/ended_at as ISO 8601 UTC strings ending in Z (millisecond precision) or null."""
    return {
        "request_id": inv.request_id,
        "attempt": inv.attempt,
        "status": inv.status,
        "started_at": _iso(inv.started_at) if inv.started_at is not None else None,
        "ended_at": _iso(inv.ended_at) if inv.ended_at is not None else None,
        "duration_ms": inv.duration_ms,
        "billed_duration_ms": inv.billed_duration_ms,
        "memory_size_mb": inv.memory_size_mb,
        "max_memory_used_mb": inv.max_memory_used_mb,
        "init_duration_ms": inv.init_duration_ms,
        "restore_duration_ms": inv.restore_duration_ms,
        "billed_restore_duration_ms": inv.billed_restore_duration_ms,
        "cold_start": inv.cold_start,
        "xray_trace_id": inv.xray_trace_id,
        "error_type": inv.error_type,
        "error_message": inv.error_message,
        "log_stream": inv.log_stream,
        "complete": inv.complete,
        "lines": [{"timestamp": _iso(_ms_to_dt(ln.timestamp_ms)), "message": ln.message} for ln in inv.lines],
    }
