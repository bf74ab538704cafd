from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import AwsAccount, Organization
from insights.anomalies.metrics import metric_label
from monitoring.models import Resource
from monitoring.resource_page import format_number


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    SUPPRESSED = "suppressed", "Suppressed"


class Finding(models.Model):
    """A check failing on one resource (or on the account). Resolves itself when it passes."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="findings")
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="findings")
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.CASCADE, related_name="findings")
    # "r<resource id>" or "a<account id>:<region>": one finding per check and subject.
    subject = models.CharField(max_length=32)
    check_id = models.CharField(max_length=80)
    service = models.CharField(max_length=32)
    pillar = models.CharField(max_length=32)
    severity = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    message = models.TextField(blank=True)
    evidence = models.JSONField(default=dict)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["account", "check_id", "subject"], name="finding_unique_per_subject")
        ]
        indexes = [models.Index(fields=["organization", "status", "pillar"], name="finding_org_status")]

    def __str__(self) -> str:
        return f"{self.check_id} on {self.subject} ({self.status})"

    @property
    def region(self) -> str:
        """The region of an account-level finding ("a<account id>:<region>"), else empty."""
        return self.subject.partition(":")[2] if self.resource_id is None else ""


class Suppression(models.Model):
    """An admin's decision to silence a finding, a check, or everything about a resource."""

    class Scope(models.TextChoices):
        FINDING = "finding", "This finding"
        CHECK = "check", "This check everywhere"
        RESOURCE = "resource", "Every check on this resource"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="suppressions")
    scope = models.CharField(max_length=16, choices=Scope.choices)
    check_id = models.CharField(max_length=80, blank=True)
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    finding = models.ForeignKey(Finding, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.scope} suppression: {self.reason[:40]}"


class PillarScore(models.Model):
    """A daily score per pillar (0–100), for the trend."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="pillar_scores")
    pillar = models.CharField(max_length=32)
    day = models.DateField()
    score = models.FloatField()
    failing = models.IntegerField(default=0)
    evaluated = models.IntegerField(default=0)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["organization", "pillar", "day"], name="pillarscore_unique_day")]

    def __str__(self) -> str:
        return f"{self.pillar} {self.day}: {self.score:.0f}"


class Anomaly(models.Model):
    """One hour of one resource's figure outside its seasonal band (`insights/anomalies/`).

    `metric` is a key of the hourly rollups ("invocations", "duration_p95_ms") or a
    catalogued series ("AWS/SQS:ApproximateAgeOfOldestMessage:Maximum"). Re-detecting an
    hour replaces its row, and removes it when late data brought the hour back in its band.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="anomalies")
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="anomalies")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="anomalies")
    metric = models.CharField(max_length=160)
    hour = models.DateTimeField()
    observed = models.FloatField()
    expected = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()
    score = models.FloatField()
    detected_at = models.DateTimeField()

    class Meta:
        ordering = ["-hour"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "metric", "hour"], name="anomaly_unique_per_hour"),
        ]
        indexes = [
            models.Index(fields=["organization", "-hour"], name="anomaly_org_hour"),
            models.Index(fields=["resource", "-hour"], name="anomaly_resource_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} of resource {self.resource_id} at {self.hour:%Y-%m-%d %H:00}"

    @property
    def direction(self) -> str:
        return "up" if self.observed > self.expected else "down"

    @property
    def label(self) -> str:
        return metric_label(self.metric)

    @property
    def observed_text(self) -> str:
        return format_number(self.observed)

    @property
    def band_text(self) -> str:
        return f"{format_number(max(self.low, 0.0))} – {format_number(self.high)}"
