"""Log search against brute force: whatever the blocks' shapes (one line to hundreds, spanning
milliseconds to hours, overlapping across store calls), many lines in one millisecond, windows
and cursors cutting through blocks, local time zones, and the walk's and slices' tuning made
small so that every path runs (several walked chunks, the GIN lookup, many slices), each page
is exactly the newest `limit` matching lines before its cursor, and paging shows every match
once. (A hostile review ran this with 8,000 examples; deliberately broken slicing fails it.)"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from accounts.services import aws_account_start
from kinds import lambda_function
from monitoring.logsearch import query as search_query
from monitoring.logsearch.keys import SearchText
from monitoring.models import LogLine, Resource
from monitoring.store import loglines
from monitoring.tests.lines import store_lines

WORDS = ["declined", "shipped", "undeclined", "declinedly", "Declined!", "refund"]
TUNINGS = [  # WALK, LARGEST_WALK, RARE, SLICES, SMALLEST_SLICE, BRANCHES
    (search_query.WALK, search_query.LARGEST_WALK, search_query.RARE, search_query.SLICES,
     search_query.SMALLEST_SLICE, search_query.BRANCHES),
    (1, 2, 0.01, 2, timedelta(milliseconds=1), 1),
    (2, 4, 0.6, 5, timedelta(microseconds=1), 8),
    (1, 1, 1.1, 16, timedelta(seconds=1), 8),
]  # fmt: skip

scenarios = st.fixed_dictionaries(
    {
        "step_ms": st.sampled_from([1, 3, 250, 1000, 60_000, 600_000]),
        "functions": st.integers(1, 3),
        "lines": st.lists(
            st.tuples(
                st.integers(0, 40),  # step
                st.sampled_from([0, 0, 0, 1, 1, 2, 3, 4, 5]),  # word
                st.integers(0, 2),  # function (modulo the count)
                st.integers(0, 3),  # store call
                st.sampled_from([0, 0, 0, 1]),  # + 1 ms
            ),
            max_size=60,
        ),
        "block_lines": st.sampled_from([1, 2, 3, 256]),
        "limit": st.integers(1, 10),
        "cut": st.tuples(st.none() | st.integers(-1, 41), st.none() | st.integers(-1, 41)),
        "tuning": st.sampled_from(TUNINGS),
        "subset": st.booleans(),
        "text": st.sampled_from(["declined", "shipped", "declined now"]),
        "zone": st.sampled_from([None, "Europe/Tallinn", "Asia/Kolkata"]),
        "base": st.sampled_from(["now", "2026-03-29T00:40", "2026-10-25T00:40"]),  # daylight-saving days
        "cursor": st.tuples(st.integers(-1, 41), st.sampled_from([0, 1, 10**15]), st.integers(0, 3)),
    }
)


def brute(q: search_query.LineQuery) -> list[tuple[datetime, int]]:
    lines = LogLine.objects.filter(account_id__in=q.accounts, ts__gte=q.start, ts__lt=q.end)
    if q.resources is not None:
        lines = lines.filter(resource_id__in=q.resources)
    assert q.text is not None
    rows = sorted(
        ((line.ts.astimezone(UTC), line.pk) for line in lines.extra(where=["message ~ %s"], params=[q.text.regex])),
        reverse=True,
    )
    if q.before is not None:
        cursor = (q.before[0].astimezone(UTC), q.before[1])
        rows = [r for r in rows if r < cursor]
    return rows


def found(q: search_query.LineQuery) -> list[tuple[datetime, int]]:
    return [(line.ts.astimezone(UTC), line.pk) for line in search_query.lines_matching(q, timeout_ms=20_000)]


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(s=scenarios)
def test_every_page_is_the_newest_matches_before_its_cursor(owner: Any, s: dict[str, Any]) -> None:
    walk, largest, rare, slices, smallest, branches = s["tuning"]
    with ExitStack() as patches, transaction.atomic():
        for name, value in [("WALK", walk), ("LARGEST_WALK", largest), ("RARE", rare), ("SLICES", slices),
                            ("SMALLEST_SLICE", smallest), ("BRANCHES", branches)]:  # fmt: skip
            patches.enter_context(mock.patch.object(search_query, name, value))
        patches.enter_context(
            mock.patch.dict(loglines.blocks_encode.__kwdefaults__ or {}, {"block_lines": s["block_lines"]})
        )
        check(owner, s)
        transaction.set_rollback(True)


def check(owner: Any, s: dict[str, Any]) -> None:
    org = owner.organization
    accounts = [aws_account_start(organization=org, name=f"A{i}") for i in range(2)]
    now = timezone.now()
    functions = [
        Resource.objects.create(
            organization=org, account=accounts[i % 2], region="us-east-1", kind=lambda_function.KIND,
            arn=f"arn:aws:lambda:us-east-1:1:function:fn-{i}", name=f"fn-{i}", first_seen=now, last_seen=now,
        )
        for i in range(s["functions"])
    ]  # fmt: skip
    if s["base"] == "now":
        base = (now - timedelta(hours=12)).replace(second=0, microsecond=0)
    else:
        base = datetime.fromisoformat(s["base"]).replace(tzinfo=UTC)
    step = timedelta(milliseconds=s["step_ms"])
    calls: dict[tuple[int, int], list[tuple[datetime, str]]] = {}
    for n, (k, word, fn, call, extra_ms) in enumerate(s["lines"]):
        ts = base + k * step + timedelta(milliseconds=extra_ms)
        calls.setdefault((fn % s["functions"], call), []).append((ts, f"line{n} {WORDS[word]} x"))
    for (fn, _), rows in sorted(calls.items()):
        store_lines(functions[fn], rows)
    cut_start, cut_end = s["cut"]
    start = base - timedelta(hours=1) if cut_start is None else base + cut_start * step
    end = base + 42 * step + timedelta(hours=1) if cut_end is None else base + cut_end * step
    if start >= end:
        return
    zone = ZoneInfo(s["zone"]) if s["zone"] else UTC
    q = search_query.LineQuery(
        organization_id=org.pk,
        accounts=[a.pk for a in accounts],
        resources=[f.pk for f in functions[: max(1, len(functions) - 1)]] if s["subset"] else None,
        text=SearchText.of(s["text"]),
        status="",
        start=start.astimezone(zone),
        end=end.astimezone(zone),
        limit=s["limit"],
    )
    expected = brute(q)
    note(f"expected={expected}")
    seen: list[tuple[datetime, int]] = []
    query = q
    while True:
        page = found(query)
        assert page == brute(query)[: q.limit], query.before
        seen += page
        if len(page) < q.limit:
            break
        query = replace(query, before=(page[-1][0].astimezone(zone), page[-1][1]))
    assert seen == expected
    k, pk, half_ms = s["cursor"]
    query = replace(q, before=((base + k * step + timedelta(microseconds=500 * half_ms)).astimezone(zone), pk))
    assert found(query) == brute(query)[: q.limit], query.before
