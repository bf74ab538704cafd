"""Reads for the dashboard views, scoped to the user's organisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import Organization
from accounts.selectors import get_scoped_or_404

from .models import Resource, ResourceKind


@dataclass(frozen=True)
class ResourceFilters:
    kind: str = ""
    account: int | None = None
    region: str = ""
    q: str = ""
    include_gone: bool = False

    @classmethod
    def from_query(cls, params: Any) -> ResourceFilters:
        account = params.get("account", "")
        return cls(
            kind=params.get("kind", "") if params.get("kind", "") in ResourceKind.values else "",
            account=int(account) if str(account).isdigit() else None,
            region=params.get("region", "")[:32],
            q=params.get("q", "")[:200].strip(),
            include_gone=params.get("gone") == "1",
        )


def resources_for(organization: Organization, filters: ResourceFilters) -> QuerySet[Resource]:
    qs = Resource.objects.filter(organization=organization).select_related("account")
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.account:
        qs = qs.filter(account_id=filters.account)
    if filters.region:
        qs = qs.filter(region=filters.region)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(arn__icontains=filters.q))
    if not filters.include_gone:
        qs = qs.filter(gone_at=None)
    return qs.order_by("kind", "name")


def resource_counts_by_kind(organization: Organization) -> list[dict[str, Any]]:
    rows = (
        Resource.objects.filter(organization=organization, gone_at=None)
        .values("kind")
        .annotate(n=Count("id"))
        .order_by("kind")
    )
    labels = dict(ResourceKind.choices)
    return [{"kind": r["kind"], "label": labels.get(r["kind"], r["kind"]), "count": r["n"]} for r in rows]


def regions_of(organization: Organization) -> list[str]:
    return sorted(set(Resource.objects.filter(organization=organization).values_list("region", flat=True).distinct()))


def get_resource_for_user(user: Any, organization: Organization | None, pk: int) -> Resource:
    return get_scoped_or_404(Resource.objects.select_related("account"), organization=organization, pk=pk)
