from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from accounts.roles import Action, role_allows
from accounts.services import organization_create

pytestmark = pytest.mark.django_db


def test_a_user_in_two_organisations_switches_between_them(owner: Any) -> None:
    second = organization_create(name="Second Org", owner=owner.user)
    client = owner.client()
    assert b"Acme" in client.get(reverse("monitoring:overview")).content

    response = client.post(
        reverse("accounts:organization_switch"), {"organization": second.pk, "next": reverse("accounts:settings")}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:settings")
    page = client.get(reverse("accounts:settings")).content.decode()
    assert "Second Org" in page
    assert "teammate@acme.test" not in page


def test_the_switcher_lists_every_organisation_of_the_user(owner: Any) -> None:
    organization_create(name="Second Org", owner=owner.user)

    page = owner.client().get(reverse("monitoring:overview")).content.decode()

    assert 'name="organization"' in page
    assert "Second Org" in page and "Acme" in page


def test_switching_to_an_organisation_one_is_not_in_answers_404(owner: Any, outsider: Any) -> None:
    client = owner.client()

    response = client.post(reverse("accounts:organization_switch"), {"organization": outsider.organization.pk})

    assert response.status_code == 404
    assert b"Globex" not in client.get(reverse("monitoring:overview")).content


def test_a_member_of_organisation_a_gets_404_on_organisation_b_objects(owner: Any, outsider: Any) -> None:
    client = owner.client()

    response = client.get(reverse("accounts:member_detail", args=[outsider.membership.pk]))

    assert response.status_code == 404
    assert b"someone@globex.test" not in response.content


def test_members_see_their_own_organisation_members(owner: Any, teammate: Any, outsider: Any) -> None:
    response = teammate.client().get(reverse("accounts:settings"))

    page = response.content.decode()
    assert "owner@acme.test" in page and "teammate@acme.test" in page
    assert "someone@globex.test" not in page
    detail = teammate.client().get(reverse("accounts:member_detail", args=[owner.membership.pk]))
    assert detail.status_code == 200
    assert b"Owner" in detail.content


def test_an_organisation_object_404s_once_the_user_switches_away(owner: Any) -> None:
    second = organization_create(name="Second Org", owner=owner.user)
    client = owner.client()
    client.post(reverse("accounts:organization_switch"), {"organization": second.pk})

    assert client.get(reverse("accounts:member_detail", args=[owner.membership.pk])).status_code == 404


def test_a_user_without_an_organisation_is_told_how_to_get_one(db: Any, django_user_model: Any) -> None:
    from django.test import Client

    user = django_user_model.objects.create_user(username="lone", email="lone@x.test", password="x")
    client = Client()
    client.force_login(user)

    page = client.get(reverse("monitoring:overview")).content.decode()

    assert "You are not in an organisation yet" in page
    assert "createorg" in page


@pytest.mark.parametrize(
    "page",
    [
        "monitoring:overview",
        "monitoring:resources",
        "monitoring:errors",
        "monitoring:logs",
        "insights:index",
        "alerts:index",
        "accounts:settings",
    ],
)
def test_every_navigation_page_answers_for_a_member_and_needs_login(page: str, teammate: Any) -> None:
    from django.test import Client

    assert teammate.client().get(reverse(page)).status_code == 200
    anonymous = Client().get(reverse(page))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))


def test_roles_are_ordered_from_viewer_to_owner() -> None:
    assert role_allows(Role.VIEWER, Action.VIEW)
    assert not role_allows(Role.VIEWER, Action.TRIAGE)
    assert role_allows(Role.MEMBER, Action.TRIAGE)
    assert not role_allows(Role.MEMBER, Action.MANAGE)
    assert role_allows(Role.ADMIN, Action.MANAGE)
    assert not role_allows(Role.ADMIN, Action.OWN)
    assert role_allows(Role.OWNER, Action.OWN)


def test_an_organisation_has_one_membership_per_user(owner: Any) -> None:
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        Membership.objects.create(organization=owner.organization, user=owner.user, role=Role.ADMIN)
