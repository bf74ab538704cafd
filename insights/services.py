"""Writes of the insights pages. Keyword arguments, typed, atomic; the evaluation of the
checks themselves is insights.engine."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from monitoring.models import Resource

from .engine import _suppressions, is_suppressed
from .models import Finding, FindingStatus, Suppression


@transaction.atomic
def finding_suppress(
    *, finding: Finding, scope: str, reason: str, days: int | None, by: User
) -> tuple[Suppression, int]:
    """Suppress the finding, every open finding of its check, or every open finding of its
    resource (by `scope`), until `days` from now or for good; returns the suppression and
    how many open findings it silenced."""
    return suppression_create(
        organization=finding.organization,
        scope=scope,
        check_id=finding.check_id if scope == Suppression.Scope.CHECK else "",
        resource=finding.resource if scope == Suppression.Scope.RESOURCE else None,
        finding=finding if scope == Suppression.Scope.FINDING else None,
        reason=reason,
        expires_at=timezone.now() + timedelta(days=days) if days else None,
        by=by,
    )


def _matching(suppression: Suppression) -> Any:
    matching = Finding.objects.filter(organization=suppression.organization)
    if suppression.scope == Suppression.Scope.FINDING:
        return matching.filter(pk=suppression.finding_id or 0)
    if suppression.scope == Suppression.Scope.CHECK:
        return matching.filter(check_id=suppression.check_id)
    return matching.filter(resource_id=suppression.resource_id or 0)


@transaction.atomic
def suppression_create(
    *,
    organization: Organization,
    scope: str,
    reason: str,
    check_id: str = "",
    resource: Resource | None = None,
    finding: Finding | None = None,
    expires_at: datetime | None = None,
    by: Any = None,
) -> tuple[Suppression, int]:
    """A suppression (validated by insights.forms.SuppressionSpecForm); the open findings
    it covers are suppressed now. Returns it and how many findings it silenced."""
    suppression = Suppression.objects.create(
        organization=organization,
        scope=scope,
        check_id=check_id,
        resource=resource,
        finding=finding,
        reason=reason,
        created_by=by if getattr(by, "is_authenticated", False) else None,
        expires_at=expires_at,
    )
    silenced = _matching(suppression).filter(status=FindingStatus.OPEN).update(status=FindingStatus.SUPPRESSED)
    return suppression, silenced


@transaction.atomic
def suppression_update(*, suppression: Suppression, reason: str, expires_at: datetime | None) -> None:
    """Change why and until when; what it covers is its identity (lift it and add another)."""
    suppression.reason, suppression.expires_at = reason, expires_at
    suppression.save(update_fields=["reason", "expires_at"])
    if expires_at is not None and expires_at <= timezone.now():
        _reopen_uncovered(suppression)


@transaction.atomic
def suppression_lift(*, suppression: Suppression) -> int:
    """End the suppression (kept as history); the findings it alone covered open again.
    Returns how many."""
    Suppression.objects.filter(pk=suppression.pk).update(lifted_at=timezone.now())
    return _reopen_uncovered(suppression)


def _reopen_uncovered(suppression: Suppression) -> int:
    others = _suppressions(suppression.organization, timezone.now())
    reopened = [
        f.pk
        for f in _matching(suppression).filter(status=FindingStatus.SUPPRESSED)
        if not is_suppressed(f, [s for s in others if s.pk != suppression.pk])
    ]
    return Finding.objects.filter(pk__in=reopened).update(status=FindingStatus.OPEN)
