"""Log lines for tests, stored through the one write path (so that search finds them)."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from monitoring.models import Resource
from monitoring.parsing.lambda_logs import LogLine, ParseResult
from monitoring.store.invocations import invocations_store

_event_ids = count(1)


def store_lines(resource: Resource, lines: list[tuple[datetime, str]], *, stream: str = "s") -> None:
    """Store `lines` (time, message) of `resource` as lines outside any invocation."""
    parsed = [LogLine(int(ts.timestamp() * 1000), message, stream, f"t{next(_event_ids)}") for ts, message in lines]
    invocations_store(resource=resource, result=ParseResult([], 0, parsed), new_after_ms=None)
