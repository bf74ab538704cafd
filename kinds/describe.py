"""What every describer shares: the clients of one account × region, the problems met
(one per operation), and the plain record a describer yields (pure: no Django).

A denied or throttled detail call becomes a Problem and the describer carries on; a failed
*listing* raises ListingFailed, so that the kind is reported incomplete and its resources
are not marked gone on a bad day.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore import xform_name
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from aws.errors import Problem, error_code, explain
from aws.permissions import iam_action
from kinds.filters import ResourceFilters

ClientFactory = Callable[[str], BaseClient]  # service name -> client for this account × region

NOT_FOUND = {"ResourceNotFoundException", "NotFoundException", "NotFound", "404"}
_SAME = object()


@dataclass
class Snapshot:
    kind: str
    arn: str
    name: str
    config: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    # Incremental discovery: what the listing says of the resource (a change of it means its
    # details must be read again), and whether this run read them (False: the stored details
    # were reused). A kind that reads every resource's details each run leaves both alone.
    fingerprint: str = ""
    details_read: bool = True


@dataclass(frozen=True)
class Known:
    """A resource as the last discovery stored it: the details a describer may reuse."""

    config: Mapping[str, Any]
    tags: Mapping[str, str]
    fingerprint: str
    details_read_at: datetime | None


# Every resource's details are read again at least this often, whatever its listing says:
# some settings (a function's reserved concurrency, URL, async configuration) change
# without changing what the listing shows. The discovery run passes the operator's
# setting (DISCOVERY_DETAILS_REFRESH_HOURS); this is its default.
DETAILS_REFRESH = timedelta(hours=24)


def details_due(
    listed: Sequence[tuple[str, str]],
    known: Mapping[str, Known],
    *,
    now: datetime,
    since_last: timedelta | None,
    refresh: timedelta = DETAILS_REFRESH,
) -> set[str]:
    """Which of the listed (arn, fingerprint) need their details read this run.

    1. Always: the new ones, those never read, and those whose fingerprint changed.
    2. The periodic refresh, spread evenly over the runs: at one run every `since_last`, a
       refresh of n resources every `refresh` costs n × since_last / refresh reads a run. So
       this run reads that many of the rest (rounded so that the runs' shares add up to the
       whole), the least recently read first, and in any case every one whose details would
       be older than `refresh` before the next run. After a first run that read everything at
       once, the next runs re-read the same number each, never all at once a day later.
    3. A first run (`since_last` None) reads everything."""
    due: set[str] = set()
    rest: list[tuple[datetime, str]] = []
    for arn, fingerprint in listed:
        prior = known.get(arn)
        read_at = prior.details_read_at if prior is not None else None
        if prior is None or read_at is None or prior.fingerprint != fingerprint:
            due.add(arn)
        else:
            rest.append((read_at, arn))
    if not rest:
        return due
    if since_last is None or since_last <= timedelta(0):
        return due | {arn for _, arn in rest}
    rest.sort()
    # n × since_last / refresh, rounded so that consecutive runs add up exactly (the shares
    # of all runs since the epoch telescope): a run every 15 minutes reads 10 or 11 of 1,000,
    # a run forced seconds after another usually none.
    # Aimed two runs short of `refresh`, so that the "would pass `refresh`" rule below stays a
    # backstop and never adds a burst.
    cycle = refresh - 2 * since_last if refresh > 4 * since_last else refresh
    rate = len(rest) / cycle.total_seconds()
    share = math.floor(rate * now.timestamp()) - math.floor(rate * (now - since_last).timestamp())
    expiring = sum(1 for read_at, _ in rest if now - read_at + since_last > refresh)
    due.update(arn for _, arn in rest[: max(share, expiring)])
    return due


class ListingFailed(Exception):
    """The listing call of a kind failed; its problem is already recorded."""


class Context:
    """What a describer needs: clients, and a place to put problems (one per operation)."""

    def __init__(
        self,
        client_for: ClientFactory,
        region: str,
        filters: ResourceFilters | None = None,
        *,
        known: Mapping[str, Known] | None = None,
        now: datetime | None = None,
        since_last: timedelta | None = None,
        refresh: timedelta = DETAILS_REFRESH,
        tag_types: Sequence[str] = (),
    ) -> None:
        self._client_for = client_for
        self._clients: dict[str, BaseClient] = {}
        self.region = region
        self.problems: dict[tuple[str, str], Problem] = {}
        self.filters = filters or ResourceFilters()
        self.excluded: set[tuple[str, str]] = set()  # (kind, name) the account's filters left out
        # Incremental discovery: the stored resources of this account × region by ARN, the
        # time of this run and how long since the region's last discovery (None: never, or
        # unknown; then every resource's details are read).
        self.known: Mapping[str, Known] = known or {}
        self.now = now
        self.since_last = since_last
        self.refresh = refresh
        # The Tagging API resource types of every kind that reads its tags from the region's
        # listing: the first kind to ask lists them all, in one paged listing.
        self.tag_types = tuple(tag_types)
        self._tags: dict[tuple[str, ...], dict[str, dict[str, str]] | None] = {}

    def details_due(self, listed: Sequence[tuple[str, str]]) -> set[str]:
        """Of the listed (arn, fingerprint), the ones whose details this run reads (`details_due`)."""
        if self.now is None:
            return {arn for arn, _ in listed}
        return details_due(listed, self.known, now=self.now, since_last=self.since_last, refresh=self.refresh)

    def listed_tags(self, resource_type: str, arn: str) -> dict[str, str] | None:
        """A resource's tags from the region's tag listing (`region_tags`); None when the
        Tagging API does not answer (the kind then makes its own per-resource tag read)."""
        listed = self.region_tags(resource_type)
        return dict(listed.get(arn, {})) if listed is not None else None

    def region_tags(self, resource_type: str) -> dict[str, dict[str, str]] | None:
        """Every tagged resource of one type in the region, ARN → tags, from
        tag:GetResources (100 resources a call) instead of one tag read per resource; an ARN
        absent has no tags. None when the Tagging API did not answer (its problem recorded):
        the describer then reads tags per resource."""
        types = self.tag_types if resource_type in self.tag_types else (resource_type,)
        if types not in self._tags:
            try:
                self._tags[types] = {
                    str(item["ResourceARN"]): tags_from_list(item.get("Tags"))
                    for item in self.paginate(
                        "resourcegroupstaggingapi",
                        "GetResources",
                        "ResourceTagMappingList",
                        ResourceTypeFilters=list(types),
                        ResourcesPerPage=100,
                    )
                }
            except ListingFailed:
                self._tags[types] = None
        return self._tags[types]

    def wanted(self, kind: str, name: str, tags: dict[str, str] | None = None) -> bool:
        """Ask right after the listing, before any detail read of the resource: False when the
        account's filters exclude it (by name, or by the tags the listing gave). A tag filter
        the listing cannot answer is decided after the describer (`discover`)."""
        if self.filters.keeps(name, tags) is False:
            self.excluded.add((kind, name))
            return False
        return True

    def client(self, service: str) -> BaseClient:
        if service not in self._clients:
            self._clients[service] = self._client_for(service)
        return self._clients[service]

    def record(self, exc: BaseException, service: str, operation: str) -> None:
        client = self.client(service)
        model = client.meta.service_model.operation_model(operation)
        action = iam_action(client.meta.service_model.signing_name, operation, model.http.get("method", "POST"))
        self.problems.setdefault(
            (service, operation), explain(exc, service=service, operation=operation, region=self.region, action=action)
        )

    def call(self, service: str, operation: str, default: Any = None, not_found: Any = _SAME, **params: Any) -> Any:
        """One detail call; on a missing object return `not_found` (by default `default`), on
        other errors record the problem and return `default`."""
        client = self.client(service)
        method = getattr(client, xform_name(operation))
        try:
            return method(**params)
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND:
                return default if not_found is _SAME else not_found
            self.record(exc, service, operation)
            return default
        except BotoCoreError as exc:
            self.record(exc, service, operation)
            return default

    def paginate(self, service: str, operation: str, key: str, **params: Any) -> Iterator[Any]:
        """Every item of a paginated listing; raises ListingFailed after recording the problem."""
        client = self.client(service)
        try:
            if client.can_paginate(xform_name(operation)):
                for page in client.get_paginator(xform_name(operation)).paginate(**params):
                    yield from page.get(key, [])
            else:
                token_param, token_key = _MANUAL_TOKENS.get((service, operation), ("NextToken", "NextToken"))
                more_flag = _LAST_ITEM_TOKENS.get((service, operation))
                request = dict(params)
                while True:
                    page = getattr(client, xform_name(operation))(**request)
                    items = page.get(key, [])
                    yield from items
                    token = _next_token(page, items, token_key, more_flag)
                    if not token:
                        break
                    request[token_param] = token
        except (ClientError, BotoCoreError) as exc:
            self.record(exc, service, operation)
            raise ListingFailed(operation) from exc


# Listings botocore has no paginator for: (request token parameter, response token key).
_MANUAL_TOKENS = {
    ("apigatewayv2", "GetApis"): ("NextToken", "NextToken"),
    ("apigatewayv2", "GetStages"): ("NextToken", "NextToken"),
    ("apigatewayv2", "GetAuthorizers"): ("NextToken", "NextToken"),
    ("events", "ListEventBuses"): ("NextToken", "NextToken"),
    ("events", "ListTargetsByRule"): ("NextToken", "NextToken"),
    ("firehose", "ListDeliveryStreams"): ("ExclusiveStartDeliveryStreamName", ""),
}
# Of those, the listings that page from their last item while a flag says there is more.
_LAST_ITEM_TOKENS = {
    ("firehose", "ListDeliveryStreams"): "HasMoreDeliveryStreams",
}


def _next_token(page: dict[str, Any], items: list[Any], token_key: str, more_flag: str | None) -> Any:
    """A listing's next token: a key of its answer, or its page's last item while the flag
    says there is more."""
    if more_flag is None:
        return page.get(token_key)
    return items[-1] if page.get(more_flag) and items else None


def tags_from_list(items: Iterable[dict[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {str(t[key]): str(t.get(value, "")) for t in items or []}


def to_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def account_from_url(url: str) -> str:
    parts = url.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else ""


def short_sha(text: str | None) -> str | None:
    if not text:
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:16]
