"""AWS Lambda CloudWatch Logs events → invocations.

Pure Python (no Django). `parse_events` takes events as FilterLogEvents / GetLogEvents /
a decoded subscription payload return them and never raises on bad input.

Algorithm:

1. Normalise: keep events that are mappings with a numeric `timestamp` (within the years
   1..9999) and a str `message`; strip the message's trailing newline. Anything else is
   counted in `skipped`. An event whose `eventId` was already seen is a duplicate and dropped.
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
   Metrics, status and error evidence are collected on a per-invocation accumulator, each
   piece with the line and the rule that produced it (`ParsedInvocation.evidence`).
4. Assembly: status by precedence out_of_memory > timeout > error > success > unknown
   (evidence arrives in any order: old logs print "Task timed out" after the REPORT),
   the best-ranked error candidate gives type, message and frames, invocations are ordered
   by start (START time, else REPORT time − Duration, else their earliest line).

Rules, and the runtime behaviour each models (the error printers of every runtime are in
`lambda_errors`):

* Init retried inside an invocation: when init fails, Lambda runs it again for the next
  invocation and reports it as `INIT_REPORT … Phase: invoke` (or `platform.initReport`
  phase invoke). Inside START…END it belongs to the open invocation; printed before the
  START (what Lambda does since 2024) it belongs to the next START of that stream, together
  with the output of that init since the previous init report. Either way the invocation
  ran an init: cold start, with that report's Init Duration, and its Status / Error Type.
* An init-phase error (Runtime.ImportModuleError, Runtime.InvalidEntrypoint, Ruby's
  `Init<…>`, Java's "Class not found", "Unable to import module"…) in an invocation means
  its init ran and failed: cold start even when no Init Duration is printed.
* Platform lines glued to text: the Python runtime ends an init error with an empty
  "Traceback (most recent call last):" and no newline, so the next INIT_REPORT / START /
  END / REPORT can arrive inside the same event; such a platform record (after a line break
  or after that header) is applied as if it were its own event.
* Platform lines without a request id printed after the REPORT ("Unknown application error
  occurred", "Runtime exited …", XRAY) belong to the invocation that just reported in that
  stream, as Lambda printed them before 2020.
* Timeout: REPORT `Status: timeout`, a platform record with status timeout, a "Task timed
  out" line (anywhere, even truncated), or a REPORT without Status whose Billed Duration is
  below its Duration: Lambda bills a timed-out invocation exactly its timeout while Duration
  includes the overrun; every other REPORT bills at least its Duration.
* Out of memory: `Error Type: Runtime.OutOfMemory`, "signal: killed", or a runtime's own
  out-of-memory error. The error type stays the one the log prints (Runtime.ExitError for a
  killed runtime), never one the log does not contain.
* A JSON record at level ERROR with errorType, errorMessage and stackTrace (Lambda's JSON
  log format) makes the invocation an error only when no REPORT / platform status decides.
* Numbers are only what Lambda can produce: durations 0…900 000 ms, memory 0…10 240 MB;
  anything else becomes None and the line still counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import partial
from math import isfinite
from operator import attrgetter
from typing import Any, Literal

import orjson

from ..gcpause import gc_paused
from .lambda_errors import (
    KIND_OOM,
    KIND_TIMEOUT,
    OUT_OF_MEMORY_TYPE,
    RANK_PLATFORM,
    ErrorInfo,
    detect_platform_error,
    detect_text,
    error_from_json,
    error_groups,
    is_init_error_type,
    request_id_of,
)

__all__ = [
    "Evidence",
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


@dataclass(slots=True)
class Evidence:
    """Why an invocation got a verdict: which line decided it and by which rule."""

    aspect: str  # status | error | cold_start
    rule: str
    line: LogLine | None = None


MEASURE = {"measure": True}


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
    duration_ms: float | None = field(default=None, metadata=MEASURE)
    billed_duration_ms: float | None = field(default=None, metadata=MEASURE)
    memory_size_mb: int | None = field(default=None, metadata=MEASURE)
    max_memory_used_mb: int | None = field(default=None, metadata=MEASURE)
    init_duration_ms: float | None = field(default=None, metadata=MEASURE)
    restore_duration_ms: float | None = field(default=None, metadata=MEASURE)
    billed_restore_duration_ms: float | None = field(default=None, metadata=MEASURE)
    cold_start: bool = field(default=False, metadata=MEASURE)
    xray_trace_id: str | None = field(default=None, metadata=MEASURE)
    error_type: str | None = field(default=None, metadata=MEASURE)
    error_message: str | None = field(default=None, metadata=MEASURE)
    error_frames: list[str] = field(default_factory=list)
    log_stream: str = ""
    complete: bool = False
    lines: list[LogLine] = field(default_factory=list)
    # The lines and rules that decided status, error and cold start (`parselogs --explain`).
    evidence: list[Evidence] = field(default_factory=list)


# The measures an invocation carries from its logs, stored and served as they are: one list
# for the model's columns (checked by a test), storage's COPY and the API.
INVOCATION_MEASURES: tuple[str, ...] = tuple(f.name for f in fields(ParsedInvocation) if f.metadata.get("measure"))


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
# The layout Lambda has printed since 2019 (tab-separated, fixed order): one match reads it
# all; anything else (spaces, other orders, Status, SnapStart fields) takes the general path.
_REPORT_FAST = re.compile(
    r"REPORT RequestId: (" + _RID + r")\tDuration: (\d+(?:\.\d+)?) ms\tBilled Duration: (\d+) ms\t"
    r"Memory Size: (\d+) MB\tMax Memory Used: (\d+) MB\t(?:Init Duration: (\d+(?:\.\d+)?) ms\t)?"
    r"(?:\nXRAY TraceId: (1-[0-9A-Za-z]+-[0-9A-Za-z]+)\tSegmentId: [0-9A-Za-z]+\tSampled: (?:true|false)\t?)?\s*$"
)
_XRAY = re.compile(r"XRAY TraceId:[ \t]*(1-[0-9A-Za-z]+-[0-9A-Za-z]+)")
_TRACE_ROOT = re.compile(r"Root=(1-[0-9A-Za-z]+-[0-9A-Za-z]+)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?$")
MAX_DURATION_MS = 900_000  # Lambda's 15-minute maximum: a longer "Duration" is not a real one
MAX_MEMORY_MB = 10_240  # Lambda's largest memory size
MAX_REASONS = 3  # evidence kept per verdict for `parselogs --explain`
# "<time>\t<request id>\t<LEVEL>\t" (Node, .NET, Java log4j), "[LEVEL]\t<time>\t<id>\t"
# (Python logging; the docs render the tabs as spaces), "<time> <id> " (old Node, timeouts),
# "<time>\t<id>\n{json}" (Node before 2018 printing a callback error).
_RID_LINE = re.compile(
    r"(?:\[([A-Za-z]+)\][ \t]+)?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?Z?[ \t]+(" + _UUID + r")"
    r"(?:[ \t]+([A-Za-z]+)\t|[ \t]+|\r?\n|$)"
)
# Go's `log` package prefix: aws-lambda-go logs a returned error as "<date> <time> {json}".
_GO_LOG_PREFIX = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? (?=\{)")
# A Node error line behind someone else's prefix (log shippers, Netlify's "7:12:32 PM: ").
_NODE_ERROR = re.compile(
    r"\d{4}-\d\d-\d\dT[\d:.]+Z\t(\S+)\t(ERROR)\t((?:Invoke Error|Uncaught Exception|Unhandled Promise Rejection).*)",
    re.S,
)
_RID_PREFIX = re.compile(r"RequestId:[ \t]*(" + _UUID + r")[ \t]+")
_UUID_ONLY = re.compile(_UUID + r"$")
# A platform record inside a text event: after a line break, or glued to Python's empty
# "Traceback (most recent call last):" header.
_EMBEDDED_PLATFORM = re.compile(
    r"(?:(?<=[\r\n])|(?<=Traceback \(most recent call last\):))"
    r"(?=INIT_START |INIT_REPORT |START RequestId:|END RequestId:|REPORT RequestId:)"
)
_TS_MIN = -62_135_596_800_000  # 0001-01-01
_TS_MAX = 253_402_300_799_999  # 9999-12-31

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAILED = ("error", "failure")

# What a line means for its invocation.
_LINE = 0
_BEGIN = 1
_FINISH = 2  # END / platform.runtimeDone
_REPORTED = 3  # REPORT / platform.report


class _Acc:
    """Evidence for one execution (request id + attempt) while the pass runs.

    Slots, every one set here: reading an attribute whose default lives on the class is an
    unspecialised lookup (type, then instance dict) on every access, and `_assemble` and
    the platform handlers read most of them once per invocation."""

    __slots__ = (
        "attempt",
        "best",
        "best_line",
        "billed",
        "billed_restore",
        "cold",
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
        "oom_info",
        "probable",
        "report_line",
        "report_ms",
        "restore",
        "rid",
        "seq",
        "start_ms",
        "started",
        "stream",
        "success",
        "success_by",
        "timeout",
        "timeout_message",
        "verdict",
        "why",
        "xray",
    )

    def __init__(self, rid: str, attempt: int, stream: str, seq: int, ts: int) -> None:
        self.rid = rid
        self.attempt = attempt
        self.stream = stream
        self.seq = seq
        self.first_ms = ts
        self.lines: list[LogLine] = []
        self.start_ms: int | None = None
        self.end_ms: int | None = None
        self.report_ms: int | None = None
        self.has_start: bool = False
        self.has_end: bool = False
        self.has_report: bool = False
        self.duration: float | None = None
        self.billed: float | None = None
        self.memory: int | None = None
        self.max_memory: int | None = None
        self.init: float | None = None
        self.init_fallback: float | None = None
        self.restore: float | None = None
        self.billed_restore: float | None = None
        self.xray: str | None = None
        self.oom: bool = False
        self.timeout: bool = False
        self.error: bool = False
        self.success: bool = False
        self.verdict: bool = False  # a platform status (REPORT Status, platform record) was seen
        self.probable: bool = False
        self.timeout_message: str | None = None
        self.oom_info: ErrorInfo | None = None
        self.best: ErrorInfo | None = None
        self.best_line: LogLine | None = None
        self.cold: tuple[str, LogLine | None] | None = None
        self.report_line: LogLine | None = None
        self.success_by: tuple[str, LogLine | None] | None = None
        self.why: dict[str, list[tuple[str, LogLine | None]]] | None = None
        self.started: tuple[int, str] | None = None  # `_start_of`, computed once for the final sort

    def because(self, kind: str, rule: str, line: LogLine | None) -> None:
        if self.why is None:
            self.why = {}
        reasons = self.why.setdefault(kind, [])
        if len(reasons) < MAX_REASONS:
            reasons.append((rule, line))

    def ran_init(self, rule: str, line: LogLine | None) -> None:
        if self.cold is None:
            self.cold = (rule, line)

    def evidence(self, info: ErrorInfo, line: LogLine | None) -> None:
        if info.kind == KIND_OOM:
            self.oom = True
            self.because("out_of_memory", info.rule, line)
            if self.oom_info is None or info.rank > self.oom_info.rank:
                self.oom_info = info
        elif info.kind == KIND_TIMEOUT:
            self.timeout = True
            self.because("timeout", info.rule, line)
            if self.timeout_message is None:
                self.timeout_message = info.message
            return
        if info.decisive:
            self.error = True
            self.because("error", info.rule, line)
        elif info.probable:
            self.probable = True
            self.because("probable", info.rule, line)
        if info.init:
            self.ran_init(f"{info.error_type or 'init error'} is an init-phase failure ({info.rule})", line)
        if info.kind != KIND_OOM and (self.best is None or info.rank > self.best.rank):
            self.best, self.best_line = info, line

    def platform_status(self, status: Any, error_type: Any, line: LogLine | None, source: str) -> None:
        """Status / Error Type of a REPORT, platform.report, runtimeDone or invoke-phase init."""
        if status == "success" and error_type is None:
            # Most invocations: no evidence list to build, the verdict's line is enough.
            self.verdict = self.success = True
            if self.success_by is None:
                self.success_by = (source, line)
            return
        if isinstance(status, str) and status:
            self.verdict = True
        if error_type == OUT_OF_MEMORY_TYPE:
            self.oom = True
            self.because("out_of_memory", f"{source} Error Type: {OUT_OF_MEMORY_TYPE}", line)
            if self.oom_info is None:
                self.oom_info = ErrorInfo(KIND_OOM, RANK_PLATFORM, True, OUT_OF_MEMORY_TYPE, rule=source)
            return
        if status == "timeout":
            self.timeout = True
            self.because("timeout", f"{source} status timeout", line)
        elif status in _FAILED:
            self.error = True
            self.because("error", f"{source} status {status}", line)
        elif status == "success":
            self.success = True
            if self.success_by is None:
                self.success_by = (source, line)
        if isinstance(error_type, str) and error_type:
            self.evidence(
                ErrorInfo(
                    "error",
                    RANK_PLATFORM,
                    False,
                    error_type,
                    rule=f"{source} Error Type",
                    init=is_init_error_type(error_type),
                ),
                line,
            )


def _ms_to_dt(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


# Every millisecond of a second as a timedelta: a cached second plus `_MILLIS[ms % 1000]`
# takes about half the instructions of `timedelta(milliseconds=ms)`, which parses keyword
# arguments and goes through floats; it runs twice per invocation.
_MILLIS = tuple(timedelta(milliseconds=n) for n in range(1000))


def _ms_to_dt_cached(ms: int, seconds: dict[int, datetime]) -> datetime:
    """`_ms_to_dt`, with the whole seconds of one parse cached (invocations of a page crowd
    into few seconds). Floor division keeps the millisecond part in 0…999 before 1970 too."""
    second = seconds.get(ms // 1000)
    if second is None:
        second = seconds[ms // 1000] = _EPOCH + timedelta(seconds=ms // 1000)
    return second + _MILLIS[ms % 1000]


def _iso(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def _duration(value: Any) -> float | None:
    """A duration as Lambda can report it (0…15 min), else None (NaN and inf fail the bounds;
    `type() is` keeps bools, which are ints, out)."""
    if (type(value) is float or type(value) is int) and 0 <= value <= MAX_DURATION_MS:
        return float(value)
    return None


def _memory(value: Any) -> int | None:
    """A memory size in MB as Lambda can report it (0…10 240), else None."""
    if (type(value) is int or type(value) is float) and 0 <= value <= MAX_MEMORY_MB:
        return int(value)
    return None


def _text_number(value: str | None) -> float | None:
    if value is None or not _NUMBER.match(value):
        return None
    return float(value)


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
        self.adopted: set[int] = set()  # id() of orphans an invocation took over
        self.init_reports: list[InitReport] = []
        self.accs: list[_Acc] = []
        self.by_rid: dict[str, list[_Acc]] = {}
        self.open: dict[str, list[_Acc]] = {}  # per stream, most recent last
        self.last_report: dict[str, _Acc] = {}  # per stream, until the next START
        # Per stream, lines seen while no invocation was open since the last init report:
        # the output of an init Lambda may be running for the next invocation.
        self.preamble: dict[str, list[tuple[LogLine, ErrorInfo | None]]] = {}
        # Per stream, an invoke-phase init that arrived before its invocation's START.
        self.pending_init: dict[str, tuple[list[tuple[LogLine, ErrorInfo | None]], InitReport, LogLine]] = {}

    # -- attribution -------------------------------------------------------------------

    def acc_for(self, rid: str, stream: str, ts: int, role: int) -> _Acc:
        attempts = self.by_rid.get(rid)
        if attempts is None:
            # A request id not seen before (every START): its first execution.
            first = _Acc(rid, 1, stream, len(self.accs), ts)
            self.by_rid[rid] = [first]
            self.accs.append(first)
            if role == _LINE and not self.open.get(stream):
                # Its START is before the window and it is still running: bracket what follows.
                # (Not while another invocation is open: then this is a late line of an
                # earlier one, e.g. Node output of a callback that outlived its invocation.)
                self.open[stream] = [first]
                self.preamble.pop(stream, None)
            return first
        acc: _Acc | None = None
        if len(attempts) == 1:
            # The common case, one execution seen so far: decide without the loop.
            acc = attempts[0]
            if acc.stream == stream and not (
                (role == _BEGIN and (acc.has_start or acc.has_end or acc.has_report))
                or (role == _FINISH and acc.has_end)
                or (role == _REPORTED and acc.has_report)
            ):
                return acc
            acc = None
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
            acc = _Acc(rid, len(attempts) + 1, stream, len(self.accs), ts)
            attempts.append(acc)
            self.accs.append(acc)
            if role == _LINE and not self.open.get(stream):
                self.open[stream] = [acc]  # as for a first execution, above
                self.preamble.pop(stream, None)
        return acc

    def close(self, acc: _Acc) -> None:
        stack = self.open.get(acc.stream)
        if stack and acc in stack:
            stack.remove(acc)
        self.preamble.pop(acc.stream, None)

    def attach(self, line: LogLine, rid: str | None, info: ErrorInfo | None, keep: bool = True) -> None:
        if rid is None and info is not None and info.request_id:
            rid = info.request_id  # named inside a JSON record
        acc: _Acc | None
        if rid is not None:
            acc = self.acc_for(rid, line.log_stream, line.timestamp_ms, _LINE)
        else:
            stack = self.open.get(line.log_stream)
            acc = stack[-1] if stack else None
            if acc is None and info is not None and info.rule.startswith(("platform line", "'Runtime exited")):
                # Before 2020 Lambda printed these after the REPORT of the invocation they describe.
                acc = self.last_report.get(line.log_stream)
        if acc is None:
            if keep:
                self.orphans.append(line)
                self.preamble.setdefault(line.log_stream, []).append((line, info))
            return
        if keep:
            acc.lines.append(line)
        if info is not None:
            acc.evidence(info, line)

    # -- text platform lines -----------------------------------------------------------

    def start(self, line: LogLine, text: str, keep: bool) -> None:
        rid = _uuid_at(text, 17)
        if rid is None:
            m = _START.match(text)
            if m is None:
                self.skipped += 1
                return
            rid = m.group(1)
        self.begin(self.acc_for(rid, line.log_stream, line.timestamp_ms, _BEGIN), line, keep)

    def begin(self, acc: _Acc, line: LogLine, keep: bool = True) -> None:
        acc.has_start = True
        acc.start_ms = line.timestamp_ms
        stream = line.log_stream
        pending = self.pending_init.pop(stream, None)
        if pending is not None:
            self.adopt_init(acc, *pending)
        self.preamble.pop(stream, None)
        self.last_report.pop(stream, None)
        if keep:
            acc.lines.append(line)
        # One execution environment runs one invocation at a time: a START means whatever
        # was open in this stream has finished (its END/REPORT fell outside the window).
        self.open[stream] = [acc]

    def adopt_init(
        self, acc: _Acc, lines: list[tuple[LogLine, ErrorInfo | None]], report: InitReport, report_line: LogLine
    ) -> None:
        """The init Lambda ran for this invocation before its START: its output and report."""
        for line, info in lines:
            if id(line) not in self.adopted:
                self.adopted.add(id(line))
                acc.lines.append(line)
            if info is not None:
                acc.evidence(info, line)
        self.apply_invoke_init(acc, report, report_line)

    def apply_invoke_init(self, acc: _Acc, report: InitReport, line: LogLine) -> None:
        report.request_id = acc.rid
        if report.init_duration_ms is not None:
            acc.init_fallback = report.init_duration_ms
        acc.ran_init("INIT_REPORT Phase: invoke (init ran inside this invocation)", line)
        acc.platform_status(report.status, report.error_type, line, "INIT_REPORT Phase: invoke")

    def end(self, line: LogLine, text: str, keep: bool) -> None:
        rid = _uuid_at(text, 15)
        if rid is None:
            m = _END.match(text)
            if m is None:
                self.skipped += 1
                return
            rid = m.group(1)
        acc = self.acc_for(rid, line.log_stream, line.timestamp_ms, _FINISH)
        self.finish(acc, line, keep)

    def finish(self, acc: _Acc, line: LogLine, keep: bool = True) -> None:
        acc.has_end = True
        acc.end_ms = line.timestamp_ms
        if keep:
            acc.lines.append(line)
        self.close(acc)

    def report(self, line: LogLine, text: str, keep: bool) -> None:
        f = _REPORT_FAST.match(text)
        if f is not None:
            rid, duration, billed, memory, used, init, xray = f.groups()
            acc = self.acc_for(rid, line.log_stream, line.timestamp_ms, _REPORTED)
            acc.duration = d if (d := float(duration)) <= MAX_DURATION_MS else None
            acc.billed = b if (b := float(billed)) <= MAX_DURATION_MS else None
            acc.memory = n if (n := int(memory)) <= MAX_MEMORY_MB else None
            acc.max_memory = n if (n := int(used)) <= MAX_MEMORY_MB else None
            if init is not None:
                acc.init = i if (i := float(init)) <= MAX_DURATION_MS else None
                if acc.init is not None:
                    acc.ran_init("Init Duration in REPORT", line)
            if xray is not None:
                acc.xray = xray
            if acc.billed is not None and acc.duration is not None and acc.billed < acc.duration:
                acc.timeout = True
                acc.because("timeout", "REPORT Billed Duration below Duration (billed at the timeout)", line)
            self.reported(acc, line, keep)
            return
        m = _REPORT.match(text)
        if m is None:
            self.skipped += 1
            return
        fields: dict[str, str] = {}
        for key, value in _REPORT_FIELD.findall(text, m.end()):
            fields.setdefault(key, value)
        duration_text = fields.get("Duration")
        if duration_text is None or not _NUMBER.match(duration_text):
            self.skipped += 1  # truncated or not a Lambda REPORT at all
            return
        acc = self.acc_for(m.group(1), line.log_stream, line.timestamp_ms, _REPORTED)
        acc.duration = _duration(float(duration_text))
        acc.billed = _duration(_text_number(fields.get("Billed Duration")))
        acc.memory = _memory(_text_number(fields.get("Memory Size")))
        acc.max_memory = _memory(_text_number(fields.get("Max Memory Used")))
        acc.init = _duration(_text_number(fields.get("Init Duration")))
        acc.restore = _duration(_text_number(fields.get("Restore Duration")))
        acc.billed_restore = _duration(_text_number(fields.get("Billed Restore Duration")))
        if acc.init is not None:
            acc.ran_init("Init Duration in REPORT", line)
        elif acc.restore is not None:
            acc.ran_init("Restore Duration in REPORT (SnapStart)", line)
        # The X-Ray segment follows after "\n", or after a tab on the same line (Node 12).
        x = _XRAY.search(text, m.end())
        if x:
            acc.xray = x.group(1)
        # "Status:" / "Error Type:" exist since about 2023; older REPORTs say nothing.
        status = fields.get("Status")
        acc.platform_status(status, fields.get("Error Type"), line, "REPORT")
        if status is None and acc.billed is not None and acc.duration is not None and acc.billed < acc.duration:
            # A timed-out invocation is billed its configured timeout; Duration includes the overrun.
            acc.timeout = True
            acc.because("timeout", "REPORT Billed Duration below Duration (billed at the timeout)", line)
        self.reported(acc, line, keep)

    def reported(self, acc: _Acc, line: LogLine, keep: bool = True) -> None:
        acc.has_report = True
        acc.report_ms = line.timestamp_ms
        acc.report_line = line
        if keep:
            acc.lines.append(line)
        self.close(acc)
        self.last_report[line.log_stream] = acc

    def init_report(self, line: LogLine, text: str, keep: bool) -> None:
        fields = dict(_REPORT_FIELD.findall(text))
        report = InitReport(
            line.log_stream,
            line.timestamp_ms,
            phase=fields.get("Phase"),
            status=fields.get("Status"),
            error_type=fields.get("Error Type"),
            init_duration_ms=_duration(_text_number(fields.get("Init Duration"))),
        )
        self.add_init_report(line, report, keep)

    def add_init_report(self, line: LogLine, report: InitReport, keep: bool = True) -> None:
        self.init_reports.append(report)
        stream = line.log_stream
        stack = self.open.get(stream)
        if report.phase == "invoke" and stack:
            # Init failed before and Lambda retried it inside this invocation.
            self.attach(line, None, None, keep)
            self.apply_invoke_init(stack[-1], report, line)
            return
        self.attach(line, None, None, keep)
        if report.phase == "invoke":
            # Printed before its START: the init and its output belong to the next invocation.
            lines = self.preamble.pop(stream, [])
            self.pending_init[stream] = (lines, report, line)
        else:
            # The init phase proper is over: what it printed is nobody's invocation.
            self.preamble.pop(stream, None)

    def init_start(self, line: LogLine, keep: bool) -> None:
        # A new init begins in this stream: earlier unclaimed output is not its.
        self.preamble.pop(line.log_stream, None)
        self.attach(line, None, None, keep)

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
            obj = _loads(line.message)
        except ValueError:  # orjson.JSONDecodeError: also too deep, NaN/Infinity, lone surrogates
            return False
        if type(obj) is not dict:  # orjson builds exact dicts, never subclasses
            return False
        kind = obj.get("type")
        if type(kind) is str and "record" in obj:
            # The three records of every invocation go straight to their handler: one
            # lookup instead of a chain of comparisons, on three lines out of four.
            handler = _PLATFORM_HANDLERS.get(kind)
            if handler is not None:
                handler(self, line, obj["record"])
                return True
            if kind.startswith("platform."):
                self.platform(line, kind, obj["record"])
                return True
        info = error_from_json(obj) if ("errorType" in obj or "errorMessage" in obj or "message" in obj) else None
        if info is None and isinstance(obj.get("message"), str) and obj.get("level") in ("ERROR", "FATAL"):
            # Java's runtime in the JSON log format: its report is the record's message.
            found = detect_text(obj["message"], None)
            info = found if found is not None and found.rule.startswith("Java runtime") else None
        self.attach(line, request_id_of(obj), info)
        return True

    def platform_start(self, line: LogLine, record: Any) -> None:
        rid = record.get("requestId") if type(record) is dict else None
        if type(rid) is not str or not rid:
            self.skipped += 1
            return
        acc = self.acc_for(rid, line.log_stream, line.timestamp_ms, _BEGIN)
        if acc.xray is None and "tracing" in record:
            acc.xray = _trace_root(record["tracing"])
        self.begin(acc, line)

    def platform_runtime_done(self, line: LogLine, record: Any) -> None:
        rid = record.get("requestId") if type(record) is dict else None
        if type(rid) is not str or not rid:
            self.skipped += 1
            return
        acc = self.acc_for(rid, line.log_stream, line.timestamp_ms, _FINISH)
        if acc.xray is None and "tracing" in record:
            acc.xray = _trace_root(record["tracing"])
        acc.platform_status(record.get("status"), record.get("errorType"), line, "platform.runtimeDone")
        self.finish(acc, line)

    def platform_report(self, line: LogLine, record: Any) -> None:
        rid = record.get("requestId") if type(record) is dict else None
        if type(rid) is not str or not rid:
            self.skipped += 1
            return
        acc = self.acc_for(rid, line.log_stream, line.timestamp_ms, _REPORTED)
        metrics = record.get("metrics")
        if type(metrics) is dict:
            get = metrics.get
            acc.duration = _duration(get("durationMs"))
            acc.billed = _duration(get("billedDurationMs"))
            acc.memory = _memory(get("memorySizeMB"))
            acc.max_memory = _memory(get("maxMemoryUsedMB"))
            if "initDurationMs" in metrics:
                acc.init = _duration(get("initDurationMs"))
            if "restoreDurationMs" in metrics:
                acc.restore = _duration(get("restoreDurationMs"))
                acc.billed_restore = _duration(get("billedRestoreDurationMs"))
            if acc.init is not None:
                acc.ran_init("initDurationMs in platform.report", line)
            elif acc.restore is not None:
                acc.ran_init("restoreDurationMs in platform.report (SnapStart)", line)
        if acc.xray is None and "tracing" in record:
            acc.xray = _trace_root(record["tracing"])
        acc.platform_status(record.get("status"), record.get("errorType"), line, "platform.report")
        self.reported(acc, line)

    def platform(self, line: LogLine, kind: str, record: Any) -> None:
        """The platform.* records other than start, runtimeDone and report."""
        if type(record) is not dict:
            self.skipped += 1
            return
        rid = record.get("requestId")
        if type(rid) is not str or not rid:
            rid = None
        if kind == "platform.initReport":
            metrics = record.get("metrics")
            report = InitReport(
                line.log_stream,
                line.timestamp_ms,
                phase=record.get("phase") if isinstance(record.get("phase"), str) else None,
                status=record.get("status") if isinstance(record.get("status"), str) else None,
                error_type=record.get("errorType") if isinstance(record.get("errorType"), str) else None,
                init_duration_ms=_duration(metrics.get("durationMs")) if isinstance(metrics, dict) else None,
            )
            self.add_init_report(line, report)
            return
        if kind == "platform.initStart":
            self.init_start(line, True)
            return
        # initRuntimeDone, restoreReport, extension, telemetrySubscription, logsDropped...: they
        # name no request id; inside an invocation they belong to it, else to the init phase.
        self.attach(line, rid, None)

    # -- everything else ---------------------------------------------------------------

    def text_line(self, line: LogLine, msg: str) -> None:
        rid: str | None = None
        level: str | None = None
        body = msg
        head = msg[:1]
        info: ErrorInfo | None = None
        if head.isdigit() or head == "[":
            m = _RID_LINE.match(msg)
            if m is not None:
                rid = m.group(2)
                level = m.group(1) or m.group(3)
                body = msg[m.end() :]
            elif head.isdigit():
                g = _GO_LOG_PREFIX.match(msg)
                if g is not None:
                    body = msg[g.end() :]
        elif head == "R" and msg.startswith("RequestId:"):
            # "RequestId: <id> Error: <message>\n<Type>": the platform about this invocation.
            m = _RID_PREFIX.match(msg)
            if m is not None:
                rid = m.group(1)
                body = msg[m.end() :]
                info = detect_platform_error(body.removeprefix("Error: "))
        if rid is None and "\tERROR\t" in msg:
            m = _NODE_ERROR.search(msg)
            if m is not None:
                # During init the Node runtime writes "undefined" where the id goes.
                rid = m.group(1) if _UUID_ONLY.match(m.group(1)) else None
                level = m.group(2)
                body = m.group(3)
        if info is None:
            info = detect_text(body, level)
            if info is not None and info.rule.startswith("runtime's JSON") and body is not msg and not rid:
                info.rule = "Go log line with the runtime's JSON error record"
        self.attach(line, rid, info)

    def feed(self, line: LogLine) -> None:
        msg = line.message
        head = msg[:1]
        if head == "{" and msg.endswith("}"):
            # The JSON log format: three lines in four are platform records.
            if '"platform.' not in msg and _plain_json_record(msg):
                # An ordinary JSON log record: only its request id matters, no need to decode.
                m = _JSON_REQUEST_ID.search(msg)
                self.attach(line, m.group(1) or None if m else None, None)
                return
            if self.json_line(line):
                return
            if '"platform.' in msg and '"type"' in msg:
                self.skipped += 1  # a platform record cut short: its numbers are lost
                return
            self.text_line(line, msg)
        elif head == "S" and msg.startswith("START RequestId:"):
            self.start(line, msg, True)
        elif head == "E" and msg.startswith("END RequestId:"):
            self.end(line, msg, True)
        elif head == "R" and msg.startswith("REPORT "):
            self.report(line, msg, True)
        elif head == "I" and msg.startswith("INIT_REPORT "):
            self.init_report(line, msg, True)
        elif head == "I" and msg.startswith("INIT_START "):
            self.init_start(line, True)
        elif head == "X" and msg.startswith("XRAY TraceId:"):
            self.xray_line(line)
        elif head == "{":  # not closed: cut short, or text after all
            if '"platform.' in msg and '"type"' in msg:
                self.skipped += 1  # a platform record cut short: its numbers are lost
                return
            self.text_line(line, msg)
        elif ("RequestId:" in msg or "INIT_" in msg) and (cut := _embedded(msg)):
            self.text_line(line, msg[: cut[0]])
            for i, at in enumerate(cut):
                self.embedded(line, msg[at : cut[i + 1] if i + 1 < len(cut) else len(msg)])
        else:
            self.text_line(line, msg)

    def embedded(self, line: LogLine, text: str) -> None:
        """A platform record inside a text event: applied, while the event stays one line."""
        if text.startswith("START "):
            self.start(line, text, False)
        elif text.startswith("END "):
            self.end(line, text, False)
        elif text.startswith("REPORT "):
            self.report(line, text, False)
        elif text.startswith("INIT_REPORT "):
            self.init_report(line, text, False)
        else:
            self.preamble.pop(line.log_stream, None)  # INIT_START: a new init begins

    # -- assembly ----------------------------------------------------------------------

    def result(self) -> ParseResult:
        seconds: dict[int, datetime] = {}
        invocations = [_assemble(acc, seconds) for acc in sorted(self.accs, key=_start_key)]
        orphans = [line for line in self.orphans if id(line) not in self.adopted] if self.adopted else self.orphans
        return ParseResult(invocations, self.skipped, orphans, self.init_reports)


_loads = orjson.loads
_PLATFORM_HANDLERS: dict[str, Callable[[_Parser, LogLine, Any], None]] = {
    "platform.start": _Parser.platform_start,
    "platform.runtimeDone": _Parser.platform_runtime_done,
    "platform.report": _Parser.platform_report,
}

# A JSON record that can be neither a platform record nor error evidence: no error fields,
# no error level, none of the platform's failure phrases.
_JSON_REQUEST_ID = re.compile(r'"(?:requestId|AWSRequestId|awsRequestId|function_request_id)"\s*:\s*"([^"\\]*)"')
# ("rror" stands for error and Error, "RROR" for ERROR, "atal" for fatal and Fatal: fewer scans
# of the line, and a record they catch needlessly is only decoded.) '"platform.' is tested first.
_NOT_PLAIN = ("rror", "RROR", "atal", "ATAL", "Task timed out", "Runtime exited")


def _plain_json_record(msg: str) -> bool:
    # A plain loop: all() over a generator costs half as much again, on most JSON lines.
    for marker in _NOT_PLAIN:  # noqa: SIM110
        if marker in msg:
            return False
    return True


def _uuid_at(text: str, at: int) -> str | None:
    """The canonical request id (a UUID) at `at`, ended by whitespace or the end; else None."""
    rid = text[at : at + 36]
    if (
        len(rid) == 36
        and rid[8] == rid[13] == rid[18] == rid[23] == "-"
        and (len(text) == at + 36 or text[at + 36] in " \t\r\n")
        and rid.replace("-", "").isalnum()
    ):
        return rid
    return None


def _embedded(msg: str) -> list[int]:
    return [m.start() for m in _EMBEDDED_PLATFORM.finditer(msg) if m.start() > 0]


def _start_key(acc: _Acc) -> tuple[int, int]:
    acc.started = _start_of(acc)  # kept for `_assemble`, which runs right after the sort
    return (acc.started[0], acc.seq)


def _start_of(acc: _Acc) -> tuple[int, str]:
    """When the invocation started, and how that is known. A window that begins after the
    START still holds the REPORT, whose time is the end: end − Duration is the start to a
    few milliseconds, never the end itself (a re-read must find the same row)."""
    if acc.start_ms is not None:
        return acc.start_ms, "start"
    if acc.report_ms is not None and acc.duration is not None:
        start = acc.report_ms - round(acc.duration)
        if start >= _TS_MIN:
            return min(acc.first_ms, start), "report"
    return acc.first_ms, "lines"


def _assemble(acc: _Acc, seconds: dict[int, datetime]) -> ParsedInvocation:
    if acc.oom:
        status = "out_of_memory"
    elif acc.timeout:
        status = "timeout"
    elif acc.error:
        status = "error"
    elif acc.probable and not acc.has_report and not acc.verdict:
        status = "error"  # the runtime's JSON error shape and no platform verdict to say otherwise
    elif acc.has_report or acc.success:
        status = "success"
    else:
        status = "unknown"
    error_type: str | None = None
    error_message: str | None = None
    frames: list[str] = []
    best = acc.best
    if status == "out_of_memory":
        # The type Lambda or the runtime printed (Runtime.OutOfMemory, Runtime.ExitError for a
        # killed runtime, java.lang.OutOfMemoryError…): never one the log does not contain.
        oom = acc.oom_info
        error_type = (oom.error_type if oom else None) or (best.error_type if best else None)
        error_message = (oom.message if oom else None) or (best.message if best else None)
        frames = list(oom.frames) if oom and oom.frames else []
    elif status == "timeout":
        error_message = acc.timeout_message
    elif status == "error" and best is not None:
        error_type, error_message, frames = best.error_type, best.message, list(best.frames)
    init = acc.init if acc.init is not None else acc.init_fallback
    # Lines arrive in time order, so the line that created the accumulator is its earliest.
    started, start_source = acc.started if acc.started is not None else _start_of(acc)
    ended = acc.report_ms if acc.report_ms is not None else acc.end_ms
    # Positional, in field order: keyword passing costs twice as much, once per invocation.
    return ParsedInvocation(
        acc.rid,
        acc.attempt,
        status,
        _ms_to_dt_cached(started, seconds),
        start_source,
        _ms_to_dt_cached(ended, seconds) if ended is not None else None,
        acc.duration,
        acc.billed,
        acc.memory,
        acc.max_memory,
        init,
        acc.restore,
        acc.billed_restore,
        acc.cold is not None,
        acc.xray,
        error_type,
        error_message,
        frames,
        acc.stream,
        acc.has_report,
        acc.lines,
        _evidence(acc, status),
    )


def _evidence(acc: _Acc, status: str) -> list[Evidence]:
    why = acc.why or {}
    key = "probable" if status == "error" and "error" not in why else status
    if key in why:
        out = [Evidence("status", rule, line) for rule, line in why[key]]
    elif status == "success":
        if acc.success_by is not None:
            out = [Evidence("status", f"{acc.success_by[0]} status success", acc.success_by[1])]
        else:
            out = [Evidence("status", "REPORT without a failure status", acc.report_line)]
    else:
        out = [Evidence("status", "no REPORT and no decisive line", None)]
    if status == "out_of_memory" and acc.oom_info is not None:
        out.append(Evidence("error", acc.oom_info.rule, why[status][0][1]))
    elif status == "error" and acc.best is not None:
        out.append(Evidence("error", acc.best.rule, acc.best_line))
    if acc.cold is not None:
        out.append(Evidence("cold_start", *acc.cold))
    return out


def parse_events(events: Iterable[Mapping[str, Any]]) -> ParseResult:
    """Parse CloudWatch Logs events of one or more Lambda log streams into invocations."""
    with gc_paused():  # a few objects per event, no cycles (monitoring/gcpause.py)
        return _parse(events)


def _parse(events: Iterable[Mapping[str, Any]]) -> ParseResult:
    seen: set[str] = set()
    if _event_lines is None:
        lines, skipped = event_lines_reference(events, seen)
    else:
        lines, skipped = _event_lines(events, LogLine, seen, partial(event_line, seen=seen))
    lines.sort(key=_line_ts)
    parser = _Parser()
    parser.skipped = skipped
    feed = parser.feed
    for line in lines:
        feed(line)
    return parser.result()


def event_line(event: Any, seen: set[str]) -> LogLine | Literal[False] | None:
    """One CloudWatch Logs event's line; None when it cannot be one (counted as skipped),
    False when its event id is in `seen` (a repeat: not counted), which it is added to."""
    if type(event) is not dict and not isinstance(event, Mapping):
        return None
    ts = event.get("timestamp")
    msg = event.get("message")
    if type(ts) is not int:
        if isinstance(ts, bool) or not isinstance(ts, int | float) or not isfinite(ts):
            return None
        ts = int(ts)
    if not _TS_MIN <= ts <= _TS_MAX:
        return None  # no datetime can hold it
    if type(msg) is not str and not isinstance(msg, str):
        return None
    stream = event.get("logStreamName")
    # Subscription payloads ("awslogs" DATA_MESSAGE) call it "id".
    event_id = event.get("eventId") or event.get("id")
    if type(event_id) is str:
        # Overlapping FilterLogEvents windows return an event twice; a repeated START
        # would otherwise pass for an async retry.
        if event_id in seen:
            return False
        seen.add(event_id)
    else:
        event_id = None
    return LogLine(ts, msg.rstrip("\n"), stream if type(stream) is str else "", event_id)


def event_lines_reference(events: Iterable[Any], seen: set[str]) -> tuple[list[LogLine], int]:
    """The lines of `events` in their order, and how many were skipped: what the compiled
    `event_lines` computes (monitoring/_cingest.c; the tests compare them)."""
    lines: list[LogLine] = []
    skipped = 0
    for event in events:
        line = event_line(event, seen)
        if line is None:
            skipped += 1
        elif line is not False:
            lines.append(line)
    return lines, skipped


try:  # the parser's first pass, compiled where built (docs/architecture.md §6)
    from monitoring._cingest import event_lines as _event_lines
except ImportError:  # pragma: no cover - no C compiler where it was installed
    _event_lines = None

_line_ts = attrgetter("timestamp_ms")


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
