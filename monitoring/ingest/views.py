"""`POST /ingest/firehose/<token>`: the Firehose HTTP endpoint (docs/push.md).

Every answer is JSON `{"requestId", "timestamp"[, "errorMessage"]}`, as the delivery
contract asks; a refusal is a 4xx (Firehose retries, then backs the records up to S3),
never a 500: a bug or a database outage answers 503, which Firehose retries too.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import redis
from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.selectors import aws_account_for_push_token

from .firehose import Rejected, parse_delivery, unpack
from .push import delivery_store

log = logging.getLogger(__name__)

INFLIGHT_KEY = "dashbird:ingest:inflight"


def _answer(request_id: str, status: int = 200, error: str | None = None) -> JsonResponse:
    body: dict[str, object] = {"requestId": request_id, "timestamp": int(time.time() * 1000)}
    if error:
        body["errorMessage"] = error
    response = JsonResponse(body, status=status)
    if status == 429:
        response["Retry-After"] = "5"
    return response


@cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@contextmanager
def _slot() -> Iterator[bool]:
    """One of FIREHOSE_MAX_CONCURRENT deliveries being stored at once across all web
    processes; False when none is free (answer 429, Firehose backs off and retries). The
    counter expires so a killed process cannot hold a slot for ever."""
    client = _redis(settings.REDIS_URL)
    try:
        pipe = client.pipeline()
        pipe.incr(INFLIGHT_KEY)
        pipe.expire(INFLIGHT_KEY, 120)
        taken = int(pipe.execute()[0])
    except redis.RedisError:
        yield True  # without Redis, storing still works: do not refuse for it
        return
    try:
        yield taken <= settings.FIREHOSE_MAX_CONCURRENT
    finally:
        try:
            client.decr(INFLIGHT_KEY)
        except redis.RedisError:
            log.warning("could not release a Firehose ingest slot", exc_info=True)


def _region(request: HttpRequest) -> str | None:
    """The `region` common attribute our template sets on the stream, if any."""
    raw = request.headers.get("X-Amz-Firehose-Common-Attributes") or ""
    try:
        region = json.loads(raw).get("commonAttributes", {}).get("region") if raw else None
    except (ValueError, AttributeError):
        return None
    return region if isinstance(region, str) and 0 < len(region) <= 32 else None


# Not one transaction for the whole request: each function's batch is stored in its own
# (`pushed_batch_store`), so the locks on the account's rollups are held for one function,
# never across functions in an order another writer may take the other way round. A
# delivery that fails part-way is retried whole by Firehose, and storing is idempotent.
@transaction.non_atomic_requests
@csrf_exempt
@require_POST
def firehose(request: HttpRequest, token: str) -> JsonResponse:
    request_id = (request.headers.get("X-Amz-Firehose-Request-Id") or "")[:256]
    account = aws_account_for_push_token(token)
    expected = account.push_access_key if account is not None else None
    given = request.headers.get("X-Amz-Firehose-Access-Key") or ""
    # Compared in constant time, and compared even for an unknown token, so that timing
    # tells nothing about which tokens exist.
    valid = hmac.compare_digest(given.encode(), str(expected or "\0" * 43).encode())
    if account is None or not expected or not valid:
        return _answer(request_id, 401, "unknown endpoint or wrong access key")

    limit = settings.FIREHOSE_MAX_BODY_BYTES
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _answer(request_id, 400, "bad Content-Length")
    if length > limit:
        return _answer(request_id, 413, f"the body is larger than {limit} bytes")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _answer(request_id, 413, f"the body is larger than {limit} bytes")

    try:
        delivery = parse_delivery(body, content_encoding=request.headers.get("Content-Encoding") or "")
        request_id = request_id or delivery.request_id
        unpacked = unpack(delivery)
    except Rejected as exc:
        return _answer(request_id, exc.status, exc.message)

    with _slot() as free:
        if not free:
            return _answer(request_id, 429, "too many deliveries at once; retry later")
        try:
            summary = delivery_store(
                account=account, unpacked=unpacked, region=_region(request), delivered_bytes=len(body)
            )
        except DatabaseError:
            log.exception("a Firehose delivery for account %s could not be stored", account.pk)
            return _answer(request_id, 503, "storage unavailable; retry later")
    if summary.unknown_log_groups:
        log.info(
            "Firehose delivery for account %s: %d log group(s) not collected, e.g. %s",
            account.pk,
            len(summary.unknown_log_groups),
            summary.unknown_log_groups[0],
        )
    return _answer(request_id)
