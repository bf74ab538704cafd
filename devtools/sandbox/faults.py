"""Faults the sandbox AWS can be told to inject into customer calls: throttling, errors,
slowness. Tests and benchmarks use them to show that collection degrades only where it must.

In-process (`inject`, `clear`) or over HTTP for other processes:
`POST /_sandbox/faults` with a JSON fault, `DELETE /_sandbox/faults` to clear them all.
Only calls made with assumed-role credentials (the product's) are affected; the seeding and
the traffic generator pass untouched.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

CONTROL_PATH = "/_sandbox/faults"


@dataclass
class Fault:
    operation: str  # e.g. "FilterLogEvents", "GetMetricData"
    code: str = "ThrottlingException"  # the AWS error code answered; "" = no error (only the delay)
    message: str = "Rate exceeded"
    status: int = 400
    times: int | None = None  # how many calls it hits; None = until cleared
    delay: float = 0.0  # seconds to wait before answering
    region: str | None = None  # only calls to this region
    body_contains: str | None = None  # only requests whose body holds this (e.g. a log group's name)
    hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_faults: list[Fault] = []
_lock = threading.Lock()


def inject(**fields: Any) -> Fault:
    fault = Fault(**{k: v for k, v in fields.items() if k != "hits"})
    with _lock:
        _faults.append(fault)
    return fault


def clear() -> None:
    with _lock:
        _faults.clear()


def active() -> list[dict[str, Any]]:
    with _lock:
        return [f.as_dict() for f in _faults]


def take(operation: str, region: str, body: bytes) -> Fault | None:
    """The fault this call meets, if any (counting it as a hit)."""
    with _lock:
        for fault in _faults:
            if fault.operation != operation or (fault.region and fault.region != region):
                continue
            if fault.body_contains and fault.body_contains.encode() not in body:
                continue
            if fault.times is not None and fault.hits >= fault.times:
                continue
            fault.hits += 1
            return fault
    return None
