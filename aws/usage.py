"""What the monitoring itself spends in each customer account: our AWS calls per account ×
region × day by service and operation, the CloudWatch metrics GetMetricData was asked for
(billed per metric, not per call), and the bytes pushed to us through Firehose. Counted in
Redis as they happen, shared by every worker; every few minutes the counts are moved to
PostgreSQL (`flush_claim` / `flush_done` here, monitoring's `usage_flush`), where they outlive
a Redis restart and its USAGE_DAYS; the account page prices them (monitoring/own_cost.py,
docs/own-cost.md).

Imports no app (docs/architecture.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import redis
from django.conf import settings

log = logging.getLogger(__name__)

# Counts not yet flushed to PostgreSQL expire after this long (a flush every few minutes
# normally leaves nothing this old).
USAGE_DAYS = 35
PREFIX = "dashbird:usage"
# A counters key taken by a flush, until its counts are in PostgreSQL:
# <CLAIMED>:<flush id>:<account>:<region>:<day>.
CLAIMED = "dashbird:usage-flush"
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
    """The counts not flushed to PostgreSQL yet: {region: {day: {counter: n}}} for the last
    `days` days (today included), counters as `call:<service>:<Operation>`,
    `metrics:GetMetricData`, `push:records|bytes|billed_bytes`."""
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


# --- counters as (service, operation, unit), the rows PostgreSQL keeps ------------------------

FIREHOSE_DELIVERY = "HTTP endpoint delivery"


def counter_parts(name: str) -> tuple[str, str, str]:
    """A counter's (service, operation, unit): `call:lambda:ListFunctions` → ("lambda",
    "ListFunctions", "calls"), `metrics:GetMetricData` → ("cloudwatch", "GetMetricData",
    "metrics"), `push:bytes` → ("firehose", "HTTP endpoint delivery", "bytes")."""
    kind, _, rest = name.partition(":")
    if kind == "call" and ":" in rest:
        service, _, operation = rest.partition(":")
        return service, operation, "calls"
    if kind == "metrics":
        return "cloudwatch", rest, "metrics"
    if kind == "push":
        return "firehose", FIREHOSE_DELIVERY, rest
    return "", name, "count"


def counter_name(service: str, operation: str, unit: str) -> str:
    """`counter_parts` reversed."""
    if unit == "calls":
        return f"call:{service}:{operation}"
    if unit == "metrics":
        return f"metrics:{operation}"
    if service == "firehose" and operation == FIREHOSE_DELIVERY:
        return f"push:{unit}"
    return operation


# --- moving the counts to PostgreSQL -------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """The counts of one account × region × day taken from Redis by a flush."""

    key: str
    flush_id: str
    account_id: int
    region: str
    day: date
    counters: dict[str, int]


def _parse(parts: list[str]) -> tuple[int, str, date] | None:
    try:
        return int(parts[0]), parts[1], date.fromisoformat(parts[2])
    except (ValueError, IndexError):
        return None


def flush_claim() -> Iterator[Claimed]:
    """Every account × region × day's counts, each taken from Redis at once (RENAME: a call
    counted meanwhile starts a new key, flushed next time), with a flush id; and the counts
    an earlier flush took but did not finish (its process died), with their first id, so that
    whoever stores them can tell whether they were stored already. Delete each with
    `flush_done` once stored."""
    client = _client(settings.REDIS_URL)
    for raw in client.scan_iter(match=f"{CLAIMED}:*", count=500):
        key = raw.decode()
        parts = key.removeprefix(f"{CLAIMED}:").split(":")
        found = _parse(parts[1:])
        if found is not None:
            yield _claimed(client, key, parts[0], *found)
    for raw in client.scan_iter(match=f"{PREFIX}:*", count=500):
        key = raw.decode()
        found = _parse(key.removeprefix(f"{PREFIX}:").split(":"))
        if found is None:
            continue  # the regions set
        flush_id = uuid.uuid4().hex
        claimed = f"{CLAIMED}:{flush_id}:{found[0]}:{found[1]}:{found[2].isoformat()}"
        try:
            client.rename(key, claimed)
        except redis.ResponseError:
            continue  # taken by another flush meanwhile
        yield _claimed(client, claimed, flush_id, *found)


def _claimed(client: redis.Redis, key: str, flush_id: str, account_id: int, region: str, day: date) -> Claimed:
    raw: dict[bytes, bytes] = client.hgetall(key)  # type: ignore[assignment]
    return Claimed(key, flush_id, account_id, region, day, {k.decode(): int(v) for k, v in raw.items()})


def flush_done(claimed: Claimed) -> None:
    _client(settings.REDIS_URL).delete(claimed.key)
