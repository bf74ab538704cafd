"""The seasonal baseline: pure, tested without a database."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.anomalies.detector import HOUR, Sensitivity, bands, baseline, detect, judge, log_outlier_bounds
from insights.anomalies.metrics import HOURLY_SENSITIVITY, catalogue_sensitivity

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
JUDGED = MONDAY + timedelta(days=14, hours=13)  # a Monday, 13:00


def seasonal(days: int = 15, *, weekend: float = 0.4, peak: float = 100.0) -> dict[datetime, float]:
    out = {}
    for i in range(days * 24):
        t = MONDAY + i * HOUR
        daily = 0.5 + 0.5 * math.sin(2 * math.pi * t.hour / 24)
        out[t] = peak * daily * (weekend if t.weekday() >= 5 else 1.0) + 10
    return out


def test_a_regular_rhythm_is_not_an_anomaly() -> None:
    series = seasonal()
    hours = [MONDAY + timedelta(days=14) + h * HOUR for h in range(24)]
    assert detect(series, hours, Sensitivity()) == []


def test_the_weekend_is_compared_with_weekends() -> None:
    # Saturday is 60 % quieter than weekdays: against weekdays it would look like an outage.
    series = seasonal(days=21)
    saturday = MONDAY + timedelta(days=19, hours=12)
    result = judge(series, saturday, HOURLY_SENSITIVITY["invocations"])
    assert result is not None and result[1] is None
    assert result[0].expected == pytest.approx(series[saturday])


def test_a_latency_step_is_flagged_with_its_band() -> None:
    series = seasonal()
    normal = series[JUDGED]
    series[JUDGED] = normal * 2
    [verdict] = detect(series, [JUDGED], HOURLY_SENSITIVITY["duration_p95_ms"])
    assert verdict.direction == "up" and verdict.expected == pytest.approx(normal)
    assert verdict.low < normal < verdict.high < verdict.observed
    assert verdict.score >= HOURLY_SENSITIVITY["duration_p95_ms"].threshold


def test_a_drop_is_ignored_when_only_rises_matter() -> None:
    series = seasonal()
    series[JUDGED] = 0.0
    assert detect(series, [JUDGED], Sensitivity(direction="up")) == []
    assert [v.direction for v in detect(series, [JUDGED], Sensitivity(direction="down"))] == ["down"]


def test_too_few_days_give_no_verdict() -> None:
    series = {t: v for t, v in seasonal().items() if t >= JUDGED - timedelta(days=2, hours=1)}
    assert judge(series, JUDGED, Sensitivity()) is None
    assert bands(series, [JUDGED], Sensitivity()) == {}


def test_missing_hours_and_nan_are_skipped() -> None:
    series = seasonal()
    for k in (1, 2, 3):
        series.pop(JUDGED - timedelta(days=k))
    series[JUDGED - timedelta(days=4)] = float("nan")
    base = baseline(series, JUDGED, Sensitivity())
    assert base is not None and base.samples == 8  # 10 weekdays in 14 days: Friday gone, Thursday NaN
    assert judge({}, JUDGED, Sensitivity()) is None


def test_counts_are_judged_on_the_poisson_scale() -> None:
    # 20 an hour every day; 3 this hour is a real drop, 14 is noise.
    series = {JUDGED - timedelta(days=k): 20.0 for k in range(1, 15)}
    s = HOURLY_SENSITIVITY["invocations"]
    assert detect({**series, JUDGED: 3.0}, [JUDGED], s)
    assert not detect({**series, JUDGED: 14.0}, [JUDGED], s)


def test_a_few_errors_are_not_an_anomaly_however_quiet_the_baseline() -> None:
    series = {JUDGED - timedelta(days=k): 0.0 for k in range(1, 15)}
    s = HOURLY_SENSITIVITY["errors"]
    assert not detect({**series, JUDGED: 3.0}, [JUDGED], s)
    assert detect({**series, JUDGED: 40.0}, [JUDGED], s)


def test_sensitivity_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        Sensitivity(direction="sideways")
    with pytest.raises(ValueError):
        Sensitivity(threshold=0)


def test_catalogue_metrics_get_a_direction_from_their_name() -> None:
    assert catalogue_sensitivity("AWS/SQS:ApproximateAgeOfOldestMessage").direction == "up"
    assert catalogue_sensitivity("AWS/ApiGateway:5XXError").direction == "up"
    assert catalogue_sensitivity("AWS/SQS:NumberOfMessagesSent").direction == "both"
    assert catalogue_sensitivity("AWS/ApplicationELB:TargetResponseTime").direction == "up"


def test_a_catalogued_count_dropping_to_a_tenth_and_a_latency_in_seconds_stepping_up_are_flagged() -> None:
    requests = {JUDGED - timedelta(days=k): 17_500.0 + 150 * (k % 3) for k in range(1, 15)}
    [drop] = detect({**requests, JUDGED: 1_750.0}, [JUDGED], catalogue_sensitivity("AWS/AppSync:Requests", "Sum"))
    assert drop.direction == "down"
    seconds = {JUDGED - timedelta(days=k): 0.48 + 0.01 * (k % 3) for k in range(1, 15)}
    sensitivity = catalogue_sensitivity("AWS/ApplicationELB:TargetResponseTime", "p95")
    [slow] = detect({**seconds, JUDGED: 2.9}, [JUDGED], sensitivity)
    assert slow.direction == "up"
    assert not detect({**seconds, JUDGED: 0.55}, [JUDGED], sensitivity)  # a 15 % wobble is not one


values = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(history=st.lists(values, min_size=3, max_size=14), observed=values)
def test_the_band_holds_the_expected_value_and_flags_only_outside_it(history: list[float], observed: float) -> None:
    series = {JUDGED - timedelta(days=k + 1): v for k, v in enumerate(history)}
    series[JUDGED] = observed
    for s in (Sensitivity(), Sensitivity(counts=True, threshold=3.5)):
        result = judge(series, JUDGED, s)
        if result is None:
            continue  # fewer than 3 days of the same type and too few of any
        base, verdict = result
        low, high = base.band(s.threshold)
        assert low <= base.expected <= high
        if verdict is not None:
            assert not (low < observed < high)
            assert abs(verdict.score) >= s.threshold


@settings(max_examples=100, deadline=None)
@given(history=st.lists(values, min_size=14, max_size=14), factor=st.floats(min_value=0.5, max_value=2))
def test_scaling_a_series_scales_its_baseline(history: list[float], factor: float) -> None:
    series = {JUDGED - timedelta(days=k + 1): v for k, v in enumerate(history)}
    a = baseline(series, JUDGED, Sensitivity(abs_floor=0))
    b = baseline({t: v * factor for t, v in series.items()}, JUDGED, Sensitivity(abs_floor=0))
    assert a is not None and b is not None
    assert b.expected == pytest.approx(a.expected * factor, rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(history=st.lists(values, min_size=14, max_size=14), spike=st.floats(min_value=1e7, max_value=1e9))
def test_one_past_anomaly_does_not_move_the_baseline_much(history: list[float], spike: float) -> None:
    series = {JUDGED - timedelta(days=k + 1): v for k, v in enumerate(history)}
    clean = baseline(series, JUDGED, Sensitivity())
    series[JUDGED - timedelta(days=7)] = spike
    dirty = baseline(series, JUDGED, Sensitivity())
    assert clean is not None and dirty is not None
    assert dirty.expected <= max(history)


def test_an_invocation_far_outside_its_distribution() -> None:
    histogram = {100.0: 500, 120.0: 300, 150.0: 150, 300.0: 40, 900.0: 10}
    bound = log_outlier_bounds(histogram)
    assert bound is not None and 900 < bound < 20_000
    assert log_outlier_bounds({100.0: 10}) is None
