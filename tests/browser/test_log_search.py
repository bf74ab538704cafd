"""Log search in Chromium: results arrive in the page; a search the page no longer waits for
(another search started, or the page left) is cancelled in PostgreSQL, not left to run."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.services import aws_account_start
from conftest import PASSWORD
from monitoring import selectors
from monitoring.logsearch import query as search_query
from monitoring.models import Resource
from monitoring.tests.lines import store_lines

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def running_searches() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '/* logsearch %%' "
            "AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def slow(monkeypatch: Any) -> list[str]:
    """Searches for "slow search" take 30 s in PostgreSQL; returns what became of each search."""
    original_search, original_run = search_query._search, selectors.lines_matching
    outcomes: list[str] = []

    def search(cursor: Any, q: Any, budget: Any) -> Any:
        if q.text is not None and q.text.text == "slow search":
            budget.next_statement(cursor)
            cursor.execute(search_query._prefix(budget.mark) + "SELECT pg_sleep(30)")
        return original_search(cursor, q, budget)

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            found = original_run(*args, **kwargs)
        except Exception as exc:
            outcomes.append(type(exc).__name__)
            raise
        outcomes.append("done")
        return found

    monkeypatch.setattr(search_query, "_search", search)
    monkeypatch.setattr(selectors, "lines_matching", run)
    return outcomes


def test_a_new_search_or_leaving_the_page_cancels_the_running_query(
    live_server: Any, page: Any, owner: Any, slow: list[str]
) -> None:
    account = aws_account_start(organization=owner.organization, name="Prod")
    now = timezone.now()
    fn = Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:1:function:checkout", name="checkout", first_seen=now, last_seen=now,
    )  # fmt: skip
    store_lines(
        fn, [(now - timedelta(minutes=5), "slow search target"), (now - timedelta(minutes=4), "quick search hit")]
    )
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", owner.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/logs/")
    page.fill("#f-q", "slow search")
    page.click("form[role=search] button[type=submit]")
    assert wait_for(lambda: running_searches() == 1, 10), "the search runs in PostgreSQL"
    assert page.locator("#log-results .search-status").inner_text() == "Searching…"

    # Another search: the first is aborted in the browser and cancelled in PostgreSQL.
    page.fill("#f-q", "quick search")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_selector("#log-results:not([aria-busy]) .loglines li")
    assert page.locator(".loglines pre").all_inner_texts() == ["quick search hit"]
    assert "q=quick+search" in page.url
    assert wait_for(lambda: running_searches() == 0, 5), "the first search's query was cancelled"
    assert wait_for(lambda: "LogSearchCancelled" in slow, 5)

    # Leaving the page mid-search cancels it too.
    page.fill("#f-q", "slow search")
    page.click("form[role=search] button[type=submit]")
    assert wait_for(lambda: running_searches() == 1, 10)
    page.click("nav.sidenav >> text=Errors")
    page.wait_for_url(f"{base}/errors/")
    assert wait_for(lambda: running_searches() == 0, 5), "leaving the page cancelled the query"
    assert wait_for(lambda: slow.count("LogSearchCancelled") == 2, 5)
