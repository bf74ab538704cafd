"""Alerts' panel on accounts' settings page (see `web/panels.py`): the member's own e-mail
digest preferences. Its form posts to `alerts.views.digest_preferences`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import Organization
from accounts.views_admin import SETTINGS_SLOT
from web import panels

from .models import DigestFrequency, DigestSubscription


def _digest(request: HttpRequest, organization: Organization | None) -> dict[str, Any]:
    return {
        "digest": DigestSubscription.objects.filter(organization=organization, user_id=request.user.pk or 0).first(),
        "digest_choices": DigestFrequency.choices,
    }


def register() -> None:
    panels.register(SETTINGS_SLOT, name="digest", template="alerts/_digest_preferences.html", context=_digest)
