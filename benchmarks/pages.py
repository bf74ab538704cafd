"""Server time of each dashboard page on a large account.

    .venv/bin/python -m devtools.devservices run -- \
        .venv/bin/python benchmarks/pages.py [--functions 1000|10000] [--invocations 10000000] [--days 30] \
        [--ingested 1000] [--requests 20] [--seed-only] [--pages TEXT]

Seeds, in a database of its own per profile (`<name>_pages_<functions>`), one organisation
with N functions (a tenth of them in a project) and M invocations spread evenly over the
last D days. The last 24 hours (from the hour 24 hours ago, "the cut") of `--ingested`
functions (1,000 by default: all of them at 1,000 functions, one in ten at 10,000) go
**through the ingestion path** (`monitoring.store.invocations.invocations_store`, one call
per function with its REPORT lines as Lambda writes them), so that their log lines, error
groups and the rollups' deltas are what production writes. Everything else is written in
bulk, day by day:

- each day's rows (before the cut, of every function; after it, of the functions not
  ingested) COPY-ed into a table of their own, attached as that day's partition (its
  indexes built once, not row by row; so are the function rollups' indexes that no bulk
  statement reads, dropped meanwhile and built again at the end);
- the day's hourly and daily rollups of each function, of the account × region and of the
  project computed from those rows by the rollup code itself, in one statement
  (`monitoring.store.rollups.bulk_days_build`: the ingest path's SQL for the functions, and
  the scopes' figures from the same groups of rows, so the same figures); the ingestion path
  then updates them as in production.

So at 10,000 functions, 33,000 of the last day's invocations and their 33,000 log lines
come through the ingestion path, not 330,000: a store call of 33 invocations took 35 ms
(measured on this data), most of it per call rather than per row, so ten thousand calls
would take about six minutes on their own. The logs pages search those lines.

Two days are built at a time on two connections, their rollup statements side by side
(`bulk_days_build(exclusive=False)`: nothing else writes into the organisation meanwhile),
while another process formats the next day's rows. Seeding is resumable: a day marked done, a function already ingested, is
skipped, and nothing is seeded when the database holds the requested volume. It prints each
day's time (storing the rows, function rollups, account and project rollups), each phase's
(the bulk days, ANALYZE, the ingestion path, VACUUM ANALYZE), the total, and how much of it the process spent stopped from outside (a shared machine). Then it runs
the insights checks once (their page lists findings) and requests every page a user opens
with a signed-in client (the overview at each period and for the project, the resources
list, a function at each period with its executions, an execution, errors, the logs and
their search, the service map, insights, alerts and the rule form, the account's settings,
the API's lists), printing the median and p95 server time and the number of SQL queries of
each, with the load average before and after. Goals: p95 under 300 ms for every page, and
seeding 10 M invocations in under 10 minutes, at 1,000 and at 10,000 functions.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REGION = "us-east-1"
MEMORY_MB = 256
TEAMS = 10  # functions tagged team=t0…t9; the project groups team t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--invocations", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--seed-only", action="store_true", help="seed (or finish seeding), measure nothing")
    parser.add_argument("--pages", default="", help="measure only the pages whose name contains this text")
    parser.add_argument(
        "--ingested",
        type=int,
        default=1000,
        help="functions whose last day goes through the ingestion path (the others' is written in bulk)",
    )
    args = parser.parse_args()

    from common import bench_database  # same folder: the scratch database helper

    os.environ["DATABASE_URL"] = bench_database(f"pages_{args.functions}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    org, account, functions, now = setup(args)
    seed(args, org, account, functions, now)
    if not args.seed_only:
        measure(args, org, account, functions)


def setup(args: argparse.Namespace) -> tuple[Any, Any, list[Any], datetime]:
    """The organisation, its account and functions, a project, and the seed's "now" (kept
    in the database, so a resumed seed puts its days where the first run did)."""
    from django.db import connection

    from accounts.models import AwsAccount, Organization
    from accounts.services import organization_create, user_create_verified
    from kinds import lambda_function
    from monitoring.models import Resource
    from monitoring.services import project_create

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_seed (key text PRIMARY KEY, value text NOT NULL)")
        cursor.execute(
            "INSERT INTO bench_seed VALUES ('now', %s) ON CONFLICT DO NOTHING", [datetime.now(tz=UTC).isoformat()]
        )
        cursor.execute("SELECT value FROM bench_seed WHERE key = 'now'")
        now = datetime.fromisoformat(cursor.fetchone()[0])
    org = Organization.objects.filter(name="Pages bench").first()
    if org is None:
        owner = user_create_verified(email="pages-bench@example.com", password="x" * 12)
        org = organization_create(name="Pages bench", owner=owner)
    account = AwsAccount.objects.filter(organization=org).first() or AwsAccount.objects.create(
        organization=org, name="bench", role_arn="arn:aws:iam::123456789012:role/bench", aws_account_id="123456789012",
        regions=[REGION], status="connected",
    )  # fmt: skip
    existing = Resource.objects.filter(account=account).count()
    Resource.objects.bulk_create(
        (
            Resource(
                organization=org, account=account, region=REGION, kind=lambda_function.KIND,
                arn=f"arn:aws:lambda:{REGION}:123456789012:function:fn-{i:05d}", name=f"fn-{i:05d}",
                config={"memory_mb": MEMORY_MB, "architecture": "arm64", "timeout_s": 30, "runtime": "python3.12"},
                tags={"team": f"t{i % TEAMS}"}, first_seen=now, last_seen=now,
            )
            for i in range(existing, args.functions)
        ),
        batch_size=2000,
    )  # fmt: skip
    project_create(organization=org, name="Team 0", tag_key="team", tag_value="t0", name_pattern="")
    with connection.cursor() as cursor:  # the planner's statistics of the new functions, as autovacuum would gather
        cursor.execute("ANALYZE monitoring_resource")
    functions = list(Resource.objects.filter(account=account).order_by("pk")[: args.functions])
    return org, account, functions, now


def seed(args: argparse.Namespace, org: Any, account: Any, functions: list[Any], now: datetime) -> None:
    from django.db import connection

    from monitoring.models import Invocation

    first_day = (now - timedelta(days=args.days)).replace(hour=0, minute=0, second=0, microsecond=0)
    cut = (now - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)  # ingested from here
    per_second = args.invocations / (now - first_day).total_seconds()
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM bench_seed WHERE key = 'done'")
        if cursor.fetchone():
            print(f"seeded already: {Invocation.objects.filter(account_id=account.pk).count():,} invocations")
            return
    print(
        f"seeding {args.invocations:,} invocations of {len(functions):,} functions over {args.days} days "
        f"(bulk before {cut:%Y-%m-%d %H:%M}; after it, {min(args.ingested, len(functions)):,} functions "
        "through the ingestion path, the others in bulk)",
        flush=True,
    )
    started = time.perf_counter()
    stopped = Stopped()
    ingested = ingested_functions(functions, args.ingested)
    t = time.perf_counter()
    bulk_days(account, functions, ingested, first_day, cut, now, per_second)
    print(f"  bulk days: {time.perf_counter() - t:,.0f} s", flush=True)
    t = time.perf_counter()
    with connection.cursor() as cursor:  # statistics of the new partitions, as autovacuum would gather
        cursor.execute("ANALYZE monitoring_invocation")
        cursor.execute("ANALYZE monitoring_rollup")
    print(f"  analyze: {time.perf_counter() - t:,.0f} s", flush=True)
    from monitoring.store.rollups import projects_built

    projects_built(organization_id=org.pk)  # every bucket was just built
    t = time.perf_counter()
    ingest_recent(ingested, len(functions), cut, now, per_second)
    print(f"  the ingestion path: {time.perf_counter() - t:,.0f} s", flush=True)
    t = time.perf_counter()
    with connection.cursor() as cursor:  # what autovacuum would have done by now (visibility map, statistics)
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("INSERT INTO bench_seed VALUES ('done', 'yes') ON CONFLICT DO NOTHING")
    print(f"  vacuum and analyze: {time.perf_counter() - t:,.0f} s", flush=True)
    total = Invocation.objects.filter(account_id=account.pk).count()
    elapsed = time.perf_counter() - started
    print(
        f"seeded {total:,} invocations in {elapsed:,.0f} s"
        + (
            f" ({stopped.seconds:,.0f} s of it stopped from outside: {elapsed - stopped.seconds:,.0f} s)"
            if stopped.seconds
            else ""
        ),
        flush=True,
    )

    from insights.engine import insights_run

    t = time.perf_counter()
    insights_run(account)
    print(f"insights run (findings for the insights page): {time.perf_counter() - t:,.1f} s", flush=True)


class Stopped:
    """How long this process was stopped from outside (a SIGSTOP on a shared machine): a
    thread that ticks every 0.2 s sees its ticks come late. Its threads only wait on the
    database, so nothing else delays a tick by a second."""

    def __init__(self) -> None:
        import threading

        self.seconds = 0.0
        threading.Thread(target=self._tick, daemon=True).start()

    def _tick(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            if now - last > 1.2:
                self.seconds += now - last - 0.2
            last = now


def ingested_functions(functions: list[Any], n: int) -> list[Any]:
    """The `n` functions whose last day goes through the ingestion path: ten consecutive
    functions (one of each team) out of every `len / n` tens, so the project, the teams and
    the benchmark's function page (the middle function) all hold some."""
    if n >= len(functions):
        return functions
    stride = max(1, len(functions) // max(n, 1))
    return [fn for i, fn in enumerate(functions) if (i // TEAMS) % stride == 0][:n]


def bulk_days(
    account: Any,
    functions: list[Any],
    ingested: list[Any],
    first_day: datetime,
    cut: datetime,
    now: datetime,
    per_second: float,
) -> None:
    """Every UTC day up to `now`, one at a time: its rows before `cut` (of every function)
    and after it (of the functions not in `ingested`) COPY-ed into a table of their own,
    attached as the day's partition (its indexes built once, not row by row), then the
    day's function rollups and its account and project rollups computed from those rows by
    the rollup code; the day is then marked done, and a resumed seed skips it. What the
    ingestion path writes afterwards updates these rollups as it does in production (the
    functions' hours and days recomputed, the change added to their account and projects).

    Two days at a time, on two connections (the ATTACH in a short transaction of its own:
    it locks the parent table against other ATTACHes until its commit), the two days'
    rollup statements side by side: the organisation's lock taken shared, as nothing else
    writes into it until every day is built (exclusive, they took turns, and the day's
    rollups, about 12 s at 10,000 functions, were the whole pace); another process formats
    the next day's rows meanwhile. The deferred foreign-key checks of the rollup
    rows are skipped (session_replication_role = replica, as pg_restore's --disable-triggers
    does): every resource id comes from the resource table, and checking a quarter of a
    million rows a day at commit costs seconds."""
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait

    from django.db import connection, transaction

    from monitoring.pricing import price_for
    from monitoring.store.invocations import INVOCATION_COLUMNS
    from monitoring.store.partitions import partition_name, partition_unique_index, partitions
    from monitoring.store.rollups import bulk_days_build

    attached = {name for name, _ in partitions("monitoring_invocation")}
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'bench_load_%%' AND relkind = 'r'")
        for (name,) in cursor.fetchall():  # a day a crash left half-loaded
            cursor.execute(f'DROP TABLE "{name}"')
        cursor.execute("SELECT key FROM bench_seed WHERE key LIKE 'bulk %%'")
        done = {key for (key,) in cursor.fetchall()}
    price = price_for(REGION, "arm64")
    spec = Day(
        INVOCATION_COLUMNS, price.gb_second, price.per_request, account.organization_id, account.pk,
        [fn.pk for fn in functions],
    )  # fmt: skip
    in_path = {fn.pk for fn in ingested}
    rest = replace(spec, ids=[pk for pk in spec.ids if pk not in in_path])
    # Each day: its pieces (whose rows, from, to).
    todo: list[tuple[datetime, list[tuple[Day, datetime, datetime]]]] = []
    day = first_day
    while day < now:
        after = day + timedelta(days=1)
        pieces = [(spec, day, min(after, cut))] if day < cut else []
        if rest.ids and after > cut:
            pieces.append((rest, max(day, cut), min(after, now)))
        if pieces and f"bulk {day.isoformat()}" not in done:
            todo.append((day, pieces))
        day = after

    def rows_of(pieces: list[tuple[Day, datetime, datetime]]) -> Future[list[str]]:
        jobs = []
        for part, start, end in pieces:
            n = round(per_second * (end - start).total_seconds() * len(part.ids) / len(spec.ids))
            jobs.append((part, start, end, n, int(start.timestamp()), _reserve_ids(n).start))
        return pool.submit(pieces_rows, jobs)

    def load(day: datetime, rows: list[str], waited: float) -> None:
        t = time.perf_counter()
        after = day + timedelta(days=1)
        name = partition_name("monitoring_invocation", day.date())
        try:
            wal_lightened()
            if name not in attached:
                with transaction.atomic(), connection.cursor() as cursor:
                    load = f"bench_load_{day:%Y%m%d}"
                    cursor.execute(f'CREATE TABLE "{load}" (LIKE monitoring_invocation INCLUDING DEFAULTS)')
                    copy(cursor, load, rows)
                    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # the indexes ATTACH builds
                    cursor.execute(
                        f'ALTER TABLE monitoring_invocation ATTACH PARTITION "{load}" '
                        f"FOR VALUES FROM ('{day.date().isoformat()}') TO ('{after.date().isoformat()}')"
                    )
                    cursor.execute(f'ALTER TABLE "{load}" RENAME TO "{name}"')
                    partition_unique_index(cursor, "monitoring_invocation", name)
            loaded = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
                # The whole day: nothing else is stored in it yet (nor after `now`).
                # Not exclusive: the other thread builds another day meanwhile, and nothing
                # else writes into the organisation until every day is built.
                bulk_days_build(organization_id=account.organization_id, start=day, end=after, exclusive=False)
                built = time.perf_counter()
                cursor.execute("INSERT INTO bench_seed VALUES (%s, 'yes')", [f"bulk {day.isoformat()}"])
            print(
                f"  {day:%Y-%m-%d}: {len(rows):,} invocations in bulk, {time.perf_counter() - t:,.1f} s "
                f"(after waiting {waited:,.1f} s for its rows: stored {loaded - t:,.1f} s, rollups "
                f"{built - loaded:,.1f} s, commit {time.perf_counter() - built:,.1f} s)",
                flush=True,
            )
        finally:
            connection.close()  # this thread's own

    if todo:
        rollup_indexes_dropped()
    with ProcessPoolExecutor(max_workers=1) as pool, ThreadPoolExecutor(max_workers=2) as threads:
        upcoming = rows_of(todo[0][1]) if todo else None
        running: set[Future[None]] = set()
        for i, (day, _) in enumerate(todo):
            if len(running) >= 2:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for f in finished:
                    f.result()
            t = time.perf_counter()
            assert upcoming is not None
            rows = upcoming.result()
            waited = time.perf_counter() - t
            upcoming = rows_of(todo[i + 1][1]) if i + 1 < len(todo) else None
            running.add(threads.submit(load, day, rows, waited))
            del rows
        for f in running:
            f.result()
    t = time.perf_counter()
    if rollup_indexes_built():
        print(f"  the function rollups' other indexes built again: {time.perf_counter() - t:,.1f} s", flush=True)


def wal_lightened() -> None:
    """This thread's session writes (a day's rows and rollups, the ingestion path's calls)
    without waiting at commit for their WAL to reach the disk (a crash loses at most the
    last writes, which a resumed seed makes again), and compresses the full-page images in it (lz4, when the server has it
    and we may set it): two days at a time write about a gigabyte of WAL a minute, and the
    checkpoints it forces made a commit wait 16 s."""
    from contextlib import suppress

    from django.db import DatabaseError, connection

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        with suppress(DatabaseError):  # superuser only (autocommit: nothing to roll back)
            cursor.execute("SET wal_compression = lz4")


def rollup_indexes_dropped() -> None:
    """Drop the function rollups' indexes that no bulk statement needs (all but the primary
    key and the unique index the upserts conflict on), their definitions kept in bench_seed:
    built once at the end rather than entry by entry for a quarter of a million rows a day."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_index x ON x.indexrelid = "
            "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass "
            "WHERE i.tablename = 'monitoring_rollup' AND NOT x.indisunique AND NOT x.indisprimary"
        )
        for name, definition in cursor.fetchall():
            cursor.execute(
                "INSERT INTO bench_seed VALUES (%s, %s) ON CONFLICT DO NOTHING", [f"index {name}", definition]
            )
            cursor.execute(f'DROP INDEX "{name}"')


def rollup_indexes_built() -> bool:
    """Build again the indexes `rollup_indexes_dropped` dropped (also after a crash)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT key, value FROM bench_seed WHERE key LIKE 'index %%'")
        dropped = cursor.fetchall()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for key, definition in dropped:
            cursor.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
            cursor.execute("DELETE FROM bench_seed WHERE key = %s", [key])
        cursor.execute("RESET maintenance_work_mem")
    return bool(dropped)


@dataclass(frozen=True)
class Day:
    """What a worker process needs to format one day's rows (no Django in it)."""

    columns: list[str]  # the invocation table's, in order
    gb_second: float
    per_request: float
    organization_id: int
    account_id: int
    ids: list[int]  # the functions


def pieces_rows(jobs: list[tuple[Day, datetime, datetime, int, int, int]]) -> list[str]:
    """The rows of one day's pieces (`day_rows`' arguments each)."""
    return [row for job in jobs for row in day_rows(*job)]


def day_rows(day_spec: Day, start: datetime, end: datetime, n: int, seed: int, first_id: int) -> list[str]:
    """COPY text rows of invocations in [start, end) (within one UTC day), evenly over the
    functions, sorted by start as polls would have written them. Formatted by hand: ten
    million rows through datetime.isoformat and dicts would take minutes."""
    ids = day_spec.ids
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    lo, span = (start - day).total_seconds(), (end - start).total_seconds()
    next_day = f"{(day + timedelta(days=1)):%Y-%m-%d}"
    prefix = f"{day:%Y-%m-%d}"
    rng = random.Random(seed)
    random_, lognorm = rng.random, rng.lognormvariate
    starts = sorted(lo + random_() * span for _ in range(n))
    constants = {
        "organization_id": str(day_spec.organization_id),
        "account_id": str(day_spec.account_id),
        "attempt": "1",
        "start_source": "report",
        "memory_size_mb": str(MEMORY_MB),
        "log_stream": "2026/11/26/[$LATEST]bench",
        "complete": "t",
    }
    per_row = ["id", "resource_id", "request_id", "status", "started_at", "ended_at", "duration_ms",
               "billed_duration_ms", "max_memory_used_mb", "init_duration_ms", "cold_start", "cost_usd"]  # fmt: skip

    # A function of a row's values giving its line: each column its value, or its constant
    # text (\N: none), as one f-string (twice as fast as str.format with str() of each).
    def literal(text: str) -> str:
        return text.replace("\\", "\\\\").replace("{", "{{").replace("}", "}}").replace("'", "\\'")

    body = "\t".join(
        f"{{v{per_row.index(c)}}}" if c in per_row else literal(constants.get(c, "\\N")) for c in day_spec.columns
    )
    line = eval(f"lambda {', '.join(f'v{i}' for i in range(len(per_row)))}: f'{body}'")  # noqa: S307 (our own text)
    heads: dict[int, str] = {}  # a whole second -> its "date hh:mm:ss."

    def stamp(seconds: float) -> str:
        whole = int(seconds)
        head = heads.get(whole)
        if head is None:
            date = prefix if whole < 86_400 else next_day
            second = whole % 86_400
            head = heads[whole] = f"{date} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}."
        return f"{head}{int(seconds % 1 * 1e6):06d}+00"

    n_ids, gb_second, per_request = len(ids), day_spec.gb_second, day_spec.per_request
    out: list[str] = []
    append = out.append
    for k, t in enumerate(starts):
        duration = round(lognorm(4, 0.8), 2)
        billed = int(duration) + 1
        cold = random_() < 0.05
        append(
            line(
                first_id + k,
                ids[k % n_ids],
                f"b{int(t * 1000):x}-{k:x}",
                "timeout" if random_() < 0.002 else "success",
                stamp(t),
                stamp(t + duration / 1000),
                duration,
                billed,
                60 + int(random_() * 61),
                f"{100 + random_() * 300:.2f}" if cold else "\\N",
                "t" if cold else "f",
                billed / 1000 * MEMORY_MB / 1024 * gb_second + per_request,
            )
        )
    return out


def _reserve_ids(n: int) -> range:
    """A block of `n` invocation ids from the table's sequence."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('monitoring_invocation', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + n])
    return range(first, first + n)


def copy(cursor: Any, table: str, rows: list[str]) -> None:
    from monitoring.store.invocations import INVOCATION_COLUMNS

    with cursor.cursor.copy(f'COPY "{table}" ({", ".join(INVOCATION_COLUMNS)}) FROM STDIN') as pipe:
        for i in range(0, len(rows), 20_000):
            pipe.write(("\n".join(rows[i : i + 20_000]) + "\n").encode())


def ingest_recent(functions: list[Any], of: int, cut: datetime, now: datetime, per_second: float) -> None:
    """[cut, now) of these functions (of `of` in all) through the ingestion path, one store
    call per function (a function already holding rows after `cut` is skipped), on one
    connection: on two, they went no faster (every function's delta goes to the one account's
    rollup rows) and two calls creating the same new partition deadlocked."""
    from monitoring.models import Invocation
    from monitoring.parsing.lambda_logs import parse_events
    from monitoring.store.invocations import invocations_store

    done = set(
        Invocation.objects.filter(started_at__gte=cut, resource__in=functions).values_list("resource_id", flat=True)
    )
    todo = [fn for fn in functions if fn.pk not in done]
    if not todo:
        return
    per_fn = max(1, round(per_second * (now - cut).total_seconds() / of))
    print(f"  ingesting {per_fn * len(todo):,} invocations of the last day through the ingestion path…", flush=True)
    started = time.perf_counter()
    span_ms = int((now - cut).total_seconds() * 1000) - 60_000
    base_ms = int(cut.timestamp() * 1000)
    stored = [0, 0]  # functions, invocations

    def store(fn: Any) -> None:
        rng = random.Random(fn.pk)
        events = []
        for k in range(per_fn):
            rid = f"{rng.getrandbits(128):032x}"
            rid = f"{rid[:8]}-{rid[8:12]}-4{rid[13:16]}-a{rid[17:20]}-{rid[20:]}"
            duration = round(rng.lognormvariate(4, 0.8), 2)
            init = f"\tInit Duration: {rng.uniform(100, 400):.2f} ms" if rng.random() < 0.05 else ""
            status = "\tStatus: timeout" if rng.random() < 0.002 else ""
            events.append(
                {
                    "timestamp": base_ms + rng.randrange(span_ms),
                    "message": f"REPORT RequestId: {rid}\tDuration: {duration} ms\tBilled Duration: "
                    f"{int(duration) + 1} ms\tMemory Size: {MEMORY_MB} MB\tMax Memory Used: {rng.randint(60, 120)} MB"
                    f"{init}{status}\t\n",
                    "logStreamName": "2026/11/26/[$LATEST]bench",
                    "eventId": f"{fn.pk}-{k}",
                }
            )
        invocations_store(resource=fn, result=parse_events(events), new_after_ms=0)
        stored[0] += 1
        stored[1] += per_fn
        if stored[0] % max(1, len(todo) // 10) == 0:
            rate = stored[1] / (time.perf_counter() - started)
            print(f"    {stored[0]:,} functions, {stored[1]:,} invocations, {rate:,.0f} invocations/s", flush=True)

    wal_lightened()
    for fn in todo:
        store(fn)
    from django.db import connection

    with connection.cursor() as cursor:  # the rest of the seed as the product's sessions write
        cursor.execute("RESET synchronous_commit")
        cursor.execute("RESET wal_compression")


def _count(queries: list[str], execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    queries.append(sql)
    return execute(sql, params, many, context)


def measure(args: argparse.Namespace, org: Any, account: Any, functions: list[Any]) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from accounts.api_tokens import api_token_create
    from monitoring.models import ErrorGroup, Invocation, LogLine, Project

    # No collectstatic here: unhashed static names, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    client = Client(HTTP_HOST="localhost")
    user = org.memberships.first().user
    client.force_login(user)
    token = api_token_create(organization=org, name=f"bench {time.time()}", by=user)[1]
    fn = functions[len(functions) // 2]
    inv = Invocation.objects.filter(resource=fn).order_by("-started_at").first()
    group = ErrorGroup.objects.filter(organization=org).order_by("-count").first()
    project = Project.objects.get(organization=org, name="Team 0")
    pages = {
        "overview 1h": "/?period=1h",
        "overview 24h": "/?period=24h",
        "overview 7d": "/?period=7d",
        "overview 30d": "/?period=30d",
        "overview 24h project": f"/?period=24h&project={project.pk}",
        "overview 30d project": f"/?period=30d&project={project.pk}",
        "resources p1": "/resources/",
        "resources p7": "/resources/?page=7",
        "resources project": f"/resources/?project={project.pk}",
        "resources search": f"/resources/?q={fn.name[:-1]}",
        "function 1h": f"/resources/{fn.pk}/?period=1h",
        "function 24h": f"/resources/{fn.pk}/?period=24h",
        "function 7d": f"/resources/{fn.pk}/?period=7d",
        "function 30d": f"/resources/{fn.pk}/?period=30d",
        "executions (timeouts)": f"/resources/{fn.pk}/?period=7d&status=timeout",
        "execution": f"/invocations/{inv.pk}/" if inv else "/",
        "errors": "/errors/",
        "error group": f"/errors/{group.pk}/" if group else "/errors/",
        "logs 1h": "/logs/?period=1h",
        "logs 24h search": "/logs/?period=24h&q=timeout",
        "logs 24h function": f"/logs/?period=24h&function={fn.pk}",
        "logs results 24h": "/logs/results/?period=24h&q=timeout&search=bench-search-0001",
        "service map": "/service-map/",
        "insights": "/insights/",
        "insights checks": "/insights/checks/",
        "alerts": "/alerts/",
        "alert rule new": "/alerts/rules/new/",
        "settings aws account": f"/settings/aws/{account.pk}/",
        "api overview 24h": "/api/v1/overview?period=24h",
        "api overview 30d proj": f"/api/v1/overview?period=30d&project={project.pk}",
        "api resources": "/api/v1/resources",
        "api resource": f"/api/v1/resources/{fn.pk}",
        "api invocations": f"/api/v1/invocations?resource={fn.pk}&period=24h",
        "api error groups": "/api/v1/error-groups",
        "api anomalies": "/api/v1/anomalies",
        "api accounts": "/api/v1/accounts",
    }
    total = Invocation.objects.filter(account_id=account.pk).count()
    lines = LogLine.objects.filter(account_id=account.pk).count()
    print(
        f"\n{len(functions):,} functions, {total:,} invocations, {lines:,} log lines; {args.requests} requests per page"
    )
    if hasattr(os, "getloadavg"):
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"\n{'page':<22} {'median ms':>10} {'p95 ms':>10} {'queries':>8}")
    bearer = {"Authorization": f"Bearer {token}"}
    for name, url in pages.items():
        if args.pages not in name:
            continue
        headers = bearer if url.startswith("/api/") else {}
        queries: list[str] = []
        with connection.execute_wrapper(partial(_count, queries)):
            response = client.get(url, headers=headers)  # warm caches and connections
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        times.sort()
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        print(f"{name:<22} {statistics.median(times):>10.1f} {p95:>10.1f} {len(queries):>8}", flush=True)
    if hasattr(os, "getloadavg"):
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
