"""Error extraction for Lambda log lines: how each runtime prints an unhandled error.

Pure functions used by `lambda_logs`. Every detector returns an `ErrorInfo` (or None) and
never raises: the lines are whatever the function printed, often truncated at 256 KB.

Candidates are ranked because one failed invocation usually prints the same failure
several times (a Go panic followed by the runtime's JSON error and by "Runtime exited
with error"); the most specific description wins, the earliest among equals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .lambda_logs import ParsedInvocation

# Ranks, best last. Structured = the runtime's own JSON error record; text = a runtime's
# printed exception; exit = the platform noticing the process died; logged = an error the
# function logged (it may have handled it); platform = only the REPORT's Error Type.
RANK_PLATFORM = 1
RANK_LOGGED = 2
RANK_EXIT = 3
RANK_TEXT = 4
RANK_STRUCTURED = 5

KIND_ERROR = "error"
KIND_TIMEOUT = "timeout"
KIND_OOM = "oom"

MAX_FRAMES = 5
OUT_OF_MEMORY_TYPE = "Runtime.OutOfMemory"

# Node prints these labels before the JSON of an error that escaped the handler.
NODE_LABELS = ("Invoke Error", "Uncaught Exception", "Unhandled Promise Rejection")

_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_PY_ERROR = re.compile(r"\[ERROR\] ([A-Za-z_][\w.]*)(?::[ \t]*(.*))?$")
_EXC_FIRST = re.compile(
    r"(?:Exception in thread \"[^\"]*\" )?((?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*"
    r"(?:Exception|Error|Throwable|Fault))(?::[ \t]*(.*))?$"
)
_JSON_STR_FIELD = {
    key: re.compile(r'"' + key + r'"\s*:\s*"((?:[^"\\]|\\.)*)"') for key in ("errorType", "errorMessage")
}
_TIMED_OUT = re.compile(r"Task timed out after [\d.]+ seconds")
_EXITED = re.compile(r"Runtime exited with(?:out providing a reason| error: [^\r\n]*)")
_RUNTIME_TYPE_LINE = re.compile(r"Runtime\.\w+$")
_GO_FRAME_OFFSET = re.compile(r" \+0x[0-9a-f]+$")


@dataclass(slots=True)
class ErrorInfo:
    """One piece of error evidence found in a line."""

    kind: str  # error | timeout | oom
    rank: int
    decisive: bool  # proves the invocation failed (not merely a logged error)
    error_type: str | None = None
    message: str | None = None
    frames: list[str] = field(default_factory=list)


def first_line(text: str | None, error_type: str | None = None) -> str | None:
    """The first line of an error message, without a repeated `Type: ` prefix."""
    if not text:
        return None
    line = _LINE_SPLIT.split(text, 1)[0].strip()
    if error_type and line.startswith(error_type + ":"):
        line = line[len(error_type) + 1 :].strip()
    return line or None


def _as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def frames_from_list(items: Any) -> list[str]:
    """Top frames of a JSON stack (`stack`, `trace`, `stackTrace`) in any runtime's shape."""
    if not isinstance(items, list):
        return []
    out: list[str] = []
    python = False
    # Node's stack starts with the "Type: message" line: keep only its "at" frames then.
    has_at = any(isinstance(s, str) and s.lstrip(" \t\xa0").startswith("at ") for s in items)
    for item in items:
        if isinstance(item, dict):  # aws-lambda-go: {"path", "line", "label"}
            out.append(f"{item.get('path', '?')}:{item.get('line', '?')} {item.get('label', '?')}")
            continue
        if not isinstance(item, str):
            continue
        line = _LINE_SPLIT.split(item.strip(" \t\xa0\r\n"), 1)[0]
        if line.startswith("at "):
            out.append(line[3:])
        elif has_at:
            continue
        elif line.startswith('File "'):
            python = True
            out.append(line)
        elif line:
            out.append(line)  # Java / Ruby / .NET frames are bare strings
    # Python prints the innermost frame last; that end is the top of the stack.
    return out[-MAX_FRAMES:] if python else out[:MAX_FRAMES]


def _text_frames(lines: Sequence[str]) -> list[str]:
    """Frames of a printed stack: `at ...` (Java, .NET, Node) or `File "..."` (Python)."""
    out: list[str] = []
    python = False
    for raw in lines:
        line = raw.strip(" \t\xa0")
        if line.startswith("at "):
            out.append(line[3:])
        elif line.startswith('File "'):
            python = True
            out.append(line)
    return out[-MAX_FRAMES:] if python else out[:MAX_FRAMES]


def _go_frames(lines: Sequence[str]) -> list[str]:
    out: list[str] = []
    in_trace = False
    func: str | None = None
    for line in lines:
        if line.startswith("goroutine "):
            in_trace = True
            continue
        if not in_trace or not line.strip():
            continue
        if line.startswith("\t"):
            if func is not None:
                out.append(f"{func} {_GO_FRAME_OFFSET.sub('', line.strip())}")
                func = None
                if len(out) == MAX_FRAMES:
                    break
        else:
            # Arguments are raw pointer words that differ on every run: drop them.
            func = line[: line.rfind("(")] if line.endswith(")") and "(" in line else line
    return out


def _partial_json_fields(text: str) -> tuple[str | None, str | None]:
    """errorType / errorMessage from JSON that does not parse (truncated at 256 KB)."""
    found: list[str | None] = []
    for key in ("errorType", "errorMessage"):
        m = _JSON_STR_FIELD[key].search(text)
        value: str | None = None
        if m:
            try:
                value = json.loads(f'"{m.group(1)}"')
            except ValueError:
                value = m.group(1)
        found.append(value or None)
    return found[0], found[1]


def error_from_json(obj: dict[str, Any], *, decisive: bool | None = None) -> ErrorInfo | None:
    """An error record: `{"errorType", "errorMessage", "stackTrace"|"stack"|"trace"}`.

    Bare records are what the runtimes print for an unhandled error (Java, Go, Ruby, .NET,
    old Node, Python's JSON log format, which has no "message"). Records with a "message"
    are application logs (e.g. `logger.exception`), only evidence once the platform says
    the invocation failed, except Node's JSON format, whose message is the label.
    """
    error_type = _as_str(obj.get("errorType"))
    raw_message = obj.get("errorMessage")
    if error_type is None and not isinstance(raw_message, str):
        # Node's JSON format logs console.error(err) as {"message": {"errorType", ...}}.
        nested = obj.get("message")
        if not isinstance(nested, dict):
            return None
        obj, decisive = nested, False
        error_type = _as_str(obj.get("errorType"))
        raw_message = obj.get("errorMessage")
        if error_type is None and not isinstance(raw_message, str):
            return None
    if decisive is None:
        label = obj.get("message")
        decisive = label is None or label in NODE_LABELS
    stack = obj.get("stackTrace", obj.get("stack", obj.get("trace")))
    message = first_line(raw_message if isinstance(raw_message, str) else None, error_type)
    kind = KIND_OOM if error_type == OUT_OF_MEMORY_TYPE else KIND_ERROR
    rank = RANK_STRUCTURED if decisive else RANK_LOGGED
    return ErrorInfo(kind, rank, decisive, error_type, message, frames_from_list(stack))


def _error_from_embedded_json(text: str, *, decisive: bool) -> ErrorInfo:
    start = text.find("{")
    if start >= 0:
        try:
            obj = json.loads(text[start:])
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            found = error_from_json(obj, decisive=decisive)
            if found is not None:
                return found
        error_type, message = _partial_json_fields(text[start:])
        if error_type or message:
            rank = RANK_STRUCTURED if decisive else RANK_LOGGED
            return ErrorInfo(KIND_ERROR, rank, decisive, error_type, first_line(message, error_type))
    return ErrorInfo(KIND_ERROR, RANK_TEXT if decisive else RANK_LOGGED, decisive)


def detect_text(body: str, level: str | None) -> ErrorInfo | None:
    """Error evidence in a text line. `body` is the line without its timestamp / request id
    prefix; `level` the runtime's level word when the prefix had one (`ERROR`, `fail`...)."""
    if not body:
        return None
    head = body[0]
    if head == "[" and body.startswith("[ERROR] "):
        # Python's runtime: "[ERROR] Type: message" then the traceback, lines joined by "\r"
        # (or "\n" when framed) and indented with NO-BREAK SPACEs. Application logging
        # writes "[ERROR]\t<time>\t<request id>\t..." instead, which never reaches here.
        lines = _LINE_SPLIT.split(body)
        m = _PY_ERROR.match(lines[0])
        if m is None:
            return None
        error_type = m.group(1)
        return ErrorInfo(KIND_ERROR, RANK_TEXT, True, error_type, first_line(m.group(2)), _text_frames(lines[1:]))
    if level == "ERROR" and body.startswith(NODE_LABELS):
        return _error_from_embedded_json(body, decisive=True)
    if "Task timed out after" in body:
        m = _TIMED_OUT.search(body)
        return ErrorInfo(KIND_TIMEOUT, RANK_TEXT, True, None, m.group(0) if m else first_line(body))
    if "Runtime exited with" in body:
        m = _EXITED.search(body)
        if m is not None:
            text = m.group(0).rstrip()
            if "signal: killed" in text:
                return ErrorInfo(KIND_OOM, RANK_EXIT, True, OUT_OF_MEMORY_TYPE, text)
            rest = body[m.end() :].strip()
            error_type = rest if _RUNTIME_TYPE_LINE.match(rest) else "Runtime.ExitError"
            return ErrorInfo(KIND_ERROR, RANK_EXIT, True, error_type, text)
    if "JavaScript heap out of memory" in body:
        for line in _LINE_SPLIT.split(body):
            if "JavaScript heap out of memory" in line:
                text = line.strip()
                text = text.removeprefix("FATAL ERROR:").strip()
                return ErrorInfo(KIND_OOM, RANK_EXIT, True, OUT_OF_MEMORY_TYPE, text)
    if head == "p" and body.startswith("panic: "):
        lines = _LINE_SPLIT.split(body)
        message = lines[0][len("panic: ") :].removesuffix(" [recovered]").strip() or None
        return ErrorInfo(KIND_ERROR, RANK_TEXT, True, "panic", message, _go_frames(lines[1:]))
    if head == "E" and body.startswith("Error raised from handler method"):
        # Ruby: the label line, then the runtime's JSON error record in the same event.
        return _error_from_embedded_json(body, decisive=True)
    if head == "U" and body.startswith("Unable to import module"):
        # Python 2.7 / 3.6 print the import failure bare, without a type.
        return ErrorInfo(KIND_ERROR, RANK_TEXT, True, None, first_line(body))
    if head == "{":
        if body.endswith("}"):
            try:
                obj = json.loads(body)
            except (ValueError, RecursionError):
                return None
            if isinstance(obj, dict):
                return error_from_json(obj)
        return None
    if "at " in body and ("\tat " in body or "   at " in body):
        return _exception_text(body, level)
    return None


def _exception_text(body: str, level: str | None) -> ErrorInfo | None:
    """Java / .NET printed stack traces: `pkg.Type: message` then `at ...` frames."""
    lines = _LINE_SPLIT.split(body)
    m = _EXC_FIRST.match(lines[0].strip())
    if m is None:
        return None
    frames = _text_frames(lines[1:])
    if not frames:
        return None
    # Uppercase levels are Node's console methods: the function logged an error it caught.
    # Bare traces (Java) and .NET's "fail"/"crit" are the runtime reporting the handler's.
    decisive = level is None or level in ("fail", "crit")
    rank = RANK_TEXT if decisive else RANK_LOGGED
    return ErrorInfo(KIND_ERROR, rank, decisive, m.group(1), first_line(m.group(2)), frames)


def error_groups(invocations: Iterable[ParsedInvocation]) -> list[dict[str, Any]]:
    """Failed invocations grouped by fingerprint (type, message, top frames), in first-seen order."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for inv in invocations:
        if inv.status not in ("error", "timeout", "out_of_memory"):
            continue
        if inv.error_type is None and inv.error_message is None:
            continue
        key = (inv.error_type, inv.error_message if not inv.error_frames else None, tuple(inv.error_frames))
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "error_type": inv.error_type,
                "error_message": inv.error_message,
                "count": 0,
                "request_ids": [],
            }
        group["count"] += 1
        if inv.request_id not in group["request_ids"]:
            group["request_ids"].append(inv.request_id)
    return list(groups.values())
