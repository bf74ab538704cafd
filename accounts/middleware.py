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
