"""Reads for the alerts pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone

import kinds
from accounts.models import Organization
from accounts.selectors import get_scoped_or_404, members_of, validated_aws_accounts
from monitoring.models import Resource

from .channels import get_kind
from .channels.sns import topic_account
from .delivery import TEST_EXPIRES, next_test_at
from .models import AlertRule, Channel, Incident, IncidentEvent, Notification
from .recipients import recipient_states

WAITING = timedelta(minutes=1)  # a test queued longer than this is waiting for a worker


def get_incident_for_user(user: Any, organization: Organization | None, pk: int) -> Incident:
    return get_scoped_or_404(
        Incident.objects.select_related("rule", "resource", "assignee", "acknowledged_by"),
        organization=organization,
        pk=pk,
    )


def get_rule_for_user(user: Any, organization: Organization | None, pk: int) -> AlertRule:
    return get_scoped_or_404(AlertRule.objects.all(), organization=organization, pk=pk)


def get_channel_for_user(user: Any, organization: Organization | None, pk: int) -> Channel:
    return get_scoped_or_404(Channel.objects.select_related("organization"), organization=organization, pk=pk)


def incidents_for(organization: Organization, status: str) -> QuerySet[Incident]:
    return Incident.objects.filter(organization=organization, status=status).select_related(
        "rule", "resource", "assignee"
    )


def assignable_members(organization: Organization) -> list[Any]:
    """The users an incident of the organisation may be assigned to: its members."""
    return [m.user for m in members_of(organization)]


def rules_using(channel: Channel) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(channels=channel).order_by("name")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str  # opened, reopened, occurred, notified, acknowledged, assigned, snoozed, resolved
    who: str  # a member's e-mail, or "Dashbird" for the evaluation
    detail: str
    failed: bool = False


def incident_timeline(incident: Incident) -> list[TimelineEntry]:
    """Everything that happened to an incident, oldest first: its events (with who) and
    each notification with its channel and outcome."""
    entries = [
        TimelineEntry(e.created_at, e.kind, e.actor.email if e.actor else "Dashbird", e.detail)
        for e in IncidentEvent.objects.filter(incident=incident).select_related("actor")
    ]
    for n in Notification.objects.filter(event__incident=incident).select_related("channel", "event"):
        outcome = n.status + (f": {n.error}" if n.error else "")
        entries.append(
            TimelineEntry(
                n.created_at,
                "notified",
                "Dashbird",
                f"{n.channel.name} ({n.event.kind if n.event else 'event'}): {outcome}",
                failed=n.status == "failed",
            )
        )
    return sorted(entries, key=lambda e: (e.at, e.what == "notified"))


def rules_of(organization: Organization) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(organization=organization).prefetch_related("channels")


def rules_watching(resource: Resource) -> list[AlertRule]:
    """The organisation's rules whose target includes the resource and whose condition can
    apply to its kind (a threshold on a metric the kind has, error groups and occurrences, new
    findings)."""
    kind = kinds.REGISTRY.get(resource.kind)
    alertable = set(kind.alertable_metrics) if kind else set()
    has_error_groups = kind is not None and any(s.source == "error_groups" for s in kind.sections)
    candidates = (
        AlertRule.objects.filter(organization_id=resource.organization_id)
        .filter(
            Q(target=AlertRule.Target.ALL)
            | Q(target=AlertRule.Target.ACCOUNT, target_account_id=resource.account_id)
            | Q(target=AlertRule.Target.KIND, target_kind=resource.kind)
            | Q(target=AlertRule.Target.RESOURCES, target_resources=resource)
            | Q(target=AlertRule.Target.PROJECT)
        )
        .select_related("target_project")
        .distinct()
        .order_by("name")
    )
    out = []
    for rule in candidates:
        if rule.condition == AlertRule.Condition.THRESHOLD and rule.metric not in alertable:
            continue
        errors_only = (AlertRule.Condition.NEW_ERROR_GROUP, AlertRule.Condition.ERROR_OCCURRENCE)
        if rule.condition in errors_only and not has_error_groups:
            continue
        if rule.target == AlertRule.Target.PROJECT:  # one query per project rule, never per resource
            project = rule.target_project
            if project is None or not project.resources().filter(pk=resource.pk).exists():
                continue
        out.append(rule)
    return out


def incidents_of(resource: Resource, limit: int = 10) -> list[Incident]:
    """The resource's incidents, open ones first, then the latest."""
    return list(
        Incident.objects.filter(resource=resource).select_related("rule").order_by("status", "-opened_at")[:limit]
    )


def channels_of(organization: Organization) -> QuerySet[Channel]:
    return Channel.objects.filter(organization=organization)


def incident_notifications(incident: Incident) -> QuerySet[Notification]:
    return Notification.objects.filter(event__incident=incident).select_related("channel", "event")


def topic_in_validated_account(organization: Organization, topic_arn: str) -> bool:
    """SNS publishes through the role of the topic's account: one this organisation proved it controls."""
    owned = set(validated_aws_accounts(organization).values_list("aws_account_id", flat=True))
    return topic_account(topic_arn) in owned


@dataclass(frozen=True)
class ChannelTestRow:
    notification: Notification
    # queued | waiting (for a worker) | expired (no worker took it) | sending | sent | failed | skipped
    state: str

    @property
    def in_progress(self) -> bool:
        return self.state in {"queued", "waiting", "sending"}


def channel_test_state(notification: Notification, now: datetime) -> str:
    if notification.status != "pending":
        return notification.status
    age = now - notification.created_at
    if age > TEST_EXPIRES:
        return "expired"
    return "waiting" if age > WAITING else "queued"


def _clock(moment: datetime | None, channel: Channel) -> str:
    """HH:MM in the organisation's time zone, as the rate-limit message says it (a string:
    template filters would convert a datetime back to the server's zone)."""
    if moment is None:
        return ""
    return f"{timezone.localtime(moment, ZoneInfo(channel.organization.time_zone)):%H:%M}"


def channel_page(channel: Channel) -> dict[str, Any]:
    """What the channel page shows: its description, its recipients' states (e-mail), its
    tests with their outcome, and its latest incident notifications."""
    now = timezone.now()
    try:
        description = get_kind(channel.kind).describe(channel.config)
    except KeyError:
        description = f"{channel.kind} (not installed)"
    tests = [
        ChannelTestRow(n, channel_test_state(n, now))
        for n in Notification.objects.filter(channel=channel, is_test=True).select_related("sent_by")[:10]
    ]
    recipients = (
        recipient_states(organization=channel.organization, addresses=list(channel.config.get("recipients", [])))
        if channel.kind == "email"
        else []
    )
    return {
        "channel": channel,
        "description": description,
        "recipients": recipients,
        "unasked": sum(1 for r in recipients if r.state == "unasked"),
        "tests": tests,
        "testing": any(t.in_progress for t in tests),
        "next_test_at": _clock(next_test_at(channel, now), channel),
        "deliveries": Notification.objects.filter(channel=channel, is_test=False).select_related("event__incident")[
            :20
        ],
    }
