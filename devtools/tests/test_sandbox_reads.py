"""The sandbox's indexed FilterLogEvents and GetMetricData answer exactly as moto's own scans."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.cloudwatch.models import CloudWatchBackend
from moto.logs.models import LogsBackend, LogStream

from devtools.sandbox import fast_reads

ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def _installed() -> None:
    fast_reads.install()


def test_filter_log_events_by_index_equals_moto_with_late_batches_and_equal_times() -> None:
    logs = LogsBackend("eu-west-2", ACCOUNT)
    logs.create_log_group("/aws/lambda/fn", {})
    logs.create_log_stream("/aws/lambda/fn", "s")
    stream = logs.groups["/aws/lambda/fn"].streams["s"]
    rng = random.Random(5)
    base = int((datetime.now(tz=UTC) - timedelta(hours=2)).timestamp() * 1000)
    t = base
    for batch in range(40):
        if batch % 7 == 3:  # a late batch, older than what is stored, some times equal to stored ones
            times = sorted([rng.randrange(base, t), *(rng.choice(stream.events).timestamp for _ in range(4))])
        else:
            times = sorted(t + rng.choice([0, 0, 1, 250, 4000]) for _ in range(6))
            t = times[-1]
        logs.put_log_events("/aws/lambda/fn", "s", [{"timestamp": x, "message": f"m{batch} {x % 3}"} for x in times])
        windows = [(0, 0), (base, t), (base + 1000, t - 1000), (t, t), (t - 4000, 0)]
        for start, end in windows:
            for pattern in ("", "m1", '"m2 1"'):
                ours = LogStream.filter_log_events(stream, start, end, pattern)
                moto = fast_reads.filter_stream_events.original(stream, start, end, pattern)  # type: ignore[attr-defined]
                assert ours == moto, (batch, start, end, pattern)
    assert len(LogStream.filter_log_events(stream, 0, 0, "")) == len(stream.events)


def _put(cloudwatch: CloudWatchBackend, rng: random.Random, now: datetime) -> None:
    for minute in range(12):
        at = now - timedelta(minutes=minute, seconds=rng.randrange(60))
        for fn in ("a", "b"):
            dims = [{"Name": "FunctionName", "Value": fn}]
            cloudwatch.put_metric_data(
                "AWS/Lambda",
                [
                    {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": at, "Value": rng.randrange(5)},
                    {
                        "MetricName": "Duration",
                        "Dimensions": dims,
                        "Timestamp": at,
                        "Values": [rng.uniform(1, 900) for _ in range(rng.randrange(1, 6))],
                        "Unit": "Milliseconds",
                    },
                ],
            )
        cloudwatch.put_metric_data("AWS/SQS", [{"MetricName": "Invocations", "Timestamp": at, "Value": 7.0}])


def _query(qid: str, name: str, stat: str, **extra: Any) -> dict[str, Any]:
    metric: dict[str, Any] = {"Namespace": extra.pop("namespace", "AWS/Lambda"), "MetricName": name}
    if "fn" in extra:
        metric["Dimensions"] = [{"Name": "FunctionName", "Value": extra.pop("fn")}]
    body: dict[str, Any] = {"Metric": metric, "Period": extra.pop("period", 60), "Stat": stat}
    if "unit" in extra:
        body["Unit"] = extra.pop("unit")
    return {"Id": qid, "MetricStat": body, **extra}


def test_get_metric_data_by_index_equals_moto_for_every_kind_of_query() -> None:
    cloudwatch = CloudWatchBackend("eu-west-2", ACCOUNT)
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    _put(cloudwatch, random.Random(9), now)
    queries = [
        _query("q1", "Invocations", "Sum", fn="a"),
        _query("q2", "Duration", "Average", fn="b"),
        _query("q3", "Duration", "p99", fn="a", period=300),
        _query("q4", "Duration", "Maximum", fn="a", unit="Milliseconds"),
        _query("q5", "Duration", "SampleCount", fn="b", unit="Seconds"),
        _query("q6", "Invocations", "Sum", namespace="AWS/SQS"),
        _query("q7", "Invocations", "Minimum", fn="b", ReturnData=False),
        _query("q8", "Invocations", "Sum", fn="nobody", Label="none"),
    ]
    windows = [(now - timedelta(minutes=15), now + timedelta(minutes=1)), (now - timedelta(minutes=7, seconds=30), now)]
    for start, end in windows:
        for scan_by in ("TimestampAscending", "TimestampDescending"):
            ours = cloudwatch.get_metric_data(queries, start, end, scan_by)
            moto = fast_reads.metric_data.original(cloudwatch, queries, start, end, scan_by)  # type: ignore[attr-defined]
            assert ours == moto
            assert any(r["values"] for r in ours)
