"""Exactly once under faults: a day of sandbox traffic replayed with kills, throttles,
GetMetricData failures, re-reads and late events, then the database against the ledger.

    .venv/bin/python -m devtools.devservices run -- .venv/bin/python benchmarks/exactly_once.py \
        [--hours 24] [--step 60] [--functions 8] [--per-minute 30] [--seed 1] [--keep]

It uses its own database (`<name>_bench_once`, created empty and migrated here, dropped at
the end unless `--keep`) and an in-process sandbox AWS seeded with `--functions` functions
in one region. Simulated time starts `--hours` before now and moves `--step` seconds at a
time; `devtools.sandbox.replay` says what each step does. It prints the faults injected,
the ledger beside what was stored (per status, cold starts, per function), what was lost
and duplicated, the hourly and daily rollups and the error groups beside the raw rows, and
the wall time; it exits 1 when anything is lost or duplicated or a rollup differs.

The default day took 26 minutes of wall time on a shared 2-core machine (most of it the
1,440 collection runs themselves, 0.9 s each); `--hours 1` takes about 1.5 minutes.
`--child` is the killed worker's side (the script runs itself).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from common import bench_database, bench_database_drop  # same folder: the scratch database


def child(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    import django

    django.setup()
    from devtools.sandbox.replay import child_main

    child_main(args.account, args.region)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours of traffic (default 24)")
    parser.add_argument("--step", type=int, default=60, help="simulated seconds per step (default 60)")
    parser.add_argument("--functions", type=int, default=8)
    parser.add_argument("--per-minute", type=float, default=30.0, help="invocations per minute, all functions")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill", type=float, default=0.03, help="share of runs SIGKILLed")
    parser.add_argument("--throttle", type=float, default=0.03, help="share of steps with FilterLogEvents throttled")
    parser.add_argument("--metrics-down", type=float, default=0.03, help="share of steps with GetMetricData failing")
    parser.add_argument("--reread", type=float, default=0.05, help="share of steps moving a checkpoint back")
    parser.add_argument("--sweep", type=float, default=0.05, help="share of steps forcing the late sweep")
    parser.add_argument("--late", type=float, default=0.05, help="share of log batches delivered 1–12 minutes late")
    parser.add_argument(
        "--discovery-minutes",
        type=int,
        default=360,
        help="minutes between discovery runs (default 360: discovery is not what this measures, and costs ~3 s a run)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--account", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    url = bench_database("bench_once", fresh=True)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_CALL_RATE_SCALE"] = "100"  # the sandbox has no quotas to share
    os.environ["DISCOVERY_INTERVAL_MINUTES"] = str(args.discovery_minutes)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from accounts.models import AwsAccount
    from accounts.services import (
        aws_account_configure,
        aws_account_start,
        aws_account_validate,
        organization_create,
        user_create_verified,
    )
    from devtools.sandbox.catalog import functions
    from devtools.sandbox.replay import FaultPlan, Replay, child_command
    from devtools.sandbox.seed import seed
    from devtools.sandbox.server import SandboxServer
    from monitoring.collection.orchestrator import UnitLock

    call_command("migrate", verbosity=0)
    server = SandboxServer(port=0)
    server.start()
    try:
        org = organization_create(
            name="Exactly once", owner=user_create_verified(email="once@bench.test", password="x" * 12)
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
        report = aws_account_validate(account=account)
        if not report.ok:
            print(f"the sandbox refused the role: {report}", file=sys.stderr)
            return 2
        account = AwsAccount.objects.get(pk=account.pk)
        lock = UnitLock(account.pk, args.region)
        lock.client.delete(lock.key, f"{lock.key}:holder")  # a lock left by an earlier, interrupted run

        steps = round(args.hours * 3600 / args.step)
        start = datetime.now(tz=UTC).replace(microsecond=0) - timedelta(seconds=steps * args.step)
        plan = FaultPlan(
            kill=args.kill,
            throttle=args.throttle,
            metrics_down=args.metrics_down,
            reread=args.reread,
            sweep=args.sweep,
            late=args.late,
        )
        print(
            f"replaying {args.hours:g} h ({steps} steps of {args.step} s) from {start:%Y-%m-%d %H:%M} UTC: "
            f"{args.functions} functions, {args.per_minute:g} invocations/min, seed {args.seed}, "
            f"discovery every {args.discovery_minutes} min",
            flush=True,
        )
        began = time.perf_counter()
        replay = Replay(
            account=account,
            region=args.region,
            specs=functions(args.functions, args.seed),
            endpoint=server.url,
            start=start,
            steps=steps,
            step_seconds=args.step,
            per_minute=args.per_minute,
            seed=args.seed,
            plan=plan,
            child_command=child_command(account.pk, args.region),
            progress=lambda line: print(f"  {line}", flush=True),
        )
        result = replay.run()
        print()
        print(result.render())
        print(f"wall time, all included:   {time.perf_counter() - began:.0f} s")
        return 0 if result.ok else 1
    finally:
        server.stop()
        connections.close_all()
        if args.keep:
            print(f"kept the database: {url}")
        else:
            bench_database_drop(url)


if __name__ == "__main__":
    sys.exit(main())
