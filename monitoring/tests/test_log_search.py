"""Log search: what it finds (monitoring/logsearch/keys.py), newest first and page by page,
scoped to the organisation; a search that runs out of time says so on the page and offers
narrower windows; a search the page no longer waits for is cancelled in PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from accounts.models import AwsAccount
from accounts.services import aws_account_start
from kinds import lambda_function
from monitoring.logsearch import query as search_query
from monitoring.logsearch.keys import SearchText
from monitoring.logsearch.query import LogSearchCancelled, LogSearchTimeout, marker, search_cancel
from monitoring.models import LogBlock, LogLine, Resource
from monitoring.parsing.lambda_logs import parse_events
from monitoring.selectors import LogSearch, search_log_lines
from monitoring.store.invocations import invocations_store, invocations_store_isolated
from monitoring.tests.lines import store_lines
from monitoring.tests.test_compiled_ingest import random_case_word

RID = "36f675cc-81e7-4ef5-a8e2-5d940ed90475"


def function(account: AwsAccount, name: str) -> Resource:
    now = timezone.now()
    return Resource.objects.create(
        organization=account.organization, account=account, region="us-east-1", kind=lambda_function.KIND,
        arn=f"arn:aws:lambda:us-east-1:1:function:{name}", name=name, first_seen=now, last_seen=now,
    )  # fmt: skip


def search(owner: Any, text: str, **filters: Any) -> list[str]:
    end = timezone.now() + timedelta(minutes=1)
    found = search_log_lines(owner.organization, LogSearch(text=text, **filters), end - timedelta(hours=24), end)
    return [line.message for line in found]


def invocation_events(rid: str, start_ms: int, *middle: str) -> list[dict[str, Any]]:
    messages = [f"START RequestId: {rid} Version: $LATEST", *middle, f"END RequestId: {rid}",
                f"REPORT RequestId: {rid}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\t"
                "Max Memory Used: 60 MB\tStatus: timeout"]  # fmt: skip
    return [
        {"timestamp": start_ms + i, "message": m, "logStreamName": "2026/01/01/[$LATEST]abc", "eventId": f"{rid}-{i}"}
        for i, m in enumerate(messages)
    ]


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return aws_account_start(organization=owner.organization, name="Prod")


@pytest.fixture
def lines(account: AwsAccount) -> Resource:
    fn = function(account, "checkout")
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    start_ms = int(now.timestamp() * 1000)
    events = invocation_events(
        RID,
        start_ms,
        f"2026-01-01T00:00:00.000Z\t{RID}\tTask timed out after 3.00 seconds",
        "[ERROR] KeyError: 'user_id'\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line 7",
        "botocore.exceptions.ReadTimeoutError: Read timeout on endpoint URL",
        "discount 50% applied to a_b",
    )
    invocations_store(resource=fn, result=parse_events(events), new_after_ms=0)
    store_lines(
        fn,
        [
            (now + timedelta(minutes=1), "a timeout that is lower case"),
            (now, "axb is not a_b"),
            (now - timedelta(minutes=1), "Zahlung für Kunde Émile abgelehnt"),
        ],
    )
    return fn


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Task timed out", ["Task timed out after 3.00 seconds"]),
        ("task TIMED out", ["Task timed out after 3.00 seconds"]),
        ("timed out after 3", ["Task timed out after 3.00 seconds"]),
        ("KeyError: 'user_id'", ["KeyError: 'user_id'"]),
        ("Error: 'user_id'", ["KeyError: 'user_id'"]),
        ("'user_id'", ["KeyError: 'user_id'"]),
        ("user_id", ["KeyError: 'user_id'"]),
        ("Timeout", ["ReadTimeoutError", "a timeout that is lower case", "Status: timeout"]),
        ("50%", ["discount 50% applied"]),
        ("a_b", ["discount 50% applied to a_b", "axb is not a_b"]),
        ("imed out", []),
        ("eyError", []),
        # Outside ASCII a character is compared exactly; the ASCII letters around it in any case.
        ("Émile", ["Kunde Émile"]),
        ("ÉMILE", ["Kunde Émile"]),
        ("émile", []),
        ("für KUNDE", ["Zahlung für Kunde"]),
    ],
)
def test_search_finds_text_from_the_start_of_a_word_in_any_case(
    owner: Any, lines: Resource, text: str, found: list[str]
) -> None:
    messages = search(owner, text)
    assert len(messages) == len(found), (text, messages)
    for fragment in found:
        assert any(fragment in m for m in messages), (text, fragment, messages)


@pytest.mark.django_db
def test_a_request_id_finds_every_line_that_carries_it(owner: Any, lines: Resource) -> None:
    for text in (RID, RID[:8], RID[9:18], RID.upper()):
        messages = search(owner, text)
        assert len(messages) == 4, text  # START, the timeout line, END, REPORT
        assert messages[0].startswith("REPORT") and messages[-1].startswith("START"), "newest first"


@pytest.mark.django_db
def test_lines_come_newest_first_page_after_page_across_blocks(owner: Any, account: AwsAccount) -> None:
    fn, other = function(account, "orders"), function(account, "refunds")
    base = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    # Several store calls (so several blocks), interleaved in time across two functions.
    for batch in range(3):
        for n, resource in enumerate((fn, other)):
            store_lines(
                resource,
                [(base + timedelta(seconds=2 * i + n), f"order {batch}-{i} shipped") for i in range(batch * 150, (batch + 1) * 150)],
            )  # fmt: skip
    assert LogBlock.objects.count() >= 6
    end = timezone.now() + timedelta(minutes=1)
    seen: list[LogLine] = []
    cursor = None
    while True:
        page = search_log_lines(
            owner.organization, LogSearch(text="shipped", cursor=cursor), end - timedelta(hours=24), end
        )
        seen += page
        if len(page) < 100:
            break
        cursor = (page[-1].ts, page[-1].pk)
    assert len(seen) == 900 and len({line.pk for line in seen}) == 900
    assert [(line.ts, line.pk) for line in seen] == sorted(((line.ts, line.pk) for line in seen), reverse=True)
    only = search_log_lines(
        owner.organization, LogSearch(text="order 2-", resource=other.pk), end - timedelta(hours=24), end
    )
    assert len(only) == 100 and {line.resource_id for line in only} == {other.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [1, 3, 7, 100])
def test_blocks_spanning_hours_with_few_matches_give_the_newest_matches_in_order(
    owner: Any, account: AwsAccount, limit: int
) -> None:
    """Functions that log little fill a block over hours: the search reads them a slice of
    time at a time, and must still return exactly the newest matches, page after page."""
    base = timezone.now().replace(microsecond=0) - timedelta(hours=20)
    expected: list[tuple[datetime, str]] = []
    for n in range(4):
        fn = function(account, f"quiet-{n}")
        rows = []
        for i in range(120):  # one line every ~10 minutes, interleaved across functions
            ts = base + timedelta(minutes=10 * i + n, seconds=n)
            text = f"order {n}-{i} declined" if (i * 7 + n) % 11 == 0 else f"order {n}-{i} shipped"
            rows.append((ts, text))
            if "declined" in text:
                expected.append((ts, text))
        store_lines(fn, rows)
    expected.sort(reverse=True)
    end = timezone.now() + timedelta(minutes=1)
    query = search_query.LineQuery(
        organization_id=owner.organization.pk, accounts=[account.pk], resources=None,
        text=SearchText.of("declined"), status="", start=end - timedelta(hours=24), end=end, limit=limit,
    )  # fmt: skip
    seen: list[tuple[datetime, str]] = []
    while True:
        page = search_query.lines_matching(query, timeout_ms=10_000)
        seen += [(line.ts, line.message) for line in page]
        if len(page) < limit:
            break
        query = replace(query, before=(page[-1].ts, page[-1].pk))
    assert seen == expected


@pytest.mark.django_db
def test_a_line_with_more_keys_than_a_tsvector_holds_is_stored_and_found(owner: Any, account: AwsAccount) -> None:
    """Some 45 KB of letters in random case (a hostile or encoded payload) make more than
    PostgreSQL's 1 MB of keys: its block is marked for every search rather than the
    invocation refused."""
    fn = function(account, "payloads")
    rid = "5e3a9d1c-0000-4000-8000-00000000beef"
    start_ms = int((timezone.now() - timedelta(minutes=5)).timestamp() * 1000)
    payload = random_case_word(45_000).decode()
    events = invocation_events(rid, start_ms, f"payload={payload} needle", "plain line")
    summary, poisoned = invocations_store_isolated(resource=fn, result=parse_events(events), new_after_ms=0)
    assert poisoned == [] and summary.invocations_new == 1
    assert LogBlock.objects.filter(resource_id=fn.pk).count() == 1
    assert [m[-6:] for m in search(owner, "needle")] == ["needle"]
    assert search(owner, "plain line") == ["plain line"]
    assert search(owner, "absent words") == []


@pytest.mark.django_db
def test_a_reread_window_stores_and_finds_nothing_twice(owner: Any, account: AwsAccount) -> None:
    fn = function(account, "orders")
    start_ms = int((timezone.now() - timedelta(minutes=10)).timestamp() * 1000)
    events = invocation_events(RID, start_ms, "payment declined for order 77")
    invocations_store(resource=fn, result=parse_events(events), new_after_ms=0)
    # The next poll re-reads the overlap: all of it already stored.
    again = invocations_store(resource=fn, result=parse_events(events), new_after_ms=start_ms + len(events))
    assert again.log_lines == 0
    assert LogLine.objects.filter(resource_id=fn.pk).count() == len(events)
    assert search(owner, "payment declined") == ["payment declined for order 77"]


@pytest.mark.django_db
def test_another_organisations_lines_are_never_found(owner: Any, outsider: Any, lines: Resource) -> None:
    theirs = function(aws_account_start(organization=outsider.organization, name="X"), "checkout")
    store_lines(theirs, [(timezone.now() - timedelta(minutes=5), "Task timed out after 9.00 seconds")])
    assert [m[-33:] for m in search(owner, "Task timed out")] == ["Task timed out after 3.00 seconds"]
    assert search(outsider, "Task timed out") == ["Task timed out after 9.00 seconds"]
    assert search(outsider, RID) == []


@pytest.mark.django_db
def test_the_status_filter_keeps_lines_of_invocations_with_that_status(owner: Any, lines: Resource) -> None:
    assert len(search(owner, RID, status="timeout")) == 4
    assert search(owner, RID, status="success") == []


@pytest.mark.django_db
def test_the_logs_page_and_its_fragment_show_matches(owner: Any, lines: Resource) -> None:
    client = owner.client()
    page = client.get(reverse("monitoring:logs"), {"q": "Task timed out", "period": "24h"})
    fragment = client.get(reverse("monitoring:logs_results"), {"q": "Task timed out", "search": "a" * 12})
    for response in (page, fragment):
        assert response.status_code == 200
        assert "Task timed out after 3.00 seconds" in response.content.decode()
        assert "KeyError: 'user_id'" not in response.content.decode()
    assert "data-log-search-form" in page.content.decode() and "<form" not in fragment.content.decode()
    for bad in ("", "short", "x" * 65, "<script>", "a b c d e f"):
        assert client.get(reverse("monitoring:logs_results"), {"q": "x", "search": bad}).status_code == 400, bad


def slow_searches(monkeypatch: Any, seconds: float, when: str = "") -> None:
    """Searches (for `when`, or all) first run a statement that sleeps, under the search's
    time limit and carrying its marker, as a slow search's statement would."""
    original = search_query._search

    def slow(cursor: Any, q: Any, budget: Any) -> Any:
        if not when or (q.text is not None and q.text.text == when):
            budget.next_statement(cursor)
            cursor.execute(search_query._prefix(budget.mark) + "SELECT pg_sleep(%s)", [seconds])
        return original(cursor, q, budget)

    monkeypatch.setattr(search_query, "_search", slow)


@pytest.mark.django_db
def test_a_search_that_runs_out_of_time_says_so_and_offers_narrower_windows(
    owner: Any, lines: Resource, settings: Any, monkeypatch: Any
) -> None:
    settings.LOG_SEARCH_TIMEOUT_MS = 200
    slow_searches(monkeypatch, 2)
    client = owner.client()
    started = time.monotonic()
    page = client.get(reverse("monitoring:logs"), {"q": "Task timed out", "period": "7d", "function": lines.pk})
    assert time.monotonic() - started < 1.5  # the statement was stopped, not waited for
    html = page.content.decode()
    assert page.status_code == 200
    assert "The search took too long" in html and "0.2 seconds" in html
    links = re.findall(r'href="/logs/\?([^"]+)" data-log-search>([^<]+)<', html)
    assert [label for _, label in links] == ["the last 24 hours", "the last hour"]
    assert all(f"function={lines.pk}" in q and "q=Task+timed+out" in q for q, _ in links)
    assert "period=24h" in links[0][0] and "period=1h" in links[1][0]
    # The page's transaction is still usable after the cancelled statement.
    assert client.get(reverse("monitoring:logs"), {"q": "x"}).status_code == 200

    fragment = client.get(reverse("monitoring:logs_results"), {"q": "Task", "period": "1h", "search": "b" * 12})
    assert fragment.status_code == 200 and "The search took too long" in fragment.content.decode()
    assert "Search a narrower window" not in fragment.content.decode()  # an hour is the narrowest offered


@pytest.mark.django_db
def test_the_time_limit_counts_every_statement_of_a_search(owner: Any, lines: Resource, monkeypatch: Any) -> None:
    original = search_query._Budget.next_statement

    def then_wait(*args: Any) -> None:
        original(*args)
        time.sleep(0.1)  # each statement takes 0.1 s: under the limit on its own

    monkeypatch.setattr(search_query._Budget, "next_statement", then_wait)
    monkeypatch.setattr(search_query, "FIRST_PAGE", 1)  # a block per page: two pages, four statements
    end = timezone.now() + timedelta(minutes=1)
    with pytest.raises(LogSearchTimeout):
        search_log_lines(owner.organization, LogSearch(), end - timedelta(days=1), end, timeout_ms=250)
    assert len(search_log_lines(owner.organization, LogSearch(), end - timedelta(days=1), end, timeout_ms=5000)) == 10


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_search_stops_its_statement_in_postgresql(owner: Any, lines: Resource, monkeypatch: Any) -> None:
    slow_searches(monkeypatch, 20)
    end = timezone.now() + timedelta(minutes=1)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            search_log_lines(
                owner.organization, LogSearch(text="Task"), end - timedelta(days=1), end,
                timeout_ms=30_000, mark=marker(owner.user.pk, "search-one"),
            )  # fmt: skip
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 10
    while not _running(f"logsearch u{owner.user.pk} search-one") and time.monotonic() < deadline:
        time.sleep(0.05)
    # Someone else cannot cancel it: the marker names the user.
    assert not search_cancel(user_id=owner.user.pk + 1000, search_id="search-one")
    assert search_cancel(user_id=owner.user.pk, search_id="search-one")
    worker.join(timeout=10)
    assert not worker.is_alive() and isinstance(outcome[0], LogSearchCancelled)
    assert not _running("search-one")


def _running(fragment: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s AND pid <> pg_backend_pid()",
            [f"/* %{fragment}%"],
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_cancel_endpoint_takes_a_post_from_a_signed_in_user(owner: Any, client: Any) -> None:
    url = reverse("monitoring:logs_cancel")
    assert client.post(url, {"search": "a" * 12}).status_code == 302  # to sign in
    signed_in = owner.client()
    assert signed_in.get(url).status_code == 405
    assert signed_in.post(url, {"search": "a" * 12}).status_code == 204
    assert signed_in.post(url, {"search": "<not an id>"}).status_code == 204  # nothing to cancel


def test_a_window_ends_in_its_last_hour_when_narrowed() -> None:
    from django.http import QueryDict

    from monitoring.dashboard import Period, narrower_windows

    end = datetime(2026, 1, 2, 10, tzinfo=UTC)
    custom = Period("custom", end - timedelta(days=3), end)
    found = dict(narrower_windows(custom, QueryDict("q=x&period=custom&start=2025-12-30")))
    assert set(found) == {"the last 24 hours of this window", "the last hour of this window"}
    hour = QueryDict(found["the last hour of this window"])
    assert hour["start"] == "2026-01-02T09:00:00+00:00" and hour["end"] == "2026-01-02T10:00:00+00:00"
    assert narrower_windows(Period("1h", end - timedelta(hours=1), end), QueryDict("")) == []
