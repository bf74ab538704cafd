"""Log-spaced duration histogram for percentiles from rollups (pure).

Twenty buckets per decade (each 12 % wide) from 0.1 ms to 1,000 s: a percentile read from
it is within ±6 % of the exact value, whatever the window. Bucket i holds durations in
[10^(i/20), 10^((i+1)/20)) ms. The SQL in monitoring/store/rollups.py computes the same index.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

LOW, HIGH = -20, 119  # 0.1 ms .. 1e6 ms


def bucket_index(duration_ms: float) -> int:
    return max(LOW, min(HIGH, math.floor(20 * math.log10(max(duration_ms, 0.1)))))


def bucket_value(index: int) -> float:
    """The bucket's geometric middle: the estimate reported for a percentile in it."""
    return float(10 ** ((index + 0.5) / 20))


def merge(histograms: Iterable[Mapping[str, int]]) -> dict[int, int]:
    out: dict[int, int] = {}
    for h in histograms:
        for key, count in h.items():
            out[int(key)] = out.get(int(key), 0) + int(count)
    return out


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-th percentile (0 < q <= 100) estimated from a merged histogram."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = math.ceil(q / 100 * total)
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return bucket_value(index)
    return bucket_value(max(histogram))
