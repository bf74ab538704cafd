"""Incidents and their notifications (an outbox: docs/architecture.md §2).

1. `rule_evaluate` compares each rule's breaches with its open incidents: a new breach
   opens an incident (or re-opens the last one of that subject, resolved within a day),
   a cleared one resolves it. Each transition writes an IncidentEvent in the same
   transaction; the partial unique index keeps one open incident per rule × subject, so a
   duplicate beat tick changes nothing.
2. `event_dispatch` claims an event with a conditional UPDATE (two dispatchers never
   send it twice), sends one Notification per channel of the rule (alerts.delivery),
   records every attempt, and disables a channel that failed permanently, saying why.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization
from kinds import lambda_function

from .bounds import describe_problems, rule_problems
from .channels import ConfigError, Notice, get_kind
from .delivery import channel_send
from .evaluation import (
    anomaly_breaches,
    anomaly_text,
    condition_text,
    error_group_breaches,
    finding_breaches,
    occurrence_breaches,
    open_error_group_subjects,
    open_finding_subjects,
    threshold_breaches,
)
from .models import AlertRule, Channel, DigestSubscription, Incident, IncidentEvent, IncidentStatus, Notification
from .recipients import recipients_invite
from .selectors import topic_in_validated_account

REOPEN_WITHIN = timedelta(days=1)
NOTICE_EVENTS = (IncidentEvent.Kind.OPENED, IncidentEvent.Kind.REOPENED, IncidentEvent.Kind.OCCURRED)
logger = logging.getLogger(__name__)


def _event(incident: Incident, kind: str, now: datetime, *, actor: Any = None, detail: str = "") -> IncidentEvent:
    """A timeline entry; one that notifies nobody is written already dispatched."""
    done = None if kind in IncidentEvent.NOTIFYING else now
    return IncidentEvent.objects.create(
        incident=incident,
        kind=kind,
        created_at=now,
        actor=actor,
        detail=detail[:300],
        claimed_at=done,
        dispatched_at=done,
    )


class RuleOutOfBounds(ValueError):
    """A stored rule whose numbers cannot be evaluated (see alerts.bounds)."""


def rule_evaluate(rule: AlertRule, now: datetime | None = None) -> dict[str, int]:
    """Open, re-open and resolve the rule's incidents; returns counts of each transition.
    Raises RuleOutOfBounds, before reading anything, for a rule outside alerts.bounds."""
    now = now or timezone.now()
    problems = rule_problems(
        condition=rule.condition,
        window_minutes=rule.window_minutes,
        evaluation_periods=rule.evaluation_periods,
        breaching_periods=rule.breaching_periods,
        threshold=rule.threshold,
        min_interval_minutes=rule.min_interval_minutes,
        threshold_upper=rule.threshold_upper,
        max_notifications_per_hour=rule.max_notifications_per_hour,
    )
    if problems:
        raise RuleOutOfBounds(describe_problems(problems))
    since = rule.last_evaluated_at or (now - timedelta(minutes=max(rule.window_minutes, 5)))
    if rule.condition == AlertRule.Condition.THRESHOLD:
        found, kept = threshold_breaches(rule, now)
        holding = {b.subject for b in found} | kept
    elif rule.condition == AlertRule.Condition.ERROR_OCCURRENCE:
        found = occurrence_breaches(rule, since)
        holding = open_error_group_subjects(rule)
    elif rule.condition == AlertRule.Condition.ANOMALY:
        found = anomaly_breaches(rule, now)
        holding = {b.subject for b in found}
    elif rule.condition == AlertRule.Condition.NEW_ERROR_GROUP:
        found = error_group_breaches(rule, since)
        holding = open_error_group_subjects(rule)
    else:
        found = finding_breaches(rule, since)
        holding = open_finding_subjects(rule)
    counts = {"opened": 0, "reopened": 0, "resolved": 0, "occurred": 0}
    occurrences = rule.condition == AlertRule.Condition.ERROR_OCCURRENCE
    sent_this_hour = (
        IncidentEvent.objects.filter(
            incident__rule=rule, kind__in=NOTICE_EVENTS, created_at__gt=now - timedelta(hours=1)
        ).count()
        if occurrences
        else 0
    )
    with transaction.atomic():
        open_incidents = {
            i.subject: i for i in Incident.objects.select_for_update().filter(rule=rule, status=IncidentStatus.OPEN)
        }
        for breach in found:
            incident = open_incidents.get(breach.subject)
            if incident is not None:
                if occurrences and (breach.value or 0) > (incident.value or 0):
                    if sent_this_hour >= rule.max_notifications_per_hour:
                        continue  # over the rule's rate: the next allowed notice counts these too
                    new = int((breach.value or 0) - (incident.value or 0))
                    _event(incident, IncidentEvent.Kind.OCCURRED, now, detail=f"{new} more occurrence(s)")
                    sent_this_hour += 1
                    counts["occurred"] += 1
                Incident.objects.filter(pk=incident.pk).update(value=breach.value, summary=breach.summary)
                continue
            if occurrences and sent_this_hour >= rule.max_notifications_per_hour:
                continue
            previous = (
                Incident.objects.filter(
                    rule=rule,
                    subject=breach.subject,
                    status=IncidentStatus.RESOLVED,
                    resolved_at__gte=now - REOPEN_WITHIN,
                )
                .order_by("-resolved_at")
                .first()
            )
            try:
                with transaction.atomic():
                    if previous is not None:
                        previous.status, previous.resolved_at = IncidentStatus.OPEN, None
                        previous.value, previous.summary = breach.value, breach.summary
                        previous.reopen_count += 1
                        previous.save()
                        _event(previous, IncidentEvent.Kind.REOPENED, now)
                        counts["reopened"] += 1
                    else:
                        incident = Incident.objects.create(
                            organization=rule.organization,
                            rule=rule,
                            rule_name=rule.name,
                            resource=breach.resource,
                            subject=breach.subject,
                            title=breach.title[:300],
                            summary=breach.summary,
                            value=breach.value,
                            opened_at=now,
                        )
                        _event(incident, IncidentEvent.Kind.OPENED, now)
                        counts["opened"] += 1
                    sent_this_hour += 1
            except IntegrityError:
                continue  # another evaluation opened it a moment ago
        for subject, incident in open_incidents.items():
            if subject not in holding:
                changed = Incident.objects.filter(pk=incident.pk, status=IncidentStatus.OPEN).update(
                    status=IncidentStatus.RESOLVED, resolved_at=now
                )
                if changed:
                    _event(incident, IncidentEvent.Kind.RESOLVED, now, detail="the condition cleared")
                    counts["resolved"] += 1
        AlertRule.objects.filter(pk=rule.pk).update(last_evaluated_at=now, last_error="", last_error_at=None)
    return counts


def rules_evaluate(*, now: datetime | None = None) -> dict[str, int]:
    """Evaluate every enabled rule of every organisation, each on its own.

    A rule that is out of bounds or raises is recorded on the rule (`last_error`, shown on
    the Alerts page) and skipped; its savepoint rolls back whatever it half-wrote, and the
    rules after it evaluate as if it did not exist. Returns transition counts plus `failed`.
    """
    totals = {"opened": 0, "reopened": 0, "resolved": 0, "occurred": 0, "failed": 0}
    rules = AlertRule.objects.filter(enabled=True).select_related("organization").order_by("pk")
    for rule in rules.iterator(chunk_size=500):
        try:
            with transaction.atomic():
                counts = rule_evaluate(rule, now)
        except SoftTimeLimitExceeded:
            raise  # the task's time is up: stop, the next tick starts over
        except Exception as exc:
            message = str(exc) if isinstance(exc, RuleOutOfBounds) else f"{type(exc).__name__}: {exc}"
            logger.warning("alert rule %s (%s) skipped: %s", rule.pk, rule.organization.slug, message, exc_info=True)
            AlertRule.objects.filter(pk=rule.pk).update(last_error=message[:1000], last_error_at=timezone.now())
            totals["failed"] += 1
            continue
        for key, value in counts.items():
            totals[key] += value
    return totals


def incident_url(incident: Incident) -> str:
    """The incident's page: every notification links back to it."""
    return f"{settings.SITE_URL}/alerts/incidents/{incident.pk}/"


def notice_for(incident: Incident, kind: str, detail: str = "") -> Notice:
    rule = incident.rule
    rule_name = rule.name if rule is not None else incident.rule_name
    finding = rule is not None and rule.condition == AlertRule.Condition.NEW_FINDING
    fields: dict[str, str] = {"Rule": rule_name}
    if rule is not None and rule.condition == AlertRule.Condition.THRESHOLD:
        fields["Condition"] = condition_text(rule)
    elif rule is not None and rule.condition == AlertRule.Condition.ANOMALY:
        fields["Condition"] = anomaly_text(rule)
    if incident.value is not None:
        fields["Value"] = f"{incident.value:g}"
    if detail:
        fields["Detail"] = detail
    if incident.resource:
        fields.update({"Resource": incident.resource.name, "Region": incident.resource.region})
    return Notice(
        kind=kind,
        title=incident.title,
        summary=incident.summary,
        severity="warning" if finding else "critical",
        organization=incident.organization.name,
        url=incident_url(incident),
        incident_id=incident.pk,
        dedup_key=f"dashbird-incident-{incident.pk}",
        resource=incident.resource.name if incident.resource else None,
        rule=rule_name,
        fields=fields,
        occurred_at=(
            incident.resolved_at if kind == "resolved" and incident.resolved_at else timezone.now()
        ).isoformat(),
    )


@transaction.atomic
def channel_create(
    *, organization: Any, kind: str, name: str, config: dict[str, Any]
) -> tuple[Channel, tuple[int, int]]:
    """A new channel; for e-mail, a confirmation link to each address outside the
    organisation. Returns the channel and (links queued, links held back by the limits)."""
    channel = Channel.objects.create(organization=organization, kind=kind, name=name, config=config)
    return channel, recipients_invite(channel=channel) if kind == "email" else (0, 0)


def channel_config_clean(*, organization: Organization, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The configuration to store for a channel of `kind`, or ConfigError naming the field:
    the kind's own validation, plus what depends on the organisation (an SNS topic must be
    in one of its validated AWS accounts)."""
    cleaned = get_kind(kind).validate_config(config)
    if kind == "sns" and not topic_in_validated_account(organization, cleaned["topic_arn"]):
        raise ConfigError(
            "topic_arn",
            "must be in one of this organisation's validated AWS accounts "
            "(connect the account first: its role publishes the notifications)",
            label="Topic ARN",
        )
    return cleaned


@transaction.atomic
def rule_create(*, organization: Organization, form: Any, enabled: bool = True, muted: bool = False) -> AlertRule:
    """A rule from a valid alerts.forms.RuleForm."""
    rule = form.save(commit=False)
    rule.organization, rule.enabled, rule.muted = organization, enabled, muted
    rule.save()
    form.save_m2m()
    return rule


@transaction.atomic
def rule_update(*, form: Any, enabled: bool | None = None, muted: bool | None = None) -> AlertRule:
    """Save a valid alerts.forms.RuleForm bound to an existing rule, with its switches."""
    rule: AlertRule = form.save(commit=False)
    if enabled is not None:
        rule.enabled = enabled
    if muted is not None:
        rule.muted = muted
    rule.last_error, rule.last_error_at = "", None  # a changed rule is evaluated afresh
    rule.save()
    form.save_m2m()
    return rule


def channel_enable(*, channel: Channel) -> None:
    """Turn a channel back on, forgetting why it was disabled."""
    Channel.objects.filter(pk=channel.pk).update(enabled=True, disabled_reason="")


RULE_SWITCHES = frozenset({"enabled", "muted"})


def rule_switch(*, rule: AlertRule, field: str) -> bool:
    """Flip one of the rule's switches (`enabled` or `muted`); returns its new value."""
    if field not in RULE_SWITCHES:
        raise ValueError(f"{field!r} is not a switch of a rule.")
    if field == "muted":  # unmuting also ends a mute until a time
        value = not rule.is_muted(timezone.now())
        rule.muted, rule.muted_until = value, None
        rule.save(update_fields=["muted", "muted_until"])
        return value
    value = not getattr(rule, field)
    setattr(rule, field, value)
    rule.save(update_fields=[field])
    return value


def digest_subscription_set(*, organization: Organization, user: User, frequency: str, hour: int) -> DigestSubscription:
    subscription, _ = DigestSubscription.objects.update_or_create(
        organization=organization, user=user, defaults={"frequency": frequency, "hour": hour}
    )
    return subscription


def digest_subscription_delete(*, subscription: DigestSubscription) -> None:
    subscription.delete()


def event_dispatch(event_id: int) -> list[Notification]:
    """Claim one outbox event and deliver it to the rule's channels."""
    now = timezone.now()
    if not IncidentEvent.objects.filter(pk=event_id, claimed_at=None).update(claimed_at=now):
        return []  # another dispatcher has it
    event = IncidentEvent.objects.select_related("incident__rule", "incident__organization", "incident__resource").get(
        pk=event_id
    )
    incident, rule = event.incident, event.incident.rule
    if event.kind not in IncidentEvent.NOTIFYING:
        IncidentEvent.objects.filter(pk=event.pk).update(dispatched_at=now)
        return []
    if rule is not None:
        channels = list(rule.channels.filter(enabled=True))
        muted = rule.is_muted(now)
        min_interval = timedelta(minutes=rule.min_interval_minutes)
    else:
        # The rule was deleted: the resolution goes wherever the incident was notified.
        notified = Notification.objects.filter(event__incident=incident).values("channel_id")
        channels = list(Channel.objects.filter(pk__in=notified, enabled=True))
        muted, min_interval = False, timedelta(0)
    sent: list[Notification] = []
    quiet = muted or (
        event.kind != IncidentEvent.Kind.RESOLVED
        and incident.snoozed_until is not None
        and incident.snoozed_until > now
    )
    # Every-occurrence rules are paced by their hourly limit at evaluation, not by the interval.
    too_soon = (
        event.kind not in (IncidentEvent.Kind.RESOLVED, IncidentEvent.Kind.OCCURRED)
        and incident.last_notified_at is not None
        and now - incident.last_notified_at < min_interval
    )
    if not (quiet or too_soon):
        notice = notice_for(incident, event.kind, event.detail)
        for channel in channels:
            sent.append(channel_send(channel=channel, notice=notice, event=event))
        if sent:
            Incident.objects.filter(pk=incident.pk).update(last_notified_at=now)
    # The timeline says why nobody was told.
    why = (
        "the rule is muted"
        if muted
        else "the incident is snoozed"
        if quiet
        else "within the rule's minimum interval"
        if too_soon
        else "no enabled channel"
        if not channels
        else ""
    )
    detail = "; ".join(filter(None, [event.detail, f"not notified: {why}" if why else ""]))[:300]
    IncidentEvent.objects.filter(pk=event.pk).update(dispatched_at=timezone.now(), detail=detail)
    return sent


def pending_events(limit: int = 200) -> list[int]:
    """Unclaimed events, and claimed ones a crashed dispatcher left behind for 10 minutes."""
    stale = timezone.now() - timedelta(minutes=10)
    fresh = IncidentEvent.objects.filter(dispatched_at=None, claimed_at=None).values_list("pk", flat=True)[:limit]
    ids = list(fresh)
    stuck = IncidentEvent.objects.filter(dispatched_at=None, claimed_at__lt=stale)
    for pk in stuck.values_list("pk", flat=True)[:limit]:
        IncidentEvent.objects.filter(pk=pk, claimed_at__lt=stale).update(claimed_at=None)
        ids.append(pk)
    return ids


@transaction.atomic
def incident_snooze(*, incident: Incident, minutes: int, user: Any = None) -> None:
    now = timezone.now()
    Incident.objects.filter(pk=incident.pk).update(snoozed_until=now + timedelta(minutes=minutes))
    _event(incident, IncidentEvent.Kind.SNOOZED, now, actor=user, detail=f"for {minutes} minutes")


@transaction.atomic
def incident_acknowledge(*, incident: Incident, user: Any) -> bool:
    """Someone is on it; False when it was already acknowledged or is resolved."""
    now = timezone.now()
    changed = Incident.objects.filter(pk=incident.pk, status=IncidentStatus.OPEN, acknowledged_at=None).update(
        acknowledged_at=now, acknowledged_by=user
    )
    if changed:
        _event(incident, IncidentEvent.Kind.ACKNOWLEDGED, now, actor=user)
    return bool(changed)


@transaction.atomic
def incident_assign(*, incident: Incident, assignee: Any, user: Any) -> None:
    """Assign to a member of the incident's organisation (None: nobody). The caller checks
    membership (alerts.selectors.assignable_members)."""
    Incident.objects.filter(pk=incident.pk).update(assignee=assignee)
    detail = f"to {assignee.email}" if assignee is not None else "to nobody"
    _event(incident, IncidentEvent.Kind.ASSIGNED, timezone.now(), actor=user, detail=detail)


@transaction.atomic
def incident_resolve(*, incident: Incident, user: Any, detail: str = "") -> bool:
    """Resolve by hand (notifies like an automatic resolution); False when it was not open.
    A condition that still holds opens it again at the next evaluation."""
    now = timezone.now()
    changed = Incident.objects.filter(pk=incident.pk, status=IncidentStatus.OPEN).update(
        status=IncidentStatus.RESOLVED, resolved_at=now
    )
    if changed:
        _event(incident, IncidentEvent.Kind.RESOLVED, now, actor=user, detail=detail or "resolved by hand")
    return bool(changed)


# --- rules ---------------------------------------------------------------------------------------


@transaction.atomic
def rule_duplicate(*, rule: AlertRule) -> AlertRule:
    """A disabled copy (same condition, targets and channels) to edit before enabling it."""
    channels, resources = list(rule.channels.all()), list(rule.target_resources.all())
    copy = AlertRule.objects.get(pk=rule.pk)
    copy.pk = None
    copy.name = f"Copy of {rule.name}"[:120]
    copy.enabled = False
    copy.last_evaluated_at = copy.last_error_at = None
    copy.last_error = ""
    copy.save()
    copy.channels.set(channels)
    copy.target_resources.set(resources)
    return copy


@transaction.atomic
def rule_delete(*, rule: AlertRule, user: Any = None) -> int:
    """Delete a rule; its incidents stay as history (with the rule's name), the open ones
    resolved, their resolution sent to the channels they were notified on. Returns how many
    were resolved."""
    now = timezone.now()
    Incident.objects.filter(rule=rule, rule_name="").update(rule_name=rule.name)
    resolved = 0
    for incident in Incident.objects.select_for_update().filter(rule=rule, status=IncidentStatus.OPEN):
        Incident.objects.filter(pk=incident.pk).update(status=IncidentStatus.RESOLVED, resolved_at=now)
        _event(incident, IncidentEvent.Kind.RESOLVED, now, actor=user, detail="its rule was deleted")
        resolved += 1
    rule.delete()
    return resolved


MUTE_MAX = timedelta(days=90)


def rule_mute(*, rule: AlertRule, until: datetime | None) -> None:
    """Mute until a moment (None: unmute). Muted rules evaluate and record, notify nobody."""
    if until is not None and not timezone.now() < until <= timezone.now() + MUTE_MAX:
        raise ValueError("Mute until a moment in the next 90 days.")
    AlertRule.objects.filter(pk=rule.pk).update(muted_until=until, muted=False)


# --- channels ------------------------------------------------------------------------------------


class ChannelInUse(ValueError):
    """A channel that rules still notify: reassign them first."""


@transaction.atomic
def channel_update(
    *, channel: Channel, name: str, config: dict[str, Any], enabled: bool | None = None
) -> tuple[int, int]:
    """Save an edited channel (config cleaned by `channel_config_clean`; the form kept any
    secret left empty); re-enabling clears why it was disabled. For e-mail, confirmation
    links to addresses added outside the organisation. Returns (links queued, held back)."""
    channel.name, channel.config = name, config
    if enabled is not None and enabled != channel.enabled:
        channel.enabled = enabled
        channel.disabled_reason = "" if enabled else channel.disabled_reason
    channel.save()
    return recipients_invite(channel=channel) if channel.kind == "email" else (0, 0)


@transaction.atomic
def channel_delete(*, channel: Channel, reassign_to: Channel | None = None) -> int:
    """Delete a channel. While rules notify it, refused (ChannelInUse) unless `reassign_to`,
    another channel of the organisation, takes its place in those rules. Returns how many
    rules were reassigned. Past notifications go with the channel."""
    rules = list(AlertRule.objects.select_for_update().filter(channels=channel))
    if rules and reassign_to is None:
        names = ", ".join(r.name for r in rules[:5]) + ("…" if len(rules) > 5 else "")
        raise ChannelInUse(f"{len(rules)} rule(s) notify this channel ({names}): choose a channel to take its place.")
    if reassign_to is not None and (
        reassign_to.pk == channel.pk or reassign_to.organization_id != channel.organization_id
    ):
        raise ValueError("Choose another channel of this organisation.")
    for rule in rules:
        rule.channels.remove(channel)
        if reassign_to is not None:
            rule.channels.add(reassign_to)
    channel.delete()
    return len(rules)


def default_rules_create(*, organization: Any) -> list[AlertRule]:
    """Sensible rules every organisation starts with (no channel: incidents show on the Alerts page)."""
    specs: list[dict[str, Any]] = [
        {"name": "Error rate above 5 %", "metric": "error_rate", "operator": ">", "threshold": 5, "window_minutes": 10,
         "evaluation_periods": 2, "breaching_periods": 2, "target": "kind", "target_kind": lambda_function.KIND},
        {"name": "Timeouts", "metric": "timeouts", "operator": ">=", "threshold": 1, "window_minutes": 5,
         "target": "kind", "target_kind": lambda_function.KIND},
        {"name": "Out of memory", "metric": "out_of_memory", "operator": ">=", "threshold": 1, "window_minutes": 5,
         "target": "kind", "target_kind": lambda_function.KIND},
        {"name": "New errors and regressions", "condition": "new_error_group"},
        {"name": "New critical findings", "condition": "new_finding", "finding_severity": "critical"},
    ]  # fmt: skip
    return [AlertRule.objects.create(organization=organization, **spec) for spec in specs]
