"""Parsers for what AWS writes: Lambda CloudWatch Logs events into invocations."""

from __future__ import annotations

from .lambda_errors import error_groups
from .lambda_logs import InitReport, LogLine, ParsedInvocation, ParseResult, invocation_to_dict, parse_events

__all__ = [
    "InitReport",
    "LogLine",
    "ParseResult",
    "ParsedInvocation",
    "error_groups",
    "invocation_to_dict",
    "parse_events",
]
