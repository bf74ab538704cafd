"""Writes for organisations and memberships. Keyword arguments, typed, atomic."""

from __future__ import annotations

import secrets
import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from aws.clients import forget_credentials
from kinds.filters import parse_filters

from .models import AwsAccount, DateFormat, LogIngestion, Membership, Organization, Profile, Role
from .onboarding import ROLE_ARN_RE, ValidationReport, parse_regions, validate_role
from .signals import aws_account_budget_changed, aws_account_connected, aws_account_removing, organization_created


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: User, time_zone: str = "UTC") -> Organization:
    name = name.strip()
    if not name:
        raise ValueError("An organisation needs a name.")
    org = Organization.objects.create(name=name, slug=_unique_slug(name), time_zone=time_zone)
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    # Within the transaction: alerts creates the default rules, and a failure undoes both.
    organization_created.send(sender=Organization, organization=org)
    return org


def default_organization_name(email: str) -> str:
    local, _, domain = email.partition("@")
    company = domain.split(".")[0] if domain else local
    return company.capitalize() or "My organisation"


@transaction.atomic
def user_create_verified(*, email: str, password: str) -> User:
    """Create a user whose email counts as verified (created by an operator, not by sign-up)."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValueError(f"A user with email {email} already exists.")
    user = User.objects.create_user(username=email[:150], email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


# --- AWS accounts ---------------------------------------------------------------------------


def aws_account_start(*, organization: Organization, name: str) -> AwsAccount:
    """Step 1 of onboarding: a pending account, so its ExternalId exists and stays put while
    the user deploys the CloudFormation stack."""
    name = name.strip() or "AWS account"
    return AwsAccount.objects.create(organization=organization, name=name)


@transaction.atomic
def aws_account_configure(
    *, account: AwsAccount, role_arn: str, regions: list[str], name: str | None = None, all_regions: bool = False
) -> AwsAccount:
    """Step 2: the role ARN and regions (validated for shape here, for access in step 3).
    `all_regions`: collect every region the account has enabled; they are listed when the
    role is validated and again at each discovery, and `regions` is ignored.

    The AWS account id is not taken from the typed ARN: anyone can type another tenant's
    role ARN. It is recorded by `aws_account_validate` from STS, once the role was assumed
    with this account's ExternalId; a new ARN forgets the old proof until then.
    """
    role_arn = role_arn.strip()
    if not ROLE_ARN_RE.match(role_arn):
        raise ValueError(f"{role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME).")
    clash = (
        AwsAccount.objects.filter(organization=account.organization, role_arn=role_arn).exclude(pk=account.pk).first()
    )
    if clash is not None:
        raise ValueError(f"This role is already connected as {clash.name!r}.")
    fields = ["role_arn", "regions", "name", "all_regions"]
    if role_arn != account.role_arn:
        account.aws_account_id, account.validated_at = "", None
        fields += ["aws_account_id", "validated_at"]
        if account.status != AwsAccount.Status.PAUSED:
            account.status = AwsAccount.Status.PENDING
            fields.append("status")
    account.role_arn = role_arn
    if not all_regions:
        account.regions = parse_regions(regions)
    elif not account.all_regions:
        account.regions = []  # until the role lists them
    account.all_regions = all_regions
    if name is not None and name.strip():
        account.name = name.strip()
    account.save(update_fields=fields)
    return account


def aws_account_validate(*, account: AwsAccount) -> ValidationReport:
    """Step 3 (and "re-validate"): assume the role and probe each region; record the outcome."""
    forget_credentials(account)
    report = validate_role(
        role_arn=account.role_arn,
        external_id=account.external_id,
        regions=account.regions,
        all_regions=account.all_regions,
    )
    now = timezone.now()
    fields: dict[str, object]
    if report.ok:
        fields = {"status": AwsAccount.Status.CONNECTED, "last_error": "", "validated_at": now}
    else:
        fields = {"status": AwsAccount.Status.ERROR, "last_error": "\n".join(report.messages), "last_error_at": now}
    if report.aws_account_id:  # from STS GetCallerIdentity of the assumed role, never from the typed ARN
        fields["aws_account_id"] = report.aws_account_id
    if report.regions_found:
        fields.update(regions=report.regions_found, regions_found_at=now)
    AwsAccount.objects.filter(pk=account.pk).update(**fields)
    for key, value in fields.items():
        setattr(account, key, value)
    if report.ok:
        # Monitoring starts the first collection right away rather than at the next beat tick.
        aws_account_connected.send(sender=AwsAccount, account=account)
    return report


@transaction.atomic
def aws_account_connect(
    *,
    organization: Organization,
    role_arn: str,
    regions: list[str],
    name: str = "",
    external_id: str | None = None,
    all_regions: bool = False,
) -> tuple[AwsAccount, ValidationReport]:
    """Create (or reuse the pending account of the ExternalId), configure and validate."""
    account = None
    if external_id:
        account = AwsAccount.objects.filter(external_id=external_id).first()
        if account is not None and account.organization_id != organization.pk:
            raise ValueError("That ExternalId belongs to another organisation.")
    if account is None:
        account = AwsAccount(organization=organization, name=name or "AWS account")
        if external_id:
            account.external_id = external_id
        account.save()
    aws_account_configure(
        account=account, role_arn=role_arn, regions=regions, name=name or None, all_regions=all_regions
    )
    return account, aws_account_validate(account=account)


def aws_account_regions_found(*, account: AwsAccount, regions: list[str], now: datetime) -> list[str]:
    """With "all regions": the enabled regions discovery listed become the regions collected.
    Returns the ones that were not collected before. An empty list changes nothing."""
    regions = sorted(set(regions))
    if not account.all_regions or not regions:
        return []
    added = [r for r in regions if r not in account.regions]
    AwsAccount.objects.filter(pk=account.pk).update(regions=regions, regions_found_at=now)
    account.regions, account.regions_found_at = regions, now
    return added


@transaction.atomic
def aws_account_filters_update(*, account: AwsAccount, include: list[str], exclude: list[str]) -> AwsAccount:
    """Save the include/exclude filters (kinds/filters.py); ValueError names each bad one.

    They apply at the next discovery of each region, which this makes due at once: stored
    resources they exclude then stop being collected, ones they let back in come back."""
    include_filters = [f.text for f in parse_filters(include)]
    exclude_filters = [f.text for f in parse_filters(exclude)]
    account = AwsAccount.objects.select_for_update().get(pk=account.pk)
    account.include_filters, account.exclude_filters = include_filters, exclude_filters
    account.last_collected = {k: v for k, v in account.last_collected.items() if not k.startswith("discovery:")}
    account.save(update_fields=["include_filters", "exclude_filters", "last_collected"])
    return account


@transaction.atomic
def aws_account_budget_set(*, account: AwsAccount, budget_usd: Decimal | None) -> AwsAccount:
    """Set (or with None remove) the account's CloudWatch API budget, a positive amount of US
    dollars a month; monitoring plans its poll intervals again in the same transaction."""
    if budget_usd is not None and not (Decimal("0") < budget_usd <= Decimal("1000000")):
        raise ValueError("A budget is a positive amount of US dollars a month, at most 1,000,000.")
    account = AwsAccount.objects.select_for_update().get(pk=account.pk)
    account.cloudwatch_budget_usd = budget_usd.quantize(Decimal("0.01")) if budget_usd is not None else None
    account.save(update_fields=["cloudwatch_budget_usd"])
    aws_account_budget_changed.send(sender=AwsAccount, account=account)
    return account


def aws_account_pause(*, account: AwsAccount, paused: bool) -> None:
    if paused:
        account.status = AwsAccount.Status.PAUSED
    else:
        account.status = AwsAccount.Status.CONNECTED if account.validated_at else AwsAccount.Status.PENDING
    account.save(update_fields=["status"])


def aws_account_ingestion_set(*, account: AwsAccount, mode: str) -> AwsAccount:
    """Choose how Lambda logs arrive (docs/push.md). Push gets an access key the first time;
    it stays across switches so that a stack already deployed keeps working."""
    if mode not in LogIngestion.values:
        raise ValueError(f"unknown log ingestion {mode!r}")
    account.log_ingestion = mode
    fields = ["log_ingestion"]
    if mode == LogIngestion.PUSH and not account.push_access_key:
        account.push_access_key = secrets.token_urlsafe(32)
        fields.append("push_access_key")
    account.save(update_fields=fields)
    return account


def aws_account_push_key_rotate(*, account: AwsAccount) -> AwsAccount:
    """A new access key: deliveries with the old one are refused from now on (the stack's
    parameter must be updated with the new one)."""
    account.push_access_key = secrets.token_urlsafe(32)
    account.save(update_fields=["push_access_key"])
    return account


def aws_account_push_received(*, account: AwsAccount, at: datetime) -> None:
    """Remember the last delivery, written at most once a minute per account."""
    AwsAccount.objects.filter(pk=account.pk).filter(
        Q(push_received_at=None) | Q(push_received_at__lt=at - timedelta(minutes=1))
    ).update(push_received_at=at)


def aws_account_remove(*, account: AwsAccount) -> None:
    """Remove the account and everything collected from it (resources, and all that hangs
    off them, cascade)."""
    forget_credentials(account)
    # First the bulk data, removed cheaply by its owners; the cascade then finds little.
    aws_account_removing.send(sender=AwsAccount, account=account)
    account.delete()


# --- Profile --------------------------------------------------------------------------------


def profile_for(user: User) -> Profile:
    """The user's profile; UTC and ISO dates until they change it (not saved until then)."""
    return Profile.objects.filter(user=user).first() or Profile(user=user)


@transaction.atomic
def profile_update(*, user: User, time_zone: str, date_format: str) -> Profile:
    if time_zone not in zoneinfo.available_timezones():
        raise ValueError(f"{time_zone!r} is not an IANA time zone name.")
    if date_format not in DateFormat.values:
        raise ValueError(f"Unknown date format {date_format!r}.")
    profile, _ = Profile.objects.update_or_create(
        user=user, defaults={"time_zone": time_zone, "date_format": date_format}
    )
    return profile
