"""AWS calls of a first and of later discovery runs of one region, against the sandbox server.

    .venv/bin/python benchmarks/discovery_calls.py [--functions 1000] [--hours 26]
        [--interval-minutes 15] [--refresh-hours 24]

Starts the sandbox AWS (moto behind its permission-enforcing layer, over HTTP) in this
process, creates the customer role and `--functions` Lambda functions (each with a log group
and tags), assumes the role as the collectors do, and runs the real discovery
(`monitoring.collection.discovery.discover`) on a simulated clock, counting every call
botocore sends:

1. the first run: nothing known, every function's details read;
2. a second run straight after it;
3. a run every `--interval-minutes` (the discovery interval) for `--hours`: the steady
   state, in which the daily refresh (`--refresh-hours`, DISCOVERY_DETAILS_REFRESH_HOURS) is
   spread over the runs;
4. a run after one function's configuration changed: that function's details are read again.

Between runs the stored state is what `monitoring.store.resources` keeps: each resource's
configuration, tags, listing fingerprint and when its details were read. It prints the runs,
the spread of the steady-state runs, how long after the first run every function had been
read again, the oldest details seen at any run, and the arithmetic of docs/collection.md.
Before incremental discovery, one `collect --once` of 1,000 functions made 5,132 calls (five
detail calls per function on every run, plus the listings), printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only")  # settings load; no database is touched

BEFORE = 5132  # one `collect --once` of 1,000 functions before incremental discovery
REGION = "us-east-1"


def main() -> None:
    import boto3
    import django

    django.setup()
    from devtools.sandbox.seed import _zip, admin_client, create_identities
    from devtools.sandbox.server import SandboxServer
    from kinds.describe import Known
    from monitoring.collection.discovery import DiscoveryResult, discover

    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=26.0, help="simulated time after the first run")
    parser.add_argument("--interval-minutes", type=float, default=15.0, help="discovery interval")
    parser.add_argument("--refresh-hours", type=float, default=24.0, help="DISCOVERY_DETAILS_REFRESH_HOURS")
    args = parser.parse_args()
    interval = timedelta(minutes=args.interval_minutes)
    refresh = timedelta(hours=args.refresh_hours)

    server = SandboxServer(port=0)
    server.start()
    try:
        endpoint = server.url
        ids = create_identities(endpoint, REGION, "bench-external-id")
        iam = admin_client("iam", endpoint, REGION)
        exec_role = iam.create_role(RoleName="bench-exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam, logs = admin_client("lambda", endpoint, REGION), admin_client("logs", endpoint, REGION)
        code = _zip("def handler(event, context):\n    return 1\n", "app.py")
        started = time.monotonic()
        for i in range(args.functions):
            name = f"bench-fn-{i:04d}"
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=exec_role,
                Handler="app.handler",
                Code={"ZipFile": code},
                Tags={"team": f"team-{i % 7}"},
            )
            logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
        print(f"created {args.functions:,} functions in {time.monotonic() - started:.0f} s")

        sts = boto3.client(
            "sts",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=ids["access_key_id"],
            aws_secret_access_key=ids["secret_access_key"],
        )
        creds = sts.assume_role(RoleArn=ids["role_arn"], RoleSessionName="bench", ExternalId="bench-external-id")[
            "Credentials"
        ]
        calls: Counter[str] = Counter()

        def count(model: Any, **kwargs: Any) -> None:
            calls[f"{model.service_model.service_name}:{model.name}"] += 1

        def client_for(service: str) -> Any:
            client = boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=REGION,
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
            client.meta.events.register("before-call", count)
            return client

        known: dict[str, Known] = {}
        t0 = datetime.now(tz=UTC)
        rows: list[tuple[str, int, int, float, dict[str, int]]] = []
        oldest = timedelta(0)

        def run(label: str, now: datetime, since_last: timedelta | None) -> DiscoveryResult:
            nonlocal oldest
            calls.clear()
            started = time.monotonic()
            result = discover(client_for, REGION, known=known, now=now, since_last=since_last, refresh=refresh)
            elapsed = time.monotonic() - started
            for snap in result.snapshots:
                prior = known.get(snap.arn)
                known[snap.arn] = Known(
                    config=snap.config,
                    tags=snap.tags,
                    fingerprint=snap.fingerprint if snap.details_read else (prior.fingerprint if prior else ""),
                    details_read_at=now if snap.details_read else (prior.details_read_at if prior else None),
                )
            oldest = max([oldest, *(now - k.details_read_at for k in known.values() if k.details_read_at)])
            read = sum(1 for s in result.snapshots if s.details_read)
            rows.append((label, sum(calls.values()), read, elapsed, dict(calls)))
            if result.problems:
                print(f"  problems in {label}: {[p.message for p in result.problems]}")
            return result

        def at(offset: timedelta) -> str:
            minutes = int(offset.total_seconds() // 60)
            return f"+{minutes // 60}h{minutes % 60:02d}" if minutes >= 60 else f"+{minutes} min"

        run("first run (nothing known)", t0, None)
        first_read = {arn: k.details_read_at for arn, k in known.items()}
        now = t0 + timedelta(seconds=5)
        run("second run, straight after", now, timedelta(seconds=5))
        steady_start = len(rows)
        all_refreshed: timedelta | None = None
        while now + interval <= t0 + timedelta(hours=args.hours):
            now += interval
            run(f"steady state, {at(now - t0)}", now, interval)
            if all_refreshed is None and all(known[a].details_read_at != t for a, t in first_read.items()):
                all_refreshed = now - t0
        steady = rows[steady_start:]
        lam.update_function_configuration(FunctionName="bench-fn-0001", MemorySize=1024)
        now += interval
        changed = run(f"after 1 function changed, {at(now - t0)}", now, interval)
        changed_read = next(s.details_read for s in changed.snapshots if s.name == "bench-fn-0001")
    finally:
        server.stop()

    print(
        f"\nfunctions: {args.functions:,}; discovery every {args.interval_minutes:g} min; details refreshed at least "
        f"every {args.refresh_hours:g} h; before incremental discovery (1,000 functions): {BEFORE:,} calls a run"
    )
    print(f"{'run':<42} {'calls':>7} {'% of 5,132':>11} {'details read':>13} {'seconds':>8}")
    shown = rows[:steady_start] + [r for i, r in enumerate(steady) if i < 4 or (i + 1) % 8 == 0] + rows[-1:]
    for label, total, read, elapsed, _ in shown:
        print(f"{label:<42} {total:>7,} {100 * total / BEFORE:>10.2f}% {read:>13,} {elapsed:>8.1f}")
    totals = [r[1] for r in steady]
    if totals:
        mean = sum(totals) / len(totals)
        print(
            f"\nsteady state, {len(steady)} runs over {args.hours:g} h: calls min {min(totals)}, mean {mean:.1f}, "
            f"max {max(totals)} (max {100 * max(totals) / BEFORE:.2f} % of {BEFORE:,}); "
            f"runs above 1 % ({BEFORE // 100} calls): {sum(1 for t in totals if t > BEFORE // 100)}"
        )
    print(
        "every function's details read again after the first run: "
        + (
            f"{all_refreshed.total_seconds() / 3600:.2f} h after it"
            if all_refreshed
            else "not within the simulated time"
        )
    )
    print(f"oldest details at any run: {oldest.total_seconds() / 3600:.2f} h")
    print(f"the changed function's details were read again: {changed_read}")
    listings = rows[1][1]
    per_function = 5
    # A steady run: the listings, one DescribeLogGroups for the functions read, 5 calls each;
    # the refresh is aimed two runs short of its period (kinds.describe.details_due).
    fits = max(1, (BEFORE // 100 - listings - 1) // per_function)
    print(
        f"\narithmetic: listings {listings} calls a run (the second run); a refresh of {args.functions:,} functions × "
        f"{per_function} detail calls every {args.refresh_hours:g} h at one run every {args.interval_minutes:g} min = "
        f"{args.functions * per_function * args.interval_minutes / (args.refresh_hours * 60):.1f} detail calls a run "
        f"on average; ≤ {BEFORE // 100} calls a run leaves room for {fits} function(s) a run, so a refresh period "
        f"≥ {(args.functions / fits + 2) * args.interval_minutes / 60:.1f} h (or ≤ {fits * (60 * args.refresh_hours / args.interval_minutes - 2):,.0f} "
        f"functions at {args.refresh_hours:g} h)"
    )
    print("\ncalls by operation:")
    for label, _, _, _, by_op in rows[:steady_start] + steady[:1] + rows[-1:]:
        print(f"  {label}: " + ", ".join(f"{op} {n}" for op, n in sorted(by_op.items())))


if __name__ == "__main__":
    main()
