"""The JSON API: tokens, scoping, cursors, OpenAPI, and numbers equal to the page's and the database's."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db.models import Count, Q, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.api_tokens import api_token_create
from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from devtools.sandbox.catalog import functions
from devtools.sandbox.seed import admin_client, create_resources
from devtools.sandbox.traffic import TrafficGenerator
from monitoring import dashboard
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import Invocation, Resource

pytestmark = pytest.mark.django_db
REGION = "eu-south-1"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def token(owner: Any) -> str:
    return api_token_create(organization=owner.organization, name="tests", by=owner.user)[1]


def make_resources(org: Any, n: int) -> AwsAccount:
    account = aws_account_start(organization=org, name="Bulk")
    now = timezone.now()
    Resource.objects.bulk_create(
        Resource(
            organization=org,
            account=account,
            region="us-east-1",
            kind="sqs.queue",
            arn=f"arn:aws:sqs:us-east-1:1:q{i}",
            name=f"q{i}",
            first_seen=now,
            last_seen=now,
        )
        for i in range(n)
    )
    return account


def test_no_token_or_a_revoked_one_is_401(owner: Any, token: str) -> None:
    assert Client().get(reverse("api:accounts")).status_code == 401
    assert Client().get(reverse("api:accounts"), headers=bearer("dbt_nope")).status_code == 401
    response = Client().get(reverse("api:accounts"), headers=bearer(token))
    assert response.status_code == 200 and response.json()["data"] == []


def test_lists_are_cursor_paginated_and_scoped(owner: Any, outsider: Any, token: str) -> None:
    make_resources(owner.organization, 105)
    theirs = make_resources(outsider.organization, 1)
    first = Client().get(reverse("api:resources"), headers=bearer(token)).json()
    second = Client().get(reverse("api:resources"), {"cursor": first["next_cursor"]}, headers=bearer(token)).json()

    names = [r["name"] for r in first["data"] + second["data"]]
    assert len(first["data"]) == 100 and len(second["data"]) == 5 and second["next_cursor"] is None
    assert len(set(names)) == 105 and all(n.startswith("q") for n in names)
    other = Resource.objects.get(account=theirs)
    assert Client().get(reverse("api:resource", args=[other.pk]), headers=bearer(token)).status_code == 404
    assert Client().get(reverse("api:resources"), {"cursor": "!!"}, headers=bearer(token)).status_code == 400


def test_the_openapi_document_is_valid_and_lists_every_endpoint() -> None:
    from openapi_spec_validator import validate

    doc = Client().get(reverse("api:openapi")).json()
    validate(doc)
    assert set(doc["paths"]) == {
        "/accounts", "/resources", "/resources/{id}", "/invocations", "/invocations/{id}/trace", "/error-groups",
        "/metrics", "/overview", "/anomalies", "/projects", "/projects/{id}", "/channels", "/channels/{id}",
        "/alert-rules", "/alert-rules/{id}", "/suppressions", "/suppressions/{id}",
    }  # fmt: skip


def test_overview_numbers_equal_the_api_s_and_the_database_s(owner: Any, token: str, sandbox: Any) -> None:
    specs = functions(5, seed=41)
    if not admin_client("lambda", sandbox.endpoint, REGION).list_functions()["Functions"]:
        create_resources(sandbox.endpoint, REGION, specs)
    TrafficGenerator(
        specs,
        logs=admin_client("logs", sandbox.endpoint, REGION),
        cloudwatch=admin_client("cloudwatch", sandbox.endpoint, REGION),
        seed=8,
        per_minute=300,
    ).tick(30)
    account = aws_account_start(organization=owner.organization, name="Sandbox")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=[REGION])
    assert aws_account_validate(account=account).ok
    collect_unit(account, REGION)

    api = Client().get(reverse("api:overview"), {"period": "24h"}, headers=bearer(token)).json()["kpis"]
    page = owner.client().get(reverse("monitoring:overview"), {"period": "24h"}).content.decode()
    period = dashboard.parse_period({"period": "24h"}, organization=owner.organization)
    db = Invocation.objects.filter(
        organization_id=owner.organization.pk, started_at__gte=period.start, started_at__lt=period.end
    ).aggregate(
        n=Count("id"),
        errors=Count("id", filter=~Q(status__in=["success", "unknown"])),
        cold=Count("id", filter=Q(cold_start=True)),
        cost=Sum("cost_usd"),
    )

    assert api["invocations"]["value"] == db["n"] > 0
    assert api["errors"]["value"] == db["errors"]
    assert api["cold_starts"]["value"] == db["cold"]
    assert api["cost_usd"]["value"] == pytest.approx(db["cost"], rel=1e-6)
    shown = re.search(r'Invocations</span>\s*<strong class="kpi-value">([\d,]+)</strong>', page)
    assert shown and int(shown.group(1).replace(",", "")) == db["n"]

    fn = Resource.objects.filter(account=account, kind="lambda.function").first()
    assert fn is not None
    listed = (
        Client()
        .get(reverse("api:invocations"), {"resource": str(fn.pk), "period": "24h"}, headers=bearer(token))
        .json()
    )
    assert len(listed["data"]) == Invocation.objects.filter(resource=fn).count()
    series = (
        Client()
        .get(
            reverse("api:metrics"),
            {"resource": str(fn.pk), "metric": "AWS/Lambda:Invocations", "stat": "Sum"},
            headers=bearer(token),
        )
        .json()
    )
    assert sum(p["value"] for p in series["points"]) == Invocation.objects.filter(resource=fn).count()
    assert timezone.now() - timedelta(hours=2) < datetime.fromisoformat(series["period"]["end"])


def test_a_project_groups_resources_by_tag_or_name_and_scopes_the_overview(owner: Any) -> None:
    from monitoring.models import Project

    account = make_resources(owner.organization, 3)  # q0 q1 q2
    Resource.objects.filter(name="q1").update(tags={"team": "checkout"})
    client = owner.client()
    client.post(reverse("monitoring:project_create"), {"name": "Checkout", "tag": "team=checkout"})
    client.post(reverse("monitoring:project_create"), {"name": "Q-star", "name_pattern": "q*"})
    by_tag, by_name = Project.objects.get(name="Checkout"), Project.objects.get(name="Q-star")

    assert [r.name for r in by_tag.resources()] == ["q1"]
    assert sorted(r.name for r in by_name.resources()) == ["q0", "q1", "q2"]
    page = client.get(reverse("monitoring:resources"), {"project": by_tag.pk}).content.decode()
    assert ">q1<" in page and ">q0<" not in page
    assert client.get(reverse("monitoring:overview"), {"project": by_tag.pk}).status_code == 200
    assert account.pk


def test_create_api_token_prints_a_working_token_once(owner: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_api_token", org=owner.organization.slug, name="cli", stdout=out)
    secret = out.getvalue().strip()

    assert secret.startswith("dbt_")
    assert Client().get(reverse("api:accounts"), headers=bearer(secret)).status_code == 200


def test_a_wrong_method_or_path_answers_json_not_an_html_page(owner: Any, token: str) -> None:
    client = Client()
    posted = client.post("/api/v1/resources", data="{}", content_type="application/json", headers=bearer(token))
    assert posted.status_code == 405 and posted["Content-Type"] == "application/json"
    assert "read-only" in posted.json()["error"]
    for path in ("/api/v1/channels/", "/api/v1/nope", "/api/v1/resources/abc"):
        missing = client.get(path, headers=bearer(token))
        assert missing.status_code == 404 and "openapi.json" in missing.json()["error"], path
