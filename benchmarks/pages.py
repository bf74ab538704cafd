"""Server time of each dashboard page on a large account.

    .venv/bin/python -m devtools.devservices run -- \
        .venv/bin/python benchmarks/pages.py [--functions 1000] [--invocations 10000000] [--requests 20]

Seeds, in its own database (`<name>_bench`), one organisation with N functions and M
invocations spread over the last 7 days **through the ingestion path**
(`monitoring.store.invocations.invocations_store`, with REPORT lines as Lambda writes them, so rollups,
error groups and log lines are built as in production), then requests every page with a
signed-in client and prints the median and p95 server time. Goal: p95 under 300 ms,
independent of the number of invocations (long windows read rollups, not raw rows).
Seeding is skipped when the database already holds the requested volume.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--invocations", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    from common import bench_database  # same folder: the scratch database helper

    os.environ["DATABASE_URL"] = bench_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import AwsAccount, Organization
    from accounts.services import organization_create, user_create_verified
    from kinds import lambda_function
    from monitoring.models import Invocation, Resource
    from monitoring.parsing.lambda_logs import parse_events
    from monitoring.store.invocations import invocations_store

    call_command("migrate", verbosity=0)
    org = Organization.objects.filter(name="Pages bench").first()
    if org is None:
        owner = user_create_verified(email="pages-bench@example.com", password="x" * 12)
        org = organization_create(name="Pages bench", owner=owner)
    account = AwsAccount.objects.filter(organization=org).first() or AwsAccount.objects.create(
        organization=org, name="bench", role_arn="arn:aws:iam::123456789012:role/bench", aws_account_id="123456789012",
        regions=["us-east-1"], status="connected",
    )  # fmt: skip
    now = datetime.now(tz=UTC)
    existing = Resource.objects.filter(account=account).count()
    Resource.objects.bulk_create(
        Resource(
            organization=org,
            account=account,
            region="us-east-1",
            kind=lambda_function.KIND,
            arn=f"arn:aws:lambda:us-east-1:123456789012:function:fn-{i:05d}",
            name=f"fn-{i:05d}",
            config={"memory_mb": 256, "architecture": "arm64", "timeout_s": 30, "runtime": "python3.12"},
            first_seen=now,
            last_seen=now,
        )
        for i in range(existing, args.functions)
    )
    functions = list(Resource.objects.filter(account=account).order_by("pk")[: args.functions])

    have = Invocation.objects.filter(account_id=account.pk).count()
    if have < args.invocations:
        todo = args.invocations - have
        print(f"seeding {todo:,} invocations through the ingestion path…", flush=True)
        rng = random.Random(have)
        per_fn = max(1, todo // len(functions))
        batch = 5000
        started = time.perf_counter()
        done = 0
        span_ms = 7 * 24 * 3600 * 1000
        base = int((now - timedelta(days=7)).timestamp() * 1000)
        for fn in functions:
            remaining = per_fn
            while remaining > 0:
                n = min(batch, remaining)
                events = []
                for _ in range(n):
                    rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    duration = round(rng.lognormvariate(4, 0.8), 2)
                    init = f"\tInit Duration: {rng.uniform(100, 400):.2f} ms" if rng.random() < 0.05 else ""
                    status = "\tStatus: timeout" if rng.random() < 0.002 else ""
                    events.append(
                        {
                            "timestamp": base + rng.randrange(span_ms),
                            "message": f"REPORT RequestId: {rid}\tDuration: {duration} ms\tBilled Duration: {int(duration) + 1} ms\t"
                            f"Memory Size: 256 MB\tMax Memory Used: {rng.randint(60, 120)} MB{init}{status}\t\n",
                            "logStreamName": "2026/11/26/[$LATEST]bench",
                            "eventId": rid,
                        }
                    )
                invocations_store(resource=fn, result=parse_events(events), new_after_ms=0)
                remaining -= n
                done += n
            if done and done % 500_000 < per_fn:
                rate = done / (time.perf_counter() - started)
                print(f"  {done:,} stored, {rate:,.0f} invocations/s", flush=True)
        print(f"seeded in {time.perf_counter() - started:,.0f} s", flush=True)

    client = Client(HTTP_HOST="localhost")
    client.force_login(org.memberships.first().user)  # type: ignore[union-attr]
    fn = functions[len(functions) // 2]
    inv = Invocation.objects.filter(resource=fn).order_by("-id").first()
    pages = {
        "overview 24h": "/?period=24h",
        "overview 7d": "/?period=7d",
        "overview 30d": "/?period=30d",
        "resources": "/resources/",
        "function 24h": f"/resources/{fn.pk}/?period=24h",
        "function 7d": f"/resources/{fn.pk}/?period=7d",
        "invocation": f"/invocations/{inv.pk}/" if inv else "/",
        "errors": "/errors/",
        "logs 1h": "/logs/?period=1h",
        "insights": "/insights/",
    }
    total = Invocation.objects.filter(account_id=account.pk).count()
    print(f"\n{len(functions):,} functions, {total:,} invocations; {args.requests} requests per page\n")
    print(f"{'page':<16} {'median ms':>10} {'p95 ms':>10}")
    for name, url in pages.items():
        client.get(url)  # warm caches and connections
        times = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        times.sort()
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        print(f"{name:<16} {statistics.median(times):>10.1f} {p95:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
