"""Writes of the insights pages. Keyword arguments, typed, atomic; the evaluation of the
checks themselves is insights.engine."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .models import Finding, FindingStatus, Suppression


@transaction.atomic
def finding_suppress(
    *, finding: Finding, scope: str, reason: str, days: int | None, by: User
) -> tuple[Suppression, int]:
    """Suppress the finding, every open finding of its check, or every open finding of its
    resource (by `scope`), until `days` from now or for good; returns the suppression and
    how many open findings it silenced."""
    suppression = Suppression.objects.create(
        organization=finding.organization,
        scope=scope,
        check_id=finding.check_id if scope == Suppression.Scope.CHECK else "",
        resource=finding.resource if scope == Suppression.Scope.RESOURCE else None,
        finding=finding if scope == Suppression.Scope.FINDING else None,
        reason=reason,
        created_by=by,
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    matching = Finding.objects.filter(organization=finding.organization, status=FindingStatus.OPEN)
    if scope == Suppression.Scope.FINDING:
        matching = matching.filter(pk=finding.pk)
    elif scope == Suppression.Scope.CHECK:
        matching = matching.filter(check_id=finding.check_id)
    else:
        matching = matching.filter(resource=finding.resource)
    return suppression, matching.update(status=FindingStatus.SUPPRESSED)
