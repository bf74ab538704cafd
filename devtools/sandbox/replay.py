"""Replay sandbox traffic with faults, then check the database against the ledger.

The sandbox's traffic generator knows every invocation it wrote (request id, status, cold
start). This replays simulated time step by step against the real collectors, with the
faults collection must survive, and then compares what was stored with that truth: nothing
lost, nothing duplicated, rollups equal to the raw rows, error groups counting exactly the
failing invocations. `benchmarks/exactly_once.py` runs a day of it with random faults; a
test runs minutes of it with one fault of each kind at a chosen step.

Time is simulated with time-machine, in this process (the sandbox server's thread included,
so CloudWatch stamps ingestion with the simulated time) and in the child processes, which
travel to the time they are given. Each step of `step_seconds`:

1. Deliver the held-back log batches whose time has come, then write the step's traffic.
   A share of PutLogEvents batches is held back 1–12 simulated minutes: CloudWatch Logs
   can ingest events minutes after their timestamp (the documented bound is 15 minutes).
2. Inject the step's faults into the sandbox: FilterLogEvents throttled (some throttles
   pass within botocore's retries, the others outlast them and end the run's reads);
   GetMetricData failing (answered with a non-retryable error, so that no retry back-off
   is spent on it; the collectors treat every GetMetricData failure alike).
3. Re-reads: move one function's log checkpoint back 1–30 minutes; force the late sweep
   by removing its stamp.
4. Collect the unit: in this process, or in a child process killed with SIGKILL after a
   random delay. The killed run's Redis lock is then deleted, as its TTL would have
   expired it (the expiry itself is tested on its own), to save the wall time.

Then every held-back batch is delivered at its time, and collection goes on, with no new
traffic and no faults, until a late sweep has run after the last delivery and a run stores
nothing new. Only then is the database compared with the ledger.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import IO, Any
from urllib.parse import quote

import redis
import time_machine
from django.conf import settings
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Greatest

from accounts.models import AwsAccount
from monitoring.collection.orchestrator import UnitLock, collect_unit
from monitoring.models import LogCheckpoint

from . import faults
from .catalog import FunctionSpec
from .seed import admin_client
from .traffic import Invocation, Ledger, TrafficGenerator

FAILING = ("error", "timeout", "out_of_memory")
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "exactly_once.py"


def child_command(account_id: int, region: str) -> list[str]:
    """The killed worker's command line: the benchmark script in its `--child` mode."""
    return [sys.executable, str(BENCHMARK), "--child", "--account", str(account_id), "--region", region]


CHILD_STARTUP_SECONDS = 180  # a cold interpreter importing Django and botocore on a loaded machine


@dataclass
class FaultPlan:
    """How likely each fault is in a step, and the steps that surely have one."""

    kill: float = 0.03
    throttle: float = 0.03
    # Share of throttles that outlast botocore's retries (and end the run's reads); each
    # costs the run botocore's back-off, up to half a minute.
    throttle_outlasting: float = 0.5
    metrics_down: float = 0.03
    reread: float = 0.05
    sweep: float = 0.05
    late: float = 0.05  # share of PutLogEvents batches held back
    late_minutes: tuple[float, float] = (1.0, 12.0)
    reread_minutes: tuple[float, float] = (1.0, 30.0)
    # step index → fault kinds ("kill", "throttle", "metrics_down", "reread", "sweep", "late")
    forced: dict[int, set[str]] = field(default_factory=dict)

    def draw(self, step: int, rng: random.Random) -> set[str]:
        # One draw per kind per step, forced or not, so a forced fault leaves the seed's
        # other draws where they were.
        drawn = {
            kind
            for kind in ("kill", "throttle", "metrics_down", "reread", "sweep")
            if rng.random() < getattr(self, kind)
        }
        return drawn | (self.forced.get(step, set()) - {"late"})


@dataclass
class TruthLedger(Ledger):
    """The generator's ledger, also keeping each invocation's request id, status and cold start."""

    truth: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, name: str, inv: Invocation) -> None:
        super().add(name, inv)
        self.truth[name][inv.request_id] = (inv.status, inv.init_ms is not None)


@dataclass
class HeldBatch:
    due: datetime
    kwargs: dict[str, Any]
    oldest_ms: int


class LateLogs:
    """The generator's CloudWatch Logs client, holding back a share of PutLogEvents batches."""

    def __init__(self, client: Any, rng: random.Random, share: float, minutes: tuple[float, float]) -> None:
        self.client = client
        self.rng = rng
        self.share = share
        self.minutes = minutes
        self.now: datetime | None = None
        self.force_next = False
        self.held: list[HeldBatch] = []
        self.batches = 0
        self.events = 0
        self.invocations = 0
        self.latest_delivery_s = 0.0  # the longest an event waited (its timestamp → delivery)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def put_log_events(self, **kwargs: Any) -> Any:
        assert self.now is not None
        hold = self.rng.random() < self.share
        if not (hold or self.force_next):
            return self.client.put_log_events(**kwargs)
        self.force_next = False
        events = kwargs["logEvents"]
        delay = timedelta(minutes=self.rng.uniform(*self.minutes))
        self.held.append(HeldBatch(self.now + delay, kwargs, min(e["timestamp"] for e in events)))
        self.batches += 1
        self.events += len(events)
        self.invocations += sum(
            1 for e in events if e["message"].startswith("REPORT ") or '"platform.report"' in e["message"]
        )
        return {"nextSequenceToken": "held"}

    def deliver(self, now: datetime) -> int:
        """Put the batches whose time has come; return how many."""
        due = sorted((b for b in self.held if b.due <= now), key=lambda b: b.due)
        for batch in due:
            self.client.put_log_events(**batch.kwargs)
            self.held.remove(batch)
            self.latest_delivery_s = max(self.latest_delivery_s, now.timestamp() - batch.oldest_ms / 1000)
        return len(due)


@dataclass
class Tally:
    """What the runs and the faults did, as counted while replaying."""

    steps: int = 0
    drain_steps: int = 0
    runs_in_process: int = 0
    kills: int = 0
    kills_mid_run: int = 0
    throttled_steps: int = 0
    throttled_calls: int = 0
    runs_ended_by_throttle: int = 0
    metrics_down_steps: int = 0
    metrics_failed_calls: int = 0
    metrics_fallback_runs: int = 0
    rereads: int = 0
    reread_minutes: float = 0.0
    forced_sweeps: int = 0
    sweeps_run: int = 0
    invocations_new: int = 0
    invocations_updated: int = 0
    late_log_events: int = 0
    skipped_invocations: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    run_errors: list[str] = field(default_factory=list)
    collect_seconds: list[float] = field(default_factory=list)
    settled: bool = False

    def add_run(self, summary: dict[str, Any]) -> None:
        logs = summary.get("logs", {})
        self.invocations_new += logs.get("invocations", 0)
        self.invocations_updated += logs.get("invocations_updated", 0)
        self.late_log_events += logs.get("late_log_events", 0)
        self.skipped_invocations += logs.get("skipped_invocations", 0)
        self.metrics_fallback_runs += bool(logs.get("metrics_fallback"))
        self.sweeps_run += bool(logs.get("late_sweep"))
        kinds = [p.get("kind", "") for p in summary.get("problems", [])]
        self.problems.update(
            f"{p.get('kind', '')} {p.get('operation', '')}".strip() for p in summary.get("problems", [])
        )
        self.runs_ended_by_throttle += "throttled" in kinds
        if summary.get("error"):
            self.run_errors.append(str(summary["error"]))


@dataclass
class Comparison:
    """The database against the ledger."""

    ledger_total: int = 0
    stored_rows: int = 0
    ledger_by_status: Counter[str] = field(default_factory=Counter)
    stored_by_status: Counter[str] = field(default_factory=Counter)
    ledger_cold: int = 0
    stored_cold: int = 0
    lost: int = 0
    lost_by_function: dict[str, int] = field(default_factory=dict)
    duplicated_rows: int = 0  # rows beyond the one each ledger invocation should have
    identity_duplicates: int = 0  # (function, request id, attempt) stored more than once
    unknown_ids: int = 0  # stored request ids the generator never wrote
    wrong_status: int = 0
    wrong_examples: list[str] = field(default_factory=list)  # "function request-id: ledger → stored"
    wrong_cold_start: int = 0
    incomplete: int = 0
    per_function: list[tuple[str, int, int, int, int]] = field(default_factory=list)  # name, ledger, stored, lost, dup
    rollups: dict[str, dict[str, Any]] = field(default_factory=dict)  # period → figures
    error_group_total: int = 0
    failing_rows: int = 0
    error_groups_off: int = 0  # groups whose count differs from their rows

    @property
    def rollups_equal_raw(self) -> bool:
        return all(r["buckets_differing"] == 0 for r in self.rollups.values())

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated_rows == 0
            and self.identity_duplicates == 0
            and self.unknown_ids == 0
            and self.wrong_status == 0
            and self.wrong_cold_start == 0
            and self.incomplete == 0
            and self.rollups_equal_raw
            and self.error_group_total == self.failing_rows
            and self.error_groups_off == 0
        )


@dataclass
class ReplayReport:
    tally: Tally
    comparison: Comparison
    late_batches: int
    late_events: int
    late_invocations: int
    late_longest_s: float
    simulated: timedelta
    wall_seconds: float

    @property
    def ok(self) -> bool:
        return self.comparison.ok and self.tally.settled and not self.tally.run_errors

    def render(self) -> str:
        t, c = self.tally, self.comparison
        statuses = sorted(set(c.ledger_by_status) | set(c.stored_by_status))
        lines = [
            f"simulated:                 {self.simulated} in {t.steps} steps (+{t.drain_steps} to drain), "
            f"wall {self.wall_seconds:.0f} s",
            f"collection runs:           {t.runs_in_process} in process, {t.kills} in a child killed with SIGKILL "
            f"({t.kills_mid_run} mid-run, {t.kills - t.kills_mid_run} after the run had finished); "
            "a killed run's lock is deleted as its TTL would have",
            f"throttles:                 {t.throttled_steps} steps, {t.throttled_calls} FilterLogEvents calls "
            f"answered ThrottlingException, {t.runs_ended_by_throttle} runs ended by one",
            f"GetMetricData failing:     {t.metrics_down_steps} steps, {t.metrics_failed_calls} calls failed, "
            f"{t.metrics_fallback_runs} runs read the recent log groups instead",
            f"re-reads:                  {t.rereads} checkpoints moved back "
            f"({t.reread_minutes / max(t.rereads, 1):.1f} min on average), {t.forced_sweeps} late sweeps forced, "
            f"{t.sweeps_run} sweeps run",
            f"late batches:              {self.late_batches} PutLogEvents batches held back "
            f"({self.late_events:,} events, {self.late_invocations:,} invocations), the latest event "
            f"{self.late_longest_s / 60:.1f} min after its timestamp; {t.late_log_events:,} late events stored",
            f"collector:                 {t.invocations_new:,} invocations new, {t.invocations_updated:,} updated, "
            f"{t.skipped_invocations} skipped; problems reported {dict(sorted(t.problems.items()))}",
            f"collect run time:          mean {mean(t.collect_seconds or [0]):.2f} s, "
            f"max {max(t.collect_seconds or [0]):.2f} s (in process)",
            "",
            f"invocations:               ledger {c.ledger_total:,}   stored {c.stored_rows:,}",
            *(
                f"  {status:<24} ledger {c.ledger_by_status[status]:,}   stored {c.stored_by_status[status]:,}"
                for status in statuses
            ),
            f"  {'cold starts':<24} ledger {c.ledger_cold:,}   stored {c.stored_cold:,}",
            f"lost (ledger − stored):    {c.lost}" + (f"  {c.lost_by_function}" if c.lost else ""),
            f"duplicated:                {c.duplicated_rows} rows beyond one per request id, "
            f"{c.identity_duplicates} identities (function, request id, attempt) stored twice, "
            f"{c.unknown_ids} request ids the generator never wrote",
            f"wrong:                     {c.wrong_status} statuses, {c.wrong_cold_start} cold starts, "
            f"{c.incomplete} left incomplete" + (f"  {c.wrong_examples}" if c.wrong_examples else ""),
        ]
        for period, r in c.rollups.items():
            lines.append(
                f"rollups {period:<5} vs raw:     {r['buckets']} buckets, {r['buckets_differing']} differ; "
                f"invocations {r['invocations']:,}/{r['raw_invocations']:,}, errors {r['errors']:,}/{r['raw_errors']:,}, "
                f"cold {r['cold_starts']:,}/{r['raw_cold_starts']:,}, histogram {r['histogram']:,}/{r['raw_durations']:,}, "
                f"cost ${r['cost']:.6f}/${r['raw_cost']:.6f}"
            )
        lines += [
            f"error groups:              count {c.error_group_total:,}, failing raw rows {c.failing_rows:,}, "
            f"{c.error_groups_off} groups off",
            "",
            f"{'function':<22}{'ledger':>8}{'stored':>8}{'lost':>6}{'dup':>5}",
            *(f"{name:<22}{n:>8,}{s:>8,}{lost:>6}{dup:>5}" for name, n, s, lost, dup in c.per_function),
        ]
        if t.run_errors:
            lines.append(f"runs that failed: {t.run_errors[:3]}")
        if not t.settled:
            lines.append("collection did not settle: a run after the drain still stored something")
        lines.append("OK: 0 lost, 0 duplicated, rollups = raw" if self.ok else "FAILED")
        return "\n".join(lines)


def child_environment() -> dict[str, str]:
    """What a child collecting process needs to reach this process's database, Redis and sandbox."""
    db = connection.settings_dict
    user = quote(db["USER"] or "postgres", safe="")
    if db.get("PASSWORD"):
        user += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "127.0.0.1", safe="")
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@{host}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,  # the cached role credentials are encrypted with it
        "PLATFORM_AWS_PRINCIPAL": settings.PLATFORM_AWS_PRINCIPAL,
        "AWS_CALL_RATE_SCALE": str(settings.AWS_CALL_RATE_SCALE),
        "COLLECT_LOCK_SECONDS": str(settings.COLLECT_LOCK_SECONDS),
        "DISCOVERY_INTERVAL_MINUTES": str(settings.DISCOVERY_INTERVAL_MINUTES),
    }


class Child:
    """A collecting process started ahead of need: it imports and sets up Django, then waits
    on stdin for the simulated time to collect at."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the child; close())
        self.proc = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def start(self, at: datetime) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(at.isoformat() + "\n")
        self.proc.stdin.flush()

    def wait_for(self, word: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line == word:
                return
            if line is None:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"the collecting child never said {word!r}: {self.errors()}")

    def summary(self) -> dict[str, Any]:
        """The finished run's summary (its last line)."""
        last: dict[str, Any] = {}
        while True:
            line = self.lines.get(timeout=10)
            if line is None:
                return last
            if line.startswith("{"):
                last = json.loads(line)

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.stderr.close()


class Replay:
    def __init__(
        self,
        *,
        account: AwsAccount,
        region: str,
        specs: list[FunctionSpec],
        endpoint: str,
        start: datetime,
        steps: int,
        step_seconds: int = 60,
        per_minute: float = 30,
        seed: int = 1,
        plan: FaultPlan | None = None,
        child_command: list[str] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.account_pk = account.pk
        self.region = region
        self.specs = specs
        self.start = start
        self.steps = steps
        self.step = step_seconds
        self.rng = random.Random(seed)
        self.plan = plan or FaultPlan()
        self.child_command = child_command
        self.progress = progress
        self.logs = LateLogs(
            admin_client("logs", endpoint, region), random.Random(seed + 1), self.plan.late, self.plan.late_minutes
        )
        self.generator = TrafficGenerator(
            specs,
            logs=self.logs,
            cloudwatch=admin_client("cloudwatch", endpoint, region),
            seed=seed + 2,
            per_minute=per_minute,
        )
        self.ledger = TruthLedger()
        self.generator.ledger = self.ledger
        self.tally = Tally()
        self._spare: Child | None = None
        self._child_env: dict[str, str] = {}

    # --- the replay ---------------------------------------------------------------------

    def run(self) -> ReplayReport:
        began = time.perf_counter()
        if self.child_command:
            self._child_env = child_environment()
            self._spare = Child(self.child_command, self._child_env)
        try:
            with time_machine.travel(self.start, tick=False) as clock:
                self._collect()  # discovery and first checkpoints, before any traffic
                now = self.start
                for i in range(self.steps):
                    now = self.start + timedelta(seconds=(i + 1) * self.step)
                    clock.move_to(now)
                    self._step(i, now)
                    if self.progress and (i + 1) % max(1, self.steps // 24) == 0:
                        self.progress(
                            f"step {i + 1}/{self.steps} ({now:%H:%M}), wall {time.perf_counter() - began:.0f} s"
                        )
                self._drain(clock, now)
        finally:
            faults.clear()
            if self._spare is not None:
                self._spare.close()
        return ReplayReport(
            tally=self.tally,
            comparison=compare(account_id=self.account_pk, ledger=self.ledger),
            late_batches=self.logs.batches,
            late_events=self.logs.events,
            late_invocations=self.logs.invocations,
            late_longest_s=self.logs.latest_delivery_s,
            simulated=timedelta(seconds=self.steps * self.step),
            wall_seconds=time.perf_counter() - began,
        )

    def _step(self, i: int, now: datetime) -> None:
        self.tally.steps += 1
        self.logs.now = now
        self.logs.deliver(now)
        self.logs.force_next = "late" in self.plan.forced.get(i, set())
        self.generator.tick(self.step, now=now)
        self.logs.force_next = False

        drawn = self.plan.draw(i, self.rng)
        throttle = metrics = None
        if "throttle" in drawn:
            outlasting = self.rng.random() < self.plan.throttle_outlasting
            # Two throttled answers pass within botocore's retries; a throttle without end outlasts them.
            throttle = faults.inject(operation="FilterLogEvents", region=self.region, times=None if outlasting else 2)
            self.tally.throttled_steps += 1
        if "metrics_down" in drawn:
            metrics = faults.inject(
                operation="GetMetricData",
                code="InternalFailure",
                status=400,
                message="The replay made GetMetricData fail",
                region=self.region,
            )
            self.tally.metrics_down_steps += 1
        if "reread" in drawn:
            self._reread()
        if "sweep" in drawn:
            self._force_sweep()
        try:
            if "kill" in drawn and self.child_command:
                self._collect_killed(now)
            else:
                self._collect()
        finally:
            self.tally.throttled_calls += throttle.hits if throttle else 0
            self.tally.metrics_failed_calls += metrics.hits if metrics else 0
            faults.clear()

    def _drain(self, clock: Any, now: datetime) -> None:
        """Deliver what is held back, at its time, and collect until nothing new arrives."""
        last_delivery = now
        swept_after_delivery = False
        for _ in range(int((self.plan.late_minutes[1] * 60 + 3600) // self.step) + 10):
            now += timedelta(seconds=self.step)
            clock.move_to(now)
            self.logs.now = now
            if self.logs.deliver(now):
                last_delivery, swept_after_delivery = now, False
            self.tally.drain_steps += 1
            summary = self._collect()
            logs = summary.get("logs", {})
            swept_after_delivery |= bool(logs.get("late_sweep")) and now > last_delivery
            stored = logs.get("invocations", 0) + logs.get("invocations_updated", 0) + logs.get("log_lines", 0)
            if not self.logs.held and swept_after_delivery and stored == 0:
                self.tally.settled = True
                return

    # --- the faults -----------------------------------------------------------------------

    def _reread(self) -> None:
        checkpoints = list(
            LogCheckpoint.objects.filter(
                resource__account_id=self.account_pk, resource__region=self.region, last_event_ms__gt=0
            ).order_by("pk")
        )
        if not checkpoints:
            return
        cp = self.rng.choice(checkpoints)
        minutes = self.rng.uniform(*self.plan.reread_minutes)
        back = int(minutes * 60_000)
        LogCheckpoint.objects.filter(pk=cp.pk).update(
            last_event_ms=Greatest(F("last_event_ms") - back, Value(0)),
            resume_from_ms=Greatest(F("resume_from_ms") - back, Value(0)),
            polled_to_ms=Greatest(F("polled_to_ms") - back, Value(0)),
        )
        self.tally.rereads += 1
        self.tally.reread_minutes += minutes

    def _force_sweep(self) -> None:
        account = AwsAccount.objects.get(pk=self.account_pk)
        if account.last_collected.pop(f"logs_sweep:{self.region}", None) is not None:
            account.save(update_fields=["last_collected"])
        self.tally.forced_sweeps += 1

    # --- collecting -------------------------------------------------------------------------

    def _collect(self) -> dict[str, Any]:
        account = AwsAccount.objects.get(pk=self.account_pk)
        began = time.perf_counter()
        summary = collect_unit(account, self.region, force_discovery=False).as_dict()
        self.tally.collect_seconds.append(time.perf_counter() - began)
        self.tally.runs_in_process += 1
        self.tally.add_run(summary)
        return summary

    def _collect_killed(self, now: datetime) -> None:
        """Collect in a child process and SIGKILL it after a random delay."""
        assert self.child_command
        child = self._spare or Child(self.child_command, self._child_env)
        self._spare = None
        try:
            child.start(now)
            child.wait_for("collecting", CHILD_STARTUP_SECONDS)
            # Up to twice an in-process run: a child, with its clients to create, takes longer.
            window = 2 * mean(self.tally.collect_seconds[-50:] or [0.5])
            try:
                child.proc.wait(timeout=self.rng.uniform(0, window))
                self.tally.add_run(child.summary())
            except subprocess.TimeoutExpired:
                os.kill(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
                self.tally.kills_mid_run += 1
            self.tally.kills += 1
        finally:
            child.close()
        lock = UnitLock(self.account_pk, self.region)
        try:
            lock.client.delete(lock.key, f"{lock.key}:holder")
        except redis.exceptions.RedisError as exc:
            raise RuntimeError(f"could not release the killed run's lock: {exc}") from exc
        self._spare = Child(self.child_command, self._child_env)


def child_main(account_id: int, region: str) -> None:
    """The child's side: wait for the simulated time on stdin, travel there, collect."""
    print("ready", flush=True)
    line = input()
    at = datetime.fromisoformat(line.strip())
    account = AwsAccount.objects.get(pk=account_id)
    with time_machine.travel(at, tick=False):
        print("collecting", flush=True)
        summary = collect_unit(account, region, force_discovery=False)
    print(json.dumps(summary.as_dict(), default=str), flush=True)


# --- the comparison ---------------------------------------------------------------------------

_ROLLUP_VS_RAW = """
WITH raw AS (
    SELECT resource_id, date_trunc(%(unit)s, started_at) AS bucket, count(*) AS invocations,
           count(*) FILTER (WHERE status IN ('error', 'timeout', 'out_of_memory')) AS errors,
           count(*) FILTER (WHERE cold_start) AS cold_starts, count(duration_ms) AS durations,
           COALESCE(sum(cost_usd), 0) AS cost
    FROM monitoring_invocation WHERE account_id = %(account)s GROUP BY 1, 2
), roll AS (
    SELECT resource_id, bucket, invocations, errors, cold_starts,
           (SELECT COALESCE(sum(value::bigint), 0) FROM jsonb_each_text(histogram)) AS histogram, cost_usd AS cost
    FROM monitoring_rollup WHERE account_id = %(account)s AND period = %(period)s
)
SELECT COALESCE(raw.invocations, 0), COALESCE(roll.invocations, 0), COALESCE(raw.errors, 0), COALESCE(roll.errors, 0),
       COALESCE(raw.cold_starts, 0), COALESCE(roll.cold_starts, 0), COALESCE(raw.durations, 0),
       COALESCE(roll.histogram, 0), COALESCE(raw.cost, 0), COALESCE(roll.cost, 0)
FROM raw FULL OUTER JOIN roll ON raw.resource_id = roll.resource_id AND raw.bucket = roll.bucket
"""


def _rollups_vs_raw(account_id: int, period: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(_ROLLUP_VS_RAW, {"account": account_id, "period": period, "unit": period})
        rows = cursor.fetchall()
    out: dict[str, Any] = {"buckets": len(rows), "buckets_differing": 0}
    keys = ["raw_invocations", "invocations", "raw_errors", "errors", "raw_cold_starts", "cold_starts"]
    keys += ["raw_durations", "histogram", "raw_cost", "cost"]
    for key in keys:
        out[key] = 0
    for row in rows:
        values = dict(zip(keys, row, strict=True))
        counts_differ = any(values[k] != values[f"raw_{k}"] for k in ("invocations", "errors", "cold_starts"))
        cost_differs = abs(float(values["cost"]) - float(values["raw_cost"])) > 1e-9 * max(
            1.0, float(values["raw_cost"])
        )
        if counts_differ or values["histogram"] != values["raw_durations"] or cost_differs:
            out["buckets_differing"] += 1
        for key in keys:
            out[key] += values[key]
    out["cost"], out["raw_cost"] = float(out["cost"]), float(out["raw_cost"])
    return out


def compare(*, account_id: int, ledger: TruthLedger) -> Comparison:
    c = Comparison()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.name, i.request_id, i.status, i.cold_start, i.complete FROM monitoring_invocation i "
            "JOIN monitoring_resource r ON r.id = i.resource_id WHERE i.account_id = %s",
            [account_id],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM monitoring_invocation WHERE account_id = %s "
            "GROUP BY resource_id, request_id, attempt HAVING count(*) > 1) d",
            [account_id],
        )
        c.identity_duplicates = cursor.fetchone()[0]
        cursor.execute(
            "SELECT g.id, g.count, count(i.id) FROM monitoring_errorgroup g "
            "LEFT JOIN monitoring_invocation i ON i.error_group_id = g.id AND i.account_id = g.account_id "
            "AND i.status IN ('error', 'timeout', 'out_of_memory') WHERE g.account_id = %s GROUP BY g.id, g.count",
            [account_id],
        )
        groups = cursor.fetchall()
    stored: dict[str, dict[str, list[tuple[str, bool, bool]]]] = defaultdict(lambda: defaultdict(list))
    for name, rid, status, cold, complete in rows:
        stored[name][rid].append((status, cold, complete))
        c.stored_by_status[status] += 1
        c.stored_cold += cold
        c.failing_rows += status in FAILING
    c.stored_rows = len(rows)
    for name in sorted(set(ledger.truth) | set(stored)):
        truth, got = ledger.truth.get(name, {}), stored.get(name, {})
        lost = sum(1 for rid in truth if rid not in got)
        dup = sum(len(views) - 1 for views in got.values())
        c.unknown_ids += sum(1 for rid in got if rid not in truth)
        for rid, (status, cold) in truth.items():
            c.ledger_by_status[status] += 1
            c.ledger_cold += cold
            views = got.get(rid)
            if views:
                if any(v[0] != status for v in views):
                    c.wrong_status += 1
                    if len(c.wrong_examples) < 5:
                        c.wrong_examples.append(f"{name} {rid}: {status} → {', '.join(v[0] for v in views)}")
                c.wrong_cold_start += any(v[1] != cold for v in views)
                c.incomplete += any(not v[2] for v in views)
        c.lost += lost
        c.duplicated_rows += dup
        if lost:
            c.lost_by_function[name] = lost
        c.per_function.append((name, len(truth), sum(len(v) for v in got.values()), lost, dup))
    c.ledger_total = sum(len(t) for t in ledger.truth.values())
    c.rollups = {"hour": _rollups_vs_raw(account_id, "hour"), "day": _rollups_vs_raw(account_id, "day")}
    c.error_group_total = sum(count for _, count, _ in groups)
    c.error_groups_off = sum(1 for _, count, rows_in_group in groups if count != rows_in_group)
    return c
