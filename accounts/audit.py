"""The audit log's one writer: who changed what, from where, in which organisation."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import HttpRequest

from web.client_address import client_ip
from web.params import clean_text

from .models import ApiToken, AuditEvent, Organization


def audit_record(
    *,
    organization: Organization,
    action: str,
    obj: Model | None = None,
    actor: Any = None,
    request: HttpRequest | None = None,
    changes: dict[str, Any] | None = None,
    object_repr: str = "",
) -> AuditEvent:
    """The one way to write the audit log. Never pass secrets in `changes`. `actor` is a
    user, an ApiToken (a change through the API: "api token NAME (dbt_…)"), or a label."""
    user = actor if actor is not None else (getattr(request, "user", None) if request else None)
    authenticated = bool(user is not None and getattr(user, "is_authenticated", False))
    if isinstance(user, ApiToken):
        label = f"api token {user.name} ({user.prefix}…)"
    else:
        label = getattr(user, "email", "") if authenticated else (str(user) if user else "system")
    return AuditEvent.objects.create(
        organization=organization,
        actor=user if authenticated else None,
        actor_label=clean_text(label)[:254],
        action=action,
        object_type=(obj._meta.model_name or "") if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=clean_text(object_repr or str(obj or ""))[:300],
        changes=_without_nul(changes or {}),
        ip=client_ip(request) if request is not None else None,
        user_agent=clean_text(request.META.get("HTTP_USER_AGENT", "") if request else "")[:300],
    )


def _without_nul(value: Any) -> Any:
    """PostgreSQL's jsonb refuses the NUL character; the audit record must not fail on one."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(str(k)): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value
