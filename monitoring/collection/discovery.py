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

from dataclasses import dataclass, field

import kinds
from aws.errors import Problem
from kinds.describe import ClientFactory, Context, ListingFailed, Snapshot


@dataclass
class DiscoveryResult:
    region: str
    snapshots: list[Snapshot] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    complete_kinds: set[str] = field(default_factory=set)


def discover(client_for: ClientFactory, region: str) -> DiscoveryResult:
    """Describe every kind in one region; the caller stores the result."""
    ctx = Context(client_for, region)
    result = DiscoveryResult(region=region)
    for kind in kinds.all_kinds():
        try:
            result.snapshots.extend(kind.describe(ctx))
        except ListingFailed:
            continue
        result.complete_kinds.add(kind.id)
    result.problems = list(ctx.problems.values())
    return result
