from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import AwsAccount
from devtools.sandbox.catalog import FunctionSpec
from devtools.sandbox.history import DAYS, JUDGED_DAYS, WORKERS, Traffic, history_write
from insights.anomalies.services import anomalies_detect
from monitoring.collection.orchestrator import collect_unit


class Command(BaseCommand):
    help = (
        "Write the running sandbox's past into an account connected to it: two weeks of function rollups and "
        "of the other kinds' metric points, where the account has no data, as the sandbox's traffic would have "
        "made them; then detect anomalies over the last days of it. Run by `make demo` after connecting the "
        "sandbox; safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--state", default=str(settings.VAR_DIR / "sandbox.json"), help="the sandbox's state file")
        parser.add_argument("--days", type=int, default=DAYS, help="days of history")
        parser.add_argument(
            "--detect-days", type=int, default=JUDGED_DAYS, help="days of history judged for anomalies (0: none)"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=WORKERS,
            help="processes drawing the functions' invocations (default: the CPUs less one, for the database "
            "and the metric points, at most 4; 1: in this process)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["state"])
        if not path.exists():
            raise CommandError(f"No sandbox state at {path}: start the sandbox first (manage.py sandbox).")
        state = json.loads(path.read_text())
        if not state.get("traffic", {}).get("live_since"):
            raise CommandError("This sandbox writes no traffic (--no-traffic): there is no past to write.")
        account = AwsAccount.objects.filter(
            organization__slug=options["org"], role_arn=state["role_arn"], regions__contains=[state["region"]]
        ).first()
        if account is None:
            raise CommandError(
                f"No account of {options['org']!r} is connected to the sandbox's role in {state['region']}."
            )
        region = state["region"]
        # History is per resource: know the sandbox's as they are now (a sandbox started
        # afresh gives some of them new ids) rather than wait for the worker.
        discovery = collect_unit(account, region, steps=["discovery"])
        if discovery.error:
            raise CommandError(f"Discovery in the sandbox failed: {discovery.error}")
        end = datetime.fromisoformat(state["traffic"]["live_since"]).replace(minute=0, second=0, microsecond=0)
        summary = history_write(
            account=account,
            region=region,
            endpoint=state["endpoint"],
            specs=[FunctionSpec(**f) for f in state["functions"]],
            traffic=Traffic.of(state["traffic"]),
            end=end,
            days=options["days"],
            workers=options["workers"],
        )
        self.stdout.write(f"History of {options['days']} days before {end:%Y-%m-%d %H:00} UTC: {summary}")
        if options["detect_days"] > 0:
            started = time.perf_counter()
            result = anomalies_detect(account=account, now=end, hours=options["detect_days"] * 24)
            self.stdout.write(
                f"Anomalies over the {options['detect_days']} days before it: {result.anomalies} anomalous hours "
                f"in {result.series} series, in {time.perf_counter() - started:.1f} s"
            )
