from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from alerts.digests import digest_send, due, render


class Command(BaseCommand):
    help = "Send the e-mail digests due now; --dry-run prints what would be sent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--now", help="ISO time to act as if it were (to preview another hour)")

    def handle(self, *args: Any, dry_run: bool, now: str | None, **options: Any) -> None:
        moment = datetime.fromisoformat(now) if now else timezone.now()
        items = due(moment)
        if not items:
            self.stdout.write("No digest due.")
        for item in items:
            sub = item.subscription
            subject, _, _ = render(sub, item.start, item.end)
            line = f"{sub.user.email} · {sub.organization.name} · {sub.frequency} · {item.start:%Y-%m-%d %H:%M} – {item.end:%Y-%m-%d %H:%M} UTC · {subject}"
            if dry_run:
                self.stdout.write(f"would send: {line}")
            elif digest_send(item):
                self.stdout.write(f"sent: {line}")
