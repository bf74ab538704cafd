"""Lambda log parser throughput on one core, text and JSON log formats.

    .venv/bin/python benchmarks/parser_throughput.py [--events 200000] [--runs 3]

No database, no Django: events are rendered by the sandbox's generator (the same text and
JSON formats Lambda writes, errors, timeouts, cold starts and X-Ray included) and given to
`monitoring.parsing.parse_events` as one FilterLogEvents page per run. The parser is single
threaded (one core). Each run is timed twice: wall clock, which other processes on the
machine depress, and CPU seconds of this process (`time.process_time`), the honest figure on
a busy machine; the best run of each is printed, with the load average at the start. Goal:
at least 100 000 events/s per format, on CPU time.

For a figure independent of load, count instructions: `--runs 0` renders the events and
parses nothing, so the parser's share is the difference of two callgrind totals
(docs/parser.md has the figures):

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python benchmarks/parser_throughput.py --format JSON --events 20000 --runs 1  # and 0
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

GOAL = 100_000


def render(log_format: str, count: int) -> list[dict[str, Any]]:
    from devtools.sandbox.catalog import functions
    from devtools.sandbox.traffic import plan_invocation, render_invocation

    specs = [dataclasses.replace(spec, log_format=log_format) for spec in functions(12, seed=1)]
    rng = random.Random(7)
    events: list[dict[str, Any]] = []
    start_ms = 1_700_000_000_000
    i = 0
    while len(events) < count:
        spec = specs[i % len(specs)]
        inv = plan_invocation(spec, rng, start_ms + i * 50, cold=rng.random() < 0.05)
        for ts, message in render_invocation(spec, inv):
            stream = f"2023/11/14/[$LATEST]{spec.name}"
            events.append({"timestamp": ts, "message": message, "logStreamName": stream, "eventId": str(len(events))})
        i += 1
    return events


def measure(events: list[dict[str, Any]], runs: int) -> tuple[float, float, int]:
    """Best wall-clock and best CPU-time seconds over `runs` parses, and the invocation count."""
    from monitoring.parsing import parse_events  # imported by main() already: not timed

    best_wall = best_cpu = float("inf")
    invocations = 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = parse_events(events)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
        invocations = len(result.invocations)
    return best_wall, best_cpu, invocations


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3, help="0: render only (for instruction counts)")
    parser.add_argument("--format", choices=("Text", "JSON"), action="append", help="only this log format")
    args = parser.parse_args()
    # Imported (regular expressions compiled) before anything is timed or counted, also
    # with --runs 0: instruction counts then differ by the parsing alone.
    import monitoring.parsing  # noqa: F401

    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"python {platform.python_version()} on {platform.machine()}, one core, best of {args.runs}")
    print(f"load average at start: {load} ({os.cpu_count()} CPUs)")
    ok = True
    for log_format in args.format or ("Text", "JSON"):
        events = render(log_format, args.events)
        if args.runs == 0:
            print(f"{log_format:<5} {len(events):>9,} events rendered, not parsed")
            continue
        wall, cpu, invocations = measure(events, args.runs)
        rate = len(events) / cpu
        ok = ok and rate >= GOAL
        print(
            f"{log_format:<5} {len(events):>9,} events  {invocations:>8,} invocations  "
            f"{len(events) / wall:>10,.0f} events/s wall  {rate:>10,.0f} events/s CPU  "
            f"{cpu / len(events) * 1e6:6.2f} µs CPU/event"
        )
    if args.runs:
        print(f"goal >= {GOAL:,} events/s (CPU time): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
