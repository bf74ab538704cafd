"""The Firehose HTTP endpoint delivery contract, and CloudWatch Logs subscription payloads
inside it (pure: no Django, no database). docs/push.md describes both.

A delivery is one POST whose JSON body is `{"requestId", "timestamp", "records": [{"data":
base64}]}`; each record's data is, for a CloudWatch Logs subscription, a gzip'd JSON
payload naming the log group and carrying its events. The endpoint answers
`{"requestId", "timestamp"}` (plus `errorMessage` when it refuses); anything but 200 makes
Firehose retry the whole delivery, so storage must be idempotent.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

# Decompressed bytes one delivery may unpack to: a gzip bomb is refused, not expanded.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_RECORDS = 10_000


class Rejected(Exception):
    """A delivery we refuse, with the HTTP status to answer and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Delivery:
    request_id: str
    records: list[bytes]


@dataclass
class LogBatch:
    """One subscription payload: a log group's events, in FilterLogEvents' shape."""

    owner: str
    log_group: str
    log_stream: str
    events: list[dict[str, Any]]


@dataclass
class Unpacked:
    batches: list[LogBatch] = field(default_factory=list)
    control_messages: int = 0
    unpacked_bytes: int = 0


def _gunzip(data: bytes, budget: int) -> bytes:
    """gzip (or zlib) data, decompressed to at most `budget` bytes."""
    decompressor = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, detected
    try:
        out = decompressor.decompress(data, budget + 1)
    except zlib.error as exc:
        raise Rejected(400, f"a record is not gzip data ({exc})") from None
    if len(out) > budget or decompressor.unconsumed_tail:
        raise Rejected(413, f"the delivery unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    if not decompressor.eof:
        raise Rejected(400, "a record's gzip data is truncated")
    return out


def parse_delivery(body: bytes, *, content_encoding: str = "") -> Delivery:
    """The request's records, still packed. Raises Rejected (4xx) on any malformed part."""
    if content_encoding.strip().lower() == "gzip":
        body = _gunzip(body, MAX_UNPACKED_BYTES)
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "the body is not JSON") from None
    if not isinstance(doc, dict):
        raise Rejected(400, "the body is not a JSON object")
    request_id = doc.get("requestId")
    records = doc.get("records")
    if not isinstance(request_id, str) or not request_id or len(request_id) > 256:
        raise Rejected(400, "requestId is missing or not a string")
    if not isinstance(records, list):
        raise Rejected(400, "records is missing or not a list")
    if len(records) > MAX_RECORDS:
        raise Rejected(413, f"more than {MAX_RECORDS} records in one delivery")
    packed: list[bytes] = []
    for index, record in enumerate(records):
        data = record.get("data") if isinstance(record, dict) else None
        if not isinstance(data, str):
            raise Rejected(400, f"record {index} has no data string")
        try:
            packed.append(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise Rejected(400, f"record {index} is not base64") from None
    return Delivery(request_id=request_id, records=packed)


def unpack(delivery: Delivery) -> Unpacked:
    """Each record's subscription payload: DATA_MESSAGE kept, CONTROL_MESSAGE (the test
    message CloudWatch Logs sends when a filter is created) counted and dropped."""
    out = Unpacked()
    for index, data in enumerate(delivery.records):
        raw = _gunzip(data, MAX_UNPACKED_BYTES - out.unpacked_bytes)
        out.unpacked_bytes += len(raw)
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Rejected(400, f"record {index} is not a JSON subscription payload") from None
        if not isinstance(payload, dict):
            raise Rejected(400, f"record {index} is not a JSON object")
        kind = payload.get("messageType")
        if kind == "CONTROL_MESSAGE":
            out.control_messages += 1
            continue
        if kind != "DATA_MESSAGE":
            raise Rejected(400, f"record {index} has messageType {str(kind)[:40]!r}")
        out.batches.append(_batch(index, payload))
    return out


def _batch(index: int, payload: dict[str, Any]) -> LogBatch:
    group, stream, events = payload.get("logGroup"), payload.get("logStream"), payload.get("logEvents")
    if not isinstance(group, str) or not isinstance(stream, str) or not isinstance(events, list):
        raise Rejected(400, f"record {index} lacks logGroup, logStream or logEvents")
    shaped: list[dict[str, Any]] = []
    for event in events:
        if not isinstance(event, dict):
            raise Rejected(400, f"record {index} has an event that is not an object")
        ts, message, event_id = event.get("timestamp"), event.get("message"), event.get("id")
        if type(ts) is not int or not isinstance(message, str) or not isinstance(event_id, str):
            raise Rejected(400, f"record {index} has an event without id, timestamp or message")
        shaped.append({"eventId": event_id, "timestamp": ts, "message": message, "logStreamName": stream})
    return LogBatch(owner=str(payload.get("owner") or ""), log_group=group, log_stream=stream, events=shaped)


def subscription_record(*, owner: str, log_group: str, log_stream: str, events: list[dict[str, Any]]) -> str:
    """A record as CloudWatch Logs hands it to Firehose (base64 of gzip'd JSON): for tests,
    the sandbox and the freshness benchmark."""
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": ["dashbird"],
        "logEvents": events,
    }
    return base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
