"""What every describer shares: the clients of one account × region, the problems met
(one per operation), and the plain record a describer yields (pure: no Django).

A denied or throttled detail call becomes a Problem and the describer carries on; a failed
*listing* raises ListingFailed, so that the kind is reported incomplete and its resources
are not marked gone on a bad day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
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


class ListingFailed(Exception):
    """The listing call of a kind failed; its problem is already recorded."""


class Context:
    """What a describer needs: clients, and a place to put problems (one per operation)."""

    def __init__(self, client_for: ClientFactory, region: str, filters: ResourceFilters | None = None) -> None:
        self._client_for = client_for
        self._clients: dict[str, BaseClient] = {}
        self.region = region
        self.problems: dict[tuple[str, str], Problem] = {}
        self.filters = filters or ResourceFilters()
        self.excluded: set[tuple[str, str]] = set()  # (kind, name) the account's filters left out

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
