from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.parsing.lambda_logs import LogLine, ParsedInvocation, invocation_to_dict, parse_events

EXPLAIN_WIDTH = 120


def read_events(path: Path) -> list[dict[str, Any]]:
    """JSON lines (one event object per line) or a FilterLogEvents / GetLogEvents response."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None  # not one document: JSON lines
    if isinstance(document, dict):
        return list(document["events"]) if isinstance(document.get("events"), list) else [document]
    if isinstance(document, list):
        return document
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}:{number}: not a JSON event ({exc.msg})") from exc
    return events


def shorten(text: str, width: int = EXPLAIN_WIDTH) -> str:
    """One line of at most `width` characters: line breaks shown as ⏎, tabs as spaces."""
    flat = text.replace("\r\n", "⏎").replace("\r", "⏎").replace("\n", "⏎").replace("\t", " ")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _line_text(line: LogLine | None) -> str:
    if line is None:
        return "(no single line: the absence of evidence)"
    ts = datetime.fromtimestamp(line.timestamp_ms / 1000, tz=UTC)
    return f"{ts:%Y-%m-%dT%H:%M:%S}.{ts.microsecond // 1000:03d}Z  {shorten(line.message)}"


def explain_invocation(inv: ParsedInvocation) -> list[str]:
    """Which lines decided the invocation's status, error and cold start, by which rule."""
    attempt = f" (attempt {inv.attempt})" if inv.attempt > 1 else ""
    error = f"  {inv.error_type or '-'}: {inv.error_message or '-'}" if inv.status not in ("success", "unknown") else ""
    out = [f"{inv.request_id}{attempt}  {inv.status}{error}  cold_start={str(inv.cold_start).lower()}"]
    seen = {item.aspect for item in inv.evidence}
    for item in inv.evidence:
        out.append(f"  {item.aspect:<10} {item.rule}")
        out.append(f"  {'':<10} {_line_text(item.line)}")
    if "cold_start" not in seen:
        out.append(f"  {'cold_start':<10} no Init Duration, Restore Duration or init inside this invocation: warm")
    return out


class Command(BaseCommand):
    help = (
        "Parse Lambda log events (JSON lines, or a FilterLogEvents response) and print the "
        "invocations as JSON; skipped lines are counted on stderr. Stores nothing. With "
        "--explain, print per invocation the lines and rules that decided its status, error "
        "and cold start instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument(
            "--explain",
            action="store_true",
            help="per invocation, the lines (time and text, shortened) and the rules that decided it",
        )

    def handle(self, *args: Any, files: list[Path], explain: bool = False, **options: Any) -> None:
        events: list[dict[str, Any]] = []
        for path in files:
            if not path.exists():
                raise CommandError(f"{path}: no such file")
            events.extend(read_events(path))
        result = parse_events(events)
        if explain:
            for inv in result.invocations:
                self.stdout.write("\n".join(explain_invocation(inv)))
                self.stdout.write("")
        else:
            self.stdout.write(json.dumps([invocation_to_dict(inv) for inv in result.invocations], indent=2))
        sys.stderr.write(f"{len(result.invocations)} invocations, {result.skipped} lines skipped\n")
