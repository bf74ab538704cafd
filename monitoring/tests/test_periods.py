"""A period is the last 60 minutes, 24 hours, 7 or 30 days up to now (like CloudWatch), and
its numbers are exactly the raw rows' in it: rollups for whole buckets, raw rows at the edges."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from accounts.services import aws_account_start
from monitoring import dashboard, windows
from monitoring.histogram import bucket_index
from monitoring.models import Resource
from monitoring.store.rollups import RAW

from .test_rollups import function, report, store

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 10, 10, 5, tzinfo=UTC)


@pytest.fixture
def fn(owner: Any) -> Resource:
    return function(aws_account_start(organization=owner.organization, name="Prod"), "checkout")


def shown_invocations(html: str) -> int:
    found = re.search(r'Invocations</span>\s*<strong class="kpi-value">([\d,]+)</strong>', html)
    assert found, "no invocations KPI on the page"
    return int(found.group(1).replace(",", ""))


def test_one_hour_is_the_last_sixty_minutes_not_the_clock_hour(owner: Any, fn: Resource) -> None:
    store(fn, [report("fifty-minutes-ago", NOW - timedelta(minutes=50)), report("just-now", NOW - timedelta(minutes=1)),
               report("seventy-minutes-ago", NOW - timedelta(minutes=70))])  # fmt: skip

    with time_machine.travel(NOW, tick=False):
        page = owner.client().get(reverse("monitoring:overview"), {"period": "1h"}).content.decode()
        fn_page = owner.client().get(reverse("monitoring:resource_detail", args=[fn.pk]), {"period": "1h"})
        period = dashboard.parse_period({"period": "1h"}, organization=owner.organization)

    assert (period.start, period.end) == (NOW - timedelta(hours=1), NOW)
    assert shown_invocations(page) == 2  # 09:15 and 10:04, not 08:55; the clock hour held one
    assert fn_page.status_code == 200 and "fifty-minutes-ago" in fn_page.content.decode()


def test_twenty_four_hours_end_now_at_either_edge(owner: Any, fn: Resource) -> None:
    store(fn, [report("yesterday-10-30", NOW - timedelta(hours=23, minutes=35)),
               report("yesterday-09-50", NOW - timedelta(hours=24, minutes=15)),
               report("today-10-01", NOW - timedelta(minutes=4))])  # fmt: skip

    with time_machine.travel(NOW, tick=False):
        period = dashboard.parse_period({"period": "24h"}, organization=owner.organization)
        kpis = dashboard.kpis(dashboard.Scope(owner.organization), period)
        series = dashboard.trend(dashboard.Scope(owner.organization), period)

    assert kpis["invocations"] == 2
    assert sum(series["invocations"]) == 2 and len(series["t"]) == 25  # 10:00 yesterday (partly) … 10:00 today
    assert series["range"][:2] == [dashboard.chart_time(NOW - timedelta(hours=24)), dashboard.chart_time(NOW)]


def _raw(fn: Resource, start: datetime, end: datetime) -> tuple[dict[str, Any], dict[int, int]]:
    columns = ["invocations", "errors", "cold_starts", "cost_usd", "gb_seconds", "duration_sum_ms", "duration_max_ms"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(RAW[c] for c in columns)} FROM monitoring_invocation i "  # noqa: S608 (constants)
            "WHERE i.resource_id = %s AND i.started_at >= %s AND i.started_at < %s",
            [fn.pk, start, end],
        )
        totals = dict(zip(columns, cursor.fetchone(), strict=True))
        cursor.execute(
            "SELECT duration_ms FROM monitoring_invocation WHERE resource_id = %s AND started_at >= %s "
            "AND started_at < %s AND duration_ms IS NOT NULL",
            [fn.pk, start, end],
        )
        histogram: dict[int, int] = {}
        for (duration,) in cursor.fetchall():
            histogram[bucket_index(duration)] = histogram.get(bucket_index(duration), 0) + 1
    return totals, histogram


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (NOW - timedelta(hours=1), NOW),  # the last hour
        (NOW - timedelta(hours=24), NOW),  # partial hour, hours, today's day
        (NOW - timedelta(days=7), NOW),  # partial hour and day, whole days
        (NOW - timedelta(days=9, minutes=13), NOW - timedelta(days=1, hours=2, minutes=41)),  # ends in the past
        (NOW - timedelta(hours=30), NOW - timedelta(hours=29, minutes=20)),  # forty minutes inside one hour
        (datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)),  # whole days
    ],
)
def test_figures_over_a_window_are_exactly_the_raw_rows_in_it(fn: Resource, start: datetime, end: datetime) -> None:
    events = []
    for i in range(400):  # every 37 minutes over 10 days, durations over three decades
        t = NOW - timedelta(minutes=37 * i + 1)
        events.append(report(f"r{i}", t, duration=5 + (i * 7919) % 4000, status="timeout" if i % 13 == 0 else "",
                             init=200.0 if i % 9 == 0 else None))  # fmt: skip
    store(fn, events)
    source = windows.function_source(fn.organization_id, resource_ids=[fn.pk])
    plan = windows.plan(start, end, now=NOW)
    columns = ["invocations", "errors", "cold_starts", "cost_usd", "gb_seconds", "duration_sum_ms", "duration_max_ms"]

    got = windows.figures(source, plan, columns=columns).get(None) or {}
    histogram = windows.histograms(source, plan).get(None, {})

    want, want_histogram = _raw(fn, start, end)
    assert want["invocations"] > 0
    for c in ("invocations", "errors", "cold_starts"):
        assert got[c] == want[c], c
    for c in ("cost_usd", "gb_seconds", "duration_sum_ms", "duration_max_ms"):
        assert math.isclose(got[c], want[c], rel_tol=1e-9), c
    assert histogram == want_histogram
    assert len(plan.raw) <= 2 and all(b - a <= timedelta(hours=1) for a, b in plan.raw)  # raw only at the edges


def test_a_window_ending_now_reads_the_hour_under_way_from_its_rollup() -> None:
    plan = windows.plan(NOW - timedelta(hours=1), NOW, now=NOW)
    assert plan.raw == [(NOW - timedelta(hours=1), datetime(2026, 11, 10, 10, tzinfo=UTC))]
    assert plan.hours == [(datetime(2026, 11, 10, 10, tzinfo=UTC), datetime(2026, 11, 10, 11, tzinfo=UTC))]
    past = windows.plan(NOW - timedelta(hours=2), NOW - timedelta(hours=1), now=NOW)
    assert past.hours == [] and past.raw == [(NOW - timedelta(hours=2), NOW - timedelta(hours=1))]


def test_a_custom_period_keeps_its_minutes_and_stops_at_now(owner: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        period = dashboard.parse_period(
            {"period": "custom", "start": "2026-11-09T08:20:00", "end": "2026-11-12"}, organization=owner.organization
        )
    assert (period.start, period.end) == (datetime(2026, 11, 9, 8, 20, tzinfo=UTC), NOW)


@pytest.mark.parametrize("figure", sorted(windows.WINDOW_FIGURES))
def test_alert_windows_of_hours_read_rollups_and_agree_with_the_raw_rows(fn: Resource, figure: str) -> None:
    from monitoring.selectors import INVOCATION_WINDOW_FIGURES, invocation_window_values

    store(fn, [report(f"r{i}", NOW - timedelta(minutes=23 * i + 2), duration=10 + (i * 31) % 700, used=40 + i % 200,
                      status="timeout" if i % 7 == 0 else "", init=300.0 if i % 4 == 0 else None)
               for i in range(300)])  # fmt: skip
    end, width = NOW.replace(second=0), timedelta(minutes=150)
    start = end - 12 * width

    got = sorted(invocation_window_values(figure=figure, resource_ids=[fn.pk], start=start, end=end, width=width))

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT resource_id, floor(extract(epoch FROM started_at - %s) / %s)::int, "  # noqa: S608 (constants)
            f"{INVOCATION_WINDOW_FIGURES[figure]} FROM monitoring_invocation WHERE resource_id = %s "
            "AND started_at >= %s AND started_at < %s GROUP BY 1, 2 ORDER BY 1, 2",
            [start, width.total_seconds(), fn.pk, start, end],
        )
        want = cursor.fetchall()
    assert [(k, w) for k, w, _ in got] == [(k, w) for k, w, _ in want] and len(want) == 12
    for (_, _, value), (_, _, expected) in zip(got, want, strict=True):
        assert value == pytest.approx(float(expected)) if expected is not None else value is None


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (NOW - timedelta(hours=24, minutes=-50), NOW - timedelta(minutes=10)),  # both edges mostly outside
        (NOW - timedelta(days=3, minutes=-20), NOW),
        (NOW - timedelta(hours=5, minutes=55), NOW - timedelta(hours=2, minutes=5)),
    ],
)
def test_a_partial_hour_read_as_its_hour_less_the_rest_gives_the_same_numbers(
    fn: Resource, start: datetime, end: datetime
) -> None:
    store(fn, [report(f"r{i}", NOW - timedelta(minutes=7 * i + 1), duration=5 + (i * 7919) % 4000,
                      status="timeout" if i % 13 == 0 else "") for i in range(900)])  # fmt: skip
    source = windows.function_source(fn.organization_id, resource_ids=[fn.pk])
    columns = ["invocations", "errors", "cost_usd", "duration_sum_ms"]
    plain, taken = windows.plan(start, end, now=NOW), windows.plan(start, end, now=NOW, subtract=True)
    assert taken.minus and all(b - a <= timedelta(minutes=30) for a, b in taken.raw + taken.minus)

    for step in ("hour", "day"):  # a chart's buckets: planned no coarser than them
        a = windows.figures(source, windows.plan(start, end, now=NOW, coarsest=step), columns=columns, group=step)
        b = windows.figures(
            source, windows.plan(start, end, now=NOW, coarsest=step, subtract=True), columns=columns, group=step
        )
        assert {k: v["invocations"] for k, v in a.items() if v["invocations"]} == {
            k: v["invocations"] for k, v in b.items() if v["invocations"]
        }
    assert windows.histograms(source, plain) == windows.histograms(source, taken)
    with pytest.raises(ValueError, match="maximum"):
        windows.figures(source, taken, columns=["duration_max_ms"])


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (NOW - timedelta(days=7), NOW),  # 10:05: hours 10–24 of the first day, or that day less 0–10
        (NOW - timedelta(days=7, hours=8), NOW),  # 02:05: the first day less its first two hours
        (NOW - timedelta(days=7, hours=-13), NOW),  # 23:05: its last hour
        (NOW - timedelta(days=3, hours=8, minutes=40), NOW - timedelta(hours=20)),  # ends in the past
    ],
)
def test_a_first_partial_day_read_as_its_day_less_its_first_hours_is_exact(
    fn: Resource, start: datetime, end: datetime
) -> None:
    store(fn, [report(f"r{i}", NOW - timedelta(minutes=29 * i + 1), duration=5 + (i * 7919) % 4000,
                      status="timeout" if i % 13 == 0 else "") for i in range(500)])  # fmt: skip
    source = windows.function_source(fn.organization_id, resource_ids=[fn.pk])
    p = windows.plan(start, end, now=NOW, subtract=True)
    columns = ["invocations", "errors", "cold_starts", "cost_usd", "gb_seconds", "duration_sum_ms"]

    got = windows.figures(source, p, columns=columns).get(None) or {}
    by_day = windows.figures(source, p, columns=["invocations"], group="day")
    want, want_histogram = _raw(fn, start, end)

    for c in ("invocations", "errors", "cold_starts"):
        assert got[c] == want[c], c
    for c in ("cost_usd", "gb_seconds", "duration_sum_ms"):
        assert math.isclose(got[c], want[c], rel_tol=1e-9), c
    assert windows.histograms(source, p).get(None, {}) == want_histogram
    assert sum(v["invocations"] for v in by_day.values()) == want["invocations"]
    hours = sum((b - a for a, b in p.hours + p.minus_hours), timedelta())
    assert hours <= timedelta(hours=13 + 24)  # never a first day hour by hour when its day less fewer hours will do
