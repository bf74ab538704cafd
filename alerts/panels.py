"""Alerts' panels (see `web/panels.py`): on accounts' settings page, the member's own e-mail
digest preferences (its form posts to `alerts.views.digest_preferences`); on monitoring's
resource page, the rules that watch the resource and its incidents."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import Organization
from accounts.permissions import can
from accounts.roles import Action
from accounts.views_admin import SETTINGS_SLOT
from monitoring.models import Resource
from monitoring.views import RESOURCE_SLOT
from web import panels

from .models import DigestFrequency, DigestSubscription
from .selectors import incidents_of, rules_watching


def _digest(request: HttpRequest, organization: Organization | None) -> dict[str, Any]:
    return {
        "digest": DigestSubscription.objects.filter(organization=organization, user_id=request.user.pk or 0).first(),
        "digest_choices": DigestFrequency.choices,
    }


def _resource_alerts(request: HttpRequest, resource: Resource) -> dict[str, Any]:
    return {
        "rules": rules_watching(resource),
        "incidents": incidents_of(resource),
        "can_manage": can(request, Action.MANAGE),
    }


def register() -> None:
    panels.register(SETTINGS_SLOT, name="digest", template="alerts/_digest_preferences.html", context=_digest)
    panels.register(
        RESOURCE_SLOT, name="alerts", template="alerts/_resource_alerts.html", context=_resource_alerts, order=200
    )
