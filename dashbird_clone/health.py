"""Liveness of the pieces the product needs: database, Redis, and a worker.

The worker heartbeat is a timestamp that a beat-scheduled task writes to Redis, so a
fresh value proves that beat ticks *and* a worker consumes the queue.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection

HEARTBEAT_KEY = "dashbird:worker:heartbeat"


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def heartbeat_record(now: float | None = None) -> None:
    redis_client().set(HEARTBEAT_KEY, str(now if now is not None else time.time()))


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Check(True, "ok")
    except Exception as exc:  # any driver error means "down"
        return Check(False, f"{type(exc).__name__}: {exc}".strip())


def check_redis() -> Check:
    try:
        redis_client().ping()
        return Check(True, "ok")
    except redis.RedisError as exc:
        return Check(False, f"{type(exc).__name__}: {exc}")


def check_worker(now: float | None = None) -> Check:
    now = now if now is not None else time.time()
    try:
        raw = redis_client().get(HEARTBEAT_KEY)
    except redis.RedisError as exc:
        return Check(False, f"cannot read heartbeat: {exc}")
    if raw is None:
        return Check(False, "no worker heartbeat yet (are the worker and beat running?)")
    age = now - float(raw)
    if age > settings.WORKER_HEARTBEAT_MAX_AGE:
        return Check(False, f"last worker heartbeat {age:.0f}s ago")
    return Check(True, f"last heartbeat {age:.0f}s ago")


def health_report() -> dict[str, Check]:
    return {"database": check_database(), "redis": check_redis(), "worker": check_worker()}
