"""One organisation with one of every object the pages show, plus another tenant's, for
tests that walk every URL of the project."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.admin_services import invitation_create
from accounts.api_tokens import api_token_create
from accounts.models import Membership, Organization, Role
from accounts.services import aws_account_start, organization_create, user_create_verified

PASSWORD = "Correct-horse-42"


@dataclass
class World:
    organization: Organization
    clients: dict[str, Client]
    # Object ids by kind ("resource", "incident"…), and the other organisation's.
    ids: dict[str, int]
    foreign_ids: dict[str, int]
    api_secret: str
    tokens: dict[str, str] = field(default_factory=dict)  # invitation, digest unsubscribe
    account_name: str = "Prod"


def _objects(org: Organization, owner: Any, prefix: str) -> tuple[dict[str, int], str, dict[str, str]]:
    from alerts.digests import unsubscribe_token
    from alerts.models import AlertRule, Channel, DigestSubscription, Incident
    from insights.models import Anomaly, Finding
    from monitoring.models import ErrorGroup, LogLine, Project, Resource, Trace
    from monitoring.store.loglines import blocks_store
    from monitoring.store.partitions import ensure_partitions_for

    now = timezone.now()
    account = aws_account_start(organization=org, name="Prod")
    resource = Resource.objects.create(
        organization=org, account=account, region="us-east-1", kind="lambda.function",
        arn=f"arn:aws:lambda:us-east-1:1:function:{prefix}-f", name=f"{prefix}-f", first_seen=now, last_seen=now,
    )  # fmt: skip
    group = ErrorGroup.objects.create(
        organization=org, account=account, resource=resource, fingerprint=prefix * 40, kind="error",
        error_type="TypeError", message="x", first_seen=now, last_seen=now, count=1,
    )  # fmt: skip
    started = (now - timedelta(minutes=5)).replace(microsecond=0)  # may be yesterday's partition, just after midnight
    ensure_partitions_for("monitoring_invocation", [started])
    ensure_partitions_for("monitoring_logline", [started])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monitoring_invocation (organization_id, account_id, resource_id, request_id, attempt, status, "
            "started_at, cold_start, log_stream, complete) VALUES (%s, %s, %s, %s, 1, 'error', %s, false, 's', true) "
            "RETURNING id",
            [org.pk, account.pk, resource.pk, f"{prefix}-r1", started],
        )
        invocation_id = cursor.fetchone()[0]
    LogLine.objects.create(
        resource_id=resource.pk, account_id=account.pk, invocation_id=invocation_id, request_id=f"{prefix}-r1",
        ts=started, log_stream="s", event_id=f"{prefix}-e1", message='{"level": "ERROR"}',
    )  # fmt: skip
    # The invocation's X-Ray trace (the function's segment and one call) and an anomalous hour.
    ensure_partitions_for("monitoring_trace", [started])
    start = started.timestamp()
    Trace.objects.create(
        organization_id=org.pk, account_id=account.pk, resource_id=resource.pk, invocation_id=invocation_id,
        trace_id=f"1-00000000-{prefix * 24}", started_at=started, fetched_at=now, reason="failed",
        spans=[{"name": f"{prefix}-f", "start": start, "end": start + 0.2, "parent": None, "fault": True},
               {"name": "DynamoDB", "namespace": "aws", "operation": "GetItem", "resource": "t", "start": start + 0.01,
                "end": start + 0.05, "parent": 0, "error": True, "status": 400}],
    )  # fmt: skip
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    Anomaly.objects.create(
        organization=org, account=account, resource=resource, metric="invocations", hour=hour, observed=0,
        expected=120, low=60, high=200, score=-9.1, detected_at=now,
    )  # fmt: skip
    # Searched through its block, as ingestion writes one for every line.
    blocks_store(
        resource_id=resource.pk, account_id=account.pk, rows=[(int(started.timestamp() * 1000), b'{"level": "ERROR"}')]
    )
    finding = Finding.objects.create(
        organization=org, account=account, resource=resource, subject=f"r{resource.pk}", check_id="lambda-no-tracing",
        service="lambda", pillar="operational_excellence", severity="info", first_seen=now, last_seen=now,
    )  # fmt: skip
    project = Project.objects.create(organization=org, name="Everything", name_pattern="*")
    channel = Channel.objects.create(organization=org, kind="email", name="ops", config={"recipients": [owner.email]})
    rule = AlertRule.objects.create(organization=org, name="errors", metric="errors", threshold=1)
    incident = Incident.objects.create(organization=org, rule=rule, subject="r1", title="t", opened_at=now)
    request = RequestFactory().post("/")
    request.user = owner
    owner_membership = Membership.objects.get(organization=org, user=owner)
    invitation = invitation_create(
        organization=org, email=f"new-{prefix}@example.test", role="member", by=owner_membership, request=request
    )
    token, secret = api_token_create(organization=org, name="ci", by=owner, scope="write")
    subscription = DigestSubscription.objects.create(organization=org, user=owner, frequency="daily", hour=8)
    ids = {
        "account": account.pk, "resource": resource.pk, "error_group": group.pk, "invocation": invocation_id,
        "finding": finding.pk, "project": project.pk, "channel": channel.pk, "rule": rule.pk,
        "incident": incident.pk, "invitation": invitation.pk, "token": token.pk, "member": owner_membership.pk,
    }  # fmt: skip
    return ids, secret, {"digest": unsubscribe_token(subscription)}


def build_world() -> World:
    owner = user_create_verified(email="owner@acme.test", password=PASSWORD)
    org = organization_create(name="Acme", owner=owner)
    ids, secret, tokens = _objects(org, owner, "a")
    clients = {"owner": Client()}
    clients["owner"].force_login(owner)
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        user = user_create_verified(email=f"{role}@acme.test", password=PASSWORD)
        membership = Membership.objects.create(organization=org, user=user, role=role)
        ids[f"{role}_member"] = membership.pk
        clients[str(role)] = Client()
        clients[str(role)].force_login(user)
    outsider = user_create_verified(email="someone@globex.test", password=PASSWORD)
    other = organization_create(name="Globex", owner=outsider)
    foreign_ids, _, _ = _objects(other, outsider, "g")
    return World(org, clients, ids, foreign_ids, secret, tokens)
