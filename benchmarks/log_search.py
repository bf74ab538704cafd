"""Log search at scale: 1-hour and 24-hour searches over 10 M log lines.

    .venv/bin/python -m devtools.devservices run -- .venv/bin/python benchmarks/log_search.py \
        [--lines 10000000] [--functions 200] [--hours 24] [--poll-minutes 1] [--runs 10]

Seeds, in its own database (`<name>_bench_search`, kept between runs: seeding is skipped when
it already holds the requested volume), one account whose functions logged `--lines` lines
over the last `--hours` hours, in Lambda's text format: START, the function's line, END,
REPORT per invocation, with "Task timed out" in 0.5 % of invocations and a Python
`KeyError: 'user_id'` in 0.2 %. The lines are written in bulk through the ingest path's
own line writer (`monitoring.store.loglines`: binary COPY and a block per poll and function,
`--poll-minutes` apart, as the collector writes them), without invocation rows.

Then it runs each search `--runs` times through `monitoring.selectors.search_log_lines` (what
the Logs page calls) over the last hour and the last 24 hours, and prints the median and p95
wall time, the lines found, and the plans of the two statements of one search.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from common import bench_database  # same folder: the scratch database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--poll-minutes", type=float, default=1.0, help="one block per function per poll")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--reseed", action="store_true", help="seed again even if the volume is there")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database("bench_search")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import AwsAccount, Organization
    from accounts.services import organization_create, user_create_verified
    from kinds import lambda_function
    from monitoring.models import LogBlock, LogLine, Resource
    from monitoring.selectors import LogSearch, search_log_lines

    call_command("migrate", verbosity=0)
    org = Organization.objects.filter(name="Search bench").first()
    if org is None:
        owner = user_create_verified(email="search-bench@example.com", password="x" * 12)
        org = organization_create(name="Search bench", owner=owner)
    account = AwsAccount.objects.filter(organization=org).first() or AwsAccount.objects.create(
        organization=org, name="bench", role_arn="", regions=["us-east-1"], status="connected"
    )
    now = datetime.now(tz=UTC)
    have_functions = Resource.objects.filter(account=account).count()
    Resource.objects.bulk_create(
        Resource(
            organization=org,
            account=account,
            region="us-east-1",
            kind=lambda_function.KIND,
            arn=f"arn:aws:lambda:us-east-1:123456789012:function:fn-{i:04d}",
            name=f"fn-{i:04d}",
            first_seen=now,
            last_seen=now,
        )
        for i in range(have_functions, args.functions)
    )
    functions = list(Resource.objects.filter(account=account).order_by("pk")[: args.functions])

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM monitoring_logline")
        have = cursor.fetchone()[0]
    if have < args.lines * 0.99 or args.reseed:
        if have:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE monitoring_logline, monitoring_logblock")
        seed(functions, account, args, now)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE monitoring_logline")
            cursor.execute("VACUUM ANALYZE monitoring_logblock")

    lines, blocks = LogLine.objects.count(), LogBlock.objects.count()
    with connection.cursor() as cursor:
        # The windows end where the seeded lines do (a rerun an hour later searches the same).
        cursor.execute("SELECT max(ts) FROM monitoring_logline")
        end = cursor.fetchone()[0] + timedelta(minutes=1)
        rid = "substring(message from 'RequestId: ([0-9a-f-]{36})')"
        cursor.execute(
            f"SELECT {rid} FROM monitoring_logline WHERE ts > %s - interval '30 minutes' "  # noqa: S608 (fixed)
            "AND message LIKE 'START%%' LIMIT 1",
            [end],
        )
        recent_rid = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT {rid} FROM monitoring_logline WHERE ts BETWEEN %s - interval '20 hours' "  # noqa: S608 (fixed)
            "AND %s - interval '19 hours' AND message LIKE 'START%%' LIMIT 1",
            [end, end],
        )
        old_rid = cursor.fetchone()[0]
    searches = {
        "request id (last 30 min)": recent_rid,
        "request id (20 h ago)": old_rid,
        "Task timed out": "Task timed out",
        "KeyError: 'user_id'": "KeyError: 'user_id'",
        "order 4242": "order 4242",
        "Processing (every inv.)": "Processing",
        "absent word": "nonexistentword",
        "no text": "",
    }
    load = os.getloadavg()
    print(
        f"\n{lines:,} lines in {blocks:,} blocks, {len(functions)} functions, over the last {args.hours:g} h; "
        f"{args.runs} runs per search; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)\n"
    )
    print(f"{'search':<26} {'window':>6} {'median ms':>10} {'p95 ms':>8} {'lines':>6}")
    for label, text in searches.items():
        for window in (timedelta(hours=1), timedelta(hours=24)):
            times, found = [], 0
            for run in range(args.runs + 1):
                t0 = time.perf_counter()
                found = len(search_log_lines(org, LogSearch(text=text), end - window, end))
                if run:  # the first warms caches
                    times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            p95 = times[max(0, round(0.95 * len(times)) - 1)]
            hours = int(window.total_seconds() // 3600)
            print(f"{label:<26} {hours:>5}h {statistics.median(times):>10.1f} {p95:>8.1f} {found:>6}", flush=True)

    explain(connection, org, "Task timed out", end - timedelta(hours=24), end)


def seed(functions: list[Any], account: Any, args: argparse.Namespace, now: datetime) -> None:
    """Lines in bulk through the ingest path's line writer (`monitoring.store.loglines`): a
    function's lines with one COPY, its blocks cut per poll as the collector would make them
    (one store call per function and poll) with another."""
    from django.db import transaction

    from monitoring.parsing.lambda_logs import LogLine as Line
    from monitoring.parsing.lambda_logs import ParseResult
    from monitoring.store.loglines import LINE_COLUMNS, blocks_of, blocks_write, copy_binary, day_of, lines_of
    from monitoring.store.partitions import ensure_partitions

    rng = random.Random(1)
    span_ms = int(args.hours * 3600 * 1000)
    start_ms = int(now.timestamp() * 1000) - span_ms
    per_function = args.lines // len(functions)
    poll_ms = int(args.poll_minutes * 60_000)
    days = {day_of(start_ms + i * 3_600_000) for i in range(int(args.hours) + 2)}
    ensure_partitions("monitoring_logline", days)
    ensure_partitions("monitoring_logblock", days)
    print(
        f"seeding {args.lines:,} lines: {len(functions)} functions, a block per {args.poll_minutes:g} min…", flush=True
    )
    started = time.perf_counter()
    done = 0
    for number, fn in enumerate(functions, 1):
        stream = f"2026/01/01/[$LATEST]{rng.getrandbits(128):032x}"
        step = span_ms / (per_function / 4)  # ms between invocations (four lines each)
        t = float(start_ms) + rng.random() * step
        batch: list[Line] = []
        event = 0
        while len(batch) < per_function:
            ms = int(t)
            rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            stamp = datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            duration = rng.lognormvariate(4, 0.8)
            messages = [
                f"START RequestId: {rid} Version: $LATEST",
                f"[INFO]\t{stamp}\t{rid}\tProcessing order {rng.randrange(10**6)} for customer {rng.randrange(10**5)}",
            ]
            roll = rng.random()
            if roll < 0.005:
                messages.append(f"{stamp}\t{rid}\tTask timed out after 3.00 seconds")
            elif roll < 0.007:
                messages.append(
                    "[ERROR] KeyError: 'user_id'\rTraceback (most recent call last):\r  File \"/var/task/app.py\""
                )
            messages += [
                f"END RequestId: {rid}",
                f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {int(duration) + 1} ms\t"
                f"Memory Size: 256 MB\tMax Memory Used: {rng.randint(60, 120)} MB\t",
            ]
            for offset, message in enumerate(messages):
                event += 1
                batch.append(Line(ms + offset, message, stream, f"{fn.pk}-{event}"))
            t += step
        lines = lines_of(ParseResult([], 0, batch), {}, {}, resource_id=fn.pk, account_id=fn.account_id)
        polls: dict[int, list[tuple[int, bytes]]] = {}
        for ms, data in zip(lines.ms, lines.messages, strict=True):
            polls.setdefault((ms - start_ms) // poll_ms, []).append((ms, data))
        with transaction.atomic():
            copy_binary("monitoring_logline", LINE_COLUMNS, [b"".join(lines.tuples)])
            blocks_write(
                resource_id=fn.pk,
                account_id=fn.account_id,
                blocks=(block for poll in polls.values() for block in blocks_of(poll)),
            )
        done += len(batch)
        if number % 20 == 0 or number == len(functions):
            print(f"  {done:,} lines, {done / (time.perf_counter() - started):,.0f} lines/s", flush=True)
    print(f"seeded in {time.perf_counter() - started:,.0f} s", flush=True)


def explain(connection: Any, org: Any, text: str, start: datetime, end: datetime) -> None:
    """The plans of one search's statements: the walk over the newest blocks, the GIN
    lookup of older ones, the lines of a page of blocks."""
    from monitoring.logsearch import query as search_query
    from monitoring.logsearch.keys import SearchText

    q = search_query.LineQuery(
        organization_id=org.pk,
        accounts=list(org.aws_accounts.values_list("pk", flat=True)),
        resources=None,
        text=SearchText.of(text),
        status="",
        start=start,
        end=end,
    )
    with connection.cursor() as cursor:
        walk = search_query._blocks_sql(q, None, test_keys=True)
        params = search_query._blocks_params(q, None, search_query.WALK)
        show(cursor, f"the newest {search_query.WALK} blocks of the last 24 h, keys of {text!r} tested", walk, params)
        cursor.execute(walk, params)
        walked = cursor.fetchall()
        cutoff = (walked[-1][3], walked[-1][0])
        keyed = search_query._keyed_blocks_sql(q)
        show(
            cursor,
            "older blocks holding the keys (GIN), as for a rare word",
            keyed,
            search_query._blocks_params(q, cutoff, 0),
        )
        hits = [b for b in walked if b[4]][: search_query.FIRST_PAGE]
        lines = search_query._lines_sql(q)
        show(
            cursor,
            f"lines of a page of blocks matching {text!r}",
            lines,
            search_query._lines_params(q, search_query._merged(hits)),
        )


def show(cursor: Any, title: str, sql: str, params: dict[str, Any]) -> None:
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
    print(f"\nplan: {title}")
    print("\n".join("  " + row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
