from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db

PASSWORD = "Tr1cky-enough-pass"


def sign_up(client: Client, email: str = "new@initech.test", org: str = "Initech") -> Any:
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD, "organization_name": org},
    )


def confirmation_link(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", str(message.body))
    assert match, message.body
    return match.group(1)


def test_sign_up_creates_the_user_their_organisation_and_owner_membership() -> None:
    response = sign_up(Client())

    assert response.status_code == 302
    user = get_user_model().objects.get(email="new@initech.test")
    membership = Membership.objects.get(user=user)
    assert membership.organization.name == "Initech"
    assert membership.role == Role.OWNER


def test_sign_up_without_an_organisation_name_names_it_after_the_email_domain() -> None:
    sign_up(Client(), email="ops@globex.test", org="")

    assert Membership.objects.get(user__email="ops@globex.test").organization.name == "Globex"


def test_sign_up_sends_a_verification_email_and_blocks_login_until_confirmed() -> None:
    sign_up(Client())

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@initech.test"]
    assert "confirm" in mail.outbox[0].subject.lower()
    assert not EmailAddress.objects.get(email="new@initech.test").verified

    other = Client()
    response = other.post(reverse("account_login"), {"login": "new@initech.test", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert other.get(reverse("monitoring:overview")).status_code == 302  # still not signed in


def test_following_the_verification_link_verifies_and_signs_in() -> None:
    client = Client()
    sign_up(client)
    link = confirmation_link(mail.outbox[0])

    assert client.get(link).status_code == 200
    response = client.post(link)

    assert EmailAddress.objects.get(email="new@initech.test").verified
    assert response.status_code == 302
    overview = client.get(reverse("monitoring:overview"))
    assert overview.status_code == 200
    assert b"Initech" in overview.content


def test_a_duplicate_sign_up_creates_nothing_and_tells_the_owner_of_the_address() -> None:
    sign_up(Client())
    mail.outbox.clear()
    cache.clear()  # allauth allows one mail per address per few minutes

    response = sign_up(Client(), org="Impostor")

    # allauth answers as for a new address (no account enumeration) and mails the owner.
    assert response.status_code == 302
    assert get_user_model().objects.filter(email="new@initech.test").count() == 1
    assert not Membership.objects.filter(organization__name="Impostor").exists()
    assert len(mail.outbox) == 1
    assert "already" in mail.outbox[0].body.lower()


def test_password_reset_mails_a_working_link(owner: Any) -> None:
    client = Client()
    client.post(reverse("account_reset_password"), {"email": owner.user.email})

    assert len(mail.outbox) == 1
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/[^\s]+/)", str(mail.outbox[0].body))
    assert match, mail.outbox[0].body
    form_page = client.get(match.group(1), follow=True)
    assert form_page.status_code == 200
    client.post(form_page.redirect_chain[-1][0], {"password1": "Brand-new-pass-7", "password2": "Brand-new-pass-7"})

    assert Client().login(username=owner.user.username, password="Brand-new-pass-7")
