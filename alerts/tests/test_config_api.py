"""The write API: /api/v1/alert-rules, /channels, /projects, /suppressions."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from accounts.admin_services import AdminError
from accounts.api_tokens import api_token_create
from accounts.models import ApiToken, AuditEvent, Membership, Role
from alerts.models import AlertRule, Channel
from insights.models import Suppression
from monitoring.models import Project

pytestmark = pytest.mark.django_db
PD_KEY = "k" * 32


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


class Api:
    def __init__(self, secret: str) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.headers = bearer(secret)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body) if body is not None and method != "get" else None
        response = getattr(self.client, method)(
            f"/api/v1/{path}", data=data, content_type="application/json", headers=self.headers
        )
        response.data = response.json() if response.content and response["Content-Type"] == "application/json" else None
        return response


@pytest.fixture
def writer(owner: Any) -> Api:
    return Api(api_token_create(organization=owner.organization, name="ci", by=owner.user, scope="write")[1])


@pytest.fixture
def reader(owner: Any) -> Api:
    return Api(api_token_create(organization=owner.organization, name="grafana", by=owner.user)[1])


def test_a_read_only_token_reads_but_may_not_write(owner: Any, reader: Api) -> None:
    assert reader.call("get", "alert-rules").status_code == 200
    for method, path in [("post", "alert-rules"), ("post", "projects"), ("post", "channels"), ("post", "suppressions")]:
        response = reader.call(method, path, {"name": "x"})
        assert response.status_code == 403 and "read-only" in response.data["error"]
    rule = AlertRule.objects.filter(organization=owner.organization).first()
    assert rule is not None
    assert reader.call("delete", f"alert-rules/{rule.pk}").status_code == 403
    assert reader.call("patch", f"alert-rules/{rule.pk}", {"threshold": 1}).status_code == 403
    assert AlertRule.objects.filter(pk=rule.pk).exists()


def test_only_admins_create_write_tokens(owner: Any, teammate: Any) -> None:
    with pytest.raises(AdminError):
        api_token_create(organization=owner.organization, name="x", by=teammate.user, scope="write")
    Membership.objects.filter(pk=teammate.membership.pk).update(role=Role.ADMIN)
    token, _ = api_token_create(organization=owner.organization, name="x", by=teammate.user, scope="write")
    assert token.scope == "write"

    page = owner.client().post(reverse("accounts:api_tokens"), {"name": "deploy", "scope": "write"})
    assert page.status_code == 200 and "Read and write configuration" in page.content.decode()
    assert ApiToken.objects.get(name="deploy").scope == "write"
    owner.client().post(reverse("accounts:api_tokens"), {"name": "plain"})
    assert ApiToken.objects.get(name="plain").scope == "read"  # old clients get what they always had


def test_rules_are_created_changed_and_deleted_through_the_forms_with_an_audit_trail(owner: Any, writer: Api) -> None:
    channel = writer.call("post", "channels", {"name": "Pager", "kind": "pagerduty", "config": {"routing_key": PD_KEY}})
    assert (
        channel.status_code == 201 and channel.data["config"] == {} and channel.data["secret_fields"] == ["routing_key"]
    )
    project = writer.call("post", "projects", {"name": "Checkout", "tag": "team=checkout"})
    assert project.status_code == 201

    created = writer.call(
        "post",
        "alert-rules",
        {"name": "Slow", "metric": "duration", "statistic": "Maximum", "threshold": 900, "target": "project",
         "target_project": "Checkout", "channels": ["Pager"]},
    )  # fmt: skip
    assert created.status_code == 201, created.data
    assert created.data["channels"] == ["Pager"] and created.data["threshold"] == 900
    pk = created.data["id"]

    changed = writer.call("patch", f"alert-rules/{pk}", {"threshold": 1200, "muted": True})
    assert changed.status_code == 200 and changed.data["threshold"] == 1200 and changed.data["muted"] is True
    assert changed.data["target_project"] == "Checkout"  # PATCH keeps what it does not name
    event = AuditEvent.objects.get(action="alert_rule.changed", object_id=str(pk))
    assert event.actor_label.startswith("api token ci (dbt_") and event.changes["threshold"] == [900.0, 1200]

    replaced = writer.call("put", f"alert-rules/{pk}", {"name": "Slow", "metric": "errors", "threshold": 1})
    assert replaced.status_code == 200 and replaced.data["target"] == "all" and replaced.data["channels"] == []

    in_use = writer.call(
        "put", f"alert-rules/{pk}", {"name": "Slow", "condition": "new_error_group", "channels": ["Pager"]}
    )
    assert in_use.status_code == 200
    refused = writer.call("delete", f"channels/{channel.data['id']}")
    assert refused.status_code == 409 and "Slow" in refused.data["error"]
    assert writer.call("delete", f"alert-rules/{pk}").status_code == 204
    assert not AlertRule.objects.filter(pk=pk).exists()
    assert writer.call("delete", f"channels/{channel.data['id']}").status_code == 204
    assert AuditEvent.objects.filter(action="channel.deleted").exists()


def test_validation_errors_are_400_json_naming_the_field(owner: Any, writer: Api) -> None:
    cases = [
        ({"name": "x", "metric": "errors", "threshold": "high"}, "threshold", "must be a number"),
        ({"name": "x", "metric": "errors", "threshold": 1, "window_minutes": -5}, "window_minutes", ""),
        ({"name": "x", "metric": "nope", "threshold": 1}, "metric", "Select a valid choice"),
        ({"name": "x", "threshold": 1}, "metric", "needs a metric"),
        ({"name": "x", "metric": "errors", "threshold": 1, "channels": ["Nope"]}, "channels[0]", "no channel"),
        ({"name": "x", "metric": "errors", "threshold": 1, "colour": "red"}, "colour", "unknown field"),
        ({"metric": "errors"}, "name", "required"),
    ]
    for body, field, message in cases:
        response = writer.call("post", "alert-rules", body)
        assert response.status_code == 400, (body, response.data)
        assert any(e["field"] == field and message in e["message"] for e in response.data["errors"]), response.data
    for raw, status in [("[1, 2]", 400), ("{not json", 400), ('"x"', 400)]:
        response = writer.client.post(
            "/api/v1/alert-rules", raw, content_type="application/json", headers=writer.headers
        )
        assert response.status_code == status
    form = writer.client.post("/api/v1/alert-rules", {"name": "x"}, headers=writer.headers)
    assert form.status_code == 415
    assert AlertRule.objects.filter(organization=owner.organization, name="x").count() == 0


def test_another_organisation_s_objects_are_404_and_cannot_be_named(owner: Any, outsider: Any, writer: Api) -> None:
    theirs = Channel.objects.create(organization=outsider.organization, kind="email", name="Theirs",
                                    config={"recipients": ["a@globex.test"]})  # fmt: skip
    rule = AlertRule.objects.filter(organization=outsider.organization).first()
    project = Project.objects.create(organization=outsider.organization, name="Secret", name_pattern="*")
    assert rule is not None
    for method in ("get", "put", "patch", "delete"):
        assert writer.call(method, f"alert-rules/{rule.pk}", {"name": "mine"}).status_code == 404
        assert writer.call(method, f"channels/{theirs.pk}", {"name": "mine"}).status_code == 404
        assert writer.call(method, f"projects/{project.pk}", {"name": "mine"}).status_code == 404
    named = writer.call("post", "alert-rules", {"name": "x", "condition": "new_error_group", "channels": ["Theirs"]})
    assert named.status_code == 400
    assert writer.call("post", "alert-rules", {"name": "y", "metric": "errors", "threshold": 1, "target": "project",
                                               "target_project": "Secret"}).status_code == 400  # fmt: skip
    by_id = writer.call("post", "alert-rules", {"name": "z", "condition": "new_error_group", "channels": [theirs.pk]})
    assert by_id.status_code == 400 and "no channel" in str(by_id.data)
    assert AlertRule.objects.get(pk=rule.pk).name != "mine"
    assert [c["name"] for c in writer.call("get", "channels").data["data"]] == []


def test_references_take_the_ids_the_api_itself_returns(owner: Any, writer: Api) -> None:
    channel = writer.call("post", "channels", {"name": "Ops", "kind": "email",
                                               "config": {"recipients": ["owner@acme.test"]}})  # fmt: skip
    project = writer.call("post", "projects", {"name": "Shop", "name_pattern": "shop-*"})
    assert channel.status_code == 201 and project.status_code == 201, (channel.data, project.data)
    rule = writer.call("post", "alert-rules", {"name": "Shop errors", "metric": "errors", "threshold": 1,
                                               "target": "project", "target_project": project.data["id"],
                                               "channels": [channel.data["id"]]})  # fmt: skip
    assert rule.status_code == 201, rule.data
    stored = AlertRule.objects.get(organization=owner.organization, name="Shop errors")
    assert stored.target_project_id == project.data["id"]
    assert list(stored.channels.values_list("pk", flat=True)) == [channel.data["id"]]


def test_channel_secrets_are_write_only_and_a_put_without_them_keeps_them(owner: Any, writer: Api) -> None:
    created = writer.call("post", "channels", {"name": "Hook", "kind": "webhook",
                                               "config": {"url": "https://hooks.example.com/a", "secret": "x" * 20}})  # fmt: skip
    pk = created.data["id"]
    assert "secret" not in json.dumps(writer.call("get", f"channels/{pk}").data["config"])
    renamed = writer.call("put", f"channels/{pk}", {"name": "Hook 2", "kind": "webhook",
                                                    "config": {"url": "https://hooks.example.com/b"}})  # fmt: skip
    assert renamed.status_code == 200, renamed.data
    channel = Channel.objects.get(pk=pk)
    assert channel.name == "Hook 2" and channel.config == {"url": "https://hooks.example.com/b", "secret": "x" * 20}
    literal = writer.call("patch", f"channels/{pk}", {"config": {"secret": "${SECRET_KEY_VALUE}"}})
    assert literal.status_code == 200
    assert Channel.objects.get(pk=pk).config["secret"] == "${SECRET_KEY_VALUE}"  # never the server's environment
    duplicate = writer.call(
        "post", "channels", {"name": "Hook 2", "kind": "email", "config": {"recipients": ["a@b.co"]}}
    )
    assert duplicate.status_code == 400 and duplicate.data["errors"][0]["field"] == "name"


def test_suppressions_and_projects(owner: Any, writer: Api) -> None:
    created = writer.call(
        "post", "suppressions", {"scope": "check", "check": "lambda-no-tracing", "reason": "no X-Ray"}
    )
    assert created.status_code == 201, created.data
    pk = created.data["id"]
    assert writer.call("patch", f"suppressions/{pk}", {"reason": "later"}).data["reason"] == "later"
    moved = writer.call("patch", f"suppressions/{pk}", {"check": "lambda-dlq-missing"})
    assert moved.status_code == 400
    assert writer.call("delete", f"suppressions/{pk}").status_code == 204
    assert Suppression.objects.get(pk=pk).lifted_at is not None
    assert writer.call("get", f"suppressions/{pk}").status_code == 404  # lifted: no longer in force

    project = writer.call("post", "projects", {"name": "Q", "name_pattern": "orders-*"})
    changed = writer.call("patch", f"projects/{project.data['id']}", {"tag": "team=orders"})
    assert changed.data == {"id": project.data["id"], "name": "Q", "tag": "team=orders", "name_pattern": "orders-*"}
    empty = writer.call("put", f"projects/{project.data['id']}", {"name": "Q"})
    assert empty.status_code == 400 and "tag" in empty.data["error"]
    assert writer.call("delete", f"projects/{project.data['id']}").status_code == 204


def test_session_cookies_do_not_authenticate_the_api(owner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner.user)
    response = client.post("/api/v1/projects", json.dumps({"name": "x", "name_pattern": "*"}),
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 401
    assert not Project.objects.filter(name="x").exists()


def test_the_openapi_document_lists_the_write_endpoints() -> None:
    from openapi_spec_validator import validate

    doc = Client().get(reverse("api:openapi")).json()
    validate(doc)
    for segment in ("alert-rules", "channels", "projects", "suppressions"):
        assert set(doc["paths"][f"/{segment}"]) == {"get", "post"}
        assert set(doc["paths"][f"/{segment}/{{id}}"]) == {"get", "put", "patch", "delete"}
    rule = doc["components"]["schemas"]["AlertRules"]["properties"]
    assert rule["threshold"]["type"] == "number" and rule["channels"]["type"] == "array"


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


def test_hypothesis_bodies_never_cause_a_server_error(owner: Any, writer: Api, capsys: Any) -> None:
    """Random items, plausible keys with hostile values, against every write method."""
    keys = st.sampled_from(
        ["name", "metric", "threshold", "window_minutes", "channels", "target", "target_project", "target_resources",
         "target_account", "kind", "config", "scope", "check", "resource", "account", "reason", "expires_at", "tag",
         "name_pattern", "enabled", "muted", "evaluation_periods", "breaching_periods", "condition", "error_kinds"]
    )  # fmt: skip
    body = st.dictionaries(keys, json_value, max_size=6)
    rule = AlertRule.objects.filter(organization=owner.organization).first()
    assert rule is not None
    project = Project.objects.create(organization=owner.organization, name="P", name_pattern="*")
    channel = Channel.objects.create(organization=owner.organization, kind="email", name="C",
                                     config={"recipients": ["a@acme.test"]})  # fmt: skip
    targets = [
        ("post", "alert-rules"), ("put", f"alert-rules/{rule.pk}"), ("patch", f"alert-rules/{rule.pk}"),
        ("post", "channels"), ("patch", f"channels/{channel.pk}"), ("post", "projects"),
        ("put", f"projects/{project.pk}"), ("post", "suppressions"),
    ]  # fmt: skip
    sent = 0
    started = time.perf_counter()

    @settings(max_examples=120, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(target=st.sampled_from(targets), item=body)
    def no_server_error(target: tuple[str, str], item: dict[str, Any]) -> None:
        nonlocal sent
        sent += 1
        savepoint = transaction.savepoint()
        try:
            response = writer.call(*target, item)
        finally:
            transaction.savepoint_rollback(savepoint)
        assert response.status_code < 500, (target, item, response.content[:300])

    no_server_error()
    with capsys.disabled():
        print(f"\nhypothesis: {sent} write requests in {time.perf_counter() - started:.1f} s")


def test_schemathesis_finds_no_server_error_in_the_write_endpoints(owner: Any, capsys: Any) -> None:
    import schemathesis
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.result import Ok
    from schemathesis.generation import GenerationMode

    secret = api_token_create(organization=owner.organization, name="st", by=owner.user, scope="write")[1]
    rule = AlertRule.objects.filter(organization=owner.organization).first()
    assert rule is not None
    ids = {
        "alert-rules": rule.pk,
        "projects": Project.objects.create(organization=owner.organization, name="P", name_pattern="*").pk,
        "channels": Channel.objects.create(
            organization=owner.organization, kind="email", name="C", config={"recipients": ["a@acme.test"]}
        ).pk,
        "suppressions": Suppression.objects.create(
            organization=owner.organization, scope="check", check_id="lambda-no-tracing", reason="r"
        ).pk,
    }
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    sent = 0
    started = time.perf_counter()
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
        operations = [
            r.ok() for r in schema.get_all_operations()
            if isinstance(r, Ok) and r.ok().path.split("/")[1] in ids
        ]  # fmt: skip
        for operation in operations:
            segment = operation.path.split("/")[1]
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fixed = {"id": ids[segment]} if mode.is_positive and "{id}" in operation.path else None
                strategy = operation.as_strategy(generation_mode=mode, headers=bearer(secret), path_parameters=fixed)

                @settings(max_examples=8, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))  # fmt: skip
                @given(case=strategy)
                def no_server_error(case: Any) -> None:
                    nonlocal sent
                    sent += 1
                    savepoint = transaction.savepoint()
                    try:
                        response = case.call()
                    finally:
                        transaction.savepoint_rollback(savepoint)
                    case.validate_response(response, checks=[not_a_server_error])

                try:
                    no_server_error()
                except Unsatisfiable:
                    assert not mode.is_positive  # nothing to break in a GET of a whole collection
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    with capsys.disabled():
        print(f"\nschemathesis: {sent} requests over {len(operations)} write-API operations in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    assert len(operations) == 24 and sent > 4 * len(operations)
