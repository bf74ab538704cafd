from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.parsing.lambda_logs import invocation_to_dict, parse_events


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


class Command(BaseCommand):
    help = (
        "Parse Lambda log events (JSON lines, or a FilterLogEvents response) and print the "
        "invocations as JSON; skipped lines are counted on stderr. Stores nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, files: list[Path], **options: Any) -> None:
        events: list[dict[str, Any]] = []
        for path in files:
            if not path.exists():
                raise CommandError(f"{path}: no such file")
            events.extend(read_events(path))
        result = parse_events(events)
        self.stdout.write(json.dumps([invocation_to_dict(inv) for inv in result.invocations], indent=2))
        sys.stderr.write(f"{len(result.invocations)} invocations, {result.skipped} lines skipped\n")
