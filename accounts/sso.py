"""Single sign-on with the installation's OpenID Connect provider (allauth's
`openid_connect`, configured from OIDC_* settings): is it configured, did this session sign
in through it, and just-in-time membership for an organisation's e-mail domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from .admin_services import AdminError, audit_record
from .models import Membership, Organization, Role


@dataclass(frozen=True)
class Provider:
    id: str
    name: str


def sso_provider() -> Provider | None:
    """The configured identity provider, or None when the installation has no SSO."""
    if not settings.OIDC_SERVER_URL:
        return None
    return Provider(id=settings.OIDC_PROVIDER_ID, name=settings.OIDC_NAME)


def signed_in_with_sso(request: HttpRequest) -> bool:
    """True when the current session's user authenticated through the identity provider
    (allauth keeps a record per method used in the session, tied to the user)."""
    provider = sso_provider()
    if provider is None:
        return False
    records = get_authentication_records(request, getattr(request, "user", None))
    return any(r.get("method") == "socialaccount" and r.get("provider") == provider.id for r in records)


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def verified_sso_emails(sociallogin: Any) -> list[str]:
    """The addresses the identity provider vouched for (email_verified) in this sign-in."""
    return [a.email.strip().lower() for a in sociallogin.email_addresses if a.verified and a.email]


@transaction.atomic
def sso_membership_join(*, user: Any, emails: list[str], request: HttpRequest | None = None) -> list[Membership]:
    """Just-in-time membership: join each organisation whose SSO domain matches one of the
    verified addresses and that the user is not a member of yet, with its default role.
    Runs on every SSO sign-in, so a domain configured later still applies; an existing
    membership (and its role) is never changed."""
    domains = {email_domain(e) for e in emails if "@" in e}
    joined = []
    for organization in Organization.objects.filter(sso_domain__in=domains).exclude(memberships__user=user):
        membership, created = Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": organization.sso_default_role}
        )
        if not created:
            continue
        audit_record(
            organization=organization,
            action="member.joined_by_sso",
            obj=membership,
            actor=user,
            request=request,
            object_repr=user.email,
            changes={"role": [None, membership.role], "domain": organization.sso_domain},
        )
        joined.append(membership)
    return joined


def on_sign_in(sender: Any, request: HttpRequest, user: Any, sociallogin: Any = None, **kwargs: Any) -> None:
    """allauth's `user_logged_in`: a sign-in through our identity provider may join
    organisations by e-mail domain. Other sign-ins (password, codes) never do."""
    provider = sso_provider()
    if sociallogin is None or provider is None or sociallogin.account.provider != provider.id:
        return
    sso_membership_join(user=user, emails=verified_sso_emails(sociallogin), request=request)


SSO_DEFAULT_ROLES = (Role.ADMIN, Role.MEMBER, Role.VIEWER)


@transaction.atomic
def organization_sso_update(
    *, organization: Organization, request: HttpRequest, sso_required: bool, sso_domain: str, sso_default_role: str
) -> Organization:
    """Owners and admins change the organisation's single sign-on settings.

    1. Requiring SSO needs SSO configured and the person switching it on signed in through
       it right now: that proves the identity provider works for this organisation before
       anyone is held to it (owners stay exempt either way).
    2. A just-in-time domain must be the domain of one of the acting person's own verified
       addresses, so no organisation can claim another company's people; one organisation
       per domain.
    """
    user = request.user
    sso_domain = sso_domain.strip().lower().lstrip("@")
    if sso_default_role not in SSO_DEFAULT_ROLES:
        raise AdminError("New members by SSO may be admins, members or viewers.")
    if sso_required and not organization.sso_required:
        if sso_provider() is None:
            raise AdminError("Single sign-on is not configured on this installation (OIDC_SERVER_URL).")
        if not signed_in_with_sso(request):
            raise AdminError("Sign in with single sign-on first: that proves it works before members must use it.")
    if sso_domain and sso_domain != organization.sso_domain:
        own = {email_domain(a.email) for a in EmailAddress.objects.filter(user_id=user.pk, verified=True)}
        if sso_domain not in own:
            raise AdminError(
                f"You can only use the domain of your own verified e-mail address ({', '.join(sorted(own))})."
            )
        if Organization.objects.filter(sso_domain=sso_domain).exclude(pk=organization.pk).exists():
            raise AdminError(f"{sso_domain} already belongs to another organisation.")
    fields = {"sso_required": sso_required, "sso_domain": sso_domain, "sso_default_role": sso_default_role}
    changes = {k: [getattr(organization, k), v] for k, v in fields.items() if getattr(organization, k) != v}
    if not changes:
        return organization
    for key, value in fields.items():
        setattr(organization, key, value)
    organization.save(update_fields=list(fields))
    audit_record(
        organization=organization, action="organization.sso_updated", obj=organization, request=request, changes=changes
    )
    return organization
