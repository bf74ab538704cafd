from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .context import current_membership_or_none
from .selectors import memberships_for_user


def organization(request: HttpRequest) -> dict[str, Any]:
    membership = current_membership_or_none(request)
    return {
        "current_membership": membership,
        "current_organization": membership.organization if membership else None,
        "my_memberships": memberships_for_user(request.user) if hasattr(request, "user") else [],
    }
