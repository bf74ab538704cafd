"""Insights' panels on monitoring's pages (see `web/panels.py`): a resource's open findings
and anomalies, and today's pillar scores and anomalies on the overview."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Organization
from monitoring.models import Resource
from monitoring.views import OVERVIEW_SLOT, RESOURCE_SLOT
from web import panels

from .models import Finding, PillarScore
from .selectors import anomalies_of_resource, findings_that_matter, recent_anomalies


def _findings(request: HttpRequest, resource: Resource) -> dict[str, Any] | None:
    findings = list(Finding.objects.filter(resource=resource, status="open").order_by("severity"))
    return {"findings": findings} if findings else None


def _pillars(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    return {
        "pillars": PillarScore.objects.filter(organization=organization, day=timezone.now().date()),
        "top_findings": findings_that_matter(organization),
    }


def _resource_anomalies(request: HttpRequest, resource: Resource) -> dict[str, Any]:
    since = timezone.now() - timedelta(days=7)
    return {"anomalies": anomalies_of_resource(resource.pk, since=since), "anomalies_window": "last 7 days"}


def _overview_anomalies(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    since = timezone.now() - timedelta(hours=24)
    return {
        "anomalies": recent_anomalies(organization, since=since),
        "anomalies_window": "last 24 hours",
        "show_resource": True,
    }


def register() -> None:
    panels.register(RESOURCE_SLOT, name="findings", template="insights/_resource_findings.html", context=_findings)
    panels.register(OVERVIEW_SLOT, name="pillars", template="insights/_overview_pillars.html", context=_pillars)
    panels.register(RESOURCE_SLOT, name="anomalies", template="insights/_anomalies.html", context=_resource_anomalies)
    panels.register(OVERVIEW_SLOT, name="anomalies", template="insights/_anomalies.html", context=_overview_anomalies)
