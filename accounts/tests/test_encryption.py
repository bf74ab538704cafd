"""Secrets at rest: channel secrets and two-factor seeds are Fernet tokens in the database,
keys rotate without losing anything, and a bad or missing key is said loudly."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.fernet import Fernet
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.encryption import DecryptionError
from accounts.tests.test_mfa import current_code, enrol_totp, log_in
from alerts.models import Channel
from dashbird_clone.checks import check_field_encryption_keys

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]

SECRETS = {
    "webhook": {"url": "https://hooks.acme.test/dashbird/inbound-7f3a", "secret": "whsec-s3cr3t-signing-key-0042"},
    "slack": {"webhook_url": "https://hooks.slack.com/services/T0ACME/B0OPS/XyZsecretPathValue42"},
    "teams": {"webhook_url": "https://acme.webhook.office.com/workflows/abc?sig=SiGnAtUrEvAlUe42"},
    "pagerduty": {"routing_key": "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY42"},
}


def raw_config(channel: Channel) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM alerts_channel WHERE id = %s", [channel.pk])
        return str(cursor.fetchone()[0])


def raw_authenticator(user: Any, kind: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT data::text FROM mfa_authenticator WHERE user_id = %s AND type = %s", [user.pk, kind])
        return str(cursor.fetchone()[0])


def fresh_key() -> str:
    return Fernet.generate_key().decode()


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_a_channel_row_in_the_database_holds_no_part_of_its_secret(owner: Any, kind: str) -> None:
    config = SECRETS[kind]
    channel = Channel.objects.create(organization=owner.organization, kind=kind, name="ops", config=config)

    stored = raw_config(channel)

    for value in config.values():
        assert value not in stored
        assert value.split("//")[-1][:12] not in stored  # not even the host or the start of a key
    assert Fernet(settings_key()).decrypt(stored.encode())  # a Fernet token under the configured key
    assert Channel.objects.get(pk=channel.pk).config == config


def settings_key() -> str:
    from django.conf import settings

    return str(settings.FIELD_ENCRYPTION_KEYS[0])


def test_a_totp_authenticator_row_holds_neither_seed_and_sign_in_still_works(owner: Any) -> None:
    client = Client()
    log_in(client, owner.user.email)
    secret = enrol_totp(client)

    stored = raw_authenticator(owner.user, "totp")
    assert secret not in stored and secret.lower() not in stored
    token = json.loads(stored)["secret"]
    assert Fernet(settings_key()).decrypt(token.encode()).decode() == secret
    codes = Authenticator.objects.get(user=owner.user, type="recovery_codes")
    seed_row = raw_authenticator(owner.user, "recovery_codes")
    assert Fernet(settings_key()).decrypt(json.loads(seed_row)["seed"].encode()).decode() not in seed_row
    assert codes.wrap().generate_codes()  # the seed decrypts into working codes

    client.post(reverse("account_logout"))
    second = Client()
    log_in(second, owner.user.email)
    assert second.post(reverse("mfa_authenticate"), {"code": current_code(secret)}).status_code == 302


def test_rotation_re_encrypts_every_secret_with_the_new_key_and_the_old_one_can_then_go(
    owner: Any, settings: Any
) -> None:
    old, new = fresh_key(), fresh_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    channel = Channel.objects.create(
        organization=owner.organization, kind="webhook", name="ops", config=SECRETS["webhook"]
    )
    TOTP.activate(owner.user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    before = raw_config(channel), raw_authenticator(owner.user, "totp")

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    dry = StringIO()
    call_command("rotatekeys", "--dry-run", stdout=dry)
    assert "alerts.Channel.config: would re-encrypt 1, already under the newest key 0" in dry.getvalue()
    assert (raw_config(channel), raw_authenticator(owner.user, "totp")) == before
    out = StringIO()
    call_command("rotatekeys", stdout=out)
    assert "alerts.Channel.config: re-encrypted 1, already under the newest key 0" in out.getvalue()
    assert "mfa.Authenticator secrets: re-encrypted 1, already under the newest key 0" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone
    assert Channel.objects.get(pk=channel.pk).config == SECRETS["webhook"]
    totp = Authenticator.objects.get(user=owner.user, type="totp").wrap()
    assert totp.validate_code(current_code("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
    again = StringIO()
    call_command("rotatekeys", stdout=again)
    assert "alerts.Channel.config: re-encrypted 0, already under the newest key 1" in again.getvalue()


def test_a_key_dropped_before_rotation_fails_loudly_instead_of_reading_garbage(owner: Any, settings: Any) -> None:
    channel = Channel.objects.create(
        organization=owner.organization, kind="webhook", name="ops", config=SECRETS["webhook"]
    )

    settings.FIELD_ENCRYPTION_KEYS = [fresh_key()]

    with pytest.raises(DecryptionError, match="cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS"):
        Channel.objects.get(pk=channel.pk)
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotatekeys", stdout=StringIO())


def test_plain_rows_from_before_encryption_are_encrypted_by_the_migrations(owner: Any) -> None:
    channel = Channel.objects.create(organization=owner.organization, kind="slack", name="ops", config={})
    with connection.cursor() as cursor:  # as 0002 left it: the JSON text itself
        cursor.execute(
            "UPDATE alerts_channel SET config = %s WHERE id = %s", [json.dumps(SECRETS["slack"]), channel.pk]
        )
    Authenticator.objects.create(user=owner.user, type="totp", data={"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"})
    channels = importlib.import_module("alerts.migrations.0003_encrypt_channel_config")
    mfa = importlib.import_module("accounts.migrations.0005_encrypt_mfa_secrets")

    for _ in range(2):  # running again changes nothing
        channels.encrypt_rows(django_apps, SimpleNamespace(connection=connection))
        mfa.encrypt_secrets(django_apps, None)

    assert SECRETS["slack"]["webhook_url"] not in raw_config(channel)
    assert Channel.objects.get(pk=channel.pk).config == SECRETS["slack"]
    assert "JBSWY3DP" not in raw_authenticator(owner.user, "totp")
    totp = Authenticator.objects.get(user=owner.user, type="totp").wrap()
    assert totp.validate_code(current_code("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))


def test_a_missing_key_is_an_error_outside_debug_and_a_warning_in_it(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.DEBUG = False
    [error] = check_field_encryption_keys(None)
    assert error.id == "dashbird.E002" and "FIELD_ENCRYPTION_KEYS is not set" in error.msg
    settings.DEBUG = True
    [warning] = check_field_encryption_keys(None)
    assert warning.id == "dashbird.W003"


def environment(**values: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "FIELD_ENCRYPTION_KEYS"}}
    env["FIELD_ENCRYPTION_KEYS_FILE"] = "/nonexistent/field_encryption_keys"
    env.setdefault("SECRET_KEY", "x" * 50)
    env.update(values)
    return env


def test_a_malformed_key_stops_start_up_without_printing_it() -> None:
    bad = "not-a-fernet-key-but-a-secret-all-the-same"
    result = subprocess.run(
        [sys.executable, "-c", "import dashbird_clone.settings"],
        cwd=BASE_DIR,
        env=environment(FIELD_ENCRYPTION_KEYS=f"{fresh_key()},{bad}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS: key 2 of 2 is not a Fernet key" in result.stderr
    assert bad not in result.stderr


def test_manage_py_refuses_to_run_without_a_key() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "dashbird.E002" in result.stderr
