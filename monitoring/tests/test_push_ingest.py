"""Push ingestion: Firehose deliveries of CloudWatch Logs subscription payloads, stored
through the same parser and idempotent storage as polling (docs/push.md)."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AwsAccount, LogIngestion
from accounts.services import aws_account_ingestion_set, aws_account_push_key_rotate
from aws import usage
from monitoring.collection.logs import PUSH_GRACE, push_gap
from monitoring.ingest.firehose import subscription_record
from monitoring.models import ErrorGroup, Invocation, LogCheckpoint, LogLine, Resource

REGION = "mx-central-1"
OWNER = "123456789012"


@pytest.fixture
def pushing(owner: Any) -> tuple[AwsAccount, Resource]:
    account = AwsAccount.objects.create(
        organization=owner.organization, name="prod", aws_account_id=OWNER, regions=[REGION]
    )
    account = aws_account_ingestion_set(account=account, mode=LogIngestion.PUSH)
    now = datetime.now(UTC)
    fn = Resource.objects.create(
        organization=owner.organization,
        account=account,
        region=REGION,
        kind="lambda.function",
        arn=f"arn:aws:lambda:{REGION}:{OWNER}:function:checkout",
        name="checkout",
        config={"memory_mb": 256, "architecture": "arm64"},
        first_seen=now,
        last_seen=now,
    )
    return account, fn


def _events(start: datetime, request_id: str, *, fail: bool = False) -> list[dict[str, Any]]:
    ms = int(start.timestamp() * 1000)
    lines = [
        (ms, f"START RequestId: {request_id} Version: $LATEST\n"),
        (ms + 5, f"{start.isoformat()}\t{request_id}\tINFO\tcharging card\n"),
    ]
    if fail:
        lines.append(
            (
                ms + 40,
                "[ERROR] KeyError: 'card'\nTraceback (most recent call last):\n"
                '  File "/var/task/app.py", line 12, in handler\n    card = event["card"]\n',
            )
        )
    lines += [
        (ms + 80, f"END RequestId: {request_id}\n"),
        (
            ms + 80,
            f"REPORT RequestId: {request_id}\tDuration: 78.20 ms\tBilled Duration: 79 ms\t"
            "Memory Size: 256 MB\tMax Memory Used: 71 MB\t\n",
        ),
    ]
    return [
        {"id": f"{ts}{i:04d}{uuid.uuid4().int % 10**8:08d}", "timestamp": ts, "message": m}
        for i, (ts, m) in enumerate(lines)
    ]


def _delivery(records: list[str]) -> dict[str, Any]:
    return {"requestId": str(uuid.uuid4()), "timestamp": 1_700_000_000_000, "records": [{"data": r} for r in records]}


def _post(account: AwsAccount, body: Any, *, key: str | None = None, raw: bytes | None = None, **headers: str) -> Any:
    data = raw if raw is not None else json.dumps(body).encode()
    return Client().post(
        reverse("monitoring:ingest_firehose", args=[account.push_token]),
        data=data,
        content_type="application/json",
        headers={
            "X-Amz-Firehose-Access-Key": account.push_access_key if key is None else key,
            "X-Amz-Firehose-Request-Id": body["requestId"] if isinstance(body, dict) else "r-1",
            "X-Amz-Firehose-Common-Attributes": json.dumps({"commonAttributes": {"region": REGION}}),
            **headers,
        },
    )


def _real_delivery() -> dict[str, Any]:
    """Three records, as a Lambda log group's subscription delivers them: two streams, five
    invocations (one failing), and the control message sent when the filter was created."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    stream_a, stream_b = "2026/12/02/[$LATEST]aaaa", "2026/12/02/[$LATEST]bbbb"
    control = base64.b64encode(
        gzip.compress(
            json.dumps(
                {
                    "messageType": "CONTROL_MESSAGE",
                    "owner": "CloudwatchLogs",
                    "logGroup": "",
                    "logStream": "",
                    "subscriptionFilters": [],
                    "logEvents": [
                        {
                            "id": "",
                            "timestamp": 1,
                            "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose.",
                        }
                    ],
                }
            ).encode()
        )
    ).decode()
    a = [
        e for n in range(3) for e in _events(t0 + timedelta(seconds=n * 10), f"a000000{n}-0000-4000-8000-000000000000")
    ]
    b = [
        e
        for n in range(2)
        for e in _events(t0 + timedelta(seconds=5 + n * 10), f"b000000{n}-0000-4000-8000-000000000000", fail=n == 1)
    ]
    return _delivery(
        [
            subscription_record(owner=OWNER, log_group="/aws/lambda/checkout", log_stream=stream_a, events=a),
            control,
            subscription_record(owner=OWNER, log_group="/aws/lambda/checkout", log_stream=stream_b, events=b),
        ]
    )


@pytest.mark.django_db
def test_a_delivery_is_stored_and_its_replay_stores_nothing_new(pushing: tuple[AwsAccount, Resource]) -> None:
    account, fn = pushing
    delivery = _real_delivery()

    response = _post(account, delivery)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["requestId"] == delivery["requestId"]
    assert isinstance(answer["timestamp"], int)
    invocations = Invocation.objects.filter(resource_id=fn.pk)
    assert invocations.count() == 5
    assert sorted(invocations.values_list("status", flat=True)) == ["error"] + ["success"] * 4
    assert all(inv.duration_ms == pytest.approx(78.2) and inv.complete for inv in invocations)
    lines = LogLine.objects.filter(resource_id=fn.pk).count()
    assert lines == 5 * 4 + 1
    assert ErrorGroup.objects.get(resource=fn).count == 1
    assert LogCheckpoint.objects.get(resource=fn).last_event_ms > 0
    account.refresh_from_db()
    assert account.push_received_at is not None

    replay = _post(account, delivery)  # Firehose retries the whole request

    assert replay.status_code == 200
    assert Invocation.objects.filter(resource_id=fn.pk).count() == 5
    assert LogLine.objects.filter(resource_id=fn.pk).count() == lines
    assert ErrorGroup.objects.get(resource=fn).count == 1
    day = usage.usage_of(account.pk, days=1)[REGION]
    (counts,) = day.values()
    assert counts["push:records"] == 4  # two data records per delivery, twice
    assert counts["push:billed_bytes"] >= 4 * usage.FIREHOSE_RECORD_INCREMENT


@pytest.mark.django_db
def test_a_log_group_we_do_not_collect_is_acknowledged_and_dropped(pushing: tuple[AwsAccount, Resource]) -> None:
    account, _ = pushing
    events = _events(datetime.now(UTC) - timedelta(minutes=1), "c0000000-0000-4000-8000-000000000000")
    delivery = _delivery(
        [subscription_record(owner=OWNER, log_group="/aws/lambda/other", log_stream="s", events=events)]
    )

    assert _post(account, delivery).status_code == 200
    assert not Invocation.objects.filter(account_id=account.pk).exists()


def _gzip_b64(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data)).decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("wrong key", 401),
        ("no key", 401),
        ("unknown token", 401),
        ("not json", 400),
        ("json list", 400),
        ("no records", 400),
        ("bad base64", 400),
        ("not gzip", 400),
        ("truncated gzip", 400),
        ("gzip of garbage", 400),
        ("unknown message type", 400),
        ("event without timestamp", 400),
        ("gzip bomb", 413),
        ("huge body", 413),
        ("bad body encoding", 400),
    ],
)
def test_hostile_deliveries_are_refused_with_a_4xx(
    pushing: tuple[AwsAccount, Resource], settings: Any, case: str, status: int
) -> None:
    account, _ = pushing
    settings.FIREHOSE_MAX_BODY_BYTES = 256 * 1024
    good = subscription_record(owner=OWNER, log_group="/aws/lambda/checkout", log_stream="s", events=[])
    payload = {
        "messageType": "DATA_MESSAGE",
        "logGroup": "g",
        "logStream": "s",
        "logEvents": [{"id": "1", "message": "x"}],
    }
    kwargs: dict[str, Any] = {}
    body: Any = _delivery([good])
    if case == "wrong key":
        kwargs["key"] = account.push_access_key[:-1] + "x"
    elif case == "no key":
        kwargs["key"] = ""
    elif case == "unknown token":
        account = AwsAccount(push_token="nope", push_access_key=account.push_access_key)
    elif case == "not json":
        kwargs["raw"] = b"{records:"
    elif case == "json list":
        body = [1, 2]
    elif case == "no records":
        body = {"requestId": "r"}
    elif case == "bad base64":
        body = _delivery(["***not base64***"])
    elif case == "not gzip":
        body = _delivery([base64.b64encode(b"plain text").decode()])
    elif case == "truncated gzip":
        body = _delivery([base64.b64encode(base64.b64decode(good)[:-9]).decode()])
    elif case == "gzip of garbage":
        body = _delivery([_gzip_b64(b"\xff\xfe not json")])
    elif case == "unknown message type":
        body = _delivery([_gzip_b64(json.dumps({**payload, "messageType": "X"}).encode())])
    elif case == "event without timestamp":
        body = _delivery([_gzip_b64(json.dumps(payload).encode())])
    elif case == "gzip bomb":
        body = _delivery([_gzip_b64(b"\0" * (65 * 1024 * 1024))])
    elif case == "huge body":
        kwargs["raw"] = b"x" * (settings.FIREHOSE_MAX_BODY_BYTES + 1)
    elif case == "bad body encoding":
        kwargs["raw"] = b"not gzip at all"
        kwargs["HTTP_CONTENT_ENCODING"] = "gzip"

    headers = {"Content-Encoding": kwargs.pop("HTTP_CONTENT_ENCODING")} if "HTTP_CONTENT_ENCODING" in kwargs else {}
    response = _post(account, body, **kwargs, **headers)

    assert response.status_code == status, response.content
    assert "errorMessage" in response.json()


@pytest.mark.django_db
def test_a_rotated_key_refuses_the_old_one(pushing: tuple[AwsAccount, Resource]) -> None:
    account, _ = pushing
    old = account.push_access_key
    account = aws_account_push_key_rotate(account=account)
    account.refresh_from_db()  # read back: the key is encrypted at rest and decrypts

    assert _post(account, _delivery([]), key=old).status_code == 401
    assert _post(account, _delivery([])).status_code == 200


@pytest.mark.django_db
def test_the_access_key_is_not_stored_in_clear(pushing: tuple[AwsAccount, Resource]) -> None:
    from django.db import connection

    account, _ = pushing
    with connection.cursor() as cursor:
        cursor.execute("SELECT push_access_key FROM accounts_awsaccount WHERE id = %s", [account.pk])
        (stored,) = cursor.fetchone()
    assert account.push_access_key not in stored


@pytest.mark.django_db
def test_too_many_deliveries_at_once_answer_429(pushing: tuple[AwsAccount, Resource], settings: Any) -> None:
    import redis

    account, _ = pushing
    settings.FIREHOSE_MAX_CONCURRENT = 1
    redis.Redis.from_url(settings.REDIS_URL).set("dashbird:ingest:inflight", 1, ex=60)  # one in flight

    response = _post(account, _delivery([]))

    assert response.status_code == 429
    assert response["Retry-After"]


@dataclass
class _Mark:
    last_event_ms: int = 0
    resume_from_ms: int = 0
    polled_to_ms: int = 0


MINUTE = 60_000


def test_while_pushing_polling_reads_only_a_gap_push_left() -> None:
    now = 1_000 * MINUTE
    grace = int(PUSH_GRACE.total_seconds() * 1000)
    old_minute = now - grace - 2 * MINUTE
    # Push delivered events of that minute: nothing to fill.
    assert not push_gap(_Mark(last_event_ms=old_minute + 20_000), old_minute, now)
    # Invocations in a minute after the last pushed event, long enough ago: a gap.
    assert push_gap(_Mark(last_event_ms=old_minute - 3 * MINUTE), old_minute, now)
    assert push_gap(None, old_minute, now)
    # The same, but recent: Firehose may still be buffering it.
    recent = now - 2 * MINUTE
    assert not push_gap(_Mark(last_event_ms=recent - 3 * MINUTE), recent, now)
    # Already filled by a poll that read past it.
    assert not push_gap(_Mark(last_event_ms=0, polled_to_ms=old_minute + 2 * MINUTE), old_minute, now)
    # An idle function.
    assert not push_gap(_Mark(), None, now)
