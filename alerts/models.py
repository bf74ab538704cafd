from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from accounts.encryption import EncryptedJSONField
from accounts.models import AwsAccount, Organization
from monitoring.models import Project, Resource


class Channel(models.Model):
    """Where notifications go: one configured instance of a kind (alerts/channels/)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=32)
    name = models.CharField(max_length=120)
    # Encrypted as a whole: URLs, routing keys and signing secrets are credentials.
    config = EncryptedJSONField(default=dict)
    enabled = models.BooleanField(default=True)
    # Set when a delivery failed permanently (bad URL, revoked webhook…): shown on its page.
    disabled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class AlertRule(models.Model):
    class Target(models.TextChoices):
        ALL = "all", "All resources"
        ACCOUNT = "account", "An AWS account"
        KIND = "kind", "A resource kind"
        PROJECT = "project", "A project"
        RESOURCES = "resources", "Chosen resources"

    class Condition(models.TextChoices):
        THRESHOLD = "threshold", "A metric crosses a threshold"
        NEW_ERROR_GROUP = "new_error_group", "A new error group or a regression"
        NEW_FINDING = "new_finding", "A new insight finding"
        ERROR_OCCURRENCE = "error_occurrence", "Every occurrence of an error"
        ANOMALY = "anomaly", "A metric leaves its normal band (anomaly)"

    class Operator(models.TextChoices):
        ABOVE = ">", "above"
        AT_LEAST = ">=", "at or above"
        BELOW = "<", "below"
        AT_MOST = "<=", "at or below"
        OUTSIDE = "outside", "outside the band"

    class MissingData(models.TextChoices):
        OK = "ok", "treat as not breaching"
        BREACHING = "breaching", "treat as breaching"
        KEEP = "keep", "keep the current state"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    muted = models.BooleanField(default=False)  # evaluates and records, notifies nobody
    muted_until = models.DateTimeField(null=True, blank=True)  # muted until then (then notifies again)
    target = models.CharField(max_length=16, choices=Target.choices, default=Target.ALL)
    target_account = models.ForeignKey(AwsAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    target_kind = models.CharField(max_length=32, blank=True)
    # PROTECT: deleting a project must not silently delete the rules that watch it.
    target_project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    target_resources = models.ManyToManyField(Resource, blank=True, related_name="+")
    condition = models.CharField(max_length=24, choices=Condition.choices, default=Condition.THRESHOLD)
    # A CloudWatch metric key of a kind's catalogue or a derived figure (alerts.metrics).
    metric = models.CharField(max_length=200, blank=True)
    statistic = models.CharField(max_length=16, blank=True)  # Sum, Average, Minimum, Maximum, p50…p99
    operator = models.CharField(max_length=8, choices=Operator.choices, default=Operator.ABOVE)
    threshold = models.FloatField(null=True, blank=True)  # the band's low end for "outside"
    threshold_upper = models.FloatField(null=True, blank=True)  # the band's high end for "outside"
    window_minutes = models.PositiveIntegerField(default=5)
    # M of N: open when at least `breaching_periods` of the last `evaluation_periods` windows breach.
    evaluation_periods = models.PositiveSmallIntegerField(default=1)
    breaching_periods = models.PositiveSmallIntegerField(default=1)
    missing_data = models.CharField(max_length=12, choices=MissingData.choices, default=MissingData.OK)
    error_kinds = models.JSONField(default=list, blank=True)  # ["error", "timeout", "out_of_memory"]; empty: all
    finding_severity = models.CharField(max_length=16, blank=True)  # minimum severity for new findings
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    min_interval_minutes = models.PositiveIntegerField(default=30)
    # "Every occurrence" rules: at most this many notifications an hour; the rest are counted.
    max_notifications_per_hour = models.PositiveIntegerField(default=10)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    # Why the last evaluation failed (shown on the Alerts page); cleared when it evaluates again.
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_muted(self, now: Any) -> bool:
        return self.muted or (self.muted_until is not None and self.muted_until > now)


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Incident(models.Model):
    """One per (rule, subject) while its condition holds."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="incidents")
    # A deleted rule leaves its incidents as history: the rule's name stays on them.
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents")
    rule_name = models.CharField(max_length=120, blank=True)
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.CASCADE, related_name="incidents")
    subject = models.CharField(
        max_length=64
    )  # "r<resource id>", "g<error group id>", "f<finding id>", "a<resource id>:<metric>"
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    value = models.FloatField(null=True, blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"], condition=models.Q(status="open"), name="incident_one_open_per_subject"
            )
        ]

    def __str__(self) -> str:
        return self.title


class IncidentEvent(models.Model):
    """The incident's timeline, and the outbox: the transitions that notify (NOTIFYING) are
    claimed once by a dispatcher; the others (acknowledged, assigned, snoozed) are written
    already dispatched."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened"
        OCCURRED = "occurred", "Occurred again"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        ASSIGNED = "assigned", "Assigned"
        SNOOZED = "snoozed", "Snoozed"

    NOTIFYING = frozenset({Kind.OPENED, Kind.RESOLVED, Kind.REOPENED, Kind.OCCURRED})

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField()
    # Who did it (None: the rule's evaluation); what else the timeline should say.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.CharField(max_length=300, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(dispatched_at=None), name="incidentevent_pending")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind}"


class AlertRecipient(models.Model):
    """An e-mail address that is not a member's, named in a channel of the organisation.

    Alerts go to it only once its owner confirmed through the signed link mailed to it;
    until then (or after they declined) deliveries skip it and say so.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_recipients")
    email = models.EmailField()  # lower-cased
    confirmed_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)  # when the link was last mailed
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "email"], name="alert_recipient_once_per_org"),
        ]

    def __str__(self) -> str:
        return self.email


class Notification(models.Model):
    """One delivery of one event to one channel, with every attempt."""

    event = models.ForeignKey(
        IncidentEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="notifications")
    # pending | sending (channel tests on the worker) | sent | failed | skipped
    status = models.CharField(max_length=16)
    attempts = models.JSONField(default=list)
    error = models.TextField(blank=True)
    # What else the delivery should say, e.g. the unconfirmed recipients it left out.
    detail = models.TextField(blank=True)
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    is_test = models.BooleanField(default=False)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["channel", "is_test", "created_at"], name="notification_channel_tests")]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.status}"


class DigestFrequency(models.TextChoices):
    NONE = "none", "No digest"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly (Mondays)"


class DigestSubscription(models.Model):
    """A member's choice of e-mail digest for one organisation, at a local hour."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="digest_subscriptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_subscriptions")
    frequency = models.CharField(max_length=8, choices=DigestFrequency.choices, default=DigestFrequency.NONE)
    hour = models.PositiveSmallIntegerField(default=8)  # local hour in the organisation's time zone

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="digest_one_per_member")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.frequency} at {self.hour}:00"


class DigestSent(models.Model):
    """Claimed before sending: a period's digest goes out once, whatever beat or workers do."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=8)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "frequency", "period_start"], name="digest_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.frequency} {self.period_start:%Y-%m-%d}"
