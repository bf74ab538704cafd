"""API tokens: issued and revoked from the admin console, and the authentication of the
JSON API's requests by their secret (stored only as a hash)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .admin_services import AdminError, sha256
from .audit import audit_record
from .models import ApiToken, Organization

TOKEN_PREFIX = "dbt_"


@transaction.atomic
def api_token_create(
    *, organization: Organization, name: str, by: Any = None, request: HttpRequest | None = None
) -> tuple[ApiToken, str]:
    """Returns the token and its secret, which is shown once and never stored."""
    name = name.strip()
    if not name:
        raise AdminError("Give the token a name, e.g. the system that will use it.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization=organization, name=name[:120], prefix=raw[:12], token_hash=sha256(raw), created_by=by
    )
    audit_record(organization=organization, action="api_token.created", obj=token, actor=by, request=request)
    return token, raw


def api_token_revoke(*, token: ApiToken, request: HttpRequest) -> None:
    if not ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=timezone.now()):
        raise AdminError("That token is already revoked.")
    audit_record(organization=token.organization, action="api_token.revoked", obj=token, request=request)


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The live token for a secret, its last use stamped (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("organization").filter(token_hash=sha256(raw), revoked_at=None).first()
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token


def api_token_from_request(request: HttpRequest) -> ApiToken | None:
    """The live token of an `Authorization: Bearer <secret>` header, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return api_token_authenticate(header[7:].strip()) if header.startswith("Bearer ") else None
