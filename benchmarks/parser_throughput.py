"""Lambda log parser throughput on one core, text and JSON log formats.

    .venv/bin/python benchmarks/parser_throughput.py [--events 200000] [--runs 3]

No database, no Django: events are rendered by the sandbox's generator (the same text and
JSON formats Lambda writes, errors, timeouts, cold starts and X-Ray included) and given to
`monitoring.parsing.parse_events` as one FilterLogEvents page per run. The parser is single
threaded (one core) and timed in CPU seconds of this process, so other processes on the
machine do not count against it; the best of the runs is printed. Goal: at least 100 000 events/s per format.
"""

from __future__ import annotations

import argparse
import dataclasses
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


def measure(events: list[dict[str, Any]], runs: int) -> tuple[float, int]:
    from monitoring.parsing import parse_events

    best = float("inf")
    invocations = 0
    for _ in range(runs):
        started = time.process_time()
        result = parse_events(events)
        best = min(best, time.process_time() - started)
        invocations = len(result.invocations)
    return len(events) / best, invocations


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()}, one core, CPU time, best of {args.runs}")
    ok = True
    for log_format in ("Text", "JSON"):
        events = render(log_format, args.events)
        rate, invocations = measure(events, args.runs)
        ok = ok and rate >= GOAL
        print(f"{log_format:<5} {len(events):>9,} events  {invocations:>8,} invocations  {rate:>10,.0f} events/s")
    print(f"goal >= {GOAL:,} events/s: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
