"""Freshness: how long after an invocation ends its row is in the database, polled and pushed.

    .venv/bin/python benchmarks/freshness.py [--minutes 3] [--modes poll:60,poll:15,push:60,push:5]
        [--functions 10] [--rate 120] [--concurrency 2]

The real pipeline, run as production runs it: the sandbox AWS (`manage.py sandbox
--no-traffic`, moto in its own process), a Celery worker on every queue and Celery beat
(its fan-out starts each unit's self-scheduling log poll chain), and, for push, the web on
gunicorn receiving Firehose deliveries at `/ingest/firehose/<token>`. The account is
connected through the onboarding services, on its own database (`<name>_bench_fresh`,
created empty and dropped at the end unless `--keep`) and the Redis of REDIS_URL (its
Celery queues and the benchmark's keys are purged between modes).

This process writes live traffic every second (the sandbox's own generator: Lambda's log
lines and metrics, `--rate` invocations a minute over `--functions` functions) and notes
each invocation's REPORT timestamp. Per mode (`poll:<LOGS_POLL_SECONDS>` or
`push:<Firehose buffer seconds>`), the worker and beat (and the web) are started afresh;
after a warm-up (until an invocation that ended after the start is stored), the invocations
that end during `--minutes` are measured: the database is read every 0.5 s, and an
invocation's delay is from its REPORT timestamp to the first read that finds its row
complete. In push modes this process plays CloudWatch Logs and Firehose: every log event
also goes into a buffer, posted as one Firehose delivery (CloudWatch Logs subscription
records, gzip'd, base64, the stream's `region` common attribute and access key) when its
first event is the buffer interval old; polling then only fills gaps (docs/push.md).

It prints p50/p95/max per mode beside the issue's goal for polling (p95 ≤ interval + 10 s),
and the invocations not stored by the end of the drain (interval + 60 s after the window).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from common import BASE_DIR, bench_database, bench_database_drop  # same folder: the scratch database

PYTHON = sys.executable
REGION = "us-east-1"
DB_POLL_SECONDS = 0.5


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    out = log_path.open("ab")
    return subprocess.Popen(command, env=env, cwd=BASE_DIR, stdout=out, stderr=out, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _report_of(message: str) -> str | None:
    """The request id of a REPORT line (text format) or a platform.report record (JSON)."""
    if message.startswith("REPORT RequestId: "):
        return message.split()[2]
    if message.startswith("{") and '"platform.report"' in message:
        try:
            record = json.loads(message)
        except ValueError:
            return None
        if record.get("type") == "platform.report":
            return str(record.get("record", {}).get("requestId") or "") or None
    return None


class CapturingLogs:
    """The traffic generator's CloudWatch Logs client: writes to the sandbox as before, notes
    every REPORT's timestamp, and hands the events to the Firehose stand-in when it listens."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.reported: dict[str, int] = {}  # request id -> REPORT timestamp (ms)
        self.firehose: Firehose | None = None

    def create_log_stream(self, **kwargs: Any) -> Any:
        return self.client.create_log_stream(**kwargs)

    def put_log_events(self, *, logGroupName: str, logStreamName: str, logEvents: list[dict[str, Any]]) -> Any:
        answer = self.client.put_log_events(logGroupName=logGroupName, logStreamName=logStreamName, logEvents=logEvents)
        with self.lock:
            for event in logEvents:
                rid = _report_of(event["message"])
                if rid:
                    self.reported[rid] = int(event["timestamp"])
        if self.firehose is not None:
            self.firehose.add(logGroupName, logStreamName, logEvents)
        return answer


@dataclass
class Firehose:
    """A Firehose stream with an HTTP endpoint destination, fed by a CloudWatch Logs
    subscription: buffers records, delivers when the oldest is `buffer_s` old."""

    url: str
    access_key: str
    owner: str
    buffer_s: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    records: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)
    first_at: float | None = None
    deliveries: int = 0
    refused: int = 0
    stopping: bool = False

    def add(self, group: str, stream: str, events: list[dict[str, Any]]) -> None:
        with self.lock:
            if self.first_at is None:
                self.first_at = time.monotonic()
            # CloudWatch Logs gives each subscription event an id (its eventId).
            self.records.append(
                (
                    group,
                    stream,
                    [{"id": uuid.uuid4().hex, "timestamp": e["timestamp"], "message": e["message"]} for e in events],
                )
            )

    def run(self) -> None:
        while not self.stopping:
            time.sleep(0.2)
            with self.lock:
                due = self.first_at is not None and time.monotonic() - self.first_at >= self.buffer_s
                batch, self.records = (self.records, []) if due else ([], self.records)
                if due:
                    self.first_at = None
            if batch:
                self.deliver(batch)

    def deliver(self, batch: list[tuple[str, str, list[dict[str, Any]]]]) -> None:
        from monitoring.ingest.firehose import subscription_record

        request_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "requestId": request_id,
                "timestamp": int(time.time() * 1000),
                "records": [
                    {"data": subscription_record(owner=self.owner, log_group=g, log_stream=s, events=events)}
                    for g, s, events in batch
                ],
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Firehose-Request-Id": request_id,
            "X-Amz-Firehose-Access-Key": self.access_key,
            "X-Amz-Firehose-Common-Attributes": json.dumps({"commonAttributes": {"region": REGION}}),
        }
        for attempt in range(6):  # Firehose retries a refused delivery, backing off
            try:
                if requests.post(self.url, data=body, headers=headers, timeout=60).status_code == 200:
                    self.deliveries += 1
                    return
            except requests.RequestException:
                pass
            self.refused += 1
            time.sleep(2**attempt)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0, help="measured minutes per mode (default 3)")
    parser.add_argument("--modes", default="poll:60,poll:15,push:60,push:5")
    parser.add_argument("--functions", type=int, default=10)
    parser.add_argument("--rate", type=float, default=120.0, help="invocations per minute, all functions")
    parser.add_argument("--concurrency", type=int, default=2, help="the worker's processes")
    parser.add_argument("--keep", action="store_true", help="keep the database and the processes' logs")
    args = parser.parse_args()
    modes = [(kind, float(value)) for kind, _, value in (m.partition(":") for m in args.modes.split(","))]
    if any(kind not in ("poll", "push") for kind, _ in modes):
        parser.error("--modes: poll:<seconds> or push:<seconds>, comma-separated")

    url = bench_database("bench_fresh", fresh=True)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    os.environ.pop("AWS_PROFILE", None)
    import django

    django.setup()
    import psycopg
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from accounts.models import AwsAccount, LogIngestion
    from accounts.services import (
        aws_account_configure,
        aws_account_ingestion_set,
        aws_account_start,
        aws_account_validate,
        organization_create,
        user_create_verified,
    )
    from dashbird_clone.queues import QUEUES
    from devtools.sandbox.catalog import FunctionSpec
    from devtools.sandbox.seed import SandboxState, admin_client
    from devtools.sandbox.traffic import TrafficGenerator

    call_command("migrate", verbosity=0)
    workdir = Path(tempfile.mkdtemp(prefix="dashbird-freshness-"))
    procs: list[subprocess.Popen[bytes]] = []
    stop_traffic = threading.Event()
    rows: list[tuple[str, int, float, float, float, int, str]] = []
    try:
        org = organization_create(
            name="Freshness", owner=user_create_verified(email="fresh@bench.test", password="x" * 12)
        )
        account = aws_account_start(organization=org, name="Sandbox")
        state_path = workdir / "sandbox.json"
        env = {**os.environ, "DATABASE_URL": url, "AWS_CALL_RATE_SCALE": "10"}
        sandbox = _start(
            [
                PYTHON,
                "manage.py",
                "sandbox",
                "--port",
                str(_free_port()),
                "--region",
                REGION,
                "--functions",
                str(args.functions),
                "--no-traffic",
                f"--external-id={account.external_id}",
                "--state",
                str(state_path),
            ],
            env,
            workdir / "sandbox.log",
        )
        procs.append(sandbox)
        deadline = time.monotonic() + 120
        while not state_path.exists():
            if sandbox.poll() is not None or time.monotonic() > deadline:
                print(f"the sandbox did not start; see {workdir / 'sandbox.log'}", file=sys.stderr)
                return 2
            time.sleep(0.3)
        state = SandboxState(**json.loads(state_path.read_text()))
        os.environ.update(state.environment())
        env.update(state.environment())
        settings.PLATFORM_AWS_PRINCIPAL = state.platform_principal
        client = redis.Redis.from_url(settings.REDIS_URL)

        def reset_queues() -> None:
            """Empty the Celery queues (kombu's Redis lists, their priority lists, the unacked
            set) and the units' chains and locks: each mode starts as a fresh deployment."""
            patterns = [*(f"{q}*" for q in QUEUES), "unacked*", "dashbird:logs-chain:*", "dashbird:lock:collect:*"]
            for pattern in patterns:
                for key in client.scan_iter(pattern):
                    client.delete(key)

        reset_queues()
        aws_account_configure(account=account, role_arn=state.role_arn, regions=[REGION])
        if not aws_account_validate(account=account).ok:
            print("the sandbox refused the role", file=sys.stderr)
            return 2
        account = AwsAccount.objects.get(pk=account.pk)

        logs = CapturingLogs(admin_client("logs", state.endpoint, REGION))
        generator = TrafficGenerator(
            [FunctionSpec(**f) for f in state.functions],
            logs=logs,
            cloudwatch=admin_client("cloudwatch", state.endpoint, REGION),
            seed=11,
            per_minute=args.rate,
        )

        def traffic() -> None:
            while not stop_traffic.is_set():
                started = time.monotonic()
                generator.tick(1.0)
                stop_traffic.wait(max(0.0, 1.0 - (time.monotonic() - started)))

        threading.Thread(target=traffic, name="traffic", daemon=True).start()
        db = psycopg.connect(
            host=connections["default"].settings_dict["HOST"] or None,
            port=connections["default"].settings_dict["PORT"] or None,
            user=connections["default"].settings_dict["USER"] or None,
            password=connections["default"].settings_dict["PASSWORD"] or None,
            dbname=connections["default"].settings_dict["NAME"],
            autocommit=True,
        )
        began = datetime.now(UTC) - timedelta(hours=1)

        def stored(request_ids: list[str]) -> set[str]:
            found = db.execute(
                "SELECT request_id FROM monitoring_invocation WHERE account_id = %s AND complete"
                " AND started_at >= %s AND request_id = ANY(%s)",
                (account.pk, began, request_ids),
            ).fetchall()
            return {r[0] for r in found}

        celery = str(Path(PYTHON).with_name("celery"))
        for kind, value in modes:
            label = f"{'polling, LOGS_POLL_SECONDS' if kind == 'poll' else 'push, Firehose buffer'} {value:g} s"
            poll_seconds = int(value) if kind == "poll" else 60
            aws_account_ingestion_set(account=account, mode=LogIngestion.POLL if kind == "poll" else LogIngestion.PUSH)
            account = AwsAccount.objects.get(pk=account.pk)
            mode_env = {**env, "LOGS_POLL_SECONDS": str(poll_seconds)}
            started_procs = [
                _start(
                    [
                        celery,
                        "-A",
                        "dashbird_clone",
                        "worker",
                        "--loglevel",
                        "INFO",
                        "--concurrency",
                        str(args.concurrency),
                        "-Q",
                        ",".join(QUEUES),
                        "-n",
                        f"fresh-{uuid.uuid4().hex[:6]}@%h",
                    ],
                    mode_env,
                    workdir / "worker.log",
                ),
                _start(
                    [
                        celery,
                        "-A",
                        "dashbird_clone",
                        "beat",
                        "--loglevel",
                        "INFO",
                        "--schedule",
                        str(workdir / f"beat-{uuid.uuid4().hex[:6]}"),
                    ],
                    mode_env,
                    workdir / "beat.log",
                ),
            ]
            firehose: Firehose | None = None
            if kind == "push":
                port = _free_port()
                started_procs.append(
                    _start(
                        [
                            str(Path(PYTHON).with_name("gunicorn")),
                            "dashbird_clone.wsgi",
                            "--bind",
                            f"127.0.0.1:{port}",
                            "--workers",
                            "2",
                            "--threads",
                            "4",
                        ],
                        mode_env,
                        workdir / "web.log",
                    )
                )
                firehose = Firehose(
                    url=f"http://127.0.0.1:{port}/ingest/firehose/{account.push_token}",
                    access_key=str(account.push_access_key),
                    owner=state.account_id,
                    buffer_s=value,
                )
                threading.Thread(target=firehose.run, name="firehose", daemon=True).start()
                logs.firehose = firehose
            procs += started_procs
            mode_start_ms = int(time.time() * 1000)
            print(
                f"{label}: warming up (until the log poll chain runs and an invocation of this mode is stored)",
                flush=True,
            )
            deadline = time.monotonic() + max(240.0, 3 * value + 120)
            chain = f"dashbird:logs-chain:{account.pk}:{REGION}"
            while time.monotonic() < deadline:
                with logs.lock:
                    since = [rid for rid, ts in logs.reported.items() if ts >= mode_start_ms]
                # The unit's log poll chain runs (the beat's first fan-out started it) and
                # has stored, or push has delivered, an invocation of this mode.
                if client.exists(chain) and since and stored(since[-200:]):
                    break
                time.sleep(1)
            else:
                print(f"  nothing stored in {deadline:.0f} s; see the logs in {workdir}", file=sys.stderr)
            window_start = int(time.time() * 1000)
            window_end = window_start + int(args.minutes * 60_000)
            drain_end = window_end + int((value + 60) * 1000)
            seen: dict[str, float] = {}
            print(f"  measuring {args.minutes:g} min", flush=True)
            while time.time() * 1000 < drain_end:
                tick = time.monotonic()
                with logs.lock:
                    pending = [
                        rid for rid, ts in logs.reported.items() if window_start <= ts < window_end and rid not in seen
                    ]
                if not pending and time.time() * 1000 >= window_end:
                    break
                now = time.time()
                for rid in stored(pending) if pending else ():
                    seen[rid] = now
                time.sleep(max(0.0, DB_POLL_SECONDS - (time.monotonic() - tick)))
            with logs.lock:
                measured = {rid: ts for rid, ts in logs.reported.items() if window_start <= ts < window_end}
            delays = [seen[rid] - ts / 1000 for rid, ts in measured.items() if rid in seen]
            missing = len(measured) - len(delays)
            goal = ""
            if kind == "poll" and delays:
                ok = _percentile(delays, 95) <= value + 10
                goal = f"p95 ≤ {value + 10:g} s: {'met' if ok else 'NOT met'}"
            if delays:
                rows.append(
                    (label, len(delays), _percentile(delays, 50), _percentile(delays, 95), max(delays), missing, goal)
                )
            else:
                rows.append((label, 0, float("nan"), float("nan"), float("nan"), missing, goal))
            extra = f", {firehose.deliveries} deliveries ({firehose.refused} refused and retried)" if firehose else ""
            print(f"  {len(delays)} invocations stored, {missing} not within the drain{extra}", flush=True)
            logs.firehose = None
            if firehose is not None:
                firehose.stopping = True
            for proc in reversed(started_procs):
                _stop(proc)
            reset_queues()
        load = os.getloadavg()
    finally:
        stop_traffic.set()
        for proc in reversed(procs):
            _stop(proc)
        connections.close_all()
        if args.keep:
            print(f"kept the database {url} and the processes' logs in {workdir}")
        else:
            bench_database_drop(url)

    print(
        f"\n{args.functions} functions, {args.rate:g} invocations/min, worker --concurrency {args.concurrency}, "
        f"{args.minutes:g} min measured per mode; load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"({os.cpu_count()} CPUs)"
    )
    print(f"{'mode':<38} {'invocations':>11} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'not stored':>10}  goal")
    for label, n, p50, p95, most, missing, goal in rows:
        print(f"{label:<38} {n:>11,} {p50:>7.1f} {p95:>7.1f} {most:>7.1f} {missing:>10}  {goal}")
    print(
        "\ndelay: from an invocation's REPORT timestamp to the first read of the database (every "
        f"{DB_POLL_SECONDS:g} s) that finds its row complete."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
