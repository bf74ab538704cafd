from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import redis

from devtools import devservices


@pytest.mark.parametrize(
    ("url", "db", "expected"),
    [
        ("redis://127.0.0.1:6379/0", 15, "redis://127.0.0.1:6379/15"),
        ("redis://127.0.0.1:6379", 15, "redis://127.0.0.1:6379/15"),
        ("redis://:pw@cache:6380/3", 14, "redis://:pw@cache:6380/14"),
    ],
)
def test_with_redis_db_sets_the_database_number(url: str, db: int, expected: str) -> None:
    assert devservices.with_redis_db(url, db) == expected


def test_embedded_postgres_and_redis_start_serve_and_stop(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(devservices, "VAR_DIR", tmp_path)
    with ExitStack() as stack:
        database_url = devservices.start_embedded_postgres(stack)
        devservices.ensure_database(database_url)
        redis_url = devservices.start_embedded_redis(stack)

        socket_dir = database_url.split("@", 1)[1].split("/", 1)[0].replace("%2F", "/")
        with psycopg.connect(host=socket_dir, user="postgres", dbname="dashbird") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert redis.Redis.from_url(redis_url).ping()
        servers = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
        assert servers

    _gone, alive = psutil.wait_procs(servers, timeout=10)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []


def test_run_passes_the_service_urls_and_the_exit_status() -> None:
    code = "import os, sys; print(os.environ['DATABASE_URL'], os.environ['REDIS_URL']); sys.exit(3)"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.devservices",
            "run",
            "--redis-db",
            "13",
            "--",
            sys.executable,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    database_url, redis_url = result.stdout.split()[-2:]
    assert database_url.startswith("postgres://")
    assert redis_url.endswith("/13")
