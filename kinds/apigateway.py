"""API Gateway REST APIs (v1) and HTTP APIs (v2): two kinds, one IAM action (API Gateway's
management API is authorised by HTTP verb)."""

from __future__ import annotations

from typing import Any

from kinds.base import AVG, SUM, Dimensions, Kind, MetricSpec, Section, by_name, register
from kinds.describe import Context, Snapshot

REST_API = "apigateway.restapi"
HTTP_API = "apigateway.httpapi"

ACTIONS = {"apigateway:GET": "REST and HTTP APIs, their stages, logging, tracing and throttling"}


def describe_rest_apis(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for api in ctx.paginate("apigateway", "GetRestApis", "items"):
        api_id = api["id"]
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
        stages = ctx.call("apigatewayv2", "GetStages", {}, ApiId=api_id).get("Items", [])
        authorizers = ctx.call("apigatewayv2", "GetAuthorizers", {}, ApiId=api_id).get("Items", [])
        arn = f"arn:aws:apigateway:{ctx.region}::/apis/{api_id}"
        config = {
            "api_id": api_id,
            "protocol": api.get("ProtocolType"),
            "endpoint": api.get("ApiEndpoint"),
            "disable_execute_api_endpoint": bool(api.get("DisableExecuteApiEndpoint")),
            "authorizers": [{"name": a.get("Name"), "type": a.get("AuthorizerType")} for a in authorizers],
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


def _sections(errors_4xx: str, errors_5xx: str) -> tuple[Section, ...]:
    return (
        Section("requests", "Requests and errors", "metrics", ("AWS/ApiGateway:Count:Sum", errors_4xx, errors_5xx)),
        Section(
            "latency",
            "Latency",
            "metrics",
            ("AWS/ApiGateway:Latency:p95", "AWS/ApiGateway:IntegrationLatency:p95"),
        ),
        Section("configuration", "Stages and authorizers", "config"),
    )


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
    )
)
