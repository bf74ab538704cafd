"""The metrics we collect per resource kind, in one place (pure).

Each entry: CloudWatch namespace, metric name, the statistics we ask for, and how a
resource maps to the metric's dimensions. Percentiles are CloudWatch extended statistics.
Every (metric, statistic) pair is one GetMetricData query; a call carries up to 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Dimensions = list[dict[str, str]]


@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    name: str
    stats: tuple[str, ...]
    extra_dimensions: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        suffix = "".join(f",{k}={v}" for k, v in self.extra_dimensions)
        return f"{self.namespace}:{self.name}{suffix}"


def _lambda(r: Any) -> Dimensions:
    return [{"Name": "FunctionName", "Value": r.name}]


def _rest_api(r: Any) -> Dimensions:
    return [{"Name": "ApiName", "Value": r.name}]


def _http_api(r: Any) -> Dimensions:
    return [{"Name": "ApiId", "Value": (r.config or {}).get("api_id", r.name)}]


def _by(name: str, attr: str = "name") -> Callable[[Any], Dimensions]:
    return lambda r: [{"Name": name, "Value": getattr(r, attr)}]


SUM, AVG, MAX, MIN = "Sum", "Average", "Maximum", "Minimum"

CATALOGUE: dict[str, tuple[Callable[[Any], Dimensions], list[MetricSpec]]] = {
    "lambda.function": (
        _lambda,
        [
            MetricSpec("AWS/Lambda", "Invocations", (SUM,)),
            MetricSpec("AWS/Lambda", "Errors", (SUM,)),
            MetricSpec("AWS/Lambda", "Throttles", (SUM,)),
            MetricSpec("AWS/Lambda", "Duration", (AVG, "p95", "p99", MAX)),
            MetricSpec("AWS/Lambda", "ConcurrentExecutions", (MAX,)),
            MetricSpec("AWS/Lambda", "IteratorAge", (MAX,)),
            MetricSpec("AWS/Lambda", "DeadLetterErrors", (SUM,)),
            MetricSpec("AWS/Lambda", "DestinationDeliveryFailures", (SUM,)),
            MetricSpec("AWS/Lambda", "AsyncEventsDropped", (SUM,)),
            MetricSpec("AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", (SUM,)),
        ],
    ),
    "apigateway.restapi": (
        _rest_api,
        [
            MetricSpec("AWS/ApiGateway", "Count", (SUM,)),
            MetricSpec("AWS/ApiGateway", "4XXError", (SUM,)),
            MetricSpec("AWS/ApiGateway", "5XXError", (SUM,)),
            MetricSpec("AWS/ApiGateway", "Latency", (AVG, "p95", "p99")),
            MetricSpec("AWS/ApiGateway", "IntegrationLatency", (AVG, "p95")),
        ],
    ),
    "apigateway.httpapi": (
        _http_api,
        [
            MetricSpec("AWS/ApiGateway", "Count", (SUM,)),
            MetricSpec("AWS/ApiGateway", "4xx", (SUM,)),
            MetricSpec("AWS/ApiGateway", "5xx", (SUM,)),
            MetricSpec("AWS/ApiGateway", "Latency", (AVG, "p95", "p99")),
            MetricSpec("AWS/ApiGateway", "IntegrationLatency", (AVG, "p95")),
        ],
    ),
    "sqs.queue": (
        _by("QueueName"),
        [
            MetricSpec("AWS/SQS", "ApproximateAgeOfOldestMessage", (MAX,)),
            MetricSpec("AWS/SQS", "ApproximateNumberOfMessagesVisible", (MAX,)),
            MetricSpec("AWS/SQS", "NumberOfMessagesSent", (SUM,)),
            MetricSpec("AWS/SQS", "NumberOfMessagesReceived", (SUM,)),
            MetricSpec("AWS/SQS", "NumberOfMessagesDeleted", (SUM,)),
            MetricSpec("AWS/SQS", "NumberOfEmptyReceives", (SUM,)),
            MetricSpec("AWS/SQS", "SentMessageSize", (AVG,)),
        ],
    ),
    "sns.topic": (
        _by("TopicName"),
        [
            MetricSpec("AWS/SNS", "NumberOfMessagesPublished", (SUM,)),
            MetricSpec("AWS/SNS", "NumberOfNotificationsFailed", (SUM,)),
        ],
    ),
    "dynamodb.table": (
        _by("TableName"),
        [
            MetricSpec("AWS/DynamoDB", "ConsumedReadCapacityUnits", (SUM,)),
            MetricSpec("AWS/DynamoDB", "ConsumedWriteCapacityUnits", (SUM,)),
            MetricSpec("AWS/DynamoDB", "ProvisionedReadCapacityUnits", (AVG,)),
            MetricSpec("AWS/DynamoDB", "ProvisionedWriteCapacityUnits", (AVG,)),
            MetricSpec("AWS/DynamoDB", "ReadThrottleEvents", (SUM,)),
            MetricSpec("AWS/DynamoDB", "WriteThrottleEvents", (SUM,)),
            MetricSpec("AWS/DynamoDB", "SystemErrors", (SUM,)),
            MetricSpec("AWS/DynamoDB", "SuccessfulRequestLatency", (AVG,), (("Operation", "GetItem"),)),
            MetricSpec("AWS/DynamoDB", "SuccessfulRequestLatency", (AVG,), (("Operation", "PutItem"),)),
        ],
    ),
    "kinesis.stream": (
        _by("StreamName"),
        [
            MetricSpec("AWS/Kinesis", "IncomingRecords", (SUM,)),
            MetricSpec("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", (MAX,)),
            MetricSpec("AWS/Kinesis", "ReadProvisionedThroughputExceeded", (SUM,)),
            MetricSpec("AWS/Kinesis", "WriteProvisionedThroughputExceeded", (SUM,)),
        ],
    ),
    "states.statemachine": (
        _by("StateMachineArn", "arn"),
        [
            MetricSpec("AWS/States", "ExecutionsStarted", (SUM,)),
            MetricSpec("AWS/States", "ExecutionsFailed", (SUM,)),
            MetricSpec("AWS/States", "ExecutionsTimedOut", (SUM,)),
            MetricSpec("AWS/States", "ExecutionsAborted", (SUM,)),
            MetricSpec("AWS/States", "ExecutionThrottled", (SUM,)),
            MetricSpec("AWS/States", "ExecutionTime", (AVG, "p95")),
        ],
    ),
    "events.rule": (
        _by("RuleName"),
        [
            MetricSpec("AWS/Events", "Invocations", (SUM,)),
            MetricSpec("AWS/Events", "FailedInvocations", (SUM,)),
        ],
    ),
}

# Account-level metrics (no resource dimension): stored with resource id 0.
ACCOUNT_KIND = "account"
ACCOUNT_METRICS = [
    MetricSpec("AWS/Lambda", "ConcurrentExecutions", (MAX,)),
    MetricSpec("AWS/Lambda", "UnreservedConcurrentExecutions", (MAX,)),
    MetricSpec("AWS/DynamoDB", "UserErrors", (SUM,)),
]


def queries_per_resource(kind: str) -> int:
    return sum(len(spec.stats) for spec in CATALOGUE[kind][1])


def dimensions_for(kind: str, resource: Any, spec: MetricSpec) -> Dimensions:
    dims = CATALOGUE[kind][0](resource) if kind in CATALOGUE else []
    return dims + [{"Name": k, "Value": v} for k, v in spec.extra_dimensions]
