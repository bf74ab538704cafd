from __future__ import annotations

import logging
import secrets
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from devtools.sandbox.catalog import FunctionSpec
from devtools.sandbox.resource_traffic import ResourceMetrics
from devtools.sandbox.seed import admin_client, seed
from devtools.sandbox.server import SandboxServer
from devtools.sandbox.service_traffic import ServiceTraffic
from devtools.sandbox.traffic import TrafficGenerator

BACKFILL_MARGIN = timedelta(minutes=2)


class Command(BaseCommand):
    help = (
        "Run the sandbox AWS: a local moto server seeded with an account's worth of serverless "
        "resources and a read-only role, generating Lambda logs and metrics (and load balancers' and "
        "AppSync APIs' metrics) until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=5000)
        parser.add_argument("--functions", type=int, default=25)
        parser.add_argument("--seed", type=int, default=7, help="same seed, same account and traffic")
        parser.add_argument("--region", default="us-east-1")
        parser.add_argument("--rate", type=float, default=120.0, help="invocations per minute, all functions")
        parser.add_argument("--tick", type=float, default=5.0, help="seconds between traffic writes")
        parser.add_argument("--external-id", default="", help="the ExternalId the role trusts (default: random)")
        parser.add_argument(
            "--state", default=str(settings.VAR_DIR / "sandbox.json"), help="where to write endpoint, role and keys"
        )
        parser.add_argument("--no-traffic", action="store_true", help="seed, then only serve")
        parser.add_argument(
            "--no-anomalies",
            action="store_true",
            help="no scheduled anomalies (by default the first function's and shop-alb's latency steps up and the "
            "second function's and shop-graphql's traffic drops in about one hour a day)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS request is noise
        server = SandboxServer(port=options["port"])
        server.start()
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        state_path = Path(options["state"])
        try:
            external_id = options["external_id"] or f"sandbox-{secrets.token_urlsafe(12)}"
            state = seed(
                endpoint=server.url,
                region=options["region"],
                count=options["functions"],
                seed_value=options["seed"],
                external_id=external_id,
            )
            anomalies = not options["no_anomalies"]
            generator = TrafficGenerator(
                [FunctionSpec(**f) for f in state.functions],
                logs=admin_client("logs", server.url, options["region"]),
                cloudwatch=admin_client("cloudwatch", server.url, options["region"]),
                xray=admin_client("xray", server.url, options["region"]),
                seed=options["seed"],
                per_minute=options["rate"],
                anomalies=anomalies,
                rhythm=True,
            )
            services = ServiceTraffic(
                server.url, options["region"], seed=options["seed"], rhythm=True, anomalies=anomalies
            )
            ledger = state_path.with_name("sandbox-ledger.json")
            # The other kinds' metrics: a datum a minute.
            resource_metrics = ResourceMetrics(server.url, options["region"], seed=options["seed"], rhythm=True)
            last_minute = None
            if not options["no_traffic"]:
                live_since = self.backfill(generator, services, resource_metrics)
                state.traffic = {
                    "seed": options["seed"],
                    "per_minute": options["rate"],
                    "tick": options["tick"],
                    "rhythm": True,
                    "anomalies": anomalies,
                    "live_since": live_since.isoformat(),
                }
            # Written once the sandbox is ready: whoever waits for the file may collect at once.
            state_path.parent.mkdir(parents=True, exist_ok=True)
            state_path.write_text(state.as_json())
            self.stdout.write(
                self.style.SUCCESS(
                    f"Sandbox AWS on {server.url}: account {state.account_id}, {options['functions']} functions\n"
                    f"  role {state.role_arn}\n  ExternalId {state.external_id}\n  state in {state_path}"
                )
            )
            while not stopping:
                started = time.monotonic()
                if not options["no_traffic"]:
                    generator.tick(options["tick"])
                    services.tick(options["tick"])
                    generator.write_ledger(ledger)
                    minute = int(time.time() // 60)
                    if minute != last_minute:
                        resource_metrics.tick()
                        last_minute = minute
                while not stopping and time.monotonic() - started < options["tick"]:
                    time.sleep(0.2)
        finally:
            server.stop()
            state_path.unlink(missing_ok=True)
            self.stdout.write("Sandbox AWS stopped.")

    def backfill(self, generator: TrafficGenerator, services: ServiceTraffic, resources: ResourceMetrics) -> datetime:
        """Write the current hour's traffic so far, so that the hour the collectors start in is
        whole (the hours before it are `manage.py sandbox_history`'s); returns when it starts.
        Two minutes past the hour: an invocation backdated into the previous hour would make
        the logs collector recompute that hour's rollup from it alone."""
        now = datetime.now(tz=UTC)
        since = now.replace(minute=0, second=0, microsecond=0) + BACKFILL_MARGIN
        if since < now:
            started = time.monotonic()
            written = generator.backfill(since, now)
            services.backfill(since, now)
            resources.backfill(int((now - since) / timedelta(minutes=1)), now)
            self.stdout.write(
                f"Backfilled the traffic since {since:%H:%M} UTC ({written} invocations) in {time.monotonic() - started:.0f} s"
            )
        return since
