from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .selectors import memberships_for_user


def organization(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "current_membership": membership if membership else None,
        "current_organization": membership.organization if membership else None,
        "my_memberships": memberships_for_user(request.user) if hasattr(request, "user") else [],
    }
