"""A seasonal baseline with robust statistics, for hourly series. Pure: no Django.

For an hour `t` the baseline is the same hour of the day on the previous `days` days
(default 14) whose *day type* matches `t`'s (weekday with weekday, Saturday/Sunday with
weekend), so the daily rhythm and the weekday/weekend rhythm are both respected; when
fewer than `min_samples` such days have a value (a new function, gaps in collection) the
same hour of any of those days is used, and with fewer still the hour is not judged.
Missing hours are simply absent: nothing is interpolated.

1. expected = median of the samples;
2. spread = 1.4826 × MAD (the standard deviation of normal noise, unmoved by the few
   anomalous hours that the samples themselves may contain);
3. the scale is the spread, floored by `rel_floor` × |expected| (a perfectly regular
   series must not flag a 1 % wobble) and by `abs_floor` (values near zero); counts
   (invocations, errors) are judged on Anscombe's square-root scale, where Poisson noise
   has a constant spread of ½, which floors their scale instead;
4. score = (observed − expected) / scale; the hour is anomalous when |score| ≥ `threshold`
   in a watched direction and the difference is at least `min_delta`.

The band drawn on charts is expected ± threshold × scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MAD_TO_SIGMA = 1.4826
BASELINE_DAYS = 14


@dataclass(frozen=True)
class Sensitivity:
    """How a metric is judged: which way is bad and the floors of its scale."""

    direction: str = "both"  # "up", "down" or "both"
    threshold: float = 4.5
    rel_floor: float = 0.1
    abs_floor: float = 1.0
    min_delta: float = 0.0
    days: int = BASELINE_DAYS
    min_samples: int = 3
    # Counts (invocations, errors) have at least Poisson noise: the scale is never below √expected.
    counts: bool = False

    def __post_init__(self) -> None:
        if self.direction not in ("up", "down", "both"):
            raise ValueError(f"direction must be up, down or both, not {self.direction!r}")
        if self.threshold <= 0 or self.days < 1 or self.min_samples < 1:
            raise ValueError("threshold, days and min_samples must be positive")


@dataclass(frozen=True)
class Baseline:
    """Centre and scale live on the judged scale (√ for counts); `expected` and `band` are
    in the metric's own units."""

    center: float
    scale: float
    samples: int
    counts: bool = False

    def _back(self, y: float) -> float:
        return max(y, 0.0) ** 2 - 3 / 8 if self.counts else y

    @property
    def expected(self) -> float:
        return max(self._back(self.center), 0.0) if self.counts else self.center

    def score(self, observed: float) -> float:
        return (_forward(observed, self.counts) - self.center) / self.scale

    def band(self, threshold: float) -> tuple[float, float]:
        low = self._back(self.center - threshold * self.scale)
        return (max(low, 0.0) if self.counts else low, self._back(self.center + threshold * self.scale))


@dataclass(frozen=True)
class Verdict:
    hour: datetime
    observed: float
    expected: float
    low: float
    high: float
    score: float

    @property
    def direction(self) -> str:
        return "up" if self.observed > self.expected else "down"


def _weekend(t: datetime) -> bool:
    return t.weekday() >= 5


def _forward(v: float, counts: bool) -> float:
    # Anscombe's transform: Poisson noise has a standard deviation of about ½ on this scale.
    return math.sqrt(max(v, 0.0) + 3 / 8) if counts else v


def baseline(series: Mapping[datetime, float], hour: datetime, s: Sensitivity) -> Baseline | None:
    """The baseline of `hour` from the same hour of the previous days, or None when too
    few of them have a value."""
    same_type: list[float] = []
    any_type: list[float] = []
    for k in range(1, s.days + 1):
        t = hour - k * DAY
        v = series.get(t)
        if v is None or not math.isfinite(v):
            continue
        any_type.append(v)
        if _weekend(t) == _weekend(hour):
            same_type.append(v)
    samples = same_type if len(same_type) >= s.min_samples else any_type
    if len(samples) < s.min_samples:
        return None
    values = [_forward(v, s.counts) for v in samples]
    center = median(values)
    spread = MAD_TO_SIGMA * median(abs(v - center) for v in values)
    if s.counts:
        # On the √ scale a relative change r of the count moves the value by about r/2 × centre.
        scale = max(spread, 0.5, s.rel_floor / 2 * center)
    else:
        scale = max(spread, s.rel_floor * abs(center), s.abs_floor)
    return Baseline(center=center, scale=scale, samples=len(samples), counts=s.counts)


def judge(series: Mapping[datetime, float], hour: datetime, s: Sensitivity) -> tuple[Baseline, Verdict | None] | None:
    """The baseline of `hour` and, when its value leaves the band, the verdict.
    None when the hour has no value or no baseline."""
    observed = series.get(hour)
    if observed is None or not math.isfinite(observed):
        return None
    base = baseline(series, hour, s)
    if base is None:
        return None
    score = base.score(observed)
    low, high = base.band(s.threshold)
    flagged = (
        abs(score) >= s.threshold
        and abs(observed - base.expected) >= s.min_delta
        and (s.direction == "both" or (s.direction == "up") == (score > 0))
    )
    verdict = Verdict(hour=hour, observed=observed, expected=base.expected, low=low, high=high, score=score)
    return base, verdict if flagged else None


def detect(series: Mapping[datetime, float], hours: Iterable[datetime], s: Sensitivity) -> list[Verdict]:
    """The anomalous hours among `hours`, oldest first."""
    found: list[Verdict] = []
    for hour in sorted(set(hours)):
        result = judge(series, hour, s)
        if result is not None and result[1] is not None:
            found.append(result[1])
    return found


def bands(
    series: Mapping[datetime, float], hours: Iterable[datetime], s: Sensitivity
) -> dict[datetime, tuple[float, float]]:
    """The normal band of each hour that has a baseline (for charts)."""
    out: dict[datetime, tuple[float, float]] = {}
    for hour in hours:
        base = baseline(series, hour, s)
        if base is not None:
            out[hour] = base.band(s.threshold)
    return out


def log_outlier_bounds(histogram: Mapping[float, int], *, threshold: float = 6.0, min_count: int = 50) -> float | None:
    """The value above which one observation (a duration, a memory use) is far outside its
    distribution, from a histogram {value: count}: `threshold` robust deviations of log(value)
    above its median, and at least twice the top of its body (below), so a long right tail that
    the function often shows is the norm and only a real outlier passes. None below
    `min_count` observations."""
    items = sorted((v, n) for v, n in histogram.items() if v > 0 and n > 0)
    total = sum(n for _, n in items)
    if total < min_count:
        return None
    logs = [(math.log(v), n) for v, n in items]
    med = _weighted_median(logs, total)
    deviations = sorted((abs(lv - med), n) for lv, n in logs)
    mad = _weighted_median(deviations, total)
    # Bucketed values: never let the spread fall below a histogram bucket's width (1/20 of a decade).
    sigma = max(MAD_TO_SIGMA * mad, math.log(10) / 20)
    # Twice the top of the body of the distribution: its 99.9th percentile, or below its five
    # highest values when there are fewer than 5,000 (the top of a small sample is itself
    # what might be an outlier).
    top = _weighted_median(logs, total, q=1 - max(0.001, 5 / total))
    return max(math.exp(med + threshold * sigma), 2 * math.exp(top))


def _weighted_median(pairs: list[tuple[float, int]], total: int, *, q: float = 0.5) -> float:
    pairs = sorted(pairs)
    half = total * q
    seen = 0
    for value, n in pairs:
        seen += n
        if seen >= half:
            return value
    return pairs[-1][0]
