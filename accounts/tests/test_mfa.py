from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def log_in(client: Client, email: str) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD})


def reauthenticate(client: Client) -> None:
    """Security settings ask for the password again, even right after signing in."""
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("account_reauthenticate"))
    assert client.post(page["Location"], {"password": PASSWORD}).status_code == 302


def enrol_totp(client: Client) -> str:
    reauthenticate(client)
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return secret


def test_a_user_enrols_totp_with_a_code_from_their_authenticator_app(owner: Any) -> None:
    client = Client()
    log_in(client, owner.user.email)

    enrol_totp(client)

    assert Authenticator.objects.filter(user=owner.user, type=Authenticator.Type.TOTP).exists()


def test_a_wrong_code_does_not_enrol(owner: Any) -> None:
    client = Client()
    log_in(client, owner.user.email)
    reauthenticate(client)
    client.get(reverse("mfa_activate_totp"))

    response = client.post(reverse("mfa_activate_totp"), {"code": "000000"})

    assert response.status_code == 200
    assert not Authenticator.objects.filter(user=owner.user).exists()


def test_after_enrolment_login_asks_for_the_code_before_the_overview(owner: Any, redis_db: Any) -> None:
    start = datetime.now(tz=UTC).replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        client = Client()
        log_in(client, owner.user.email)
        secret = enrol_totp(client)
        client.post(reverse("account_logout"))

    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        second = Client()
        response = log_in(second, owner.user.email)
        assert response["Location"] == reverse("mfa_authenticate")
        assert second.get(reverse("monitoring:overview")).status_code == 302  # not in yet

        assert second.post(reverse("mfa_authenticate"), {"code": "123456"}).status_code == 200
        response = second.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
        assert response.status_code == 302
        assert second.get(reverse("monitoring:overview")).status_code == 200
