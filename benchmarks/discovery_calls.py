"""AWS calls of a first and of later discovery runs of one region, against the sandbox server.

    .venv/bin/python benchmarks/discovery_calls.py [--functions 1000]

Starts the sandbox AWS (moto behind its permission-enforcing layer, over HTTP) in this
process, creates the customer role and `--functions` Lambda functions (each with a log group
and tags), assumes the role as the collectors do, and runs the real discovery
(`monitoring.collection.discovery.discover`) four times, counting every call botocore sends:

1. the first run: nothing known, every function's details read;
2. a second run straight after it;
3. the steady state: a run 15 minutes (the default discovery interval) after the previous;
4. a run after one function's configuration changed: that function's details are read again.

Between runs the stored state is what `monitoring.store.resources` keeps: each resource's
configuration, tags, listing fingerprint and when its details were read. Before incremental
discovery, one `collect --once` of 1,000 functions made 5,132 calls (five detail calls per
function on every run, plus the listings), printed beside the figures.
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
    args = parser.parse_args()

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
        rows = []

        def run(label: str, now: datetime, since_last: timedelta | None) -> DiscoveryResult:
            calls.clear()
            started = time.monotonic()
            result = discover(client_for, REGION, known=known, now=now, since_last=since_last)
            elapsed = time.monotonic() - started
            for snap in result.snapshots:
                prior = known.get(snap.arn)
                known[snap.arn] = Known(
                    config=snap.config,
                    tags=snap.tags,
                    fingerprint=snap.fingerprint if snap.details_read else (prior.fingerprint if prior else ""),
                    details_read_at=now if snap.details_read else (prior.details_read_at if prior else None),
                )
            read = sum(1 for s in result.snapshots if s.details_read)
            total = sum(calls.values())
            rows.append((label, total, read, elapsed, dict(calls)))
            if result.problems:
                print(f"  problems in {label}: {[p.message for p in result.problems]}")
            return result

        run("first run (nothing known)", t0, None)
        run("second run, straight after", t0 + timedelta(seconds=5), timedelta(seconds=5))
        run("steady state, 15 min later", t0 + timedelta(minutes=15, seconds=5), timedelta(minutes=15))
        lam.update_function_configuration(FunctionName="bench-fn-0001", MemorySize=1024)
        changed = run(
            "after 1 function changed, 15 min later", t0 + timedelta(minutes=30, seconds=5), timedelta(minutes=15)
        )
        changed_read = next(s.details_read for s in changed.snapshots if s.name == "bench-fn-0001")
    finally:
        server.stop()

    print(f"\nfunctions: {args.functions:,}; before incremental discovery (1,000 functions): {BEFORE:,} calls")
    print(f"{'run':<42} {'calls':>7} {'% of 5,132':>11} {'details read':>13} {'seconds':>8}")
    for label, total, read, elapsed, _ in rows:
        print(f"{label:<42} {total:>7,} {100 * total / BEFORE:>10.2f}% {read:>13,} {elapsed:>8.1f}")
    print(f"the changed function's details were read again: {changed_read}")
    print("\ncalls by operation:")
    for label, _, _, _, by_op in rows:
        print(f"  {label}: " + ", ".join(f"{op} {n}" for op, n in sorted(by_op.items())))


if __name__ == "__main__":
    main()
