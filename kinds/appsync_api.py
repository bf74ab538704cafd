"""AppSync GraphQL APIs: authorisation, logging, tracing, WAF, caching, API key expiry and
data sources.

An AppSync API key's id *is* the key (`da2-…`): only its description and expiry are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kinds.base import AVG, SUM, Dimensions, KeyNumber, Kind, MetricSpec, Section, register
from kinds.describe import Context, Snapshot

KIND = "appsync.graphql_api"
NS = "AWS/AppSync"

ACTIONS = {
    "appsync:ListGraphqlApis": "list GraphQL APIs: authorisation, logging, X-Ray, WAF, tags",
    "appsync:ListApiKeys": "API key expiry dates (never the keys)",
    "appsync:ListDataSources": "data sources: types and Lambda functions",
    "appsync:GetApiCache": "whether the API caches resolver results",
}

# ListApiKeys and ListDataSources pages: at most this many per API (25 items a page).
DETAIL_PAGES = 4


def _pages(ctx: Context, operation: str, key: str, api_id: str) -> list[dict[str, Any]] | None:
    """A bounded detail listing; None when it failed (its problem is recorded)."""
    items: list[dict[str, Any]] = []
    token = None
    for _ in range(DETAIL_PAGES):
        params: dict[str, Any] = {"apiId": api_id, "maxResults": 25}
        if token:
            params["nextToken"] = token
        page = ctx.call("appsync", operation, None, **params)
        if page is None:
            return items or None
        items += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            break
    return items


def _expiry(value: Any) -> str | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC).isoformat()
    return None


def _data_source(source: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": source.get("name"),
        "type": source.get("type"),
        "lambda_function": (source.get("lambdaConfig") or {}).get("lambdaFunctionArn"),
    }


def describe(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for api in ctx.paginate("appsync", "ListGraphqlApis", "graphqlApis"):
        api_id = api["apiId"]
        if not ctx.wanted(KIND, api.get("name", api_id), {str(k): str(v) for k, v in (api.get("tags") or {}).items()}):
            continue
        keys = _pages(ctx, "ListApiKeys", "apiKeys", api_id)
        sources = _pages(ctx, "ListDataSources", "dataSources", api_id)
        cache = ctx.call("appsync", "GetApiCache", {}, apiId=api_id).get("apiCache")
        log = api.get("logConfig") or None
        config: dict[str, Any] = {
            "api_id": api_id,
            "api_type": api.get("apiType", "GRAPHQL"),
            "visibility": api.get("visibility", "GLOBAL"),
            "authentication_type": api.get("authenticationType"),
            "additional_authentication_types": sorted(
                str(p.get("authenticationType")) for p in api.get("additionalAuthenticationProviders") or []
            ),
            "logging": {
                "field_log_level": log.get("fieldLogLevel"),
                "exclude_verbose_content": bool(log.get("excludeVerboseContent")),
            }
            if log
            else None,
            "xray_enabled": bool(api.get("xrayEnabled")),
            "waf_web_acl": api.get("wafWebAclArn"),
            "api_keys": None
            if keys is None
            else sorted(
                ({"description": k.get("description") or "", "expires": _expiry(k.get("expires"))} for k in keys),
                key=lambda k: (k["expires"] or "", k["description"]),
            ),
            "data_sources": None if sources is None else sorted((_data_source(s) for s in sources), key=str),
            "cache": {
                "type": cache.get("type"),
                "behavior": cache.get("apiCachingBehavior"),
                "ttl_s": cache.get("ttl"),
                "at_rest_encryption": bool(cache.get("atRestEncryptionEnabled")),
                "transit_encryption": bool(cache.get("transitEncryptionEnabled")),
            }
            if cache
            else None,
        }
        # A denied GetApiCache is not "no cache": say nothing rather than something wrong.
        if ("appsync", "GetApiCache") in ctx.problems:
            del config["cache"]
        arn = api.get("arn") or f"arn:aws:appsync:{ctx.region}::apis/{api_id}"
        tags = {str(k): str(v) for k, v in (api.get("tags") or {}).items()}
        snapshots.append(Snapshot(KIND, arn, api.get("name", api_id), config, tags))
    return snapshots


def _dimensions(r: Any) -> Dimensions:
    return [{"Name": "GraphQLAPIId", "Value": (r.config or {}).get("api_id") or r.arn.rsplit("/", 1)[-1]}]


def details(config: Mapping[str, Any]) -> str:
    auth = [str(config.get("authentication_type") or ""), *(config.get("additional_authentication_types") or [])]
    return " + ".join(a for a in auth if a)


register(
    Kind(
        id=KIND,
        key_numbers=(
            KeyNumber("requests", (f"{NS}:Requests:Sum",)),
            KeyNumber("5XX", (f"{NS}:5XXError:Sum",), unit="%", per=(f"{NS}:Requests:Sum",)),
        ),
        label="AppSync GraphQL API",
        service="appsync",
        describe=describe,
        actions=ACTIONS,
        probes=(("appsync", "ListGraphqlApis", {"maxResults": 1}),),
        dimensions=_dimensions,
        metrics=(
            MetricSpec(NS, "Requests", (SUM,)),
            MetricSpec(NS, "4XXError", (SUM,)),
            MetricSpec(NS, "5XXError", (SUM,)),
            MetricSpec(NS, "Latency", (AVG, "p95")),
        ),
        details=details,
        sections=(
            Section(
                "requests",
                "Requests and errors",
                "metrics",
                (f"{NS}:Requests:Sum", f"{NS}:4XXError:Sum", f"{NS}:5XXError:Sum"),
            ),
            Section("latency", "Latency", "metrics", (f"{NS}:Latency:p95", f"{NS}:Latency:Average"), "ms"),
            Section("configuration", "Authorisation, logging and data sources", "config"),
        ),
    )
)
