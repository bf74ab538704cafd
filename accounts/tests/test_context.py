"""The typed accessors every view reads the current organisation through."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.test import RequestFactory

from accounts.context import current_membership, current_organization, current_organization_or_none, signed_in_user
from accounts.middleware import SESSION_KEY, CurrentOrganizationMiddleware
from accounts.services import organization_create


def through_middleware(user: Any, chosen: int | None = None) -> HttpRequest:
    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    if chosen is not None:
        request.session[SESSION_KEY] = chosen
    CurrentOrganizationMiddleware(lambda r: HttpResponse())(request)
    return request


def test_it_is_the_organisation_chosen_in_the_switcher(owner: Any) -> None:
    second = organization_create(name="Second Org", owner=owner.user)

    request = through_middleware(owner.user, chosen=second.pk)

    assert current_organization(request) == second
    assert current_membership(request).organization == second


def test_it_is_the_first_one_when_the_choice_is_not_a_membership(owner: Any, outsider: Any) -> None:
    request = through_middleware(owner.user, chosen=outsider.organization.pk)

    assert current_organization(request) == owner.organization


def test_a_request_without_one_answers_404_where_one_is_needed(db: Any) -> None:
    request = through_middleware(AnonymousUser())

    assert current_organization_or_none(request) is None
    with pytest.raises(Http404):
        current_organization(request)
    with pytest.raises(PermissionDenied):
        signed_in_user(request)
