"""API tokens: issued and revoked from the admin console, and the authentication of the
JSON API's requests by their secret (stored only as a hash).

A token reads (`read`, the default, and every token issued before scopes existed) or also
writes configuration (`write`). Only an admin or owner of the organisation may issue a
write token; the command line (`create_api_token --scope write`) is the operator's."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .admin_services import AdminError, sha256
from .audit import audit_record
from .models import ApiToken, Membership, Organization
from .roles import Action, role_allows

TOKEN_PREFIX = "dbt_"


@transaction.atomic
def api_token_create(
    *,
    organization: Organization,
    name: str,
    by: Any = None,
    request: HttpRequest | None = None,
    scope: str = ApiToken.Scope.READ,
) -> tuple[ApiToken, str]:
    """Returns the token and its secret, which is shown once and never stored. A write
    token needs `by` to be an admin (or owner) of the organisation, or no `by` at all
    (the operator's command line)."""
    name = name.strip()
    if not name:
        raise AdminError("Give the token a name, e.g. the system that will use it.")
    if scope not in ApiToken.Scope.values:
        raise AdminError(f"A token's scope is one of {', '.join(ApiToken.Scope.values)}.")
    if scope == ApiToken.Scope.WRITE and by is not None:
        membership = Membership.objects.filter(organization=organization, user=by).first()
        if membership is None or not role_allows(membership.role, Action.MANAGE):
            raise AdminError("Only admins and owners may create a token that writes.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization=organization,
        name=name[:120],
        prefix=raw[:12],
        token_hash=sha256(raw),
        created_by=by,
        scope=scope,
    )
    audit_record(
        organization=organization,
        action="api_token.created",
        obj=token,
        actor=by,
        request=request,
        changes={"scope": scope},
    )
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
