from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


class Organization(models.Model):
    """A tenant. Every customer object hangs off one, and every query is scoped by it."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=64, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Raw invocations, log lines and metric points; hourly/daily rollups (DESIGN §6).
    raw_retention_days = models.PositiveIntegerField(default=14)
    rollup_retention_days = models.PositiveIntegerField(default=400)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


def _external_id() -> str:
    # 32 url-safe characters: unguessable, and within AWS's 2–1224 character limit.
    return secrets.token_urlsafe(24)


class AwsAccount(models.Model):
    """A customer AWS account we read through a cross-account role (never with access keys)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CONNECTED = "connected", "Connected"
        ERROR = "error", "Error"
        PAUSED = "paused", "Paused"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="aws_accounts")
    name = models.CharField(max_length=120)
    aws_account_id = models.CharField(max_length=12, blank=True)
    role_arn = models.CharField(max_length=2048, blank=True)
    external_id = models.CharField(max_length=64, unique=True, default=_external_id, editable=False)
    regions = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Problems of the last run per (region, service, operation): a denied or throttled call
    # on one service is shown on the account's health page and does not stop the rest.
    problems = models.JSONField(default=list, blank=True)
    # {collector: ISO time of its last successful run}, e.g. {"discovery": "2026-…"}.
    last_collected = models.JSONField(default=dict, blank=True)
    # {resource kind: seconds} overriding settings.METRICS_POLL_SECONDS for this account.
    metric_intervals = models.JSONField(default=dict, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "role_arn"],
                condition=~models.Q(role_arn=""),
                name="awsaccount_role_unique_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.aws_account_id or 'not connected'})"
