from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import AwsAccount
from monitoring.collection.orchestrator import collect_once


class Command(BaseCommand):
    help = "Run every collector synchronously and print a JSON summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", required=True, help="one pass, then exit")
        parser.add_argument("--account", type=int, action="append", help="AwsAccount id (repeatable)")

    def handle(self, *args: Any, account: list[int] | None, **options: Any) -> None:
        if account:
            missing = set(account) - set(AwsAccount.objects.filter(pk__in=account).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No AWS account with id {', '.join(map(str, sorted(missing)))}")
        summary = collect_once(account)
        self.stdout.write(json.dumps(summary, indent=2, default=str))
