"""What the benchmarks share: a scratch database of their own, beside the dashboard's."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import unquote

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))


def bench_database(suffix: str = "bench", *, fresh: bool = False) -> str:
    """The URL of `<name>_<suffix>` beside DATABASE_URL's database, created when missing
    (`fresh`: dropped and created again, for a benchmark that must start empty)."""
    import environ

    from devtools.devservices import ensure_database

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dashbird")
    base, _, name = url.rpartition("/")
    bench = f"{base}/{name.split('?')[0]}_{suffix}"
    environ.Env.db_url_config(bench)  # fail early on a bad URL
    if fresh:
        bench_database_drop(bench)
    ensure_database(bench)
    return bench


def bench_database_drop(url: str) -> None:
    """Drop the database of `url`, ending any session still attached to it."""
    import environ
    import psycopg

    cfg = environ.Env.db_url_config(url)
    params = {
        "host": unquote(cfg.get("HOST") or "") or None,
        "port": cfg.get("PORT") or None,
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:  # type: ignore[arg-type]
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')
