"""Detecting and storing anomalies: the hourly figures of every live resource of an account
(its invocation rollups and its catalogued CloudWatch series) judged against their seasonal
baseline (`detector`), stored as `Anomaly` rows. Idempotent: judging an hour again replaces
its rows, and drops those that late data brought back inside their band."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from accounts.models import AwsAccount
from insights.models import Anomaly
from monitoring import histogram
from monitoring import selectors as monitoring_selectors

from .detector import BASELINE_DAYS, DAY, HOUR, Sensitivity, detect
from .metrics import HOURLY_SENSITIVITY, catalogue_sensitivity

# How many complete hours each run judges: the beat runs hourly; the overlap re-judges
# hours whose data arrived late (log polling lags, CloudWatch revises recent points).
JUDGED_HOURS = 3


@dataclass(frozen=True)
class DetectionResult:
    judged_hours: int
    series: int
    anomalies: int


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def rollup_series(
    *, account_id: int, since: datetime, until: datetime, resource_id: int | None = None
) -> dict[tuple[int, str], dict[datetime, float]]:
    """{(resource id, figure): {hour: value}} of the account's hourly rollups (or one
    resource's). An hour without a rollup row after a function's first one had no
    invocations: its counts are 0 (a traffic drop to nothing must be seen), its durations
    and memory absent."""
    out: dict[tuple[int, str], dict[datetime, float]] = {}
    first: dict[int, datetime] = {}
    rows = monitoring_selectors.hourly_rollups(account_id=account_id, since=since).filter(bucket__lt=until)
    if resource_id is not None:
        rows = rows.filter(resource_id=resource_id)
    values = rows.values_list(
        "resource_id", "bucket", "invocations", "errors", "cost_usd", "histogram", "memory_max_mb"
    )
    for rid, bucket, invocations, errors, cost, hist, memory in values.iterator(chunk_size=5000):
        first[rid] = min(first.get(rid, bucket), bucket)
        out.setdefault((rid, "invocations"), {})[bucket] = float(invocations)
        out.setdefault((rid, "errors"), {})[bucket] = float(errors)
        out.setdefault((rid, "cost_usd"), {})[bucket] = float(cost)
        if memory is not None:
            out.setdefault((rid, "memory_max_mb"), {})[bucket] = float(memory)
        merged = histogram.merge([hist or {}])
        for key, q in (("duration_p50_ms", 50), ("duration_p95_ms", 95)):
            value = histogram.percentile(merged, q)
            if value is not None:
                out.setdefault((rid, key), {})[bucket] = value
    for rid, start in first.items():
        for key in ("invocations", "errors", "cost_usd"):
            series = out[(rid, key)]
            t = start
            while t < until:
                series.setdefault(t, 0.0)
                t += HOUR
    return out


def judged_series(
    *,
    account_id: int,
    start: datetime,
    end: datetime,
    resource_id: int | None = None,
    series: Collection[str] | None = None,
) -> dict[tuple[int, str], dict[datetime, float]]:
    """Every series the detector judges, as hourly values, for judging the hours [start, end)
    (whole hours): the rollup figures of functions (from `start` less the baseline's days)
    and every stored catalogued CloudWatch series of every kind. CloudWatch points are per
    minute, so only the judged hours and the same hours of the baseline's days are read (3
    of every 24 for the hourly run), not two weeks of every series. The account's, or one
    resource's, all its figures or only `series` (the bands of the charts a page draws)."""
    found: dict[tuple[int, str], dict[datetime, float]] = {}
    if series is None or any(key in HOURLY_SENSITIVITY for key in series):
        found = rollup_series(
            account_id=account_id, since=start - BASELINE_DAYS * DAY, until=end, resource_id=resource_id
        )
    windows = [(start - k * DAY, end - k * DAY) for k in range(BASELINE_DAYS + 1)]
    wanted = None if series is None else [key for key in series if key not in HOURLY_SENSITIVITY]
    found.update(
        monitoring_selectors.hourly_metric_series(
            account_id=account_id, windows=windows, resource_id=resource_id, series=wanted
        )
    )
    if series is not None:
        found = {k: v for k, v in found.items() if k[1] in series}
    return found


def sensitivity(metric: str) -> Sensitivity:
    """How a judged figure ("duration_p95_ms", "AWS/SQS:…:Maximum") is judged."""
    key, _, stat = metric.rpartition(":")
    return HOURLY_SENSITIVITY.get(metric) or catalogue_sensitivity(key, stat)


def anomalies_detect(*, account: AwsAccount, now: datetime, hours: int = JUDGED_HOURS) -> DetectionResult:
    """Judge the last `hours` complete hours before `now` of every live resource of the account.

    1. Read 14 days of baseline plus the judged hours as hourly values (`judged_series`):
       rollups (functions) and every stored catalogued series (all kinds).
    2. Judge each judged hour of each series (`detector.detect`).
    3. In one transaction, replace the account's anomalies of the judged hours.
    """
    until = _hour(now)
    judged_from = until - hours * HOUR
    live = set(monitoring_selectors.live_resources(account=account).values_list("pk", flat=True))
    series = judged_series(account_id=account.pk, start=judged_from, end=until)
    judged = [judged_from + k * HOUR for k in range(hours)]
    rows: list[Anomaly] = []
    for (rid, metric), values in series.items():
        if rid not in live:
            continue
        for v in detect(values, judged, sensitivity(metric)):
            rows.append(
                Anomaly(
                    organization_id=account.organization_id,
                    account=account,
                    resource_id=rid,
                    metric=metric,
                    hour=v.hour,
                    observed=v.observed,
                    expected=v.expected,
                    low=v.low,
                    high=v.high,
                    score=v.score,
                    detected_at=now,
                )
            )
    with transaction.atomic():
        Anomaly.objects.filter(account=account, hour__gte=judged_from, hour__lt=until).delete()
        Anomaly.objects.bulk_create(rows)
    return DetectionResult(judged_hours=hours, series=len(series), anomalies=len(rows))
