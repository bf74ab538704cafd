from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import AwsAccount
from insights.checks import REGISTRY
from insights.engine import insights_run


class Command(BaseCommand):
    help = "`insights list` prints the check catalogue; `insights run [--account ID]` evaluates and prints findings as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "run"])
        parser.add_argument("--account", type=int, action="append", help="AwsAccount id (repeatable; default: all)")

    def handle(self, *args: Any, action: str, account: list[int] | None, **options: Any) -> None:
        if action == "list":
            self._list()
            return
        accounts = AwsAccount.objects.exclude(role_arn="").exclude(status=AwsAccount.Status.PAUSED)
        if account:
            accounts = accounts.filter(pk__in=account)
            if accounts.count() != len(set(account)):
                raise CommandError("Unknown or unconnected AWS account id")
        out = []
        for acc in accounts.order_by("pk"):
            summary = insights_run(acc)
            out.append({"account_id": acc.pk, "evaluated": summary.evaluated, "findings": summary.failing})
        self.stdout.write(json.dumps(out, indent=2, default=str))

    def _list(self) -> None:
        rows = sorted(REGISTRY.values(), key=lambda c: (c.service, c.id))
        width = max(len(c.id) for c in rows)
        for c in rows:
            thresholds = ", ".join(f"{k}={v:g}" for k, v in c.thresholds.items())
            self.stdout.write(
                f"{c.id:<{width}}  {c.pillar:<22} {c.severity:<8} {c.title}"
                + (f"  [{thresholds}]" if thresholds else "")
            )
        pillars = Counter(c.pillar for c in rows)
        self.stdout.write(
            f"\n{len(rows)} checks; by pillar: " + ", ".join(f"{p} {n}" for p, n in sorted(pillars.items()))
        )
