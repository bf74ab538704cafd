"""Rollups of invocations that are not kept raw (`rollups_import`): the same rows as the ingest
path computes from stored invocations, never over an hour that has stored invocations."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.services import aws_account_start
from monitoring import histogram
from monitoring.models import Invocation, Resource, Rollup
from monitoring.store.partitions import ensure_partitions_for
from monitoring.store.rollups import ImportedInvocation, rollups_import, rollups_recompute

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 16, 22, tzinfo=UTC)  # three hours across midnight: two days
COMPARED = [
    "invocations", "errors", "error_count", "timeouts", "out_of_memory", "unknown", "cold_starts", "duration_sum_ms",
    "duration_max_ms", "duration_count", "histogram", "billed_ms_sum", "gb_seconds", "cost_usd", "memory_max_mb",
]  # fmt: skip


def function(account: Any, name: str) -> Resource:
    return Resource.objects.create(
        organization=account.organization, account=account, region="us-east-1", kind="lambda.function",
        arn=f"arn:aws:lambda:us-east-1:1:function:{name}", name=name, first_seen=START, last_seen=START,
        config={"memory_mb": 512},
    )  # fmt: skip


def invocations(n: int, seed: int = 3) -> list[ImportedInvocation]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        status = rng.choice(["success"] * 8 + ["error", "timeout", "out_of_memory", "unknown"])
        duration = round(rng.lognormvariate(4, 1.2), 2) if status != "unknown" else None
        billed = None if duration is None else int(duration) + 1
        out.append(
            ImportedInvocation(
                started_at=START + timedelta(seconds=rng.uniform(0, 3 * 3600)),
                status=status,
                cold_start=rng.random() < 0.1,
                duration_ms=duration,
                billed_duration_ms=billed,
                billed_restore_duration_ms=rng.choice([None, None, 120]),
                memory_size_mb=rng.choice([None, 512]),
                max_memory_used_mb=rng.randint(40, 300),
                cost_usd=None if billed is None else billed * 1e-8 + 2e-7,
            )
        )
    return out


def rows(fn: Resource) -> list[tuple[Any, ...]]:
    """The rollups, their sums of floats to 12 significant digits (added up in another order)."""
    found = Rollup.objects.filter(resource=fn).order_by("period", "bucket").values_list("period", "bucket", *COMPARED)
    return [tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row) for row in found]


def test_imported_invocations_roll_up_exactly_as_stored_ones_do(owner: Any) -> None:
    account = aws_account_start(organization=owner.organization, name="Prod")
    stored, imported = function(account, "stored"), function(account, "imported")
    batch = invocations(2_000)
    ensure_partitions_for("monitoring_invocation", [inv.started_at for inv in batch])
    Invocation.objects.bulk_create(
        Invocation(
            organization_id=account.organization_id, account_id=account.pk, resource=stored, request_id=f"r{n}",
            log_stream="s", **{k: v for k, v in inv._asdict().items() if k != "started_at"},
            started_at=inv.started_at,
        )
        for n, inv in enumerate(batch)
    )  # fmt: skip
    rollups_recompute(resource=stored, times=[inv.started_at for inv in batch])

    written = rollups_import(resource=imported, invocations=iter(batch))

    assert written == 3
    assert rows(imported) == rows(stored) and len(rows(stored)) == 3 + 2  # three hours, two days
    assert sum(r.invocations for r in Rollup.objects.filter(resource=imported, period="hour")) == 2_000
    # Importing the same again changes nothing.
    assert rollups_import(resource=imported, invocations=iter(batch)) == 3 and rows(imported) == rows(stored)


def test_an_hour_with_stored_invocations_keeps_their_rollup(owner: Any) -> None:
    account = aws_account_start(organization=owner.organization, name="Prod")
    fn = function(account, "mixed")
    collected = START + timedelta(hours=1, minutes=5)
    ensure_partitions_for("monitoring_invocation", [collected])
    Invocation.objects.create(
        organization_id=account.organization_id, account_id=account.pk, resource=fn, request_id="real",
        status="success", started_at=collected, log_stream="s", duration_ms=10.0, max_memory_used_mb=70,
    )  # fmt: skip
    rollups_recompute(resource=fn, times=[collected])

    written = rollups_import(resource=fn, invocations=iter(invocations(600)))

    hours = dict(Rollup.objects.filter(resource=fn, period="hour").values_list("bucket", "invocations"))
    assert written == 2 and hours[START + timedelta(hours=1)] == 1  # the collected hour is untouched
    assert hours[START] > 100 and hours[START + timedelta(hours=2)] > 100
    day = Rollup.objects.get(resource=fn, period="day", bucket=START.replace(hour=0))
    assert day.invocations == hours[START] + 1  # the day adds up its hours, collected or imported


def test_the_rollups_histogram_buckets_are_pythons(owner: Any) -> None:
    """`monitoring.histogram.bucket_index` reads the histograms the SQL writes: both must
    agree, to the buckets' boundaries themselves."""
    values = [0.01, 0.1, 0.5, 1.0, 7.3, 100.0, 1000.0, 123456.7, 1e7]
    values += [10 ** (k / 20) for k in range(-20, 121)]
    values += [v * (1 + 1e-12) for v in values] + [v * (1 - 1e-12) for v in values]
    fn = function(aws_account_start(organization=owner.organization, name="Prod"), "buckets")
    rollups_import(
        resource=fn,
        invocations=(ImportedInvocation(START, "success", False, v, None, None, None, None, None) for v in values),
    )
    expected: dict[str, int] = {}
    for v in values:
        key = str(histogram.bucket_index(v))
        expected[key] = expected.get(key, 0) + 1
    assert Rollup.objects.get(resource=fn, period="hour").histogram == expected
