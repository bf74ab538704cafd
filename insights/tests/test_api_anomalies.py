"""GET /api/v1/anomalies: the organisation's anomalous hours, newest first, filtered and
cursor-paginated like the rest of the API; bad input is a 400, another organisation's rows are
never listed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.api_tokens import api_token_create
from accounts.models import AwsAccount
from accounts.services import aws_account_start
from insights.anomalies.services import anomalies_detect
from insights.models import Anomaly
from monitoring.models import Resource

from .anomalies_support import JUDGED, NOW, history, resource

pytestmark = pytest.mark.django_db


def bearer(tenant: Any) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {api_token_create(organization=tenant.organization, name='t', by=tenant.user)[1]}"
    }


def listed(headers: dict[str, str], **query: str) -> Any:
    return Client().get(reverse("insights_api:anomalies"), query, headers=headers)


def many(fn: Resource, n: int) -> None:
    """`n` anomalous hours of one figure, one a day apart."""
    Anomaly.objects.bulk_create(
        Anomaly(
            organization_id=fn.organization_id, account_id=fn.account_id, resource=fn, metric="errors",
            hour=JUDGED - timedelta(hours=k), observed=50, expected=1, low=0, high=8, score=9.5, detected_at=NOW,
        )
        for k in range(n)
    )  # fmt: skip


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return aws_account_start(organization=owner.organization, name="Prod")


def test_it_lists_the_detector_s_anomalies_with_their_band(owner: Any, account: AwsAccount) -> None:
    fn = resource(account, "checkout")
    history(fn, override={JUDGED: {"invocations": 0}})
    anomalies_detect(account=account, now=NOW)
    stored = Anomaly.objects.get(resource=fn, metric="invocations")

    response = listed(bearer(owner))

    assert response.status_code == 200
    [item] = response.json()["data"]
    assert item == {
        "id": stored.pk, "account_id": account.pk, "resource_id": fn.pk, "metric": "invocations",
        "label": "Invocations", "hour": JUDGED.isoformat(), "observed": 0.0, "expected": stored.expected,
        "low": stored.low, "high": stored.high, "score": round(stored.score, 3), "direction": "down",
        "detected_at": NOW.isoformat(),
    }  # fmt: skip
    assert response.json()["next_cursor"] is None


def test_filters_narrow_the_list(owner: Any, account: AwsAccount) -> None:
    checkout, billing = resource(account, "checkout"), resource(account, "billing")
    many(checkout, 3)
    many(billing, 2)
    other = aws_account_start(organization=owner.organization, name="Staging")
    many(resource(other, "staging-checkout"), 1)
    headers = bearer(owner)

    def hours(**query: str) -> list[tuple[int, str]]:
        return [(a["resource_id"], a["hour"]) for a in listed(headers, **query).json()["data"]]

    assert len(hours()) == 6
    assert {rid for rid, _ in hours(resource=str(billing.pk))} == {billing.pk}
    assert len(hours(account=str(account.pk))) == 5
    assert hours(metric="invocations") == []
    since = JUDGED - timedelta(hours=1)
    assert {h for _, h in hours(since=since.isoformat())} == {JUDGED.isoformat(), since.isoformat()}
    assert {h for _, h in hours(until=since.isoformat())} == {(JUDGED - timedelta(hours=2)).isoformat()}
    newest_first = hours()
    assert [h for _, h in newest_first] == sorted((h for _, h in newest_first), reverse=True)


def test_pages_follow_the_cursor_without_gaps_or_repeats(owner: Any, account: AwsAccount) -> None:
    fn = resource(account, "checkout")
    many(fn, 105)
    headers = bearer(owner)

    first = listed(headers).json()
    second = listed(headers, cursor=first["next_cursor"]).json()

    ids = [a["id"] for a in first["data"] + second["data"]]
    assert (len(first["data"]), len(second["data"]), second["next_cursor"]) == (100, 5, None)
    assert sorted(ids) == sorted(Anomaly.objects.values_list("id", flat=True))


@pytest.mark.parametrize(
    "query",
    [
        {"resource": "abc"},
        {"account": "-1"},
        {"resource": "9" * 30},
        {"since": "yesterday"},
        {"until": "2026-13-01"},
        {"since": "2026-03-17", "until": "2026-03-16"},
        {"metric": "x" * 201},
        {"cursor": "!!"},
        {"cursor": "bm90OmFuOmlk"},
    ],
)
def test_bad_input_is_a_400_naming_it(owner: Any, query: dict[str, str]) -> None:
    response = listed(bearer(owner), **query)
    assert response.status_code == 400 and response.json()["error"]


def test_another_organisation_s_anomalies_are_never_listed(owner: Any, outsider: Any, account: AwsAccount) -> None:
    ours = resource(account, "checkout")
    many(ours, 2)

    theirs = bearer(outsider)

    assert listed(theirs).json()["data"] == []
    assert listed(theirs, resource=str(ours.pk)).json()["data"] == []
    assert listed(theirs, account=str(account.pk)).json()["data"] == []
    assert listed({}).status_code == 401
    assert Client().post(reverse("insights_api:anomalies"), headers=theirs).status_code == 405
