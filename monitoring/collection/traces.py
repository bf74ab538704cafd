"""X-Ray traces of Lambda invocations (docs/traces.md): which to fetch, `BatchGetTraces`,
and the segment documents made into a compact list of spans. Pure: no Django, no database.

1. `choose` picks, within a budget, every failed invocation with a trace id, then the
   slowest of each function in each hour, then a stable sample of the rest.
2. `fetch` asks X-Ray for them, five trace ids a call (the API's maximum), paging with
   its own token.
3. `spans` flattens a trace's segment documents into spans: the function's segments and
   every subsegment under them, each with its parent's index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

BATCH = 5  # BatchGetTraces takes at most five trace ids a call
FAILED = frozenset({"error", "timeout", "out_of_memory"})

# Why an invocation's trace was fetched.
REASON_FAILED = "failed"
REASON_SLOWEST = "slowest"
REASON_SAMPLE = "sample"


@dataclass(frozen=True)
class Candidate:
    invocation_id: int
    resource_id: int
    trace_id: str
    started_at: datetime
    status: str
    duration_ms: float | None


@dataclass(frozen=True)
class Choice:
    candidate: Candidate
    reason: str


def _stable_fraction(trace_id: str) -> float:
    """A number in [0, 1) fixed by the trace id: the sample is the same on every re-run."""
    return int.from_bytes(hashlib.sha256(trace_id.encode()).digest()[:8], "big") / 2**64


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def choose(
    candidates: Iterable[Candidate],
    *,
    budget: int,
    sample_rate: float,
    slowest_before: dict[tuple[int, datetime], float] | None = None,
) -> list[Choice]:
    """The invocations whose trace to fetch, most important first, at most `budget`.

    1. Every failed, timed-out or out-of-memory invocation, newest first.
    2. The slowest invocation of each function in each hour: a run sees part of an hour, so
       it is chosen only when slower than every invocation of that function and hour that
       earlier runs saw (`slowest_before`, by (function, hour)); the hour's final slowest is
       always fetched, and a few slower-so-far before it.
    3. Of the rest, those whose trace id falls in the sample (`sample_rate`), in the
       sample's own order, so a budget cut keeps an unbiased part of it.
    """
    slowest_before = slowest_before or {}
    if budget <= 0:
        return []
    pool = list({c.trace_id: c for c in candidates}.values())
    chosen: dict[str, Choice] = {}

    for c in sorted((c for c in pool if c.status in FAILED), key=lambda c: c.started_at, reverse=True):
        chosen.setdefault(c.trace_id, Choice(c, REASON_FAILED))

    slowest: dict[tuple[int, datetime], Candidate] = {}
    for c in pool:
        if c.duration_ms is None or c.trace_id in chosen:
            continue
        hour = hour_of(c.started_at)
        best = slowest.get((c.resource_id, hour))
        if best is None or (c.duration_ms, c.trace_id) > (best.duration_ms or 0.0, best.trace_id):
            slowest[(c.resource_id, hour)] = c
    for (fn, hour), c in sorted(slowest.items(), key=lambda item: -(item[1].duration_ms or 0.0)):
        if (c.duration_ms or 0.0) > slowest_before.get((fn, hour), -1.0):
            chosen.setdefault(c.trace_id, Choice(c, REASON_SLOWEST))

    rest = [(f, c) for c in pool if c.trace_id not in chosen and (f := _stable_fraction(c.trace_id)) < sample_rate]
    for _, c in sorted(rest, key=lambda pair: pair[0]):
        chosen.setdefault(c.trace_id, Choice(c, REASON_SAMPLE))

    return list(chosen.values())[:budget]


@dataclass
class Fetched:
    documents: dict[str, list[dict[str, Any]]]  # trace id -> its segment documents
    unprocessed: list[str]
    calls: int


def fetch(client: Any, trace_ids: list[str]) -> Fetched:
    """`BatchGetTraces` for these ids, five a call; ids X-Ray does not return are listed
    as unprocessed (not sampled after all, expired, or not yet indexed)."""
    result = Fetched(documents={}, unprocessed=[], calls=0)
    for i in range(0, len(trace_ids), BATCH):
        batch = trace_ids[i : i + BATCH]
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"TraceIds": batch}
            if token:
                kwargs["NextToken"] = token
            answer = client.batch_get_traces(**kwargs)
            result.calls += 1
            for trace in answer.get("Traces") or []:
                docs = result.documents.setdefault(str(trace.get("Id") or ""), [])
                for segment in trace.get("Segments") or []:
                    try:
                        doc = json.loads(segment.get("Document") or "")
                    except (TypeError, ValueError):
                        continue  # one unreadable segment does not lose the trace
                    if isinstance(doc, dict):
                        docs.append(doc)
            result.unprocessed += [str(t) for t in answer.get("UnprocessedTraceIds") or []]
            token = answer.get("NextToken")
            if not token:
                break
    result.documents.pop("", None)
    missing = [t for t in trace_ids if t not in result.documents and t not in result.unprocessed]
    result.unprocessed += missing
    return result


@dataclass
class Span:
    """One segment or subsegment, compact: what the waterfall, the downstream table and the
    service map need, nothing of the document's metadata or annotations."""

    name: str
    namespace: str  # "aws" (an AWS SDK call), "remote" (an HTTP call), "" (the function's own)
    start: float  # epoch seconds
    end: float | None
    parent: int | None  # index of the parent span in the list
    origin: str = ""  # segments only: AWS::Lambda, AWS::Lambda::Function
    operation: str = ""  # AWS operation (GetItem), or the HTTP method
    resource: str = ""  # table name, queue URL, or the HTTP URL
    status: int | None = None  # HTTP response status
    error: bool = False  # a 4xx
    fault: bool = False  # a 5xx
    throttle: bool = False  # a 429 / throttled
    retries: int = 0

    @property
    def duration_ms(self) -> float | None:
        return None if self.end is None else max(0.0, (self.end - self.start) * 1000)

    @property
    def target(self) -> str:
        """What the call reached: "DynamoDB GetItem", or the host of an HTTP call."""
        if self.namespace == "aws":
            return f"{self.name} {self.operation}".strip()
        if self.namespace == "remote":
            return host_of(self.resource) or self.name
        return self.name

    def as_row(self) -> dict[str, Any]:
        # Defaults left out: a trace of thirty spans stays a few kilobytes.
        keep = {"name", "start", "parent"}
        return {k: v for k, v in asdict(self).items() if k in keep or v not in (None, "", False, 0)}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Span:
        fields = cls.__dataclass_fields__
        values = {k: v for k, v in row.items() if k in fields}
        values.setdefault("namespace", "")
        values.setdefault("end", None)
        values.setdefault("parent", None)
        return cls(**values)


def host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0][:253]


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _resource(aws: dict[str, Any], http: dict[str, Any]) -> str:
    for key in ("table_name", "queue_url", "topic_arn", "function_name", "stream_name", "bucket_name"):
        if aws.get(key):
            return str(aws[key])[:512]
    return str(_dict(http.get("request")).get("url") or "")[:512]


def _span(doc: dict[str, Any], parent: int | None) -> Span | None:
    start = _num(doc.get("start_time"))
    if start is None:
        return None
    aws = _dict(doc.get("aws"))
    http = _dict(doc.get("http"))
    response = _dict(http.get("response"))
    request = _dict(http.get("request"))
    status = response["status"] if isinstance(response.get("status"), int) else None
    retries: int = aws["retries"] if isinstance(aws.get("retries"), int) else 0
    return Span(
        name=str(doc.get("name") or "")[:200],
        namespace=str(doc.get("namespace") or "") if doc.get("namespace") in ("aws", "remote") else "",
        start=start,
        end=_num(doc.get("end_time")),
        parent=parent,
        origin=str(doc.get("origin") or "")[:64],
        operation=str(aws.get("operation") or request.get("method") or "")[:100],
        resource=_resource(aws, http),
        status=status,
        error=bool(doc.get("error")),
        fault=bool(doc.get("fault")),
        throttle=bool(doc.get("throttle")),
        retries=max(0, min(retries, 1000)),
    )


def spans(documents: list[dict[str, Any]]) -> list[Span]:
    """The trace's spans, depth first, each segment's subsegments after it. Segments of
    other services (the caller's API Gateway stage, a downstream Lambda) are kept too: the
    waterfall draws the whole trace. Spans without a start time are dropped."""
    out: list[Span] = []

    def walk(doc: dict[str, Any], parent: int | None) -> None:
        span = _span(doc, parent)
        if span is None:
            return
        out.append(span)
        index = len(out) - 1
        for sub in doc.get("subsegments") or []:
            if isinstance(sub, dict):
                walk(sub, index)

    for doc in sorted(documents, key=lambda d: _num(d.get("start_time")) or 0.0):
        walk(doc, None)
    return out


def calls(trace_spans: list[Span]) -> list[Span]:
    """The downstream calls of a trace: spans to AWS services or remote hosts, outermost only
    (the SDK's own nested "Attempt" subsegments are part of the call that holds them)."""
    out = []
    for span in trace_spans:
        if span.namespace not in ("aws", "remote"):
            continue
        parent = span.parent
        nested = False
        while parent is not None:
            if trace_spans[parent].namespace in ("aws", "remote"):
                nested = True
                break
            parent = trace_spans[parent].parent
        if not nested:
            out.append(span)
    return out
