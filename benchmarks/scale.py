"""Collection at scale: many accounts against the sandbox AWS, collected by real Celery workers.

    .venv/bin/python benchmarks/scale.py [--accounts 100] [--functions 100] [--workers 1,2,4]
        [--invocations 20] [--seed-threads 4] [--keep]

The sandbox AWS (moto behind its enforcing layer) runs in one child process. Each of
`--accounts` customer accounts is its own AWS account in it (moto switches account on an
assumed role's ARN), seeded through the sandbox's own helpers: the read-only role trusting the
platform with the account's ExternalId, and `create_resources` with `--functions` functions
(plus the catalogue's queues, topics, tables, APIs, state machines, rules, ECS services,
delivery streams, load balancers and GraphQL APIs), and `--invocations` invocations per
function on average, written by the sandbox's traffic generator (logs and metrics) over the
last five minutes.

Then, for each count in `--workers`, the accounts are connected afresh (their own database,
`<name>_bench_scale`, dropped at the end unless `--keep`), one `celery worker --concurrency N`
is started on the collection queues (discovery, metrics, logs), every account × region's
first collection (`monitoring.collect_account_region`: discovery, logs, traces, metrics) is
queued at once, and the run ends when every unit's metrics step has finished. It prints
accounts collected per minute, AWS calls per second (counted by the product itself,
aws/usage.py), invocations stored per second, the peak resident memory of each worker process
(VmHWM, sampled from /proc every 0.5 s; goal ≤ 250 MB), and the sandbox process's CPU use over
the run: at ~100 % of one core the moto server, not the workers, sets the pace.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from common import BASE_DIR, bench_database, bench_database_drop  # same folder: the scratch database

PYTHON = sys.executable
REGION = "us-east-1"
FIRST_ACCOUNT = 200_000_000_000
MEMORY_GOAL_MB = 250


def serve(port: int) -> None:
    """The child: the sandbox server alone (no seeding, no traffic) until SIGTERM."""
    from devtools.sandbox.server import SandboxServer

    server = SandboxServer(port=port)
    server.start()
    print("ready", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    server.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _hwm_kb(pid: int) -> tuple[int, int] | None:
    """(VmHWM, VmRSS) of a process in kB, or None once it is gone."""
    try:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
        return int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


@dataclass
class MemorySampler:
    """Every 0.5 s, the peak resident memory of a worker's main process and of each child it
    has had (a replaced child keeps its own entry)."""

    root: int
    peaks: dict[int, int] = field(default_factory=dict)  # pid -> VmHWM kB
    roles: dict[int, str] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)  # pid -> user + system seconds, last seen
    stopping: threading.Event = field(default_factory=threading.Event)

    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(0.5)
        self.sample()

    def sample(self) -> None:
        try:
            children = psutil.Process(self.root).children(recursive=True)
        except psutil.Error:
            children = []
        for pid, role in [(self.root, "main"), *((c.pid, "pool") for c in children)]:
            found = _hwm_kb(pid)
            if found is not None:
                self.peaks[pid] = max(self.peaks.get(pid, 0), found[0])
                self.roles[pid] = role
            try:
                times = psutil.Process(pid).cpu_times()
                self.cpu[pid] = times.user + times.system
            except psutil.Error:
                pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--functions", type=int, default=100, help="functions per account")
    parser.add_argument("--workers", default="1,2,4", help="worker processes (--concurrency) of each run")
    parser.add_argument("--invocations", type=float, default=20.0, help="invocations per function, on average")
    parser.add_argument("--seed-threads", type=int, default=4, help="threads seeding the accounts")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds one run may take at most")
    parser.add_argument("--keep", action="store_true", help="keep the database and the processes' logs")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return 0
    counts = [int(n) for n in args.workers.split(",") if n.strip()]

    url = bench_database("bench_scale", fresh=True)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_CALL_RATE_SCALE"] = "100"  # the sandbox has no quotas to share
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from accounts.models import AwsAccount
    from accounts.onboarding import ROLE_NAME
    from accounts.services import aws_account_remove, organization_create, user_create_verified
    from aws import usage
    from dashbird_clone.queues import QUEUES
    from devtools.sandbox.catalog import FunctionSpec, functions
    from devtools.sandbox.seed import (
        admin_client,
        create_customer_role,
        create_identities,
        create_resources,
        seeding_account,
    )
    from devtools.sandbox.traffic import TrafficGenerator
    from kinds import REQUIRED_ACTIONS
    from monitoring.models import Invocation, Resource
    from monitoring.tasks import collect_account_region

    call_command("migrate", verbosity=0)
    workdir = Path(tempfile.mkdtemp(prefix="dashbird-scale-"))
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen(
        [PYTHON, str(Path(__file__).resolve()), "--serve", str(port)],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=(workdir / "sandbox.log").open("ab"),
        start_new_session=True,
    )
    rows: list[dict[str, Any]] = []
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        assert sandbox.stdout is not None
        if sandbox.stdout.readline().strip() != b"ready":
            print(f"the sandbox did not start; see {workdir / 'sandbox.log'}", file=sys.stderr)
            return 2
        moto = psutil.Process(sandbox.pid)

        # --- seeding: one AWS account per customer account ----------------------------------------
        started = time.monotonic()
        platform = create_identities(endpoint, REGION, "scale-unused")
        accounts = [
            (str(FIRST_ACCOUNT + k), f"scale-external-id-{k:04d}", functions(args.functions, seed=k))
            for k in range(args.accounts)
        ]
        per_minute = args.invocations * args.functions / 5

        def seed_one(account_id: str, external_id: str, specs: list[FunctionSpec]) -> int:
            with seeding_account(account_id):
                create_customer_role(
                    endpoint,
                    REGION,
                    role_name=ROLE_NAME,
                    principal=platform["principal"],
                    external_id=external_id,
                    actions=REQUIRED_ACTIONS,
                )
                create_resources(endpoint, REGION, specs)
                generator = TrafficGenerator(
                    specs,
                    logs=admin_client("logs", endpoint, REGION),
                    cloudwatch=admin_client("cloudwatch", endpoint, REGION),
                    seed=int(account_id) % 1000,
                    per_minute=per_minute,
                )
                return generator.tick(300.0)

        with ThreadPoolExecutor(max_workers=args.seed_threads) as pool:
            written = sum(pool.map(lambda a: seed_one(*a), accounts))
        seeding_s = time.monotonic() - started
        print(
            f"seeded {args.accounts} accounts × {args.functions} functions and {written:,} invocations in "
            f"{seeding_s:.0f} s",
            flush=True,
        )

        env = {
            **os.environ,
            "DATABASE_URL": url,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": platform["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": platform["secret_access_key"],
            "AWS_DEFAULT_REGION": REGION,
            "PLATFORM_AWS_PRINCIPAL": platform["principal"],
        }
        os.environ.update({k: env[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
        celery = str(Path(PYTHON).with_name("celery"))
        owner = user_create_verified(email="scale@bench.test", password="x" * 12)
        org = organization_create(name="Scale", owner=owner)

        for n in counts:
            # Connected afresh: every run collects the same accounts from nothing.
            for old in AwsAccount.objects.filter(organization=org):
                aws_account_remove(account=old)
            # Cached assumed-role credentials too: they are keyed by account id and role, which
            # a rerun's fresh database hands out again, and the sandbox of an earlier run (a
            # moto server since stopped) issued them: moto answers unknown keys as its default
            # account, whose listings are empty, where AWS would refuse them.
            patterns = (*(f"{q}*" for q in QUEUES), "unacked*", "dashbird:lock:collect:*", "dashbird:usage*")
            for pattern in (*patterns, "dashbird:aws:creds:*"):
                for key in client.scan_iter(pattern):
                    client.delete(key)
            now = datetime.now(UTC)
            product: list[AwsAccount] = []
            for account_id, external_id, _ in accounts:
                account = AwsAccount.objects.create(
                    organization=org,
                    name=f"account {account_id}",
                    aws_account_id=account_id,
                    role_arn=f"arn:aws:iam::{account_id}:role/{ROLE_NAME}",
                    regions=[REGION],
                    status=AwsAccount.Status.CONNECTED,
                    validated_at=now,
                )
                AwsAccount.objects.filter(pk=account.pk).update(external_id=external_id)
                product.append(account)
            ids = [a.pk for a in product]

            worker = subprocess.Popen(
                [
                    celery, "-A", "dashbird_clone", "worker", "--loglevel", "WARNING", "--concurrency", str(n),
                    "-Q", "discovery,metrics,logs", "-n", f"scale-{n}@%h",
                ],
                env=env,
                cwd=BASE_DIR,
                stdout=(workdir / f"worker-{n}.log").open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            sampler = MemorySampler(worker.pid)
            threading.Thread(target=sampler.run, name="memory", daemon=True).start()
            time.sleep(8)  # the worker's pool up before the clock starts
            moto_cpu = sum(moto.cpu_times()[:2])
            sampler.sample()
            worker_cpu = sampler.cpu_seconds()
            machine = psutil.cpu_times()
            began = time.monotonic()
            queued_at = datetime.now(UTC)
            for pk in ids:
                collect_account_region.delay(pk, REGION)
            done = 0
            while time.monotonic() - began < args.timeout:
                stamps = AwsAccount.objects.filter(pk__in=ids).values_list("last_collected", flat=True)
                done = sum(1 for s in stamps if (s or {}).get(f"metrics:{REGION}", "") >= queued_at.isoformat())
                if done == len(ids) or worker.poll() is not None:
                    break
                time.sleep(1)
            elapsed = time.monotonic() - began
            moto_busy = sum(moto.cpu_times()[:2]) - moto_cpu
            sampler.stopping.set()
            sampler.sample()
            worker_busy = sampler.cpu_seconds() - worker_cpu
            after = psutil.cpu_times()
            idle = (after.idle - machine.idle) / max(1e-9, sum(after) - sum(machine))
            _stop(worker)
            calls = sum(
                value
                for pk in ids
                for by_day in usage.usage_of(pk, days=1).values()
                for counters in by_day.values()
                for name, value in counters.items()
                if name.startswith("call:")
            )
            invocations = Invocation.objects.filter(account_id__in=ids).count()
            resources = Resource.objects.filter(account_id__in=ids).count()
            pools = sorted(kb for pid, kb in sampler.peaks.items() if sampler.roles[pid] == "pool")
            main_kb = sampler.peaks.get(worker.pid, 0)
            rows.append(
                {
                    "workers": n,
                    "done": done,
                    "elapsed": elapsed,
                    "calls": calls,
                    "invocations": invocations,
                    "resources": resources,
                    "pool_mb": [kb / 1024 for kb in pools],
                    "main_mb": main_kb / 1024,
                    "moto_cpu": moto_busy / elapsed if elapsed else 0.0,
                    "worker_cpu": worker_busy / elapsed if elapsed else 0.0,
                    "idle": idle,
                }
            )
            print(
                f"{n} worker process(es): {done}/{len(ids)} accounts in {elapsed:.0f} s, {calls:,} AWS calls, "
                f"{invocations:,} invocations, {resources:,} resources; peak RSS of the pool processes "
                f"{', '.join(f'{mb:.0f}' for mb in rows[-1]['pool_mb'])} MB (main {main_kb / 1024:.0f} MB); "
                f"workers' CPU {100 * rows[-1]['worker_cpu']:.0f} %, sandbox CPU {100 * rows[-1]['moto_cpu']:.0f} % "
                f"of a core; the machine idle {100 * idle:.0f} % of the time",
                flush=True,
            )
        load = os.getloadavg()
    finally:
        _stop(sandbox)
        connections.close_all()
        for pattern in (*(f"{q}*" for q in QUEUES), "unacked*"):
            for key in client.scan_iter(pattern):
                client.delete(key)
        if args.keep:
            print(f"kept the database {url} and the processes' logs in {workdir}")
        else:
            bench_database_drop(url)

    print(
        f"\n{args.accounts} accounts × {args.functions} functions (one AWS account each in the sandbox, one region), "
        f"seeded in {seeding_s:.0f} s; load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"({os.cpu_count()} CPUs)"
    )
    print(
        f"{'worker processes':>16} {'accounts':>8} {'seconds':>8} {'accounts/min':>12} {'calls/s':>8} "
        f"{'invocations/s':>13} {'peak RSS per pool process, MB':>30} {'main MB':>8} {'workers CPU':>11} "
        f"{'sandbox CPU':>11} {'machine idle':>12}"
    )
    for r in rows:
        minutes = r["elapsed"] / 60
        pool_text = ", ".join(f"{mb:.0f}" for mb in r["pool_mb"])
        print(
            f"{r['workers']:>16} {r['done']:>8} {r['elapsed']:>8.0f} {r['done'] / minutes:>12.1f} "
            f"{r['calls'] / r['elapsed']:>8.0f} {r['invocations'] / r['elapsed']:>13.0f} {pool_text:>30} "
            f"{r['main_mb']:>8.0f} {100 * r['worker_cpu']:>10.0f}% {100 * r['moto_cpu']:>10.0f}% {100 * r['idle']:>11.0f}%"
        )
    worst = max((mb for r in rows for mb in [*r["pool_mb"], r["main_mb"]]), default=0.0)
    print(
        f"\npeak resident memory of any worker process: {worst:.0f} MB (goal ≤ {MEMORY_GOAL_MB} MB: "
        f"{'met' if worst <= MEMORY_GOAL_MB else 'NOT met'}). CPU in % of one core over the run: the sandbox near "
        "100 % means the moto server (one process, its threads sharing one interpreter) limits the rate; the "
        "workers' sum near the machine's free cores means the workers do; the machine never idle means the "
        "machine (shared with PostgreSQL, Redis and whatever else runs) does."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
