"""Role checks for views: the one place a view asks "may this member do that here?"."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from .context import current_membership_or_none
from .roles import Action, role_allows


def can(request: HttpRequest, action: Action) -> bool:
    membership = current_membership_or_none(request)
    if membership is None:
        return False
    return role_allows(membership.role, action)


def require(request: HttpRequest, action: Action) -> None:
    """403 for a member whose role does not allow `action` (objects of other organisations
    never get this far: their lookups answer 404)."""
    if not can(request, action):
        raise PermissionDenied(f"Your role may not {action.value} here.")
