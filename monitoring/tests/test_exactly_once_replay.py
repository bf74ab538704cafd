"""Minutes of sandbox traffic replayed with one fault of each kind, then the database against
the ledger: the quick form of benchmarks/exactly_once.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.sandbox.replay import FaultPlan, Replay, child_command

from .conftest import connect, seeded_region


@pytest.mark.django_db(transaction=True)  # the killed worker is another process: it must see our rows
def test_twenty_minutes_with_a_kill_a_throttle_a_re_read_and_a_late_batch_store_each_invocation_once(
    account: Any, sandbox: Any, settings: Any
) -> None:
    settings.DISCOVERY_INTERVAL_MINUTES = 60  # one discovery, at the start
    region = "ap-east-1"
    specs = seeded_region(sandbox, region, count=4)
    connect(account, sandbox, region)
    plan = FaultPlan(
        kill=0, throttle=0, metrics_down=0, reread=0, sweep=0, late=0,
        throttle_outlasting=0,  # botocore's retries absorb it (one outlasting them is tested on its own)
        forced={2: {"late"}, 5: {"kill"}, 8: {"throttle"}, 11: {"reread"}, 14: {"metrics_down"}},
    )  # fmt: skip
    replay = Replay(
        account=account,
        region=region,
        specs=specs,
        endpoint=sandbox.endpoint,
        start=datetime.now(tz=UTC).replace(microsecond=0) - timedelta(minutes=20),
        steps=20,
        per_minute=30,
        seed=4,
        plan=plan,
        child_command=child_command(account.pk, region),
    )

    report = replay.run()

    print(report.render())
    t, c = report.tally, report.comparison
    assert (t.kills, t.throttled_steps, t.rereads, t.metrics_down_steps, report.late_batches) == (1, 1, 1, 1, 1)
    assert (t.throttled_calls, t.runs_ended_by_throttle) == (2, 0)
    assert t.metrics_fallback_runs == 1
    assert t.late_log_events >= report.late_events  # the held-back batch was read after its time had passed
    assert c.ledger_total > 100
    assert c.stored_rows == c.ledger_total
    assert (c.lost, c.duplicated_rows, c.identity_duplicates, c.unknown_ids) == (0, 0, 0, 0)
    assert (c.wrong_status, c.wrong_cold_start, c.incomplete) == (0, 0, 0)
    assert c.rollups_equal_raw
    assert c.error_group_total == c.failing_rows
    assert report.ok
