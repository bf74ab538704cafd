"""Ingestion throughput: parse + store of Lambda log events, against a raw COPY of the same rows.

    .venv/bin/python -m devtools.devservices run -- .venv/bin/python benchmarks/ingest.py [--events 1000000]

It uses its own database (`<name>_bench`, created and migrated here, its tables emptied first), so
it never touches the dashboard's data. Events are rendered by the sandbox's generator (the
same text and JSON formats Lambda writes), split across functions, and ingested through
`monitoring.store.invocations.invocations_store` in batches as the logs collector would. Then the same
stored rows are exported and COPY-ed raw into emptied tables: the ratio of the two rates is
the figure (goal: at least 0.5).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from common import bench_database  # same folder: the scratch database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--functions", type=int, default=50)
    parser.add_argument("--batch", type=int, default=10_000, help="events per store call, as one poll page")
    parser.add_argument("--profile", action="store_true", help="print where parse + store spends its time")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import AwsAccount
    from accounts.services import organization_create, user_create_verified
    from devtools.sandbox.catalog import functions
    from devtools.sandbox.traffic import plan_invocation, render_invocation
    from kinds import lambda_function
    from monitoring.models import Resource
    from monitoring.parsing.lambda_logs import parse_events
    from monitoring.store.invocations import invocations_store

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE monitoring_invocation, monitoring_logline, monitoring_rollup, monitoring_errorgroup")
    org = organization_create(
        name="Bench",
        owner=user_create_verified(email=f"bench{random.randint(0, 10**9)}@example.com", password="x" * 12),
    )
    account = AwsAccount.objects.create(organization=org, name="bench", role_arn="", regions=["us-east-1"])
    specs = functions(args.functions, seed=1)
    now = datetime.now(tz=UTC)
    resources = [
        Resource.objects.create(
            organization=org,
            account=account,
            region="us-east-1",
            kind=lambda_function.KIND,
            arn=f"arn:aws:lambda:us-east-1:123456789012:function:{s.name}",
            name=s.name,
            config={"memory_mb": s.memory_mb, "architecture": s.architecture},
            first_seen=now,
            last_seen=now,
        )
        for s in specs
    ]

    # 1. Render the events (not timed): one stream per function, invocations 50 ms apart.
    print(f"rendering {args.events:,} events for {len(specs)} functions…", flush=True)
    rng = random.Random(7)
    per_fn: dict[int, list[dict[str, Any]]] = {r.pk: [] for r in resources}
    start_ms = int((now - timedelta(hours=20)).timestamp() * 1000)
    produced = 0
    event_id = 0
    i = 0
    while produced < args.events:
        spec, resource = specs[i % len(specs)], resources[i % len(specs)]
        inv = plan_invocation(spec, rng, start_ms + i * 50, cold=rng.random() < 0.05)
        for ts, message in render_invocation(spec, inv):
            event_id += 1
            per_fn[resource.pk].append(
                {
                    "timestamp": ts,
                    "message": message,
                    "logStreamName": f"2026/11/26/[$LATEST]{resource.pk:032x}",
                    "eventId": str(event_id),
                }
            )
        produced = event_id
        i += 1

    # 2. Parse + store, timed, in poll-sized batches cut at invocation boundaries.
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    parse_seconds = 0.0
    stored_invocations = 0
    for resource in resources:
        events = per_fn[resource.pk]
        cut = 0
        while cut < len(events):
            end = min(cut + args.batch, len(events))
            while end < len(events) and not events[end]["message"].startswith(("START", '{"time"')):
                end += 1
            t0 = time.perf_counter()
            result = parse_events(events[cut:end])
            parse_seconds += time.perf_counter() - t0
            # As the collector: nothing after the checkpoint can be stored yet.
            checkpoint = max(int(e["timestamp"]) for e in events[:cut]) if cut else 0
            stored = invocations_store(resource=resource, result=result, new_after_ms=checkpoint)
            stored_invocations += stored.invocations_new
            cut = end
    ingest_seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(25)
    ingest_rate = produced / ingest_seconds

    # 3. Raw COPY of the same rows into the same (emptied) tables.
    with connection.cursor() as cursor:
        raw = cursor.cursor
        copied: dict[str, bytes] = {}
        for table in ("monitoring_invocation", "monitoring_logline"):
            buffer = bytearray()
            with raw.copy(f"COPY (SELECT * FROM {table}) TO STDOUT") as copy:  # noqa: S608 (two fixed names)
                for chunk in copy:
                    buffer += chunk
            copied[table] = bytes(buffer)
        cursor.execute("TRUNCATE monitoring_invocation, monitoring_logline")
        started = time.perf_counter()
        for table, data in copied.items():
            with raw.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(data)
        copy_seconds = time.perf_counter() - started
    copy_rate = produced / copy_seconds

    print(f"events:                 {produced:,}")
    print(f"invocations stored:     {stored_invocations:,}")
    print(f"  of which parsing:     {parse_seconds:8.1f} s  {produced / parse_seconds:12,.0f} events/s")
    print(f"parse + store:          {ingest_seconds:8.1f} s  {ingest_rate:12,.0f} events/s")
    print(f"raw COPY, same rows:    {copy_seconds:8.1f} s  {copy_rate:12,.0f} events/s")
    print(f"ratio (goal >= 0.5):    {ingest_rate / copy_rate:8.2f}")
    connection.close()


if __name__ == "__main__":
    main()
