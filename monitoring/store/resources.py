"""Storing discovery: the resources of one account × region, their changes, and the gone."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import AwsAccount
from monitoring.collection.discovery import DiscoveryResult
from monitoring.diffing import config_diff
from monitoring.models import Resource, ResourceChange


@transaction.atomic
def resources_sync(*, account: AwsAccount, result: DiscoveryResult, now: datetime) -> dict[str, int]:
    """Store one region's discovery: new resources, configuration changes, and the gone.

    1. Load the account's resources of that region in one query.
    2. New ARN: create. Known ARN: update; a config or tag difference is a ResourceChange.
       A gone resource that is seen again comes back.
    3. Kinds whose listing completed: every resource not seen is marked gone (once).
    """
    existing = {r.arn: r for r in Resource.objects.filter(account=account, region=result.region)}
    created: list[Resource] = []
    updated: list[Resource] = []
    changes: list[ResourceChange] = []
    seen: set[str] = set()
    for snap in result.snapshots:
        seen.add(snap.arn)
        resource = existing.get(snap.arn)
        if resource is None:
            created.append(
                Resource(
                    organization_id=account.organization_id,
                    account=account,
                    region=result.region,
                    kind=snap.kind,
                    arn=snap.arn,
                    name=snap.name,
                    config=snap.config,
                    tags=snap.tags,
                    first_seen=now,
                    last_seen=now,
                )
            )
            continue
        diff = config_diff(resource.config, snap.config)
        diff.update({f"tags.{k}": v for k, v in config_diff(resource.tags, snap.tags).items()})
        if diff:
            changes.append(ResourceChange(resource=resource, detected_at=now, diff=diff))
        resource.name, resource.config, resource.tags = snap.name, snap.config, snap.tags
        resource.last_seen, resource.gone_at = now, None
        updated.append(resource)
    Resource.objects.bulk_create(created, batch_size=500)
    Resource.objects.bulk_update(updated, ["name", "config", "tags", "last_seen", "gone_at"], batch_size=500)
    ResourceChange.objects.bulk_create(changes, batch_size=500)
    gone = (
        Resource.objects.filter(account=account, region=result.region, kind__in=result.complete_kinds, gone_at=None)
        .exclude(arn__in=seen)
        .update(gone_at=now)
    )
    return {"created": len(created), "updated": len(updated), "changed": len(changes), "gone": gone}
