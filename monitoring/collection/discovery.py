"""Discovery: what serverless resources an account has in a region, and how each is set up.

Pure of Django: each registered kind's describer (kinds/) lists with boto3's paginators, then
reads the details the insights need. A denied or throttled call becomes a Problem on the
account's health and the rest carries on; a kind whose *listing* failed is reported
incomplete, so that its resources are not marked gone on a bad day
(`monitoring.store.resources`).

Stored configuration is chosen field by field: nothing volatile (item counts, queue
depth), nothing secret (environment variable *names* only, never values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import kinds
from aws.errors import Problem
from kinds.describe import DETAILS_REFRESH, ClientFactory, Context, Known, ListingFailed, Snapshot, to_int
from kinds.filters import ResourceFilters


@dataclass
class DiscoveryResult:
    region: str
    snapshots: list[Snapshot] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    complete_kinds: set[str] = field(default_factory=set)
    # (kind, name) of the resources the account's filters left out: not stored, not collected.
    excluded: set[tuple[str, str]] = field(default_factory=set)
    # lambda:GetAccountSettings' AccountLimit for the region; None when it could not be read.
    lambda_settings: dict[str, int | None] | None = None


def discover(
    client_for: ClientFactory,
    region: str,
    filters: ResourceFilters | None = None,
    *,
    known: Mapping[str, Known] | None = None,
    now: datetime | None = None,
    since_last: timedelta | None = None,
    refresh: timedelta = DETAILS_REFRESH,
) -> DiscoveryResult:
    """Describe every kind in one region, keeping what the account's filters keep, and read
    the region's Lambda account settings; the caller stores the result.

    Incremental: with `known` (the stored resources by ARN) and `now`, a kind that supports it
    reads the details only of resources that are new, changed by their listing, or due for
    their periodic refresh (`kinds.describe.details_due`: every `refresh`, spread evenly over
    the runs), and reuses the stored ones for the rest. Without them, every detail is read.

    Name filters (and tag filters a listing can answer) apply inside each describer, before
    its detail reads (`Context.wanted`); the tag filters left apply here, to the described
    resources, before anything is stored, so no metric or log call is ever made for them."""
    tag_types = [kind.tag_type for kind in kinds.all_kinds() if kind.tag_type]
    ctx = Context(
        client_for, region, filters, known=known, now=now, since_last=since_last, refresh=refresh, tag_types=tag_types
    )
    result = DiscoveryResult(region=region)
    for kind in kinds.all_kinds():
        try:
            snapshots = kind.describe(ctx)
        except ListingFailed:
            continue
        for snap in snapshots:
            if ctx.filters.keeps(snap.name, snap.tags) is False:
                ctx.excluded.add((snap.kind, snap.name))
            else:
                result.snapshots.append(snap)
        result.complete_kinds.add(kind.id)
    result.lambda_settings = lambda_account_settings(ctx)
    result.excluded = ctx.excluded
    result.problems = list(ctx.problems.values())
    return result


def lambda_account_settings(ctx: Context) -> dict[str, int | None] | None:
    """The region's Lambda concurrency quota and what reservations leave of it: account-level,
    one call per account × region and discovery."""
    answer = ctx.call("lambda", "GetAccountSettings", None)
    if not isinstance(answer, dict):
        return None
    limit = answer.get("AccountLimit") or {}
    return {
        "concurrency_limit": to_int(limit.get("ConcurrentExecutions")),
        "unreserved_concurrency": to_int(limit.get("UnreservedConcurrentExecutions")),
    }
