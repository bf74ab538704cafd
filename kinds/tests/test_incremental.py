"""Which resources a discovery run reads the details of (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kinds.describe import DETAILS_REFRESH, Known, details_due

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def known(fingerprint: str, read_ago: timedelta | None) -> Known:
    return Known(
        config={}, tags={}, fingerprint=fingerprint, details_read_at=None if read_ago is None else NOW - read_ago
    )


def test_new_changed_never_read_and_expired_resources_are_read() -> None:
    stored = {
        "same": known("v1", timedelta(minutes=5)),
        "changed": known("v1", timedelta(minutes=5)),
        "never": known("v1", None),
        "old": known("v1", DETAILS_REFRESH + timedelta(seconds=1)),
    }
    listed = [("same", "v1"), ("changed", "v2"), ("never", "v1"), ("old", "v1"), ("new", "v1")]

    due = details_due(listed, stored, now=NOW, since_last=timedelta(seconds=30))

    assert due == {"changed", "never", "old", "new"}


def test_a_rolling_slice_of_the_rest_least_recently_read_first() -> None:
    stored = {f"fn-{i}": known("v", timedelta(minutes=i)) for i in range(960)}
    listed = [(arn, "v") for arn in stored]

    due = details_due(listed, stored, now=NOW, since_last=timedelta(minutes=15))

    # 960 × 15 min / 23.5 h (aimed two runs short of a day) = 10.2: the ten or eleven read
    # longest ago.
    assert len(due) in (10, 11)
    assert due == {f"fn-{i}" for i in range(960 - len(due), 960)}


def test_at_one_run_per_interval_every_resource_is_read_within_a_day() -> None:
    stored = {f"fn-{i}": known("v", timedelta(0)) for i in range(1000)}
    read_at = {arn: NOW for arn in stored}
    listed = [(arn, "v") for arn in stored]
    interval = timedelta(minutes=15)
    now, most = NOW, 0
    for _ in range(200):  # two days of runs
        now += interval
        view = {arn: Known({}, {}, "v", read_at[arn]) for arn in stored}
        due = details_due(listed, view, now=now, since_last=interval)
        most = max(most, len(due))
        for arn in due:
            read_at[arn] = now
        assert all(now - t <= DETAILS_REFRESH for t in read_at.values())
    assert most <= 1000 * interval / DETAILS_REFRESH + 50  # spread out, never all at once


def test_a_first_discovery_reads_everything() -> None:
    stored = {"a": known("v", timedelta(minutes=1))}
    assert details_due([("a", "v"), ("b", "v")], stored, now=NOW, since_last=None) == {"a", "b"}


def test_a_run_forced_straight_after_another_reads_its_seconds_worth_of_the_slice() -> None:
    stored = {f"fn-{i}": known("v", timedelta(hours=i % 20)) for i in range(1000)}
    listed = [(arn, "v") for arn in stored]

    # 1,000 × 5 s / 24 h = 0.06: at most one, never a run's worth.
    reads = [
        len(details_due(listed, stored, now=NOW + timedelta(seconds=s), since_last=timedelta(seconds=5)))
        for s in range(0, 600, 5)
    ]
    assert max(reads) == 1
    assert sum(reads) in (6, 7)  # 10 minutes' worth: 1000 × 600 s / 24 h = 6.9


def test_after_a_first_run_that_read_everything_every_run_reads_the_same_share() -> None:
    read_at = {f"fn-{i}": NOW for i in range(1000)}
    listed = [(arn, "v") for arn in read_at]
    interval = timedelta(minutes=15)
    now, sizes = NOW, []
    for _ in range(300):  # three days and more
        now += interval
        view = {arn: Known({}, {}, "v", at) for arn, at in read_at.items()}
        due = details_due(listed, view, now=now, since_last=interval)
        sizes.append(len(due))
        for arn in due:
            read_at[arn] = now
        assert max(now - at for at in read_at.values()) <= DETAILS_REFRESH
    # 1000 × 15 min / 24 h = 10.4 a run, every run: no burst when the first run's reads age.
    assert set(sizes) == {10, 11}


def test_a_longer_refresh_reads_fewer_a_run() -> None:
    stored = {f"fn-{i}": known("v", timedelta(hours=1)) for i in range(1000)}
    listed = [(arn, "v") for arn in stored]

    due = details_due(listed, stored, now=NOW, since_last=timedelta(minutes=15), refresh=timedelta(hours=72))

    assert len(due) in (3, 4)  # 1000 × 15 min / 72 h = 3.5
