"""Pure helpers of ingestion: fingerprints, histograms, prices."""

from __future__ import annotations

import random

import pytest

from monitoring.fingerprint import fingerprint, normalise_message
from monitoring.histogram import bucket_index, merge, percentile
from monitoring.pricing import gb_seconds, invocation_cost


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Order 4711 has no customer", "Order 99 has no customer"),
        ("KeyError: 'order_id'", "KeyError: 'customer'"),
        (
            "Item 3f2c9a1e-9b7d-4c1e-8f00-123456789abc not found at /var/task/data/x.json",
            "Item 0b1c2d3e-4f50-6789-abcd-ef0123456789 not found at /var/task/data/y.json",
        ),
        ("Timeout calling https://api.example.com/v1/orders/77", "Timeout calling https://api.example.com/v1/users/3"),
        ("bad pointer 0xdeadbeef in frame 7", "bad pointer 0x1234abcd in frame 9"),
        ("session a1b2c3d4e5f6 expired", "session 9f8e7d6c5b4a expired"),
    ],
)
def test_occurrences_of_one_bug_share_a_fingerprint(a: str, b: str) -> None:
    assert normalise_message(a) == normalise_message(b)
    kw = dict(resource_id=1, kind="error", error_type="Error", frames=["at handler (index.js:12:5)"])
    assert fingerprint(message=a, **kw) == fingerprint(message=b, **kw)  # type: ignore[arg-type]


def test_different_bugs_or_functions_do_not_share_one() -> None:
    base = dict(
        resource_id=1, kind="error", error_type="TypeError", message="x is undefined", frames=["at a (i.js:1:1)"]
    )
    assert fingerprint(**base) != fingerprint(**{**base, "error_type": "RangeError"})  # type: ignore[arg-type]
    assert fingerprint(**base) != fingerprint(**{**base, "resource_id": 2})  # type: ignore[arg-type]
    assert fingerprint(**base) != fingerprint(**{**base, "frames": ["at b (j.js:1:1)"]})  # type: ignore[arg-type]
    # a frame's line number moves with every deploy: not part of the identity
    assert fingerprint(**base) == fingerprint(**{**base, "frames": ["at a (i.js:40:9)"]})  # type: ignore[arg-type]


def test_histogram_percentiles_stay_within_six_percent() -> None:
    rng = random.Random(1)
    values = [rng.lognormvariate(4, 1.2) for _ in range(20_000)]
    histogram: dict[int, int] = {}
    for v in values:
        histogram[bucket_index(v)] = histogram.get(bucket_index(v), 0) + 1
    ordered = sorted(values)
    for q in (50, 95, 99):
        exact = ordered[int(q / 100 * len(ordered)) - 1]
        estimate = percentile(histogram, q)
        assert estimate is not None
        assert abs(estimate - exact) / exact < 0.065
    assert merge([{"3": 1}, {"3": 2, "4": 1}]) == {3: 3, 4: 1}
    assert percentile({}, 50) is None


def test_cost_is_billed_gb_seconds_at_the_architecture_s_price_plus_the_request() -> None:
    assert gb_seconds(1000, 1024) == 1.0
    assert invocation_cost(billed_ms=1000, memory_mb=1024, region="us-east-1", architecture="x86_64") == pytest.approx(
        0.0000166667 + 0.0000002
    )
    arm = invocation_cost(billed_ms=1000, memory_mb=1024, region="us-east-1", architecture="arm64")
    assert arm == pytest.approx(0.0000133334 + 0.0000002)
    # SnapStart: the billed restore is charged too
    assert gb_seconds(100, 512, billed_restore_ms=400) == pytest.approx(0.25)


def test_every_measure_the_parser_declares_is_a_column_of_the_invocation_table() -> None:
    from monitoring.models import Invocation
    from monitoring.parsing.lambda_logs import INVOCATION_MEASURES

    columns = {f.name for f in Invocation._meta.get_fields()}
    assert "duration_ms" in INVOCATION_MEASURES and "error_message" in INVOCATION_MEASURES
    assert set(INVOCATION_MEASURES) <= columns, set(INVOCATION_MEASURES) - columns
