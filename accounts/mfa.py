"""allauth's MFA adapter with real encryption: its default `encrypt()` returns the text
unchanged, which would leave every TOTP seed and recovery-code seed readable in the
`mfa_authenticator` table (and in every backup of it)."""

from __future__ import annotations

from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter

from . import encryption

# The values inside Authenticator.data that allauth passes through encrypt()/decrypt().
SECRET_KEYS = ("secret", "seed")
SECRET_LISTS = ("migrated_codes",)


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return encryption.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return encryption.decrypt(encrypted_text)


def map_secrets(data: dict[str, Any], change: Any) -> dict[str, Any]:
    """`data` (an Authenticator's) with `change` applied to each secret it holds; used by
    the data migration (encrypt) and `rotatekeys` (rotate)."""
    out = dict(data)
    for key in SECRET_KEYS:
        if isinstance(out.get(key), str):
            out[key] = change(out[key])
    for key in SECRET_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [change(item) if isinstance(item, str) else item for item in out[key]]
    return out
