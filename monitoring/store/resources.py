"""Storing discovery: the resources of one account × region, their changes, and the gone."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from accounts.models import AwsAccount
from kinds.describe import Known
from monitoring.collection.discovery import DiscoveryResult
from monitoring.diffing import config_diff
from monitoring.models import AccountRegion, Resource, ResourceChange

from .rollups import projects_membership_changed


def discovery_known(*, account: AwsAccount, region: str, now: datetime) -> tuple[dict[str, Known], timedelta | None]:
    """What incremental discovery starts from: the region's stored resources that are being
    collected (a gone or excluded one is described afresh when it comes back), by ARN, and
    how long since the region's last discovery (None: never)."""
    known = {
        arn: Known(config=config, tags=tags, fingerprint=fingerprint, details_read_at=read_at)
        for arn, config, tags, fingerprint, read_at in Resource.objects.filter(
            account=account, region=region, gone_at=None
        ).values_list("arn", "config", "tags", "detail_fingerprint", "details_read_at")
    }
    last = AccountRegion.objects.filter(account=account, region=region).values_list("discovered_at", flat=True).first()
    return known, (now - last if last else None)


@transaction.atomic
def resources_sync(*, account: AwsAccount, result: DiscoveryResult, now: datetime) -> dict[str, int]:
    """Store one region's discovery: new resources, configuration changes, and the gone.

    1. Load the account's resources of that region in one query.
    2. New ARN: create. Known ARN: update; a config or tag difference is a ResourceChange.
       A gone resource that is seen again comes back.
    3. Kinds whose listing completed: every resource not seen is marked gone (once).
    4. The region's state: Lambda's account settings, how many resources the filters left out.
    """
    existing = {r.arn: r for r in Resource.objects.filter(account=account, region=result.region)}
    # Stored resources the account's filters now exclude stop being collected: gone, marked
    # excluded, history kept. A filter change that lets them back in brings them back.
    newly_excluded = [
        r for r in existing.values() if (r.kind, r.name) in result.excluded and not (r.excluded and r.gone_at)
    ]
    for r in newly_excluded:
        r.gone_at, r.excluded, r.last_seen = now, True, now
    Resource.objects.bulk_update(newly_excluded, ["gone_at", "excluded", "last_seen"], batch_size=500)
    created: list[Resource] = []
    updated: list[Resource] = []
    changes: list[ResourceChange] = []
    regrouped: list[tuple[object, str, object, str]] = []  # (old tags, old name, new tags, new name)
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
                    detail_fingerprint=snap.fingerprint,
                    details_read_at=now if snap.details_read else None,
                )
            )
            continue
        diff = config_diff(resource.config, snap.config)
        diff.update({f"tags.{k}": v for k, v in config_diff(resource.tags, snap.tags).items()})
        if diff:
            changes.append(ResourceChange(resource=resource, detected_at=now, diff=diff))
        if resource.tags != snap.tags or resource.name != snap.name:
            regrouped.append((resource.tags, resource.name, snap.tags, snap.name))
        resource.name, resource.config, resource.tags = snap.name, snap.config, snap.tags
        resource.last_seen, resource.gone_at, resource.excluded = now, None, False
        if snap.details_read:
            resource.detail_fingerprint, resource.details_read_at = snap.fingerprint, now
        updated.append(resource)
    Resource.objects.bulk_create(created, batch_size=500)
    Resource.objects.bulk_update(
        updated,
        ["name", "config", "tags", "last_seen", "gone_at", "excluded", "detail_fingerprint", "details_read_at"],
        batch_size=500,
    )
    ResourceChange.objects.bulk_create(changes, batch_size=500)
    # Tags and names select projects: the projects this changes get their rollups rebuilt.
    projects_membership_changed(organization_id=account.organization_id, changes=regrouped)
    gone = (
        Resource.objects.filter(account=account, region=result.region, kind__in=result.complete_kinds, gone_at=None)
        .exclude(arn__in=seen)
        .update(gone_at=now)
    )
    AccountRegion.objects.update_or_create(
        account=account,
        region=result.region,
        defaults={
            "excluded_resources": len(result.excluded),
            "discovered_at": now,
            **(
                {
                    "lambda_concurrency_limit": result.lambda_settings["concurrency_limit"],
                    "lambda_unreserved_concurrency": result.lambda_settings["unreserved_concurrency"],
                    "lambda_settings_read_at": now,
                }
                if result.lambda_settings is not None
                else {}
            ),
        },
    )
    return {
        "created": len(created),
        "updated": len(updated),
        "changed": len(changes),
        "gone": gone,
        "excluded": len(newly_excluded),
    }
