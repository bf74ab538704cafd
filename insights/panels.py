"""Insights' panels on monitoring's pages (see `web/panels.py`): a resource's open findings,
and today's pillar scores on the overview."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Organization
from monitoring.models import Resource
from monitoring.views import OVERVIEW_SLOT, RESOURCE_SLOT
from web import panels

from .models import Finding, PillarScore
from .selectors import findings_that_matter


def _findings(request: HttpRequest, resource: Resource) -> dict[str, Any] | None:
    findings = list(Finding.objects.filter(resource=resource, status="open").order_by("severity"))
    return {"findings": findings} if findings else None


def _pillars(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    return {
        "pillars": PillarScore.objects.filter(organization=organization, day=timezone.now().date()),
        "top_findings": findings_that_matter(organization),
    }


def register() -> None:
    panels.register(RESOURCE_SLOT, name="findings", template="insights/_resource_findings.html", context=_findings)
    panels.register(OVERVIEW_SLOT, name="pillars", template="insights/_overview_pillars.html", context=_pillars)
