"""Error extraction for Lambda log lines: how each runtime prints an unhandled error.

Pure functions used by `lambda_logs`. Every detector returns an `ErrorInfo` (or None) and
never raises: the lines are whatever the function printed, often truncated at 256 KB.

Candidates are ranked because one failed invocation usually prints the same failure
several times (a Go panic followed by the runtime's JSON error and by "Runtime exited
with error"); the most specific description wins, the earliest among equals.

Each detector models one thing a runtime or the platform prints (the `rule` it records is
what `parselogs --explain` shows):

* Python: "[ERROR] Type: message" then the traceback, lines joined by "\\r"; in the JSON log
  format a record without "message" (after a "LAMBDA_WARNING: ..." text and "\\r" since
  the 2024 runtimes).
* Node.js: "ERROR\\tInvoke Error|Uncaught Exception|Unhandled Promise Rejection\\t{json}";
  before 2019 the uncaught exception printed bare ("<Type>: <message>" and its stack) or a
  callback error as JSON on the line after "<time>\\t<request id>".
* Java: the runtime's report "<message>: <exception class>" followed by the class's stack
  trace, possibly glued to the function's last unterminated output line.
* .NET: the exception logged at level "fail"/"crit" (the first event may hold only
  "<Type>: <message>": the frames follow in events of their own).
* Go: aws-lambda-go logs a returned error through the `log` package,
  "<yyyy/mm/dd hh:mm:ss> {errorMessage, errorType}"; a goroutine panic prints "panic: ".
* Ruby: "Error raised from handler method", "Critical exception from handler" or
  "Init error when loading handler", then the runtime's JSON error document (same event or
  the next one); init failures are typed "Init<Class>".
* The platform: "RequestId: <id> Error: <message>" with the error type on the next line,
  "Unknown application error occurred" with the type, "Process exited before completing
  request" (before 2019), "Runtime exited with error: ..." (killed = out of memory).
* Out of memory as each runtime says it: Runtime.OutOfMemory, "signal: killed", V8's
  "JavaScript heap out of memory", java.lang.OutOfMemoryError, Python's MemoryError,
  Ruby's NoMemoryError, .NET's System.OutOfMemoryException, Go's "fatal error: runtime:
  out of memory". The status says out of memory; the error type stays the one printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from monitoring.fingerprint import error_key

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
# Error types that only the init phase produces: the invocation that carries one ran (and
# failed) an init, so it is a cold start even when no Init Duration is printed.
INIT_ERROR_TYPES = frozenset(
    {
        "Runtime.ImportModuleError",
        "Runtime.UserCodeSyntaxError",
        "Runtime.HandlerNotFound",
        "Runtime.MalformedHandlerName",
        "Runtime.InvalidEntrypoint",
        "Runtime.InvalidWorkingDirectory",
        "Runtime.BadFunctionCode",
    }
)
# Exception classes that mean the process ran out of memory, by runtime.
OOM_TYPES = frozenset(
    {
        OUT_OF_MEMORY_TYPE,
        "MemoryError",
        "java.lang.OutOfMemoryError",
        "System.OutOfMemoryException",
        "NoMemoryError",
        "Function<NoMemoryError>",
    }
)
# The Java runtime's own faults while loading the handler class (init phase): their message
# is the runtime's, not the exception's.
_JAVA_LOADING_FAULTS = ("Class not found: ", "No public method named ", "No public zero-argument constructor")

_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_PY_ERROR = re.compile(r"\[ERROR\] ([A-Za-z_][\w.<>]*)(?::[ \t]*(.*))?$")
_EXC_FIRST = re.compile(
    r"(?:Exception in thread \"[^\"]*\" )?((?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*"
    r"(?:Exception|Error|Throwable|Fault))(?::[ \t]*(.*))?$"
)
# "<message>: <qualified exception class>" at the end of a line: the Java runtime's report.
_JAVA_REPORT = re.compile(r"(.*): ((?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*(?:Exception|Error|Throwable))[ \t]*$")
_JSON_STR_FIELD = {
    key: re.compile(r'"' + key + r'"\s*:\s*"((?:[^"\\]|\\.)*)"')
    for key in ("errorType", "errorMessage", "requestId", "AWSRequestId", "awsRequestId")
}
_JSON_NULL_MESSAGE = re.compile(r'"message"\s*:\s*null')
_TIMED_OUT = re.compile(r"Task timed out after [\d.]+ seconds")
_EXITED = re.compile(r"Runtime exited with(?:out providing a reason| error: [^\r\n]*)")
_TYPE_LINE = re.compile(r"[A-Za-z_][\w.$]*(?:<[\w.:$]+>)?$")
_GO_FRAME_OFFSET = re.compile(r" \+0x[0-9a-f]+$")
_LEVELS_ERROR = frozenset({"ERROR", "Error", "error", "FATAL", "Fatal", "fatal", "CRITICAL", "Critical", "critical"})


@dataclass(slots=True)
class ErrorInfo:
    """One piece of error evidence found in a line."""

    kind: str  # error | timeout | oom
    rank: int
    decisive: bool  # proves the invocation failed (not merely a logged error)
    error_type: str | None = None
    message: str | None = None
    frames: list[str] = field(default_factory=list)
    rule: str = ""  # the runtime behaviour that recognised it, for `parselogs --explain`
    init: bool = False  # an init-phase failure: the invocation ran an init
    probable: bool = False  # the runtime's JSON error shape, but a function could log it too
    request_id: str | None = None  # named inside the record (JSON formats)


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


def is_init_error_type(error_type: str | None) -> bool:
    return error_type is not None and (error_type in INIT_ERROR_TYPES or error_type.startswith("Init<"))


def _kind_of(error_type: str | None) -> str:
    return KIND_OOM if error_type in OOM_TYPES else KIND_ERROR


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


def _partial_json_field(text: str, key: str) -> str | None:
    m = _JSON_STR_FIELD[key].search(text)
    if m is None:
        return None
    try:
        value = orjson.loads(f'"{m.group(1)}"')
    except ValueError:
        value = m.group(1)
    return value if isinstance(value, str) and value else None


def request_id_of(obj: dict[str, Any]) -> str | None:
    for key in ("requestId", "AWSRequestId", "awsRequestId", "function_request_id"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def error_from_json(obj: dict[str, Any], *, decisive: bool | None = None) -> ErrorInfo | None:
    """An error record: `{"errorType", "errorMessage", "stackTrace"|"stack"|"trace"}`.

    Bare records are what the runtimes print for an unhandled error (Java, Go, Ruby, .NET,
    old Node, Python's JSON log format, which has no "message"; .NET's has "message": null).
    Records with a "message" are application logs (e.g. `logger.exception`), only evidence
    once the platform says the invocation failed, except Node's JSON format, whose message
    is the label. A record in Lambda's JSON log format at level ERROR that carries type,
    message and stack is what Node's runtime writes for an unhandled error, and also what a
    function's own `console.error(err)` writes: a probable failure, decided by the platform
    when it reports, an error when nothing else does.
    """
    outer = obj
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
    rank = RANK_STRUCTURED if decisive else RANK_LOGGED
    probable = (
        not decisive
        and outer.get("level") in _LEVELS_ERROR
        and error_type is not None
        and isinstance(raw_message, str)
        and isinstance(stack, list)
    )
    if decisive:
        rule = "runtime's JSON error record"
    elif probable:
        rule = "JSON log record at level ERROR with errorType, errorMessage and stackTrace"
    else:
        rule = "error record logged by the function"
    return ErrorInfo(
        _kind_of(error_type),
        rank,
        decisive,
        error_type,
        message,
        frames_from_list(stack),
        rule=rule,
        init=decisive and is_init_error_type(error_type),
        probable=probable,
        request_id=request_id_of(outer),
    )


def _error_from_embedded_json(text: str, *, decisive: bool, rule: str) -> ErrorInfo:
    start = text.find("{")
    if start >= 0:
        try:
            obj = orjson.loads(text[start:])
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            found = error_from_json(obj, decisive=decisive)
            if found is not None:
                found.rule = rule
                return found
        partial = _partial_json_error(text[start:], decisive=decisive)
        if partial is not None:
            partial.rule = rule
            return partial
    return ErrorInfo(KIND_ERROR, RANK_TEXT if decisive else RANK_LOGGED, decisive, rule=rule)


def _partial_json_error(text: str, *, decisive: bool | None) -> ErrorInfo | None:
    """errorType / errorMessage of a JSON record cut short (256 KB, or a copy that stops)."""
    error_type = _partial_json_field(text, "errorType")
    message = _partial_json_field(text, "errorMessage")
    if not (error_type or message):
        return None
    if decisive is None:
        # The runtimes' own records have no "message" (Python, Go, Java) or "message": null (.NET).
        decisive = '"message"' not in text or _JSON_NULL_MESSAGE.search(text) is not None
    rid = None
    for key in ("requestId", "AWSRequestId", "awsRequestId"):
        rid = _partial_json_field(text, key)
        if rid:
            break
    return ErrorInfo(
        _kind_of(error_type),
        RANK_STRUCTURED if decisive else RANK_LOGGED,
        decisive,
        error_type,
        first_line(message, error_type),
        rule="runtime's JSON error record, cut short" if decisive else "error record logged by the function, cut short",
        init=decisive and is_init_error_type(error_type),
        request_id=rid,
    )


def detect_platform_error(body: str) -> ErrorInfo | None:
    """The platform's "RequestId: <id> Error: <message>\\n<Type>" (body is after "Error: "),
    or its pre-2019 "RequestId: <id> Process exited before completing request"."""
    lines = [line.strip() for line in _LINE_SPLIT.split(body) if line.strip()]
    if not lines:
        return None
    message = lines[0]
    error_type = lines[-1] if len(lines) > 1 and _TYPE_LINE.match(lines[-1]) else None
    if message.startswith("Runtime exited with"):
        return _exit_info(message, error_type)
    rule = "platform line 'RequestId: … Error: …' with the error type"
    if message.startswith("Process exited before completing request"):
        rule = "platform line 'Process exited before completing request'"
    return ErrorInfo(
        _kind_of(error_type), RANK_EXIT, True, error_type, message, rule=rule, init=is_init_error_type(error_type)
    )


def _exit_info(text: str, error_type: str | None) -> ErrorInfo:
    # SIGKILL is how Lambda stops a runtime at its memory limit; other signals and exit
    # codes are crashes (137 from a host process is its own exit status, not Lambda's kill).
    if "signal: killed" in text:
        return ErrorInfo(
            KIND_OOM, RANK_EXIT, True, error_type, text, rule="'Runtime exited with error: signal: killed'"
        )
    return ErrorInfo(
        KIND_ERROR, RANK_EXIT, True, error_type or "Runtime.ExitError", text, rule="'Runtime exited with error'"
    )


def _java_report(body: str) -> ErrorInfo | None:
    """The Java runtime's report of an unhandled exception: "<message>: <class>", then the
    exception's own stack trace starting with "<class>". The first line may be glued to the
    function's last output line when it did not end with a newline."""
    lines = _LINE_SPLIT.split(body)
    for i in range(len(lines) - 1):
        m = _JAVA_REPORT.match(lines[i])
        if m is None:
            continue
        fault, error_type = m.group(1), m.group(2)
        nxt = lines[i + 1].strip()
        if not nxt.startswith(error_type):
            continue
        rest = nxt[len(error_type) :]
        exception_message = rest[1:].strip() if rest.startswith(":") else None
        loading = fault.startswith(_JAVA_LOADING_FAULTS) or any(
            f" {prefix}" in fault for prefix in _JAVA_LOADING_FAULTS
        )
        message = fault.strip()
        if exception_message and message.endswith(exception_message) and not loading:
            message = exception_message
        elif loading:
            for prefix in _JAVA_LOADING_FAULTS:
                at = message.find(prefix)
                if at > 0:
                    message = message[at:]
                    break
        return ErrorInfo(
            _kind_of(error_type),
            RANK_TEXT,
            True,
            error_type,
            message or None,
            _text_frames(lines[i + 2 :]),
            rule="Java runtime report '<message>: <exception class>' and its stack trace",
            init=loading,
        )
    return None


def _embedded_json_record(body: str) -> ErrorInfo | None:
    """A runtime's JSON error record on a later line of a text event (Python 3.12+ writes
    "LAMBDA_WARNING: …\\r{record}" in the JSON log format)."""
    for m in re.finditer(r"(?:^|[\r\n])[ \t]*\{", body):
        start = m.end() - 1
        text = body[start:].strip()
        try:
            obj = orjson.loads(text)
        except ValueError:
            partial = _partial_json_error(text, decisive=None)
            if partial is not None:
                return partial
            continue
        if isinstance(obj, dict):
            found = error_from_json(obj)
            if found is not None:
                if found.decisive:
                    found.rule = "runtime's JSON error record after a text prefix"
                return found
    return None


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
        return ErrorInfo(
            _kind_of(error_type),
            RANK_TEXT,
            True,
            error_type,
            first_line(m.group(2)),
            _text_frames(lines[1:]),
            rule="Python runtime '[ERROR] <Type>: <message>'",
            init=is_init_error_type(error_type),
        )
    if level == "ERROR" and body.startswith(NODE_LABELS):
        return _error_from_embedded_json(body, decisive=True, rule="Node.js runtime 'ERROR <label> {json}'")
    if "Task timed out after" in body:
        m = _TIMED_OUT.search(body)
        return ErrorInfo(
            KIND_TIMEOUT, RANK_TEXT, True, None, m.group(0) if m else first_line(body), rule="'Task timed out' line"
        )
    if "Runtime exited with" in body:
        m = _EXITED.search(body)
        if m is not None:
            rest = body[m.end() :].strip()
            return _exit_info(m.group(0).rstrip(), rest if _TYPE_LINE.match(rest) else None)
    if "out of memory" in body:
        for line in _LINE_SPLIT.split(body):
            if "JavaScript heap out of memory" in line:
                text = line.strip().removeprefix("FATAL ERROR:").strip()
                return ErrorInfo(KIND_OOM, RANK_EXIT, True, None, text, rule="V8 'JavaScript heap out of memory'")
            if line.startswith("fatal error: runtime: out of memory"):
                return ErrorInfo(
                    KIND_OOM, RANK_EXIT, True, None, line.strip(), rule="Go 'fatal error: runtime: out of memory'"
                )
    if head == "p" and body.startswith("panic: "):
        lines = _LINE_SPLIT.split(body)
        message = lines[0][len("panic: ") :].removesuffix(" [recovered]").strip() or None
        return ErrorInfo(KIND_ERROR, RANK_TEXT, True, "panic", message, _go_frames(lines[1:]), rule="Go 'panic:'")
    if head == "E" and body.startswith("Error raised from handler method"):
        # Ruby: the label line, then the runtime's JSON error record (same event or the next).
        return _error_from_embedded_json(body, decisive=True, rule="Ruby runtime 'Error raised from handler method'")
    if head == "C" and body.startswith("Critical exception from handler"):
        return _error_from_embedded_json(body, decisive=True, rule="Ruby runtime 'Critical exception from handler'")
    if head == "I" and body.startswith("Init error when loading handler"):
        info = _error_from_embedded_json(body, decisive=True, rule="Ruby runtime 'Init error when loading handler'")
        if info.rank == RANK_TEXT:
            info.rank = RANK_EXIT  # the label alone: the JSON that follows says more
        info.init = True
        return info
    if head == "U":
        if body.startswith("Unknown application error occurred"):
            # The platform, when the runtime died without reporting: the type on the next line.
            lines = [line.strip() for line in _LINE_SPLIT.split(body) if line.strip()]
            error_type = lines[1] if len(lines) > 1 and _TYPE_LINE.match(lines[1]) else None
            return ErrorInfo(
                _kind_of(error_type),
                RANK_EXIT,
                True,
                error_type,
                None,
                rule="platform line 'Unknown application error occurred' with the error type",
                init=is_init_error_type(error_type),
            )
        if body.startswith("Unable to import module"):
            # Python 2.7 / 3.6 and Node.js before 2018 print the import failure bare, untyped.
            return ErrorInfo(
                KIND_ERROR, RANK_TEXT, True, None, first_line(body), rule="'Unable to import module'", init=True
            )
    if head == "S" and body.startswith("Syntax error in module"):
        return ErrorInfo(
            KIND_ERROR, RANK_TEXT, True, None, first_line(body), rule="'Syntax error in module'", init=True
        )
    if head == "P" and body.startswith("Process exited before completing request"):
        return ErrorInfo(
            KIND_ERROR,
            RANK_EXIT,
            True,
            None,
            first_line(body),
            rule="platform line 'Process exited before completing request'",
        )
    if head == "{":
        if body.rstrip().endswith("}"):
            try:
                obj = orjson.loads(body)
            except ValueError:
                return _partial_json_error(body, decisive=None)
            return error_from_json(obj) if isinstance(obj, dict) else None
        return _partial_json_error(body, decisive=None)
    if level in ("fail", "crit"):
        # .NET logs an unhandled exception at level "fail"; when its lines are split into
        # events the first one holds only "<Type>: <message>".
        m = _EXC_FIRST.match(_LINE_SPLIT.split(body, 1)[0].strip())
        if m is not None:
            error_type = m.group(1)
            return ErrorInfo(
                _kind_of(error_type),
                RANK_TEXT,
                True,
                error_type,
                first_line(m.group(2)),
                _text_frames(_LINE_SPLIT.split(body)[1:]),
                rule=f".NET runtime exception at level '{level}'",
            )
    if level is None:
        # Runtime output carries no level word; a function's own logging (Node's console,
        # Python's logging) does, and may print anything, including these shapes.
        if '"errorType"' in body:
            found = _embedded_json_record(body)
            if found is not None:
                return found
        if ("\n" in body or "\r" in body) and ": " in body:
            found = _java_report(body)
            if found is not None:
                return found
    if "at " in body and ("\tat " in body or "   at " in body):
        return _exception_text(body, level)
    return None


def _exception_text(body: str, level: str | None) -> ErrorInfo | None:
    """Java / .NET / old Node printed stack traces: `pkg.Type: message` then `at ...` frames."""
    lines = _LINE_SPLIT.split(body)
    m = _EXC_FIRST.match(lines[0].strip())
    if m is None:
        return None
    frames = _text_frames(lines[1:])
    if not frames:
        return None
    # Uppercase levels are Node's console methods: the function logged an error it caught.
    # Bare traces (Java, Node before 2019) and .NET's "fail"/"crit" are the runtime
    # reporting the handler's.
    decisive = level is None or level in ("fail", "crit")
    rank = RANK_TEXT if decisive else RANK_LOGGED
    error_type = m.group(1)
    return ErrorInfo(
        _kind_of(error_type) if decisive else KIND_ERROR,
        rank,
        decisive,
        error_type,
        first_line(m.group(2)),
        frames,
        rule="printed exception with its stack trace" if decisive else "exception logged by the function",
    )


def error_groups(invocations: Iterable[ParsedInvocation]) -> list[dict[str, Any]]:
    """Failed invocations of one function grouped as storage groups them (`monitoring.fingerprint`:
    the status, then the error key: type, normalised message, normalised top frames), in
    first-seen order. The corpus's reports leave out failures with neither type nor message;
    storage keeps them as a group of their own so that the Errors page shows every failure."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for inv in invocations:
        if inv.status not in ("error", "timeout", "out_of_memory"):
            continue
        if inv.error_type is None and inv.error_message is None:
            continue
        key = (inv.status, *error_key(error_type=inv.error_type, message=inv.error_message, frames=inv.error_frames))
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
