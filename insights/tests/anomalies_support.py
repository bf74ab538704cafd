"""Building 15 days of hourly history for the anomaly tests."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from accounts.models import AwsAccount
from kinds import lambda_function
from monitoring.models import MetricPoint, Resource, Rollup
from monitoring.store.partitions import ensure_partitions

NOW = datetime(2026, 3, 17, 10, 20, tzinfo=UTC)  # a Tuesday
JUDGED = NOW.replace(minute=0) - timedelta(hours=1)  # 09:00, the last complete hour


def resource(account: AwsAccount, name: str, kind: str = lambda_function.KIND) -> Resource:
    return Resource.objects.create(
        organization=account.organization, account=account, region="us-east-1", kind=kind,
        arn=f"arn:aws:{kind}:us-east-1:1:{name}", name=name, first_seen=NOW - timedelta(days=30), last_seen=NOW,
    )  # fmt: skip


def normal_invocations(hour: datetime) -> int:
    daily = 0.5 + 0.5 * math.sin(2 * math.pi * hour.hour / 24)
    return round((1000 if hour.weekday() < 5 else 400) * daily) + 50


def histogram_for(duration_ms: float, n: int) -> dict[str, int]:
    return {str(math.floor(20 * math.log10(duration_ms))): n}


def history(fn: Resource, *, days: int = 15, override: dict[datetime, dict[str, Any]] | None = None) -> None:
    """Hourly rollups of a steady seasonal function up to (excluding) NOW's hour."""
    override = override or {}
    end = NOW.replace(minute=0)
    rows = []
    t = end - timedelta(days=days)
    while t < end:
        n = normal_invocations(t)
        row: dict[str, Any] = {"invocations": n, "errors": 0, "histogram": histogram_for(120, n), "cost_usd": n * 1e-5}
        row.update(override.get(t, {}))
        if row["invocations"]:
            rows.append(Rollup(
                organization_id=fn.organization_id, account_id=fn.account_id, resource=fn, period="hour", bucket=t,
                invocations=row["invocations"], errors=row["errors"], histogram=row["histogram"],
                cost_usd=row["cost_usd"], duration_count=row["invocations"],
            ))  # fmt: skip
        t += timedelta(hours=1)
    Rollup.objects.bulk_create(rows)


def queue_age(queue: Resource, *, days: int = 15, spike_at: datetime | None = None) -> None:
    """A queue's oldest message age, one point an hour: 30 s, and 2 h at `spike_at`."""
    end = NOW.replace(minute=0)
    points = []
    t = end - timedelta(days=days)
    while t < end:
        points.append((t, 7200.0 if t == spike_at else 30.0 + (t.hour % 3)))
        t += timedelta(hours=1)
    ensure_partitions("monitoring_metricpoint", {p[0].date() for p in points})
    MetricPoint.objects.bulk_create(
        MetricPoint(
            account_id=queue.account_id,
            resource_id=queue.pk,
            region="",
            metric="AWS/SQS:ApproximateAgeOfOldestMessage",
            stat="Maximum",
            period=60,
            ts=ts,
            value=v,
        )
        for ts, v in points
    )
