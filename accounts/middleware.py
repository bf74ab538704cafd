from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from web import when

from .context import MEMBERSHIP_ATTRIBUTE, current_membership_or_none, current_organization_or_none
from .models import Membership, Profile, Role
from .selectors import memberships_for_user
from .sso import signed_in_with_sso, sso_provider

SESSION_KEY = "current_organization_id"


def membership_for_session(request: HttpRequest) -> Membership | None:
    """The membership the user works in: the one chosen in the switcher, else their first."""
    memberships = memberships_for_user(request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        membership = memberships.filter(organization_id=chosen).first()
        if membership is not None:
            return membership
    return memberships.first()


V = TypeVar("V", bound=Callable[..., Any])

# Paths that work without an organisation: sign-in and account pages, the admin, the API
# (its token names the organisation), invitations (how one joins), static files, health.
ORGANIZATION_OPTIONAL_PATHS = ("/accounts/", "/admin/", "/api/", "/invitations/", "/static/", "/healthz")


def organization_optional(view: V) -> V:
    """Marks a view that a signed-in user who belongs to no organisation may still open."""
    view.organization_optional = True  # type: ignore[attr-defined]
    return view


class CurrentOrganizationMiddleware:
    """Resolves the current membership of every request (read it with accounts.context):
    the one chosen in the switcher, else the user's first, or None when they belong to none.

    A signed-in user without an organisation who opens any other page gets a page that
    says so and how to join one (instead of every view having to handle a missing one).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Resolved here, not lazily: a lazy object wrapping None is not None, and views
        # and the accessors test `is None`. Anonymous requests cost no query.
        setattr(request, MEMBERSHIP_ATTRIBUTE, membership_for_session(request))
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if (
            current_membership_or_none(request) is None
            and user is not None
            and user.is_authenticated
            and not getattr(view_func, "organization_optional", False)
            and not request.path.startswith(ORGANIZATION_OPTIONAL_PATHS)
        ):
            status = 200 if request.method in ("GET", "HEAD") else 403
            return render(request, "accounts/no_organization.html", status=status)
        return None


TWO_FACTOR_EXEMPT = ("/accounts/", "/static/", "/healthz", "/invitations/")


class RequireTwoFactorMiddleware:
    """An organisation that requires two-factor sends members without it to set it up."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(TWO_FACTOR_EXEMPT):
            organization = current_organization_or_none(request)
            if organization and organization.require_two_factor and not _has_two_factor(user):
                from django.contrib import messages
                from django.shortcuts import redirect

                messages.warning(
                    request, f"{organization.name} requires two-factor authentication: set it up to continue."
                )
                return redirect("mfa_index")
        return self.get_response(request)


def _has_two_factor(user: Any) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


# Where a member who must use single sign-on may still go: sign-in and account pages (to
# sign in with SSO, or out), the organisation switcher (to another organisation), the API
# (its token authenticates, not the session), invitations, static files, health.
SINGLE_SIGN_ON_EXEMPT = ("/accounts/", "/orgs/switch/", "/api/", "/invitations/", "/static/", "/healthz", "/profile/")


class RequireSingleSignOnMiddleware:
    """An organisation that requires single sign-on refuses its pages to members who signed
    in another way (password, code), with a page that tells them to sign in with SSO.
    Owners are exempt: when the identity provider is down or misconfigured they sign in
    with their password and switch the requirement off, so no one is locked out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = current_membership_or_none(request)
        if (
            membership is not None
            and membership.organization.sso_required
            and membership.role != Role.OWNER
            and not request.path.startswith(SINGLE_SIGN_ON_EXEMPT)
            and not signed_in_with_sso(request)
        ):
            return render(
                request,
                "accounts/sso_required.html",
                {"organization": membership.organization, "provider": sso_provider()},
                status=403,
            )
        return self.get_response(request)


class UserPreferencesMiddleware:
    """Shows every time in the signed-in user's own time zone and date format (their
    profile; UTC and ISO until they choose)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        profile = Profile.objects.filter(user=user).first() if user is not None and user.is_authenticated else None
        timezone.activate(when.zone(profile.time_zone if profile else "UTC"))
        when.activate(profile.date_format if profile else when.ISO)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
            when.deactivate()
