"""The permission matrix: every view × owner, admin, member, viewer and an outsider.

Expected outcomes: "ok" (2xx or a redirect back into the app), 403 (a member of the
organisation whose role may not do it) or 404 (another organisation's object, or
a non-member). The matrix is the specification; roles.py is the one place that decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.admin_services import invitation_create
from accounts.api_tokens import api_token_create
from accounts.models import Membership, Role
from accounts.services import aws_account_ingestion_set, aws_account_start, user_create_verified
from monitoring.models import Resource

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "member", "viewer", "outsider"]
OK = "ok"


@dataclass
class World:
    clients: dict[str, Client]
    objects: dict[str, int]


@pytest.fixture
def world(owner: Any, outsider: Any, rf: Any) -> World:
    org = owner.organization
    clients = {"owner": owner.client(), "outsider": outsider.client()}
    members = {}
    for role in ["admin", "member", "viewer"]:
        user = user_create_verified(email=f"{role}@acme.test", password="Correct-horse-42")
        members[role] = Membership.objects.create(organization=org, user=user, role=role)
        client = Client()
        client.force_login(user)
        clients[role] = client
    account = aws_account_start(organization=org, name="Prod")
    account.regions = ["us-east-1"]
    account.save(update_fields=["regions"])
    aws_account_ingestion_set(account=account, mode="push")
    from django.utils import timezone

    now = timezone.now()
    resource = Resource.objects.create(
        organization=org, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:1:function:f", name="f", first_seen=now, last_seen=now,
    )  # fmt: skip
    request = rf.post("/")
    request.user = owner.user
    invitation = invitation_create(
        organization=org, email="new@acme.test", role="member", by=owner.membership, request=request
    )
    token, _ = api_token_create(organization=org, name="ci", by=owner.user)
    from insights.models import Finding

    finding = Finding.objects.create(
        organization=org, account=account, resource=resource, subject=f"r{resource.pk}", check_id="lambda-no-tracing",
        service="lambda", pillar="operational_excellence", severity="info", first_seen=now, last_seen=now,
    )  # fmt: skip
    from django.db import connection

    from monitoring.models import ErrorGroup, Invocation
    from monitoring.store.partitions import ensure_partitions_for

    group = ErrorGroup.objects.create(
        organization=org, account=account, resource=resource, fingerprint="f" * 40, kind="error",
        error_type="TypeError", message="x", first_seen=now, last_seen=now, count=1,
    )  # fmt: skip
    ensure_partitions_for("monitoring_invocation", [now])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monitoring_invocation (organization_id, account_id, resource_id, request_id, attempt, status, "
            "started_at, cold_start, log_stream, complete) VALUES (%s, %s, %s, 'r-1', 1, 'success', %s, false, 's', true)",
            [org.pk, account.pk, resource.pk, now],
        )
    invocation = Invocation.objects.get(request_id="r-1")
    from monitoring.models import Project

    project = Project.objects.create(organization=org, name="Everything", name_pattern="*")
    from alerts.models import AlertRule, Channel, Incident

    channel = Channel.objects.create(
        organization=org, kind="email", name="ops", config={"recipients": ["ops@acme.test"]}
    )
    from alerts.models import AlertRecipient

    recipient = AlertRecipient.objects.create(organization=org, email="ops@acme.test")
    rule = AlertRule.objects.create(organization=org, name="errors", metric="errors", threshold=1)
    incident = Incident.objects.create(organization=org, rule=rule, subject="r1", title="t", opened_at=now)
    return World(
        clients,
        {
            "account": account.pk,
            "resource": resource.pk,
            "invitation": invitation.pk,
            "token": token.pk,
            "finding": finding.pk,
            "error_group": group.pk,
            "invocation": invocation.pk,
            "project": project.pk,
            "channel": channel.pk,
            "recipient": recipient.pk,
            "rule": rule.pk,
            "incident": incident.pk,
            "viewer_membership": members["viewer"].pk,
            "member_membership": members["member"].pk,
        },
    )


# (name, method, url args (keys of World.objects or literals), data, expected per role)
# The outsider owns another organisation: on pages that name no object they act there.
VIEW = {"owner": OK, "admin": OK, "member": OK, "viewer": OK, "outsider": OK}
SCOPED_VIEW = {"owner": OK, "admin": OK, "member": OK, "viewer": OK, "outsider": 404}
MANAGE = {"owner": OK, "admin": OK, "member": 403, "viewer": 403, "outsider": OK}
MANAGE_OBJECT = {"owner": OK, "admin": OK, "member": 403, "viewer": 403, "outsider": 404}
OWN = {"owner": OK, "admin": 403, "member": 403, "viewer": 403, "outsider": OK}
TRIAGE_OBJECT = {"owner": OK, "admin": OK, "member": OK, "viewer": 403, "outsider": 404}
OWN_OBJECT = {"owner": OK, "admin": 403, "member": 403, "viewer": 403, "outsider": 404}

MATRIX: list[tuple[str, str, list[Any], dict[str, str], dict[str, Any]]] = [
    ("monitoring:overview", "get", [], {}, VIEW),
    ("monitoring:resources", "get", [], {}, VIEW),
    ("monitoring:errors", "get", [], {}, VIEW),
    ("monitoring:logs", "get", [], {}, VIEW),
    ("monitoring:logs_results", "get", [], {"search": "perm-test-1"}, VIEW),
    ("monitoring:logs_cancel", "post", [], {"search": "perm-test-1"}, VIEW),
    ("monitoring:service_map", "get", [], {}, VIEW),
    ("insights:index", "get", [], {}, VIEW),
    ("insights:catalogue", "get", [], {}, VIEW),
    ("insights:finding_suppress", "post", ["finding"], {"scope": "finding", "reason": "known"}, MANAGE_OBJECT),
    ("alerts:index", "get", [], {}, VIEW),
    ("alerts:digest_preferences", "post", [], {"frequency": "daily", "hour": "8"}, VIEW),
    ("accounts:profile", "get", [], {}, VIEW),
    ("accounts:profile", "post", [], {"time_zone": "Europe/Berlin", "date_format": "dmy"}, VIEW),
    ("accounts:sso_settings", "post", [], {"sso_default_role": "member"}, MANAGE),
    ("alerts:incident_detail", "get", ["incident"], {}, SCOPED_VIEW),
    ("alerts:incident_snooze", "post", ["incident"], {"minutes": "60"}, TRIAGE_OBJECT),
    ("alerts:rule_new", "get", [], {}, MANAGE),
    (
        "alerts:rule_new",
        "post",
        [],
        {
            "name": "r",
            "condition": "new_error_group",
            "operator": ">",
            "window_minutes": "5",
            "evaluation_periods": "1",
            "breaching_periods": "1",
            "target": "all",
            "min_interval_minutes": "30",
        },
        MANAGE,
    ),
    ("alerts:rule_toggle", "post", ["rule", "muted"], {}, MANAGE_OBJECT),
    ("alerts:rule_edit", "get", ["rule"], {}, MANAGE_OBJECT),
    ("alerts:channel_new", "get", ["email"], {}, MANAGE),
    ("alerts:channel_detail", "get", ["channel"], {}, SCOPED_VIEW),
    ("alerts:channel_test", "post", ["channel"], {}, MANAGE_OBJECT),
    ("alerts:channel_recipients_invite", "post", ["channel"], {}, MANAGE_OBJECT),
    ("alerts:channel_recipient_link", "post", ["channel", "recipient"], {}, MANAGE_OBJECT),
    ("alerts:channel_enable", "post", ["channel"], {}, MANAGE_OBJECT),
    ("alerts:channel_edit", "get", ["channel"], {}, MANAGE_OBJECT),
    ("alerts:channel_delete", "get", ["channel"], {}, MANAGE_OBJECT),
    ("alerts:channel_delete", "post", ["channel"], {}, MANAGE_OBJECT),
    ("alerts:rule_duplicate", "post", ["rule"], {}, MANAGE_OBJECT),
    ("alerts:rule_delete", "post", ["rule"], {}, MANAGE_OBJECT),
    ("alerts:rule_mute", "post", ["rule"], {"minutes": "60"}, MANAGE_OBJECT),
    ("alerts:incident_acknowledge", "post", ["incident"], {}, TRIAGE_OBJECT),
    ("alerts:incident_assign", "post", ["incident"], {"assignee": ""}, TRIAGE_OBJECT),
    ("alerts:incident_resolve", "post", ["incident"], {}, TRIAGE_OBJECT),
    ("accounts:settings", "get", [], {}, VIEW),
    ("accounts:aws_accounts", "get", [], {}, VIEW),
    ("monitoring:resource_detail", "get", ["resource"], {}, SCOPED_VIEW),
    ("monitoring:project_create", "post", [], {"name": "Team", "tag": "team=checkout"}, MANAGE),
    ("monitoring:project_delete", "post", ["project"], {}, MANAGE_OBJECT),
    ("monitoring:invocation_detail", "get", ["invocation"], {}, SCOPED_VIEW),
    ("monitoring:error_group_detail", "get", ["error_group"], {}, SCOPED_VIEW),
    ("monitoring:error_group_status", "post", ["error_group"], {"status": "resolved"}, TRIAGE_OBJECT),
    ("accounts:member_detail", "get", ["viewer_membership"], {}, SCOPED_VIEW),
    ("accounts:aws_account_detail", "get", ["account"], {}, SCOPED_VIEW),
    ("accounts:aws_account_setup", "get", ["account"], {}, MANAGE_OBJECT),
    ("accounts:aws_account_template", "get", ["account"], {}, MANAGE_OBJECT),
    ("accounts:aws_account_action", "post", ["account", "pause"], {}, MANAGE_OBJECT),
    ("accounts:aws_account_intervals", "post", ["account"], {"sqs.queue": "600"}, MANAGE_OBJECT),
    ("accounts:aws_account_filters", "post", ["account"], {"exclude": "*-dev"}, MANAGE_OBJECT),
    ("accounts:aws_account_budget", "post", ["account"], {"budget_usd": "20"}, MANAGE_OBJECT),
    ("monitoring:aws_account_ingestion", "post", ["account"], {"action": "push"}, MANAGE_OBJECT),
    ("monitoring:aws_account_push_stack", "get", ["account"], {"region": "us-east-1"}, MANAGE_OBJECT),
    ("monitoring:aws_account_subscriptions", "post", ["account"], {"region": "us-east-1"}, MANAGE_OBJECT),
    ("accounts:aws_accounts", "post", [], {"name": "New"}, MANAGE),
    ("accounts:api_tokens", "get", [], {}, MANAGE),
    ("accounts:api_tokens", "post", [], {"name": "grafana"}, MANAGE),
    ("accounts:api_token_revoke", "post", ["token"], {}, MANAGE_OBJECT),
    ("accounts:audit_log", "get", [], {}, MANAGE),
    ("accounts:audit_log_csv", "get", [], {}, MANAGE),
    ("accounts:invitation_create", "post", [], {"email": "x@acme.test", "role": "viewer"}, MANAGE),
    ("accounts:invitation_action", "post", ["invitation", "resend"], {}, MANAGE_OBJECT),
    ("accounts:member_role", "post", ["viewer_membership"], {"role": "member"}, MANAGE_OBJECT),
    ("accounts:member_remove", "post", ["member_membership"], {}, MANAGE_OBJECT),
    (
        "accounts:organization_edit",
        "post",
        [],
        {"name": "Acme 2", "time_zone": "UTC", "raw_retention_days": "14", "rollup_retention_days": "400"},
        OWN,
    ),
    ("accounts:ownership_transfer", "post", [], {"member": "viewer_membership"}, OWN_OBJECT),
]


def outcome(status: int) -> Any:
    return OK if 200 <= status < 300 or status == 302 else status  # "ok": 2xx or a redirect


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "args", "data", "expected"), MATRIX, ids=[f"{m[0]}-{m[1]}" for m in MATRIX])
def test_permission_matrix(
    world: World, role: str, name: str, method: str, args: list[Any], data: dict[str, str], expected: dict[str, Any]
) -> None:
    url = reverse(name, args=[world.objects.get(a, a) for a in args])
    data = {k: str(world.objects.get(v, v)) for k, v in data.items()}
    response = getattr(world.clients[role], method)(url, data)
    assert outcome(response.status_code) == expected[role], f"{role} {method.upper()} {url}: {response.status_code}"


def test_anonymous_visitors_are_sent_to_sign_in(world: World) -> None:
    for name, _method, args, _data, _expected in MATRIX:
        url = reverse(name, args=[world.objects.get(a, a) for a in args])
        response = Client().get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"], url


def test_the_matrix_covers_every_named_view_of_the_app() -> None:
    import importlib

    covered = {m[0] for m in MATRIX}
    # Public or self-service: tested in test_organizations, test_admin_console, test_digests,
    # test_channel_tests (recipient_confirm).
    public = {
        "accounts:invitation",
        "accounts:organization_switch",
        "alerts:digest_unsubscribe",
        "alerts:recipient_confirm",
        "monitoring:ingest_firehose",  # Firehose's, by access key: test_push_ingest
    }
    names = {
        f"{urls.app_name}:{pattern.name}"
        for urls in map(importlib.import_module, ["accounts.urls", "monitoring.urls", "insights.urls", "alerts.urls"])
        for pattern in urls.urlpatterns
        if pattern.name
    }
    assert names - public - covered == set()


def test_admins_cannot_make_owners_and_the_last_owner_stays(world: World, owner: Any) -> None:
    admin_client = world.clients["admin"]
    admin_client.post(reverse("accounts:member_role", args=[world.objects["viewer_membership"]]), {"role": "owner"})
    assert Membership.objects.get(pk=world.objects["viewer_membership"]).role == Role.VIEWER

    owner.client().post(reverse("accounts:member_role", args=[owner.membership.pk]), {"role": "admin"})
    assert Membership.objects.get(pk=owner.membership.pk).role == Role.OWNER
    owner.client().post(reverse("accounts:member_remove", args=[owner.membership.pk]))
    assert Membership.objects.filter(pk=owner.membership.pk).exists()
