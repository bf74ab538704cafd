"""`make demo` end to end: services up, HTTP answers, worker and beat alive, clean stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import requests

from devtools.devservices import free_port, with_redis_db

BASE_DIR = Path(__file__).resolve().parents[1]


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback server)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def signed_in_listing(base: str, started: float) -> int:
    """Sign in as the demo user through the form; count the functions the Resources page lists."""
    password = (BASE_DIR / "var" / "demo-credentials").read_text().strip()
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=10)
    response = session.post(
        f"{base}/accounts/login/",
        data={"login": "demo@example.com", "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
    )
    assert response.url == f"{base}/", response.text[:500]
    assert "Sandbox AWS" in response.text and "Connected" in response.text
    listed = 0
    while time.monotonic() - started < 420:  # from the demo's start, history included
        page = session.get(f"{base}/resources/?kind=lambda.function", timeout=10).text
        listed = len(re.findall(r'href="/resources/\d+/"', page))
        if listed:
            break
        time.sleep(2)
    return listed


@pytest.fixture
def demo_env() -> dict[str, str]:
    """The demo against its own database and Redis number, so it does not touch the tests'.
    The database starts empty, as on a new machine: one left by another checkout's run may
    hold migrations this one does not know."""
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS dashbird_demo_check WITH (FORCE)")
    database_url = f"{server}/dashbird_demo_check"
    redis_url = with_redis_db(os.environ["REDIS_URL"], 14)
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PORT": str(free_port())}


def test_demo_serves_login_and_healthz_then_stops_without_strays(demo_env: dict[str, Any]) -> None:
    base = f"http://127.0.0.1:{demo_env['PORT']}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.devservices", "demo"],
        cwd=BASE_DIR,
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started = time.monotonic()
    descendants: set[int] = set()
    try:
        while time.monotonic() - started < 360:  # the demo writes its 14 days of history first
            descendants |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
            if status_of(f"{base}/healthz") == 200:
                break
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(1)
        assert status_of(f"{base}/healthz") == 200, "healthz not 200 within 6 minutes"
        assert status_of(f"{base}/accounts/login/") == 200
        listed = signed_in_listing(base, started)
        assert listed >= 25, "the sandbox account's functions were not listed within 7 minutes"
        descendants |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        names = {" ".join(psutil.Process(pid).cmdline()) for pid in descendants if psutil.pid_exists(pid)}
        assert any("gunicorn" in n for n in names)
        assert any("worker" in n for n in names)
        assert any("beat" in n for n in names)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "sign in as demo@example.com / " in output
    time.sleep(0.5)
    strays = [pid for pid in descendants if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert strays == [], f"processes left running: {strays}"
