"""How well the anomaly detector finds injected anomalies in seasonal hourly series.

Each synthetic function has hourly invocations (a daily curve, quieter weekends, Poisson
noise), p95 duration (a daily bump under load, log-normal noise) and errors (a small
Poisson rate). Anomalies are injected at known hours: latency steps, traffic drops and
spikes, error bursts, each lasting 1–4 hours. `--days` days are judged, each against its
own 14-day baseline (so the series is `--days` + 14 days long). Prints precision and
recall over (function, metric, hour) and the false alarms per function per week.

    .venv/bin/python benchmarks/anomalies.py --functions 50 --days 14 --seed 1
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from insights.anomalies.detector import HOUR, detect
from insights.anomalies.metrics import HOURLY_SENSITIVITY

HISTORY_DAYS = 14
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def _poisson(rng: random.Random, lam: float) -> float:
    if lam < 30:
        # Knuth's method is exact for small means.
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return float(k)
            k += 1
    return max(0.0, round(rng.gauss(lam, math.sqrt(lam))))


def synth(rng: random.Random, days: int) -> tuple[dict[str, dict[datetime, float]], set[tuple[str, datetime]]]:
    """One function's series and the (metric, hour) pairs that were made anomalous."""
    peak = rng.choice([20, 80, 300, 1500, 6000])
    base_ms = rng.uniform(20, 800)
    error_rate = rng.choice([0.0, 0.001, 0.01])
    weekend = rng.uniform(0.3, 0.8)
    phase = rng.uniform(0, 24)
    hours = (HISTORY_DAYS + days) * 24
    judged_from = START + timedelta(days=HISTORY_DAYS)
    # Injections only in the judged days: 2 to 5 per function.
    injected: dict[tuple[str, datetime], str] = {}
    for _ in range(rng.randint(2, 5)):
        what = rng.choice(["latency", "drop", "spike", "errors"])
        first = judged_from + timedelta(hours=rng.randrange(days * 24 - 4))
        for h in range(rng.randint(1, 4)):
            metric = {"latency": "duration_p95_ms", "drop": "invocations", "spike": "invocations"}.get(what, "errors")
            injected[(metric, first + h * HOUR)] = what
    series: dict[str, dict[datetime, float]] = {"invocations": {}, "duration_p95_ms": {}, "errors": {}}
    for i in range(hours):
        t = START + i * HOUR
        daily = 0.55 + 0.45 * math.sin(2 * math.pi * ((t.hour - phase) / 24))
        normal = load = peak * daily * (weekend if t.weekday() >= 5 else 1.0)
        kind = injected.get(("invocations", t))
        if kind == "drop":
            load *= 0.25
        elif kind == "spike":
            load *= 3.0
        invocations = _poisson(rng, load)
        duration = base_ms * (1 + 0.3 * daily) * math.exp(rng.gauss(0, 0.06))
        if injected.get(("duration_p95_ms", t)):
            duration *= 2.0
        # Errors follow the normal traffic, so that each injection changes one metric only.
        errors = _poisson(rng, normal * error_rate)
        if injected.get(("errors", t)):
            errors += max(10.0, invocations * 0.05)
        if rng.random() < 0.01:
            continue  # a missing hour: collection gaps happen
        series["invocations"][t] = invocations
        if invocations:
            series["duration_p95_ms"][t] = duration
        series["errors"][t] = errors
    return series, set(injected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=50)
    parser.add_argument("--days", type=int, default=14, help="days judged (each against a 14-day baseline)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.functions < 1 or args.days < 1:
        parser.error("--functions and --days must be positive")
    rng = random.Random(args.seed)
    judged = [START + timedelta(days=HISTORY_DAYS) + h * HOUR for h in range(args.days * 24)]
    tp = fp = fn = 0
    began = time.perf_counter()
    for _ in range(args.functions):
        series, injected = synth(rng, args.days)
        flagged: set[tuple[str, datetime]] = set()
        for metric, values in series.items():
            for verdict in detect(values, judged, HOURLY_SENSITIVITY[metric]):
                flagged.add((metric, verdict.hour))
        # An injected hour that went missing cannot be found; it is not counted against recall.
        present = {(m, t) for m, t in injected if t in series[m]}
        tp += len(flagged & present)
        fp += len(flagged - present)
        fn += len(present - flagged)
    elapsed = time.perf_counter() - began
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    weeks = args.days / 7
    print(
        f"functions={args.functions} judged_days={args.days} seed={args.seed} metrics=invocations,duration_p95_ms,errors"
    )
    print(f"injected anomalous hours={tp + fn} flagged={tp + fp} true={tp} false={fp} missed={fn}")
    print(f"precision={precision:.3f} (goal >= 0.9) recall={recall:.3f} (goal >= 0.9)")
    print(f"false alarms per function per week={fp / args.functions / weeks:.3f} (goal <= 0.5)")
    print(f"detector time={elapsed:.2f}s")


if __name__ == "__main__":
    main()
