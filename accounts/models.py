from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from .encryption import EncryptedJSONField


class Organization(models.Model):
    """A tenant. Every customer object hangs off one, and every query is scoped by it."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=64, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Raw invocations, log lines and metric points; hourly/daily rollups (docs/architecture.md §6).
    raw_retention_days = models.PositiveIntegerField(default=14)
    rollup_retention_days = models.PositiveIntegerField(default=400)
    # Members without two-factor authentication are sent to set it up before anything else.
    require_two_factor = models.BooleanField(default=False)
    # Members (owners excepted: the way back in when the identity provider fails) who
    # signed in with a password are refused this organisation's pages (docs/architecture.md, Promises).
    sso_required = models.BooleanField(default=False)
    # People whose verified e-mail (from the identity provider) is at this domain join on
    # their first single sign-on with `sso_default_role`. One organisation per domain.
    sso_domain = models.CharField(max_length=253, blank=True)
    sso_default_role = models.CharField(max_length=16, default="viewer")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["sso_domain"], condition=~models.Q(sso_domain=""), name="organization_sso_domain_unique"
            ),
        ]

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


def _push_token() -> str:
    return secrets.token_urlsafe(24)


class LogIngestion(models.TextChoices):
    POLL = "poll", "Polling (FilterLogEvents)"
    PUSH = "push", "Push (CloudWatch Logs subscription → Firehose)"


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
    # The regions collected. With `all_regions` they are the ones the account has enabled,
    # found again at each discovery (`regions_found_at`).
    regions = models.JSONField(default=list)
    all_regions = models.BooleanField(default=False)
    regions_found_at = models.DateTimeField(null=True, blank=True)
    # Which discovered resources are collected (kinds/filters.py): name globs and key=value
    # tag filters, one string each.
    include_filters = models.JSONField(default=list, blank=True)
    exclude_filters = models.JSONField(default=list, blank=True)
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
    # How Lambda logs arrive (docs/push.md): polled with FilterLogEvents, or pushed by a
    # Firehose stream to /ingest/firehose/<push_token>, polling then only filling gaps.
    log_ingestion = models.CharField(max_length=8, choices=LogIngestion.choices, default=LogIngestion.POLL)
    # The URL's token names the account (not secret on its own); the access key Firehose
    # sends in X-Amz-Firehose-Access-Key is the secret, encrypted at rest.
    push_token = models.CharField(max_length=64, unique=True, default=_push_token, editable=False)
    push_access_key = EncryptedJSONField(null=True, blank=True)
    push_received_at = models.DateTimeField(null=True, blank=True)
    # Keep the monitoring's CloudWatch API cost in this account under this many US dollars
    # a month (null: no budget): the least active resources' metrics are then polled less
    # often (docs/own-cost.md, "A budget").
    cloudwatch_budget_usd = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
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


class Invitation(models.Model):
    """An e-mailed invitation to join an organisation with a role. The link carries a
    random token; only its SHA-256 is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} as {self.role}"


class ApiToken(models.Model):
    """An organisation's API token. Only its SHA-256 is stored; the prefix lets people tell
    tokens apart. A `read` token reads; a `write` token (issued only by admins) also
    creates, changes and deletes configuration: projects, alert rules, channels, suppressions."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write configuration"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEvent(models.Model):
    """Who did what to which object, when, from which address."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=254)  # the e-mail, or "api token NAME" / "system"
    action = models.CharField(max_length=64)  # e.g. "member.role_changed"
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="audit_org_time")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_repr}"


class DateFormat(models.TextChoices):
    ISO = "iso", "2026-12-02 03:15"
    DAY_MONTH = "dmy", "02 Dec 2026 03:15"
    US = "us", "12/02/2026 3:15 AM"


class Profile(models.Model):
    """A person's own display preferences, used on every page and in their digests."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    time_zone = models.CharField(max_length=64, default="UTC")
    date_format = models.CharField(max_length=8, choices=DateFormat.choices, default=DateFormat.ISO)

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone}, {self.date_format})"
