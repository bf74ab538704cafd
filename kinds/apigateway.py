"""API Gateway REST APIs (v1) and HTTP APIs (v2): two kinds, one IAM action (API Gateway's
management API is authorised by HTTP verb)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kinds.base import AVG, SUM, Dimensions, KeyNumber, Kind, Link, MetricSpec, Section, by_name, register
from kinds.describe import Context, ListingFailed, Snapshot

REST_API = "apigateway.restapi"
HTTP_API = "apigateway.httpapi"

ACTIONS = {"apigateway:GET": "REST and HTTP APIs, their integrations, stages, logging, tracing and throttling"}


_LAMBDA_URI = re.compile(r"/functions/(arn:[^/]+)/invocations")


def integration_target(uri: str | None) -> str | None:
    """What an integration calls: a Lambda proxy's invocation URI names the function's ARN
    inside it; other URIs (an HTTP endpoint, a service action's ARN) are kept as they are."""
    if not uri:
        return None
    found = _LAMBDA_URI.search(uri)
    return found.group(1) if found else uri


def _rest_integrations(ctx: Context, api_id: str) -> list[dict[str, Any]]:
    out = []
    try:
        for res in ctx.paginate("apigateway", "GetResources", "items", restApiId=api_id, embed=["methods"]):
            for method, detail in sorted((res.get("resourceMethods") or {}).items()):
                integration = (detail or {}).get("methodIntegration") or {}
                if integration:
                    out.append(
                        {
                            "route": f"{method} {res.get('path', '')}",
                            "type": integration.get("type"),
                            "target": integration_target(integration.get("uri")),
                        }
                    )
    except ListingFailed:  # recorded as a problem; the API itself is still described
        return []
    return out


def _http_integrations(ctx: Context, api_id: str) -> list[dict[str, Any]]:
    try:
        items = list(ctx.paginate("apigatewayv2", "GetIntegrations", "Items", ApiId=api_id))
    except ListingFailed:
        return []
    return [
        {
            "type": i.get("IntegrationType"),
            "method": i.get("IntegrationMethod"),
            "target": integration_target(i.get("IntegrationUri")),
        }
        for i in items
    ]


def links(config: Mapping[str, Any]) -> list[Link]:
    return [
        Link(i["target"], "Integration", "Behind API")
        for i in config.get("integrations", [])
        if str(i.get("target") or "").startswith("arn:")
    ]


def describe_rest_apis(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for api in ctx.paginate("apigateway", "GetRestApis", "items"):
        api_id = api["id"]
        if not ctx.wanted(REST_API, api.get("name", api_id), dict(api.get("tags") or {})):
            continue
        stages = ctx.call("apigateway", "GetStages", {}, restApiId=api_id).get("item", [])
        authorizers = ctx.call("apigateway", "GetAuthorizers", {}, restApiId=api_id).get("items", [])
        arn = f"arn:aws:apigateway:{ctx.region}::/restapis/{api_id}"
        config = {
            "api_id": api_id,
            "endpoint_types": (api.get("endpointConfiguration") or {}).get("types", []),
            "minimum_compression_size": api.get("minimumCompressionSize"),
            "api_key_source": api.get("apiKeySource"),
            "has_resource_policy": bool(api.get("policy")),
            "authorizers": [{"name": a.get("name"), "type": a.get("type")} for a in authorizers],
            "integrations": _rest_integrations(ctx, api_id),
            "stages": [
                {
                    "name": s.get("stageName"),
                    "deployment_id": s.get("deploymentId"),
                    "tracing_enabled": bool(s.get("tracingEnabled")),
                    "access_logs": bool((s.get("accessLogSettings") or {}).get("destinationArn")),
                    "cache_enabled": bool(s.get("cacheClusterEnabled")),
                    "logging_level": ((s.get("methodSettings") or {}).get("*/*") or {}).get("loggingLevel", "OFF"),
                    "metrics_enabled": bool(((s.get("methodSettings") or {}).get("*/*") or {}).get("metricsEnabled")),
                    "throttling_rate_limit": ((s.get("methodSettings") or {}).get("*/*") or {}).get(
                        "throttlingRateLimit"
                    ),
                    "throttling_burst_limit": ((s.get("methodSettings") or {}).get("*/*") or {}).get(
                        "throttlingBurstLimit"
                    ),
                    "web_acl": s.get("webAclArn"),
                }
                for s in stages
            ],
        }
        snapshots.append(Snapshot(REST_API, arn, api.get("name", api_id), config, dict(api.get("tags") or {})))
    return snapshots


def describe_http_apis(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for api in ctx.paginate("apigatewayv2", "GetApis", "Items"):
        api_id = api["ApiId"]
        if not ctx.wanted(HTTP_API, api.get("Name", api_id), dict(api.get("Tags") or {})):
            continue
        stages = ctx.call("apigatewayv2", "GetStages", {}, ApiId=api_id).get("Items", [])
        authorizers = ctx.call("apigatewayv2", "GetAuthorizers", {}, ApiId=api_id).get("Items", [])
        arn = f"arn:aws:apigateway:{ctx.region}::/apis/{api_id}"
        config = {
            "api_id": api_id,
            "protocol": api.get("ProtocolType"),
            "endpoint": api.get("ApiEndpoint"),
            "disable_execute_api_endpoint": bool(api.get("DisableExecuteApiEndpoint")),
            "authorizers": [{"name": a.get("Name"), "type": a.get("AuthorizerType")} for a in authorizers],
            "integrations": _http_integrations(ctx, api_id),
            "stages": [
                {
                    "name": s.get("StageName"),
                    "auto_deploy": bool(s.get("AutoDeploy")),
                    "access_logs": bool((s.get("AccessLogSettings") or {}).get("DestinationArn")),
                    "throttling_rate_limit": (s.get("DefaultRouteSettings") or {}).get("ThrottlingRateLimit"),
                    "throttling_burst_limit": (s.get("DefaultRouteSettings") or {}).get("ThrottlingBurstLimit"),
                    "detailed_metrics": bool((s.get("DefaultRouteSettings") or {}).get("DetailedMetricsEnabled")),
                }
                for s in stages
            ],
        }
        snapshots.append(Snapshot(HTTP_API, arn, api.get("Name", api_id), config, dict(api.get("Tags") or {})))
    return snapshots


def _http_api_dimensions(r: Any) -> Dimensions:
    return [{"Name": "ApiId", "Value": (r.config or {}).get("api_id", r.name)}]


COUNT = "AWS/ApiGateway:Count:Sum"


def _sections(errors_4xx: str, errors_5xx: str) -> tuple[Section, ...]:
    return (
        Section("requests", "Requests", "metrics", (COUNT,)),
        Section("errors", "4XX and 5XX responses", "metrics", (errors_4xx, errors_5xx)),
        Section(
            "latency",
            "Latency",
            "metrics",
            ("AWS/ApiGateway:Latency:p95", "AWS/ApiGateway:IntegrationLatency:p95"),
            "ms",
        ),
        Section("configuration", "Integrations, stages and authorizers", "config"),
    )


def _key_numbers(errors_5xx: str) -> tuple[KeyNumber, ...]:
    return (KeyNumber("requests", (COUNT,)), KeyNumber("5XX", (errors_5xx,), unit="%", per=(COUNT,)))


register(
    Kind(
        id=REST_API,
        label="API Gateway REST API",
        service="apigateway",
        describe=describe_rest_apis,
        actions=ACTIONS,
        probes=(("apigateway", "GetRestApis", {"limit": 1}),),
        dimensions=by_name("ApiName"),
        metrics=(
            MetricSpec("AWS/ApiGateway", "Count", (SUM,)),
            MetricSpec("AWS/ApiGateway", "4XXError", (SUM,)),
            MetricSpec("AWS/ApiGateway", "5XXError", (SUM,)),
            MetricSpec("AWS/ApiGateway", "Latency", (AVG, "p95", "p99")),
            MetricSpec("AWS/ApiGateway", "IntegrationLatency", (AVG, "p95")),
        ),
        poll_seconds=120,
        derived_metrics=("api_5xx_rate",),
        sections=_sections("AWS/ApiGateway:4XXError:Sum", "AWS/ApiGateway:5XXError:Sum"),
        key_numbers=_key_numbers("AWS/ApiGateway:5XXError:Sum"),
        links=links,
    )
)
register(
    Kind(
        id=HTTP_API,
        label="API Gateway HTTP API",
        service="apigateway",
        describe=describe_http_apis,
        actions=ACTIONS,
        # The REST API probe proves apigateway:GET for both.
        probes=(),
        dimensions=_http_api_dimensions,
        metrics=(
            MetricSpec("AWS/ApiGateway", "Count", (SUM,)),
            MetricSpec("AWS/ApiGateway", "4xx", (SUM,)),
            MetricSpec("AWS/ApiGateway", "5xx", (SUM,)),
            MetricSpec("AWS/ApiGateway", "Latency", (AVG, "p95", "p99")),
            MetricSpec("AWS/ApiGateway", "IntegrationLatency", (AVG, "p95")),
        ),
        poll_seconds=120,
        derived_metrics=("api_5xx_rate",),
        sections=_sections("AWS/ApiGateway:4xx:Sum", "AWS/ApiGateway:5xx:Sum"),
        key_numbers=_key_numbers("AWS/ApiGateway:5xx:Sum"),
        links=links,
    )
)
