from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from .models import Membership
from .selectors import memberships_for_user

SESSION_KEY = "current_organization_id"


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership the user works in: the one chosen in the switcher, else their first."""
    memberships = memberships_for_user(request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        membership = memberships.filter(organization_id=chosen).first()
        if membership is not None:
            return membership
    return memberships.first()


class CurrentOrganizationMiddleware:
    """Puts `request.membership` and `request.organization` (lazily) on every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership: Any = SimpleLazyObject(lambda: current_membership(request))
        request.membership = membership  # type: ignore[attr-defined]
        request.organization = SimpleLazyObject(  # type: ignore[attr-defined]
            lambda: membership.organization if membership else None
        )
        return self.get_response(request)


TWO_FACTOR_EXEMPT = ("/accounts/", "/static/", "/healthz", "/invitations/")


class RequireTwoFactorMiddleware:
    """An organisation that requires two-factor sends members without it to set it up."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(TWO_FACTOR_EXEMPT):
            organization = getattr(request, "organization", None)
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
