"""GET /api/v1/invocations/<id>/trace: the stored span tree of an invocation's trace, or a 404
that says why there is none; never another organisation's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.api_tokens import api_token_create
from accounts.models import AwsAccount
from accounts.services import aws_account_start
from monitoring.collection.orchestrator import collect_traces
from monitoring.models import Trace

from .test_traces import FakeXRay, function, invocation

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return aws_account_start(organization=owner.organization, name="Prod")


def token_of(tenant: Any) -> dict[str, str]:
    secret = api_token_create(organization=tenant.organization, name="tests", by=tenant.user)[1]
    return {"Authorization": f"Bearer {secret}"}


def trace_of(pk: int, headers: dict[str, str]) -> Any:
    return Client().get(reverse("api:invocation_trace", args=[pk]), headers=headers)


def test_it_gives_the_stored_span_tree(owner: Any, account: AwsAccount, settings: Any) -> None:
    settings.XRAY_SAMPLE_RATE = 1.0
    fn = function(account, "orders")
    failed = invocation(fn, 1, status="error")
    collect_traces(lambda service: FakeXRay(fn), account, "us-east-1", [fn], timezone.now())

    response = trace_of(failed.pk, token_of(owner))

    assert response.status_code == 200
    body = response.json()
    stored = Trace.objects.get(invocation_id=failed.pk)
    assert (body["invocation_id"], body["trace_id"], body["fetched_because"]) == (failed.pk, stored.trace_id, "failed")
    root, call = body["spans"]
    assert (root["index"], root["parent"], root["name"], root["namespace"]) == (0, None, "orders", None)
    assert root["duration_ms"] == pytest.approx(200) and root["start"].startswith("1970-01-01T00:16:40")
    assert (call["parent"], call["target"], call["operation"], call["resource"]) == (
        0,
        "DynamoDB GetItem",
        "GetItem",
        "t",
    )
    assert call["offset_ms"] == pytest.approx(10) and call["duration_ms"] == pytest.approx(20)
    assert (call["error"], call["fault"], call["throttle"], call["retries"]) == (False, False, False, 0)


def test_without_a_trace_it_is_a_404_that_says_why(owner: Any, account: AwsAccount) -> None:
    headers = token_of(owner)
    untraced = invocation(function(account, "legacy", tracing="PassThrough"), 1, traced=False)
    waiting = invocation(function(account, "orders"), 2)

    for inv, reason in [(untraced, "Tracing is off for this function"), (waiting, "Not fetched yet")]:
        response = trace_of(inv.pk, headers)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json()["reason"].startswith(reason)


def test_another_organisation_s_invocation_is_not_found(owner: Any, outsider: Any, account: AwsAccount) -> None:
    fn = function(account, "orders")
    ours = invocation(fn, 1, status="error")
    collect_traces(lambda service: FakeXRay(fn), account, "us-east-1", [fn], timezone.now())

    response = trace_of(ours.pk, token_of(outsider))

    assert response.status_code == 404 and response.json() == {"error": "Not found"}
    assert trace_of(ours.pk, {}).status_code == 401
    posted = Client().post(reverse("api:invocation_trace", args=[ours.pk]), headers=token_of(owner))
    assert posted.status_code == 405
    assert Client().get("/api/v1/invocations/abc/trace", headers=token_of(owner)).status_code == 404
