"""Writes of the team admin console: organisation settings, members, invitations — each
recorded in the audit log (accounts.audit). Keyword arguments, typed, atomic."""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from web.params import one_line

from .audit import audit_record
from .models import Invitation, Membership, Organization, Role

INVITATION_DAYS = 7


class AdminError(ValueError):
    """A refused change, with the reason to show."""


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- Organisation --------------------------------------------------------------------------


@transaction.atomic
def organization_update(*, organization: Organization, request: HttpRequest, **fields: Any) -> Organization:
    allowed = {"name", "time_zone", "raw_retention_days", "rollup_retention_days", "require_two_factor"}
    unknown = set(fields) - allowed
    if unknown:
        raise AdminError(f"Not organisation settings: {', '.join(sorted(unknown))}")
    if "time_zone" in fields and fields["time_zone"] not in zoneinfo.available_timezones():
        raise AdminError(f"{fields['time_zone']!r} is not a time zone.")
    changes = {k: [getattr(organization, k), v] for k, v in fields.items() if getattr(organization, k) != v}
    for key, value in fields.items():
        setattr(organization, key, value)
    organization.save()
    if changes:
        audit_record(
            organization=organization, action="organization.updated", obj=organization, request=request, changes=changes
        )
    return organization


# --- Members ----------------------------------------------------------------------------------


def _owners(organization: Organization) -> int:
    return organization.memberships.filter(role=Role.OWNER).count()


@transaction.atomic
def member_role_change(*, membership: Membership, role: str, by: Membership, request: HttpRequest) -> None:
    if role not in Role.values:
        raise AdminError(f"Unknown role {role!r}.")
    if Role.OWNER in (role, membership.role) and by.role != Role.OWNER:
        raise AdminError("Only an owner can make or unmake owners.")
    if membership.role == Role.OWNER and role != Role.OWNER and _owners(membership.organization) == 1:
        raise AdminError("An organisation needs an owner: transfer ownership first.")
    old = membership.role
    if old == role:
        return
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        organization=membership.organization,
        action="member.role_changed",
        obj=membership,
        request=request,
        object_repr=membership.user.email,
        changes={"role": [old, role]},
    )


@transaction.atomic
def member_remove(*, membership: Membership, by: Membership, request: HttpRequest) -> None:
    if membership.role == Role.OWNER and by.role != Role.OWNER:
        raise AdminError("Only an owner can remove an owner.")
    if membership.role == Role.OWNER and _owners(membership.organization) == 1:
        raise AdminError("The last owner cannot be removed: transfer ownership first.")
    email = membership.user.email
    audit_record(
        organization=membership.organization,
        action="member.removed",
        obj=membership,
        request=request,
        object_repr=email,
    )
    membership.delete()


@transaction.atomic
def ownership_transfer(*, organization: Organization, to: Membership, by: Membership, request: HttpRequest) -> None:
    if by.role != Role.OWNER:
        raise AdminError("Only an owner can transfer ownership.")
    if to.organization_id != organization.pk or to.pk == by.pk:
        raise AdminError("Choose another member of this organisation.")
    to.role, by.role = Role.OWNER, Role.ADMIN
    to.save(update_fields=["role"])
    by.save(update_fields=["role"])
    audit_record(
        organization=organization,
        action="organization.ownership_transferred",
        obj=to,
        request=request,
        object_repr=to.user.email,
        changes={"from": by.user.email, "to": to.user.email},
    )


# --- Invitations ------------------------------------------------------------------------------


def _send_invitation(invitation: Invitation, token: str, request: HttpRequest | None) -> None:
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "url": f"{settings.SITE_URL}/invitations/{token}/",
        "inviter": getattr(invitation.invited_by, "email", "An administrator"),
        "expires_at": invitation.expires_at,
    }
    # An organisation name stored before names were single-line must not break the header.
    subject = one_line(render_to_string("emails/invitation-subject.txt", context))
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/invitation-body.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("emails/invitation-body.html", context), "text/html")
    message.send()


@transaction.atomic
def invitation_create(
    *, organization: Organization, email: str, role: str, by: Membership, request: HttpRequest
) -> Invitation:
    email = email.strip().lower()
    if role not in Role.values or role == Role.OWNER:
        raise AdminError("Invite as admin, member or viewer; ownership is transferred, not invited.")
    if role == Role.ADMIN and by.role not in (Role.OWNER, Role.ADMIN):
        raise AdminError("Only owners and admins can invite admins.")
    if organization.memberships.filter(user__email__iexact=email).exists():
        raise AdminError(f"{email} is already a member.")
    now = timezone.now()
    # A new invitation replaces any still-pending one for the same address.
    Invitation.objects.filter(organization=organization, email__iexact=email, accepted_at=None, revoked_at=None).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=sha256(token),
        invited_by=by.user,
        last_sent_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    audit_record(
        organization=organization, action="invitation.created", obj=invitation, request=request, changes={"role": role}
    )
    transaction.on_commit(lambda: _send_invitation(invitation, token, request))
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, request: HttpRequest) -> None:
    """A fresh token and expiry: the old link stops working."""
    if invitation.accepted_at or invitation.revoked_at:
        raise AdminError("Only a pending invitation can be sent again.")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = sha256(token)
    invitation.last_sent_at = now
    invitation.expires_at = now + timedelta(days=INVITATION_DAYS)
    invitation.save(update_fields=["token_hash", "last_sent_at", "expires_at"])
    audit_record(organization=invitation.organization, action="invitation.resent", obj=invitation, request=request)
    transaction.on_commit(lambda: _send_invitation(invitation, token, request))


def invitation_revoke(*, invitation: Invitation, request: HttpRequest) -> None:
    changed = Invitation.objects.filter(pk=invitation.pk, accepted_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if not changed:
        raise AdminError("That invitation is no longer pending.")
    audit_record(organization=invitation.organization, action="invitation.revoked", obj=invitation, request=request)


def invitation_for_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("organization").filter(token_hash=sha256(token)).first()


def invitation_state(invitation: Invitation) -> str:
    if invitation.revoked_at:
        return "revoked"
    if invitation.accepted_at:
        return "accepted"
    if invitation.expires_at <= timezone.now():
        return "expired"
    return "pending"


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User, request: HttpRequest) -> Membership:
    """Claim the invitation (conditional UPDATE: accepting twice makes one membership)."""
    if invitation_state(invitation) != "pending":
        raise AdminError(f"This invitation is {invitation_state(invitation)}.")
    if (user.email or "").lower() != invitation.email.lower():
        raise AdminError(f"This invitation is for {invitation.email}; you are signed in as {user.email}.")
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at=None, revoked_at=None).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    if not claimed:
        raise AdminError("This invitation was just used.")
    membership, _ = Membership.objects.get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    audit_record(
        organization=invitation.organization,
        action="invitation.accepted",
        obj=membership,
        actor=user,
        request=request,
        object_repr=user.email,
        changes={"role": invitation.role},
    )
    return membership
