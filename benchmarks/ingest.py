"""Ingestion throughput: parse + store of Lambda log events, against a raw COPY of the same rows.

    .venv/bin/python -m devtools.devservices run -- .venv/bin/python benchmarks/ingest.py [--events 1000000]
        [--processes N] [--serial] [--repeat N] [--profile]

It uses its own database (`<name>_bench`, created and migrated here, its tables emptied first), so
it never touches the dashboard's data. Events are rendered by the sandbox's generator (the
same text and JSON formats Lambda writes), split across functions, and ingested through
`monitoring.store.invocations.invocations_store` in batches as the logs collector would. Then the same
stored rows (invocations, log lines and the lines' search blocks) are exported and COPY-ed
raw into emptied tables: the ratio of the two rates is the figure (goal: at least 0.5). When
the ratio was first set, the lines' search index was a trigram index on the lines, paid by
their raw COPY; it is the blocks now. The ratio to a raw COPY of the invocations and lines
alone is printed as well. Every table ingestion writes is emptied first.

Where the time goes: it prints the CPU time of the Python side and of the database sessions
(from /proc, when the database runs on this machine). As in the logs collector, the next
batch is parsed in a thread while one is stored (`--serial`: not); `--processes N` stores
with N worker processes at once, as `celery worker --concurrency N` would, and the raw COPY
then runs in N sessions as well. By default N is the number of CPUs, Celery's own default
(docker-compose.yml runs the logs worker with 4): the collector never runs as one process.
The machine's speed drifts by a fifth within minutes, and the raw COPY's more than the
ingestion's: the pair is measured `--repeat` times (3 by default), one after the other,
each printed, then the medians.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from common import bench_database  # same folder: the scratch database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--functions", type=int, default=50)
    parser.add_argument("--batch", type=int, default=10_000, help="events per store call, as one poll page")
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes, as Celery's --concurrency (default: the number of CPUs, as Celery's)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="seconds a thread holds the GIL before another may take it (sys.setswitchinterval; Python's default 0.005)",
    )
    parser.add_argument("--serial", action="store_true", help="parse each batch, then store it: no overlap")
    parser.add_argument("--profile", action="store_true", help="print where parse + store spends its time")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="measure the pair (parse + store, raw COPY) this many times, one after the other; print each and the medians",
    )
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
    from monitoring.gcpause import gc_paused
    from monitoring.models import Resource
    from monitoring.parsing.lambda_logs import parse_events
    from monitoring.store.invocations import invocations_store

    call_command("migrate", verbosity=0)

    def empty_tables() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE monitoring_invocation, monitoring_logline, monitoring_logblock, monitoring_rollup, "
                "monitoring_accountrollup, monitoring_projectrollup, monitoring_errorgroup"
            )

    empty_tables()
    org = organization_create(
        name="Bench",
        owner=user_create_verified(email=f"bench{random.randint(0, 10**9)}@example.com", password="x" * 12),
    )
    # One AWS account per worker process, as the collector gives each worker one account ×
    # region at a time (their account rollups are their own).
    accounts = [
        AwsAccount.objects.create(organization=org, name=f"bench-{k}", role_arn="", regions=["us-east-1"])
        for k in range(args.processes)
    ]
    specs = functions(args.functions, seed=1)
    now = datetime.now(tz=UTC)
    resources = [
        Resource.objects.create(
            organization=org,
            account=accounts[i % args.processes],
            region="us-east-1",
            kind=lambda_function.KIND,
            arn=f"arn:aws:lambda:us-east-1:123456789012:function:{s.name}",
            name=s.name,
            config={"memory_mb": s.memory_mb, "architecture": s.architecture},
            first_seen=now,
            last_seen=now,
        )
        for i, s in enumerate(specs)
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

    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)

    # 2. Parse + store, timed, in poll-sized batches cut at invocation boundaries.
    batches: list[tuple[Resource, list[dict[str, Any]], int]] = []
    for resource in resources:
        events = per_fn[resource.pk]
        cut = 0
        while cut < len(events):
            end = min(cut + args.batch, len(events))
            while end < len(events) and not events[end]["message"].startswith(("START", '{"time"')):
                end += 1
            # As the collector: nothing after the checkpoint can be stored yet.
            checkpoint = max(int(e["timestamp"]) for e in events[:cut]) if cut else 0
            batches.append((resource, events[cut:end], checkpoint))
            cut = end

    def ingest(share: list[tuple[Resource, list[dict[str, Any]], int]]) -> Figures:
        """Parse and store `share` in this process, its own database session. As the logs
        collector does (monitoring/collection/orchestrator.py), the next batch is parsed in
        a thread while this one is stored, unless `--serial`, with the cyclic garbage
        collector paused throughout."""
        figures = Figures()

        def parse(batch: list[dict[str, Any]]) -> Any:
            t0 = time.perf_counter()
            with gc_paused():
                result = parse_events(batch)
            figures.parse_seconds += time.perf_counter() - t0
            return result

        backend = _backend_pid(connection)
        db_cpu, py_cpu = _cpu_seconds(backend), time.process_time()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse") as parser_thread, gc_paused():
            upcoming: Future[Any] | None = None
            for i, (resource, batch, checkpoint) in enumerate(share):
                if args.serial:
                    result = parse(batch)
                else:
                    result = (upcoming or parser_thread.submit(parse, batch)).result()
                    upcoming = parser_thread.submit(parse, share[i + 1][1]) if i + 1 < len(share) else None
                stored = invocations_store(resource=resource, result=result, new_after_ms=checkpoint)
                figures.invocations += stored.invocations_new
        figures.db_cpu, figures.py_cpu = _cpu_seconds(backend) - db_cpu, time.process_time() - py_cpu
        return figures

    def raw_copy(part: int, tables: tuple[str, ...], copied: dict[str, bytes]) -> Figures:
        with connection.cursor() as cursor:
            backend = _backend_pid(connection)
            db_cpu = _cpu_seconds(backend)
            for table in tables:
                rows = copied[table].splitlines(keepends=True)[part :: args.processes]
                with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(b"".join(rows))
        return Figures(db_cpu=_cpu_seconds(backend) - db_cpu)

    def raw_seconds(tables: tuple[str, ...], copied: dict[str, bytes]) -> tuple[float, Figures]:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(TABLES)}")
        started = time.perf_counter()
        if args.processes == 1:
            figures = raw_copy(0, tables, copied)
        else:
            figures = Figures.total(
                in_processes(
                    args.processes, list(range(args.processes)), partial(raw_copy, tables=tables, copied=copied)
                )
            )
        return time.perf_counter() - started, figures

    def pair() -> Pair:
        """One measurement: parse + store every batch into emptied tables, then a raw COPY of
        the rows it stored (with the blocks, then without) into emptied tables."""
        empty_tables()
        profiler = cProfile.Profile() if args.profile and args.processes == 1 else None
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        if args.processes == 1:
            figures = ingest(batches)
        else:
            # As `--processes` Celery worker processes would: each stores its own account's functions.
            figures = Figures.total(
                in_processes(
                    args.processes,
                    [[b for b in batches if b[0].account_id == account.pk] for account in accounts],
                    ingest,
                )
            )
        ingest_seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(25)

        # The raw COPY of the same rows into the same (emptied) tables, by as many sessions:
        # the invocations, the lines and the lines' search blocks (the search index of the
        # lines, which the trigram index on the lines was when this ratio was first
        # measured), then the invocations and lines alone.
        copied: dict[str, bytes] = {}
        with connection.cursor() as cursor:
            for table in TABLES:
                buffer = bytearray()
                with cursor.cursor.copy(f"COPY (SELECT * FROM {table}) TO STDOUT") as copy:  # noqa: S608 (fixed names)
                    for chunk in copy:
                        buffer += chunk
                copied[table] = bytes(buffer)
        copy_seconds, copy_figures = raw_seconds(TABLES, copied)
        rows_seconds, _ = raw_seconds(TABLES[:2], copied)
        return Pair(produced, figures, ingest_seconds, copy_seconds, copy_figures.db_cpu, rows_seconds)

    pairs = []
    for n in range(args.repeat):
        if args.repeat > 1:
            print(f"\n-- measurement {n + 1} of {args.repeat}")
        pairs.append(pair())
        pairs[-1].print(args)
    if args.repeat > 1:
        print(f"\n-- medians of {args.repeat} measurements")
        rates = sorted(p.ingest_rate for p in pairs)
        ratios = sorted(p.ratio for p in pairs)
        print(
            f"parse + store:          {statistics.median(rates):12,.0f} events/s  (each: {', '.join(f'{r:,.0f}' for r in rates)})"
        )
        print(
            f"ratio (goal >= 0.5):    {statistics.median(ratios):8.2f}  (each: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        print(
            f"ratio to that:          {statistics.median(p.rows_ratio for p in pairs):8.2f}  "
            "(to the raw COPY without blocks)"
        )
    connection.close()


TABLES = ("monitoring_invocation", "monitoring_logline", "monitoring_logblock")


@dataclass
class Figures:
    invocations: int = 0
    parse_seconds: float = 0.0
    py_cpu: float = 0.0
    db_cpu: float = 0.0

    @classmethod
    def total(cls, parts: list[Figures]) -> Figures:
        return cls(*(sum(getattr(p, f) for p in parts) for f in ("invocations", "parse_seconds", "py_cpu", "db_cpu")))


@dataclass
class Pair:
    """One measurement: parse + store, and the raw COPY of the rows it stored."""

    events: int
    figures: Figures
    ingest_seconds: float
    copy_seconds: float
    copy_db_cpu: float
    rows_seconds: float

    @property
    def ingest_rate(self) -> float:
        return self.events / self.ingest_seconds

    @property
    def ratio(self) -> float:
        return self.copy_seconds / self.ingest_seconds

    @property
    def rows_ratio(self) -> float:
        return self.rows_seconds / self.ingest_seconds

    def print(self, args: argparse.Namespace) -> None:
        f, n = self.figures, self.events
        print(f"events:                 {n:,}")
        print(f"invocations stored:     {f.invocations:,}")
        print(f"processes:              {args.processes}{' (parse, then store)' if args.serial else ''}")
        print(f"  of which parsing:     {f.parse_seconds:8.1f} s (in its thread)")
        print(f"parse + store:          {self.ingest_seconds:8.1f} s  {self.ingest_rate:12,.0f} events/s")
        print(f"  CPU: Python           {f.py_cpu:8.1f} s, database sessions {f.db_cpu:.1f} s")
        print(
            f"raw COPY, same rows:    {self.copy_seconds:8.1f} s  {n / self.copy_seconds:12,.0f} events/s  "
            f"({args.processes} session(s), database CPU {self.copy_db_cpu:.1f} s)"
        )
        print(f"ratio (goal >= 0.5):    {self.ratio:8.2f}")
        print(
            f"raw COPY without blocks:{self.rows_seconds:8.1f} s  {n / self.rows_seconds:12,.0f} events/s  "
            "(invocations and lines only)"
        )
        print(f"ratio to that:          {self.rows_ratio:8.2f}", flush=True)


def in_processes(count: int, shares: list[Any], work: Callable[[Any], Figures]) -> list[Figures]:
    """Run `work(share)` in `count` forked processes at once, each with its own database
    session; return their figures."""
    from django.db import connections

    connections.close_all()  # a child must not share the parent's socket
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def child(share: Any) -> None:
        try:
            results.put(asdict(work(share)))
        finally:
            connections.close_all()

    processes = [context.Process(target=child, args=(share,)) for share in shares]
    for process in processes:
        process.start()
    figures = [Figures(**results.get()) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a worker process failed (exit code {process.exitcode})")
    return figures


def _backend_pid(connection: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a local process, from /proc; 0 where it cannot be read
    (a database on another machine)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
