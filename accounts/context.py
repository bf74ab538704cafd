"""The organisation a request works in, as CurrentOrganizationMiddleware resolved it.

Every view reads it through these accessors, never through request attributes: the
attributes are untyped, and a view of a page that needs an organisation never runs without
one (the middleware answers such a request with the "no organisation" page first).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from .models import Membership, Organization

# The request attribute the middleware sets; only this module and the middleware name it.
MEMBERSHIP_ATTRIBUTE = "current_membership"


class NoOrganization(Http404):
    """A view that needs an organisation ran for a request without one (the middleware
    stops those first; a view marked organization_optional must not ask). A 404, as an
    object lookup without an organisation answers."""


def current_membership_or_none(request: HttpRequest) -> Membership | None:
    membership = getattr(request, MEMBERSHIP_ATTRIBUTE, None)
    return membership if isinstance(membership, Membership) else None


def current_membership(request: HttpRequest) -> Membership:
    membership = current_membership_or_none(request)
    if membership is None:
        raise NoOrganization("This request has no current organisation.")
    return membership


def current_organization_or_none(request: HttpRequest) -> Organization | None:
    membership = current_membership_or_none(request)
    return membership.organization if membership is not None else None


def current_organization(request: HttpRequest) -> Organization:
    return current_membership(request).organization


def signed_in_user(request: HttpRequest) -> User:
    """The user of a view behind login_required, typed as one (never anonymous there)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user
