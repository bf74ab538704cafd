"""Discovery: what serverless resources an account has in a region, and how each is set up.

One describer per service. Each lists with boto3's paginators, then reads the details the
insights need. A denied or throttled call becomes a Problem on the account's health and
the rest carries on; a kind whose *listing* failed is reported incomplete, so that its
resources are not marked gone on a bad day.

Stored configuration is chosen field by field: nothing volatile (item counts, queue
depth), nothing secret (environment variable *names* only, never values).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from aws.errors import Problem, error_code, explain
from aws.permissions import iam_action

ClientFactory = Callable[[str], BaseClient]  # service name -> client for this account × region

NOT_FOUND = {"ResourceNotFoundException", "NotFoundException", "NotFound", "404"}


@dataclass
class Snapshot:
    kind: str
    arn: str
    name: str
    config: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class DiscoveryResult:
    region: str
    snapshots: list[Snapshot] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    complete_kinds: set[str] = field(default_factory=set)


class ListingFailed(Exception):
    """The listing call of a kind failed; its problem is already recorded."""


class Context:
    """What a describer needs: clients, and a place to put problems (one per operation)."""

    def __init__(self, client_for: ClientFactory, region: str) -> None:
        self._client_for = client_for
        self._clients: dict[str, BaseClient] = {}
        self.region = region
        self.problems: dict[tuple[str, str], Problem] = {}

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

    def call(self, service: str, operation: str, default: Any = None, **params: Any) -> Any:
        """One detail call; on a missing object return `default`, on other errors record and return it."""
        client = self.client(service)
        method = getattr(client, xform_name(operation))
        try:
            return method(**params)
        except ClientError as exc:
            if error_code(exc) not in NOT_FOUND:
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
                request = dict(params)
                while True:
                    page = getattr(client, xform_name(operation))(**request)
                    yield from page.get(key, [])
                    token = page.get(token_key)
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
}


def _tags_from_list(items: Iterable[dict[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {str(t[key]): str(t.get(value, "")) for t in items or []}


# --- Lambda ---------------------------------------------------------------------------------


def describe_lambda(ctx: Context) -> list[Snapshot]:
    functions = list(ctx.paginate("lambda", "ListFunctions", "Functions"))
    # One listing per region instead of one call per function.
    mappings: dict[str, list[dict[str, Any]]] = {}
    try:
        for m in ctx.paginate("lambda", "ListEventSourceMappings", "EventSourceMappings"):
            mappings.setdefault(m.get("FunctionArn", ""), []).append(
                {
                    "uuid": m.get("UUID"),
                    "event_source_arn": m.get("EventSourceArn"),
                    "state": m.get("State"),
                    "batch_size": m.get("BatchSize"),
                    "maximum_batching_window_s": m.get("MaximumBatchingWindowInSeconds"),
                    "function_response_types": m.get("FunctionResponseTypes", []),
                    "on_failure_destination": (m.get("DestinationConfig") or {})
                    .get("OnFailure", {})
                    .get("Destination"),
                    "maximum_retry_attempts": m.get("MaximumRetryAttempts"),
                    "bisect_batch_on_error": m.get("BisectBatchOnFunctionError"),
                }
            )
    except ListingFailed:
        pass
    log_groups: dict[str, Any] = {}
    try:
        for g in ctx.paginate("logs", "DescribeLogGroups", "logGroups", logGroupNamePrefix="/aws/lambda/"):
            log_groups[g["logGroupName"]] = g.get("retentionInDays")
    except ListingFailed:
        log_groups = {}

    snapshots = []
    for fn in functions:
        name, arn = fn["FunctionName"], fn["FunctionArn"]
        logging_config = fn.get("LoggingConfig") or {}
        log_group = logging_config.get("LogGroup") or f"/aws/lambda/{name}"
        concurrency = ctx.call("lambda", "GetFunctionConcurrency", {}, FunctionName=name)
        provisioned = ctx.call("lambda", "ListProvisionedConcurrencyConfigs", {}, FunctionName=name)
        url = ctx.call("lambda", "GetFunctionUrlConfig", None, FunctionName=name)
        invoke = ctx.call("lambda", "GetFunctionEventInvokeConfig", None, FunctionName=name)
        tags = ctx.call("lambda", "ListTags", {}, Resource=arn).get("Tags", {})
        destinations = (invoke or {}).get("DestinationConfig") or {}
        vpc = fn.get("VpcConfig") or {}
        config = {
            "runtime": fn.get("Runtime") or ("container" if fn.get("PackageType") == "Image" else None),
            "package_type": fn.get("PackageType", "Zip"),
            "architecture": (fn.get("Architectures") or ["x86_64"])[0],
            "memory_mb": fn.get("MemorySize"),
            "timeout_s": fn.get("Timeout"),
            "handler": fn.get("Handler"),
            "role": fn.get("Role"),
            "code_sha256": fn.get("CodeSha256"),
            "code_size": fn.get("CodeSize"),
            "version": fn.get("Version"),
            "last_modified": fn.get("LastModified"),
            "layers": [layer["Arn"] for layer in fn.get("Layers", [])],
            "env_var_names": sorted(((fn.get("Environment") or {}).get("Variables") or {}).keys()),
            "vpc": {"subnet_ids": vpc.get("SubnetIds", []), "security_group_ids": vpc.get("SecurityGroupIds", [])}
            if vpc.get("SubnetIds")
            else None,
            "dead_letter_target": (fn.get("DeadLetterConfig") or {}).get("TargetArn"),
            "tracing": (fn.get("TracingConfig") or {}).get("Mode", "PassThrough"),
            "ephemeral_storage_mb": (fn.get("EphemeralStorage") or {}).get("Size"),
            "snap_start": (fn.get("SnapStart") or {}).get("ApplyOn", "None"),
            "log_format": logging_config.get("LogFormat", "Text"),
            "log_group": log_group,
            "log_group_exists": log_group in log_groups if log_groups else None,
            "log_retention_days": log_groups.get(log_group),
            "reserved_concurrency": concurrency.get("ReservedConcurrentExecutions"),
            "provisioned_concurrency": [
                {
                    "qualifier": p.get("FunctionArn", "").rsplit(":", 1)[-1],
                    "requested": p.get("RequestedProvisionedConcurrentExecutions"),
                    "allocated": p.get("AllocatedProvisionedConcurrentExecutions"),
                    "status": p.get("Status"),
                }
                for p in provisioned.get("ProvisionedConcurrencyConfigs", [])
            ],
            "event_source_mappings": mappings.get(arn, []),
            "function_url": {"auth_type": url.get("AuthType"), "url": url.get("FunctionUrl")} if url else None,
            "async": {
                "maximum_retry_attempts": invoke.get("MaximumRetryAttempts"),
                "maximum_event_age_s": invoke.get("MaximumEventAgeInSeconds"),
                "on_failure_destination": (destinations.get("OnFailure") or {}).get("Destination"),
                "on_success_destination": (destinations.get("OnSuccess") or {}).get("Destination"),
            }
            if invoke
            else None,
        }
        snapshots.append(Snapshot("lambda.function", arn, name, config, {str(k): str(v) for k, v in tags.items()}))
    return snapshots


# --- API Gateway ----------------------------------------------------------------------------


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
        snapshots.append(
            Snapshot("apigateway.restapi", arn, api.get("name", api_id), config, dict(api.get("tags") or {}))
        )
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
        snapshots.append(
            Snapshot("apigateway.httpapi", arn, api.get("Name", api_id), config, dict(api.get("Tags") or {}))
        )
    return snapshots


# --- SQS, SNS -------------------------------------------------------------------------------


def describe_sqs(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for url in ctx.paginate("sqs", "ListQueues", "QueueUrls"):
        attrs = ctx.call("sqs", "GetQueueAttributes", {}, QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        tags = ctx.call("sqs", "ListQueueTags", {}, QueueUrl=url).get("Tags", {})
        name = url.rstrip("/").rsplit("/", 1)[-1]
        arn = attrs.get("QueueArn") or f"arn:aws:sqs:{ctx.region}:{_account_from_url(url)}:{name}"
        redrive = json.loads(attrs["RedrivePolicy"]) if attrs.get("RedrivePolicy") else None
        config = {
            "url": url,
            "fifo": attrs.get("FifoQueue") == "true",
            "visibility_timeout_s": _int(attrs.get("VisibilityTimeout")),
            "message_retention_s": _int(attrs.get("MessageRetentionPeriod")),
            "delay_s": _int(attrs.get("DelaySeconds")),
            "receive_wait_s": _int(attrs.get("ReceiveMessageWaitTimeSeconds")),
            "max_message_size": _int(attrs.get("MaximumMessageSize")),
            "dead_letter_target": redrive.get("deadLetterTargetArn") if redrive else None,
            "max_receive_count": _int(redrive.get("maxReceiveCount")) if redrive else None,
            "is_dead_letter_queue": False,  # filled in below once every queue is known
            "kms_key": attrs.get("KmsMasterKeyId"),
            "sse_sqs": attrs.get("SqsManagedSseEnabled") == "true",
            "policy": json.loads(attrs["Policy"]) if attrs.get("Policy") else None,
        }
        snapshots.append(Snapshot("sqs.queue", arn, name, config, {str(k): str(v) for k, v in tags.items()}))
    dead_letter_targets = {s.config["dead_letter_target"] for s in snapshots}
    for s in snapshots:
        s.config["is_dead_letter_queue"] = s.arn in dead_letter_targets
    return snapshots


def describe_sns(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for topic in ctx.paginate("sns", "ListTopics", "Topics"):
        arn = topic["TopicArn"]
        attrs = ctx.call("sns", "GetTopicAttributes", {}, TopicArn=arn).get("Attributes", {})
        subscriptions = []
        try:
            for sub in ctx.paginate("sns", "ListSubscriptionsByTopic", "Subscriptions", TopicArn=arn):
                sub_arn = sub.get("SubscriptionArn", "")
                sub_attrs = {}
                if sub_arn.startswith("arn:"):
                    sub_attrs = ctx.call("sns", "GetSubscriptionAttributes", {}, SubscriptionArn=sub_arn).get(
                        "Attributes", {}
                    )
                redrive = json.loads(sub_attrs["RedrivePolicy"]) if sub_attrs.get("RedrivePolicy") else None
                subscriptions.append(
                    {
                        "protocol": sub.get("Protocol"),
                        # Endpoints can be people's addresses: keep only what the checks need.
                        "endpoint": sub.get("Endpoint")
                        if sub.get("Protocol") in {"sqs", "lambda", "firehose"}
                        else None,
                        "dead_letter_target": redrive.get("deadLetterTargetArn") if redrive else None,
                        "raw_message_delivery": sub_attrs.get("RawMessageDelivery") == "true",
                    }
                )
        except ListingFailed:
            pass
        tags = ctx.call("sns", "ListTagsForResource", {}, ResourceArn=arn).get("Tags", [])
        config = {
            "fifo": arn.endswith(".fifo"),
            "kms_key": attrs.get("KmsMasterKeyId"),
            "policy": json.loads(attrs["Policy"]) if attrs.get("Policy") else None,
            "subscriptions": subscriptions,
        }
        snapshots.append(Snapshot("sns.topic", arn, arn.rsplit(":", 1)[-1], config, _tags_from_list(tags)))
    return snapshots


# --- DynamoDB, Kinesis -------------------------------------------------------------------------


def describe_dynamodb(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for name in ctx.paginate("dynamodb", "ListTables", "TableNames"):
        table = ctx.call("dynamodb", "DescribeTable", {}, TableName=name).get("Table", {})
        arn = table.get("TableArn", f"arn:aws:dynamodb:{ctx.region}::table/{name}")
        backups = ctx.call("dynamodb", "DescribeContinuousBackups", {}, TableName=name)
        pitr = (backups.get("ContinuousBackupsDescription") or {}).get("PointInTimeRecoveryDescription") or {}
        tags = ctx.call("dynamodb", "ListTagsOfResource", {}, ResourceArn=arn).get("Tags", [])
        throughput = table.get("ProvisionedThroughput") or {}
        billing = (table.get("BillingModeSummary") or {}).get("BillingMode") or (
            "PROVISIONED" if throughput.get("ReadCapacityUnits") else "PAY_PER_REQUEST"
        )
        config = {
            "billing_mode": billing,
            "read_capacity": throughput.get("ReadCapacityUnits") if billing == "PROVISIONED" else None,
            "write_capacity": throughput.get("WriteCapacityUnits") if billing == "PROVISIONED" else None,
            "global_secondary_indexes": [g.get("IndexName") for g in table.get("GlobalSecondaryIndexes", [])],
            "stream": (table.get("StreamSpecification") or {}).get("StreamViewType")
            if (table.get("StreamSpecification") or {}).get("StreamEnabled")
            else None,
            "point_in_time_recovery": pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
            "deletion_protection": bool(table.get("DeletionProtectionEnabled")),
            "sse": (table.get("SSEDescription") or {}).get("SSEType") or "AWS_OWNED",
            "table_class": (table.get("TableClassSummary") or {}).get("TableClass", "STANDARD"),
        }
        snapshots.append(Snapshot("dynamodb.table", arn, name, config, _tags_from_list(tags)))
    return snapshots


def describe_kinesis(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for name in ctx.paginate("kinesis", "ListStreams", "StreamNames"):
        summary = ctx.call("kinesis", "DescribeStreamSummary", {}, StreamName=name).get("StreamDescriptionSummary", {})
        tags = ctx.call("kinesis", "ListTagsForStream", {}, StreamName=name).get("Tags", [])
        arn = summary.get("StreamARN", f"arn:aws:kinesis:{ctx.region}::stream/{name}")
        config = {
            "mode": (summary.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED"),
            "open_shards": summary.get("OpenShardCount"),
            "retention_hours": summary.get("RetentionPeriodHours"),
            "encryption": summary.get("EncryptionType", "NONE"),
            "enhanced_monitoring": sorted(
                {m for e in summary.get("EnhancedMonitoring", []) for m in e.get("ShardLevelMetrics", [])}
            ),
        }
        snapshots.append(Snapshot("kinesis.stream", arn, name, config, _tags_from_list(tags)))
    return snapshots


# --- Step Functions, EventBridge ----------------------------------------------------------------


def describe_stepfunctions(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for sm in ctx.paginate("stepfunctions", "ListStateMachines", "stateMachines"):
        arn = sm["stateMachineArn"]
        detail = ctx.call("stepfunctions", "DescribeStateMachine", {}, stateMachineArn=arn)
        tags = ctx.call("stepfunctions", "ListTagsForResource", {}, resourceArn=arn).get("tags", [])
        logging = detail.get("loggingConfiguration") or {}
        config = {
            "type": detail.get("type", sm.get("type")),
            "role": detail.get("roleArn"),
            "status": detail.get("status"),
            "logging_level": logging.get("level", "OFF"),
            "logging_include_execution_data": bool(logging.get("includeExecutionData")),
            "tracing": bool((detail.get("tracingConfiguration") or {}).get("enabled")),
            "revision_id": detail.get("revisionId"),
            "definition_sha": _sha(detail.get("definition")),
        }
        snapshots.append(
            Snapshot("states.statemachine", arn, sm["name"], config, _tags_from_list(tags, "key", "value"))
        )
    return snapshots


def describe_eventbridge(ctx: Context) -> list[Snapshot]:
    snapshots = []
    for rule in ctx.paginate("events", "ListRules", "Rules"):
        arn, name = rule["Arn"], rule["Name"]
        bus = rule.get("EventBusName", "default")
        targets = ctx.call("events", "ListTargetsByRule", {}, Rule=name, EventBusName=bus).get("Targets", [])
        tags = ctx.call("events", "ListTagsForResource", {}, ResourceARN=arn).get("Tags", [])
        config = {
            "event_bus": bus,
            "state": rule.get("State"),
            "schedule": rule.get("ScheduleExpression"),
            "event_pattern": json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None,
            "targets": [
                {
                    "id": t.get("Id"),
                    "arn": t.get("Arn"),
                    "dead_letter_target": (t.get("DeadLetterConfig") or {}).get("Arn"),
                    "maximum_retry_attempts": (t.get("RetryPolicy") or {}).get("MaximumRetryAttempts"),
                    "maximum_event_age_s": (t.get("RetryPolicy") or {}).get("MaximumEventAgeInSeconds"),
                }
                for t in targets
            ],
        }
        snapshots.append(Snapshot("events.rule", arn, name, config, _tags_from_list(tags)))
    return snapshots


DESCRIBERS: dict[str, Callable[[Context], list[Snapshot]]] = {
    "lambda.function": describe_lambda,
    "apigateway.restapi": describe_rest_apis,
    "apigateway.httpapi": describe_http_apis,
    "sqs.queue": describe_sqs,
    "sns.topic": describe_sns,
    "dynamodb.table": describe_dynamodb,
    "kinesis.stream": describe_kinesis,
    "states.statemachine": describe_stepfunctions,
    "events.rule": describe_eventbridge,
}


def discover(client_for: ClientFactory, region: str) -> DiscoveryResult:
    """Describe every kind in one region. Pure of Django: the caller stores the result."""
    ctx = Context(client_for, region)
    result = DiscoveryResult(region=region)
    for kind, describer in DESCRIBERS.items():
        try:
            result.snapshots.extend(describer(ctx))
        except ListingFailed:
            continue
        result.complete_kinds.add(kind)
    result.problems = list(ctx.problems.values())
    return result


# --- helpers ------------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _account_from_url(url: str) -> str:
    parts = url.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else ""


def _sha(text: str | None) -> str | None:
    if not text:
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:16]
