"""What the monitoring itself spends in each customer account: our AWS calls per account ×
region × day by service and operation, the CloudWatch metrics GetMetricData was asked for
(billed per metric, not per call), and the bytes pushed to us through Firehose. Kept in
Redis beside the pacing buckets, shared by every worker, for USAGE_DAYS days; the account
page prices them (monitoring/own_cost.py, docs/own-cost.md).

Imports no app (docs/architecture.md).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import redis
from django.conf import settings

log = logging.getLogger(__name__)

USAGE_DAYS = 35
PREFIX = "dashbird:usage"
# Firehose bills ingestion in 5 KB increments per record.
FIREHOSE_RECORD_INCREMENT = 5 * 1024


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _day(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).date().isoformat()


def _key(account_id: int, region: str, day: str) -> str:
    return f"{PREFIX}:{account_id}:{region}:{day}"


def _add(account_id: int, region: str, counts: dict[str, int]) -> None:
    """Counting must never fail a call or a delivery: a Redis error is logged and dropped."""
    key = _key(account_id, region, _day())
    try:
        pipe = _client(settings.REDIS_URL).pipeline(transaction=False)
        for name, n in counts.items():
            pipe.hincrby(key, name, n)
        pipe.expire(key, USAGE_DAYS * 86400)
        pipe.sadd(f"{PREFIX}:{account_id}:regions", region)
        pipe.expire(f"{PREFIX}:{account_id}:regions", USAGE_DAYS * 86400)
        pipe.execute()
    except redis.RedisError:
        log.warning("usage of account %s in %s not counted (Redis)", account_id, region, exc_info=True)


def record_call(*, account_id: int, region: str, service: str, operation: str) -> None:
    _add(account_id, region, {f"call:{service}:{operation}": 1})


def record_metrics(*, account_id: int, region: str, metrics: int) -> None:
    if metrics:
        _add(account_id, region, {"metrics:GetMetricData": metrics})


def record_push(*, account_id: int, region: str, records: int, bytes_: int) -> None:
    billed = max(bytes_, records * FIREHOSE_RECORD_INCREMENT) if records else 0
    _add(account_id, region, {"push:records": records, "push:bytes": bytes_, "push:billed_bytes": billed})


def usage_of(account_id: int, *, days: int = 7, today: date | None = None) -> dict[str, dict[str, dict[str, int]]]:
    """{region: {day: {counter: n}}} for the last `days` days (today included), counters as
    `call:<service>:<Operation>`, `metrics:GetMetricData`, `push:records|bytes|billed_bytes`."""
    today = today or datetime.now(UTC).date()
    client = _client(settings.REDIS_URL)
    regions = sorted(r.decode() for r in client.smembers(f"{PREFIX}:{account_id}:regions"))  # type: ignore[union-attr]
    day_list = [(today - timedelta(days=n)).isoformat() for n in range(days)]
    pipe = client.pipeline(transaction=False)
    for region in regions:
        for day in day_list:
            pipe.hgetall(_key(account_id, region, day))
    answers: list[Any] = pipe.execute()
    out: dict[str, dict[str, dict[str, int]]] = {}
    it = iter(answers)
    for region in regions:
        for day in day_list:
            raw = next(it) or {}
            if raw:
                out.setdefault(region, {})[day] = {k.decode(): int(v) for k, v in raw.items()}
    return out


def metrics_requested(params: dict[str, Any]) -> int:
    """Metrics a GetMetricData call is billed for: its queries with a MetricStat (math
    expressions are free)."""
    queries = params.get("MetricDataQueries") or []
    return sum(1 for q in queries if isinstance(q, dict) and q.get("MetricStat"))
