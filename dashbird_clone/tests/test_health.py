from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from dashbird_clone.health import HEARTBEAT_KEY
from dashbird_clone.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_is_503_until_a_worker_has_beaten(redis_db: Any) -> None:
    response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False
    assert "no worker heartbeat" in body["checks"]["worker"]["detail"]


def test_healthz_is_200_after_the_heartbeat_task_ran(redis_db: Any) -> None:
    heartbeat.apply()

    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_stale_heartbeat_makes_healthz_503(redis_db: Any, settings: Any) -> None:
    redis_db.set(HEARTBEAT_KEY, str(time.time() - settings.WORKER_HEARTBEAT_MAX_AGE - 5))

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert "ago" in response.json()["checks"]["worker"]["detail"]


def test_redis_down_makes_healthz_503_and_says_so(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = Client().get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["ok"] is False
    assert "ConnectionError" in checks["redis"]["detail"]
    assert checks["database"]["ok"] is True


def test_database_down_makes_healthz_503(redis_db: Any, monkeypatch: Any) -> None:
    from django.db import OperationalError, connection

    def refuse() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    heartbeat.apply()

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False, "detail": "OperationalError: connection refused"}


def test_the_beat_schedule_runs_the_heartbeat_with_an_expiry(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"]
    assert entry["task"] == heartbeat.name
    assert entry["options"]["expires"] < entry["schedule"]
