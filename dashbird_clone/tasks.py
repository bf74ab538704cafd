from __future__ import annotations

import redis
from celery import shared_task

from .health import heartbeat_record


@shared_task(
    name="dashbird_clone.heartbeat",
    autoretry_for=(redis.ConnectionError,),
    max_retries=3,
    retry_backoff=True,
    soft_time_limit=10,
    time_limit=20,
)
def heartbeat() -> None:
    heartbeat_record()
