"""The pure side of trace collection: which invocations, BatchGetTraces in fives, spans."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from monitoring.collection.traces import Candidate, calls, choose, fetch, spans

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def cand(i: int, *, status: str = "success", ms: float = 100.0, fn: int = 1, minutes: int = 0) -> Candidate:
    return Candidate(i, fn, f"1-abc-{i:024x}", T0 + timedelta(minutes=minutes), status, ms)


def test_failed_first_then_slowest_per_function_hour_then_a_stable_sample() -> None:
    pool = [cand(i, ms=100 + i) for i in range(1, 200)]
    pool += [cand(500, status="timeout"), cand(501, status="out_of_memory", minutes=70), cand(502, status="error")]
    pool += [cand(600, fn=2, ms=5), cand(601, fn=2, ms=9, minutes=61)]
    chosen = choose(pool, budget=1000, sample_rate=0.1)
    reasons = {c.candidate.invocation_id: c.reason for c in chosen}
    assert [c.reason for c in chosen[:3]] == ["failed"] * 3
    assert {500, 501, 502} <= {c.candidate.invocation_id for c in chosen[:3]}
    # the slowest of function 1 in hour 10, of function 2 in hours 10 and 11
    assert reasons[199] == "slowest" and reasons[600] == "slowest" and reasons[601] == "slowest"
    sampled = [i for i, r in reasons.items() if r == "sample"]
    assert 5 < len(sampled) < 40
    # the same sample on a re-run, and a budget keeps the most important
    assert choose(pool, budget=1000, sample_rate=0.1) == chosen
    assert [c.candidate.invocation_id for c in choose(pool, budget=4, sample_rate=0.1)][:3] == [
        c.candidate.invocation_id for c in chosen[:3]
    ]
    assert choose(pool, budget=0, sample_rate=1.0) == []


class FakeXRay:
    def __init__(self, known: dict[str, list[dict[str, Any]]]) -> None:
        self.known = known
        self.calls: list[list[str]] = []

    def batch_get_traces(self, TraceIds: list[str], NextToken: str | None = None) -> dict[str, Any]:
        assert len(TraceIds) <= 5
        self.calls.append(TraceIds)
        return {
            "Traces": [
                {
                    "Id": t,
                    "Segments": [{"Id": "s", "Document": json.dumps(d)} for d in self.known[t]] + [{"Document": "{"}],
                }
                for t in TraceIds
                if t in self.known
            ],
            "UnprocessedTraceIds": [],
        }


def test_fetch_asks_five_ids_a_call_and_names_the_missing() -> None:
    ids = [f"1-a-{i}" for i in range(12)]
    xray = FakeXRay({t: [{"id": "x", "name": "f", "start_time": 1.0, "end_time": 2.0}] for t in ids[:10]})
    got = fetch(xray, ids)
    assert [len(c) for c in xray.calls] == [5, 5, 2]
    assert got.calls == 3
    assert sorted(got.documents) == sorted(ids[:10])
    assert got.unprocessed == ids[10:]


def test_spans_keep_the_tree_and_the_facts_of_each_call() -> None:
    doc = {
        "id": "1",
        "name": "orders",
        "origin": "AWS::Lambda::Function",
        "start_time": 100.0,
        "end_time": 100.5,
        "fault": True,
        "subsegments": [
            {
                "id": "2",
                "name": "DynamoDB",
                "namespace": "aws",
                "start_time": 100.01,
                "end_time": 100.05,
                "aws": {"operation": "GetItem", "table_name": "orders", "retries": 2},
                "http": {"response": {"status": 200}},
                "subsegments": [{"id": "2a", "name": "Attempt", "namespace": "aws", "start_time": 100.01}],
            },
            {
                "id": "3",
                "name": "payments.example.com",
                "namespace": "remote",
                "start_time": 100.1,
                "end_time": 100.4,
                "fault": True,
                "http": {
                    "request": {"method": "POST", "url": "https://payments.example.com/charge?x=1"},
                    "response": {"status": 503},
                },
            },
            {"id": "4", "name": "no start"},
        ],
    }
    tree = spans([doc])
    assert [s.name for s in tree] == ["orders", "DynamoDB", "Attempt", "payments.example.com"]
    assert [s.parent for s in tree] == [None, 0, 1, 0]
    dynamo, http = tree[1], tree[3]
    assert (dynamo.target, dynamo.resource, dynamo.retries, dynamo.status) == ("DynamoDB GetItem", "orders", 2, 200)
    assert round(dynamo.duration_ms or 0) == 40
    assert (http.target, http.operation, http.status, http.fault) == ("payments.example.com", "POST", 503, True)
    assert [s.name for s in calls(tree)] == ["DynamoDB", "payments.example.com"]
    # the stored row reads back the same
    assert [type(s).from_row(s.as_row()) for s in tree] == tree


def test_the_slowest_of_an_hour_must_beat_what_earlier_runs_saw_of_it() -> None:
    pool = [cand(1, ms=300), cand(2, ms=200), cand(3, ms=50, fn=2)]
    hour = T0.replace(minute=0)
    chosen = choose(pool, budget=10, sample_rate=0.0, slowest_before={(1, hour): 500.0, (2, hour): 10.0})
    assert [(c.candidate.invocation_id, c.reason) for c in chosen] == [(3, "slowest")]
