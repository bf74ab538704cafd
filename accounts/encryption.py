"""Secrets at rest: every secret we must hold is a Fernet token under FIELD_ENCRYPTION_KEYS.

The setting is a list of Fernet keys read from the environment (never derived from
SECRET_KEY). `cryptography`'s MultiFernet encrypts with the first key and decrypts with
any of them, so keys rotate without losing data:

1. Put a new key first in FIELD_ENCRYPTION_KEYS and keep the old ones after it.
2. Restart web and workers, then run `manage.py rotatekeys`: it re-encrypts every stored
   secret with the first key.
3. Drop the old keys from the setting.

What is encrypted: every `EncryptedJSONField` (channel configurations: webhook signing
secrets, Slack and Teams URLs, PagerDuty routing keys) and allauth's MFA secrets (TOTP
seeds, recovery-code seeds) through `accounts.mfa.MFAAdapter`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models

MISSING_KEYS = (
    "FIELD_ENCRYPTION_KEYS is not set: secrets (channel keys and URLs, two-factor seeds) cannot be "
    "stored or read. Set it to one or more Fernet keys, comma-separated, newest first; make one with "
    '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.'
)


class DecryptionError(Exception):
    """A stored token that none of the configured keys opens (a key was dropped too early)."""


@lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    keys = tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or ())
    if not keys:
        raise ImproperlyConfigured(MISSING_KEYS)
    return keys


def encrypt(text: str) -> str:
    """A Fernet token (ASCII) of `text` under the first key."""
    return _multi_fernet(_keys()).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The text of a token made by `encrypt` under any configured key."""
    try:
        return _multi_fernet(_keys()).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise DecryptionError(
            "a stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS "
            "(was a key removed before `manage.py rotatekeys` ran?)"
        ) from None


def rotate(token: str) -> str:
    """The same secret, re-encrypted under the first key (its original timestamp kept)."""
    try:
        return _multi_fernet(_keys()).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise DecryptionError("a stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS") from None


def is_current(token: str) -> bool:
    """Whether the first (newest) key alone opens the token: nothing for rotatekeys to do."""
    try:
        Fernet(_keys()[0]).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True


class EncryptedJSONField(models.TextField):
    """A JSON value stored as one Fernet token: the database row holds no part of it.

    Lookups on the value are meaningless (each encryption differs) and are not supported.
    """

    description = "JSON encrypted with FIELD_ENCRYPTION_KEYS"
    # For django-stubs: set and read as JSON values, like a JSONField.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return json.loads(decrypt(value))

    def to_python(self, value: Any) -> Any:
        # Strings reach here as tokens (fixtures, serialised data); Python values pass.
        if not isinstance(value, str):
            return value
        try:
            return json.loads(decrypt(value))
        except (DecryptionError, ValueError) as exc:
            raise ValidationError(str(exc), code="invalid") from None

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def value_to_string(self, obj: Any) -> str:
        # dumpdata writes the token, never the secret.
        return str(self.get_prep_value(self.value_from_object(obj)))
