from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_createorg_then_the_login_form_reaches_the_overview() -> None:
    out = StringIO()
    call_command("createorg", name="Acme", owner="ops@acme.test", password="S3cret-pass!", stdout=out)
    assert "Created organisation 'Acme'" in out.getvalue()

    client = Client()
    response = client.post(reverse("account_login"), {"login": "ops@acme.test", "password": "S3cret-pass!"})
    assert response.status_code == 302
    assert response["Location"] == reverse("monitoring:overview")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"<h1>Overview</h1>" in page.content
    assert b"Acme" in page.content


def test_createorg_without_password_prints_a_generated_one_that_works() -> None:
    out = StringIO()
    call_command("createorg", name="Acme", owner="ops@acme.test", stdout=out)
    password = out.getvalue().split("Password (shown once): ")[1].strip()

    assert Client().post(reverse("account_login"), {"login": "ops@acme.test", "password": password}).status_code == 302
    assert Membership.objects.get(user__email="ops@acme.test").role == Role.OWNER


def test_createorg_for_an_existing_user_adds_an_organisation_they_own(owner: Any) -> None:
    call_command("createorg", name="Second", owner=owner.user.email, stdout=StringIO())

    assert set(Membership.objects.filter(user=owner.user).values_list("organization__name", flat=True)) == {
        "Acme",
        "Second",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "X", "owner": "not-an-email"}, "is not an email address"),
        ({"name": "  ", "owner": "a@b.test"}, "needs a name"),
    ],
)
def test_createorg_refuses_bad_input_clearly(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("createorg", **kwargs, stdout=StringIO())
    assert not Membership.objects.exists()


def test_wrong_password_is_refused_and_pages_need_a_login() -> None:
    call_command("createorg", name="Acme", owner="ops@acme.test", password="S3cret-pass!", stdout=StringIO())
    client = Client()

    response = client.post(reverse("account_login"), {"login": "ops@acme.test", "password": "wrong"})
    assert response.status_code == 200
    assert b"not correct" in response.content
    overview = client.get(reverse("monitoring:overview"))
    assert overview.status_code == 302
    assert overview["Location"].startswith(reverse("account_login"))


def test_logout_ends_the_session(owner: Any) -> None:
    client = owner.client()
    assert client.get(reverse("monitoring:overview")).status_code == 200

    client.post(reverse("account_logout"))

    assert client.get(reverse("monitoring:overview")).status_code == 302
