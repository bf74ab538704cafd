"""Reads for the insights pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet

from accounts.models import Organization
from accounts.selectors import get_scoped_or_404

from .checks import PILLARS
from .models import Finding, FindingStatus, PillarScore


@dataclass(frozen=True)
class FindingFilters:
    pillar: str = ""
    severity: str = ""
    service: str = ""
    status: str = ""  # empty: open findings
    account: int | None = None


def get_finding_for_user(user: Any, organization: Organization | None, pk: int) -> Finding:
    return get_scoped_or_404(Finding.objects.all(), organization=organization, pk=pk)


def findings_for(organization: Organization, filters: FindingFilters) -> QuerySet[Finding]:
    """The organisation's findings that match the filters, most severe and most recent first."""
    findings = Finding.objects.filter(organization=organization, status=filters.status or FindingStatus.OPEN)
    for key in ("pillar", "severity", "service"):
        value = getattr(filters, key)
        if value:
            findings = findings.filter(**{key: value})
    if filters.account is not None:
        findings = findings.filter(account_id=filters.account)
    return findings.select_related("resource", "account").order_by("severity", "-last_seen")


def pillar_scores(
    organization: Organization, *, today: date, days: int = 30
) -> list[tuple[str, PillarScore | None, list[int]]]:
    """Per pillar: today's score (None before the first evaluation) and the daily scores of
    the last `days` days, rounded, oldest first."""
    recent = PillarScore.objects.filter(organization=organization, day__gte=today - timedelta(days=days)).order_by(
        "day"
    )
    latest: dict[str, PillarScore] = {}
    trend: dict[str, list[int]] = {}
    for score in recent:
        trend.setdefault(score.pillar, []).append(round(score.score))
        if score.day == today:
            latest[score.pillar] = score
    return [(pillar, latest.get(pillar), trend.get(pillar, [])) for pillar in PILLARS]
