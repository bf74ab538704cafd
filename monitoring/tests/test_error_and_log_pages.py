"""The error-group page draws its occurrences per day and lists the same failure on other
functions; the errors and logs pages take the project filter like the overview."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AwsAccount
from accounts.services import aws_account_start
from kinds import lambda_function
from monitoring.models import ErrorGroup, Invocation, Project, Resource
from monitoring.store.partitions import ensure_partitions_for
from monitoring.tests.lines import store_lines

pytestmark = pytest.mark.django_db


def function(account: AwsAccount, name: str, tags: dict[str, str] | None = None) -> Resource:
    now = timezone.now()
    return Resource.objects.create(
        organization=account.organization, account=account, region="us-east-1", kind=lambda_function.KIND,
        arn=f"arn:aws:lambda:us-east-1:1:function:{name}", name=name, tags=tags or {}, first_seen=now, last_seen=now,
    )  # fmt: skip


def group(fn: Resource, message: str = "KeyError: <str>", frames: list[str] | None = None) -> ErrorGroup:
    now = timezone.now()
    return ErrorGroup.objects.create(
        organization=fn.organization, account=fn.account, resource=fn, fingerprint=f"{fn.pk}-{message}"[:40],
        kind="error", error_type="KeyError", message=message, sample_message=message,
        frames=frames or ['File "/var/task/app.py", line 12, in handler'], count=3, first_seen=now, last_seen=now,
    )  # fmt: skip


def invocation(fn: Resource, when: Any, n: int, g: ErrorGroup | None = None) -> Invocation:
    ensure_partitions_for("monitoring_invocation", [when])
    return Invocation.objects.create(
        organization_id=fn.organization_id, account_id=fn.account_id, resource=fn, request_id=f"r-{fn.pk}-{n}",
        status="error" if g else "success", started_at=when, log_stream="s", error_group_id=g.pk if g else None,
    )  # fmt: skip


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return aws_account_start(organization=owner.organization, name="Prod")


def test_the_error_group_page_draws_occurrences_per_day(owner: Any, account: AwsAccount) -> None:
    fn = function(account, "checkout")
    g = group(fn)
    now = timezone.now()
    for n, days_ago in enumerate([0, 0, 0, 2, 5]):
        invocation(fn, now - timedelta(days=days_ago), n, g)
    invocation(fn, now, 99)  # a success: not an occurrence

    html = owner.client().get(reverse("monitoring:error_group_detail", args=[g.pk])).content.decode()
    found = re.search(r'<script id="fig-occurrences" type="application/json">(.*?)</script>', html)
    assert found
    figure = json.loads(found.group(1))

    bars = figure["data"][0]
    assert len(bars["x"]) == 14 and sum(bars["y"]) == 5 and bars["y"][-1] == 3
    assert figure["layout"]["xaxis"]["range"][0] == bars["x"][0]
    assert "5 still stored" in html


def test_the_same_failure_on_other_functions_is_listed_and_nothing_else(
    owner: Any, outsider: Any, account: AwsAccount
) -> None:
    g = group(function(account, "checkout"))
    same = group(function(account, "refunds"), frames=['File "/var/task/app.py", line 40, in handler'])
    group(function(account, "emails"), message="ValueError: <n>")  # another failure
    theirs = group(function(aws_account_start(organization=outsider.organization, name="X"), "checkout"))

    html = owner.client().get(reverse("monitoring:error_group_detail", args=[g.pk])).content.decode()
    elsewhere = html.split('id="elsewhere"', 1)[1].split("</section>", 1)[0]

    assert f'href="/errors/{same.pk}/">refunds</a>' in elsewhere  # line numbers are not the bug
    assert "emails" not in elsewhere and f"/errors/{theirs.pk}/" not in elsewhere
    assert f"/errors/{g.pk}/" not in elsewhere


def test_errors_and_logs_take_the_project_filter(owner: Any, outsider: Any, account: AwsAccount) -> None:
    checkout = function(account, "checkout", {"team": "checkout"})
    growth = function(account, "growth", {"team": "growth"})
    group(checkout), group(growth)
    now = timezone.now()
    for fn in (checkout, growth):
        store_lines(fn, [(now, f"hello from {fn.name}")])
    project = Project.objects.create(
        organization=owner.organization, name="Checkout", tag_key="team", tag_value="checkout"
    )
    theirs = Project.objects.create(organization=outsider.organization, name="Theirs", tag_key="team")
    client = owner.client()

    errors = client.get(reverse("monitoring:errors"), {"project": project.pk}).content.decode()
    logs = client.get(reverse("monitoring:logs"), {"project": project.pk}).content.decode()

    assert ">checkout</a>" in errors and ">growth</a>" not in errors
    assert "hello from checkout" in logs and "hello from growth" not in logs
    assert f'<option value="{project.pk}" selected>Checkout</option>' in errors
    # Another organisation's project narrows to nothing; it shows none of theirs nor ours.
    other_errors = client.get(reverse("monitoring:errors"), {"project": theirs.pk})
    other_logs = client.get(reverse("monitoring:logs"), {"project": theirs.pk})
    assert other_errors.status_code == other_logs.status_code == 200
    assert "checkout</a>" not in other_errors.content.decode() and "hello from" not in other_logs.content.decode()
    for url in (reverse("monitoring:errors"), reverse("monitoring:logs")):
        for hostile in ("abc", "-1", "1e9", "9" * 30):
            assert client.get(url, {"project": hostile}).status_code == 400, (url, hostile)
