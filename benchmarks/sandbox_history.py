"""How long the demo's history takes to write (devtools/sandbox/history.py), at demo scale.

    .venv/bin/python benchmarks/sandbox_history.py [--functions 25] [--per-minute 120] [--days 14] [--keep]

It uses its own database (`<name>_bench_history`, created empty and migrated here, dropped at
the end unless `--keep`) and an in-process sandbox AWS seeded as `make demo` seeds it (25
functions and every other kind in one region). It connects an account, discovers it, then
times what `manage.py sandbox_history` does: the history written, the anomaly detection over
its last 3 days, and a second run (which must write nothing). Prints the rows written, the
anomalies found at the sandbox's scheduled hours, and the wall times.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from common import bench_database, bench_database_drop  # same folder: the scratch database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=25)
    parser.add_argument("--per-minute", type=float, default=120.0, help="the sandbox's --rate (default 120)")
    parser.add_argument("--days", type=int, default=17)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--seed", type=int, default=7, help="the sandbox's --seed (default 7)")
    parser.add_argument(
        "--workers", type=int, default=max(1, min(4, (os.cpu_count() or 1) - 1)), help="as manage.py sandbox_history's"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    url = bench_database("bench_history", fresh=True)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_CALL_RATE_SCALE"] = "100"  # the sandbox has no quotas to share
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.db.models import Sum

    from accounts.models import AwsAccount
    from accounts.services import (
        aws_account_configure,
        aws_account_start,
        aws_account_validate,
        organization_create,
        user_create_verified,
    )
    from devtools.sandbox.catalog import FunctionSpec
    from devtools.sandbox.history import Traffic, history_write
    from devtools.sandbox.seed import seed
    from devtools.sandbox.server import SandboxServer
    from devtools.sandbox.traffic import anomaly_hour
    from insights.anomalies.services import anomalies_detect
    from insights.models import Anomaly
    from monitoring.collection.orchestrator import collect_unit
    from monitoring.models import MetricPoint, Rollup

    call_command("migrate", verbosity=0)
    server = SandboxServer(port=0)
    server.start()
    try:
        org = organization_create(
            name="History", owner=user_create_verified(email="history@bench.test", password="x" * 12)
        )
        account = aws_account_start(organization=org, name="Sandbox")
        state = seed(
            endpoint=server.url,
            region=args.region,
            count=args.functions,
            seed_value=args.seed,
            external_id=account.external_id,
        )
        os.environ.update(state.environment())
        settings.PLATFORM_AWS_PRINCIPAL = state.platform_principal
        aws_account_configure(account=account, role_arn=state.role_arn, regions=[args.region])
        if not aws_account_validate(account=account).ok:
            print("the sandbox refused the role", file=sys.stderr)
            return 2
        account = AwsAccount.objects.get(pk=account.pk)
        collect_unit(account, args.region, steps=["discovery"])
        specs = [FunctionSpec(**f) for f in state.functions]
        traffic = Traffic(seed=args.seed, per_minute=args.per_minute)
        end = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
        load = os.getloadavg()
        print(
            f"{args.functions} functions at {args.per_minute:g}/min, {args.days} days before {end:%Y-%m-%d %H:00} UTC; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
            flush=True,
        )

        began = time.perf_counter()
        summary = history_write(
            account=account, region=args.region, endpoint=server.url, specs=specs, traffic=traffic, end=end,
            days=args.days, workers=args.workers,
        )  # fmt: skip
        print(f"history with {args.workers} worker processes, {time.perf_counter() - began:.1f} s in all")
        print(f"history: {summary}")
        began = time.perf_counter()
        result = anomalies_detect(account=account, now=end, hours=3 * 24)
        print(f"detection over 3 days: {result.anomalies} anomalous hours in {result.series} series, "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
        judged = [end - timedelta(hours=h) for h in range(3 * 24, 0, -1)]
        for name, effect, metric in [
            (specs[0].name, "latency", "duration_p95_ms"),
            (specs[1].name, "drop", "invocations"),
            ("shop-alb", "latency", "AWS/ApplicationELB:TargetResponseTime:p95"),
            ("shop-graphql", "drop", "AWS/AppSync:Requests:Sum"),
        ]:
            planned = {h for h in judged if anomaly_hour(args.seed, name, effect, h)}
            found = set(
                Anomaly.objects.filter(account=account, resource__name=name, metric=metric).values_list(
                    "hour", flat=True
                )
            )
            print(f"  {name} {effect} ({metric}): {len(planned)} scheduled, {len(planned & found)} of them flagged, "
                  f"{len(found - planned)} other hours flagged")  # fmt: skip
        rollups = Rollup.objects.filter(account_id=account.pk).aggregate(n=Sum("invocations"))["n"]
        points = MetricPoint.objects.filter(account_id=account.pk).count()
        again = history_write(
            account=account, region=args.region, endpoint=server.url, specs=specs, traffic=traffic, end=end,
            days=args.days, workers=args.workers,
        )  # fmt: skip
        same = (Rollup.objects.filter(account_id=account.pk).aggregate(n=Sum("invocations"))["n"], MetricPoint.objects.filter(account_id=account.pk).count()) == (rollups, points)  # fmt: skip
        print(f"second run: {again}; counts unchanged: {same}")
        return 0 if same and again.invocations == 0 else 1
    finally:
        server.stop()
        connections.close_all()
        if not args.keep:
            bench_database_drop(url)


if __name__ == "__main__":
    sys.exit(main())
