"""Reads for views, each scoped to what the user may see.

Every object lookup a view makes goes through a `get_<kind>_for_user` helper here (or in
the owning app's selectors), which scopes by organisation and raises Http404 otherwise —
never 403, so a URL does not even confirm that another tenant's object exists.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404

from .models import ApiToken, AuditEvent, AwsAccount, Membership, Organization

M = TypeVar("M", bound=Model)


def get_scoped_or_404(queryset: QuerySet[M], *, organization: Organization | None, **lookup: Any) -> M:
    """The one scoping rule: the object must belong to `organization`."""
    if organization is None:
        raise Http404("No organisation selected")
    try:
        return queryset.get(organization=organization, **lookup)
    except ObjectDoesNotExist as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc


def memberships_for_user(user: Any) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")


def get_membership_in(user: Any, organization_id: int) -> Membership:
    """The user's own membership of an organisation, or 404 when they are not a member."""
    try:
        return memberships_for_user(user).get(organization_id=organization_id)
    except Membership.DoesNotExist as exc:
        raise Http404("No such organisation") from exc


def get_member_for_user(user: Any, organization: Organization | None, pk: int) -> Membership:
    """A membership (a row of the members page) of the user's current organisation."""
    return get_scoped_or_404(Membership.objects.select_related("user"), organization=organization, pk=pk)


def members_of(organization: Organization) -> QuerySet[Membership]:
    return organization.memberships.select_related("user").order_by("user__email")


def get_aws_account_for_user(user: Any, organization: Organization | None, pk: int) -> AwsAccount:
    return get_scoped_or_404(AwsAccount.objects.all(), organization=organization, pk=pk)


def aws_accounts_of(organization: Organization) -> QuerySet[AwsAccount]:
    return organization.aws_accounts.annotate(
        resource_count=Count("resources", filter=Q(resources__gone_at=None))
    ).order_by("name")


def validated_aws_accounts(organization: Organization) -> QuerySet[AwsAccount]:
    """The organisation's accounts whose role we assumed with their own ExternalId: only
    these prove that the organisation controls the AWS account id (recorded from STS, never
    from a typed ARN). Anything that acts on an AWS account by its id checks it is here."""
    return organization.aws_accounts.exclude(validated_at=None).exclude(aws_account_id="")


def audit_events_for(
    organization: Organization,
    *,
    actor: str = "",
    action: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The organisation's audit events: actor containing, action starting with, and days
    (inclusive) between the given ones, where given."""
    events = AuditEvent.objects.filter(organization=organization)
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if action:
        events = events.filter(action__startswith=action)
    if since:
        events = events.filter(created_at__date__gte=since)
    if until:
        events = events.filter(created_at__date__lte=until)
    return events


def audit_actions_of(organization: Organization) -> QuerySet[AuditEvent, str]:
    return AuditEvent.objects.filter(organization=organization).values_list("action", flat=True).distinct()


def api_tokens_of(organization: Organization) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(organization=organization).select_related("created_by")


def aws_account_for_push_token(token: str) -> AwsAccount | None:
    """The account a Firehose delivery URL names, if it takes pushed logs; authentication
    (the access key) is the caller's."""
    if not token or len(token) > 64:
        return None
    return AwsAccount.objects.filter(push_token=token).exclude(status=AwsAccount.Status.PAUSED).first()
