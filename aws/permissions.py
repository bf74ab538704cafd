"""The IAM actions our read-only role grants: the one list, rendered into the
CloudFormation template and the README, and checked against the calls the code makes.

Keep it least-privilege: an action belongs here only when a collector or a check calls it.
"""

from __future__ import annotations

# IAM action -> why we need it (shown in the onboarding wizard).
REQUIRED_ACTIONS: dict[str, str] = {
    # Discovery: Lambda
    "lambda:ListFunctions": "list functions with runtime, memory, timeout, layers, VPC, DLQ, tracing",
    "lambda:GetFunctionConcurrency": "reserved concurrency per function",
    "lambda:ListProvisionedConcurrencyConfigs": "provisioned concurrency per function",
    "lambda:ListEventSourceMappings": "event sources (SQS, Kinesis, DynamoDB streams) per function",
    "lambda:GetFunctionUrlConfig": "function URL and its auth type",
    "lambda:GetFunctionEventInvokeConfig": "async retries and on-success/on-failure destinations",
    "lambda:ListTags": "function tags, for projects and filters",
    "logs:DescribeLogGroups": "log group of each function and its retention",
    # Logs and metrics
    "logs:FilterLogEvents": "read the log groups of functions that were invoked, from a checkpoint",
    "cloudwatch:GetMetricData": "metrics, and which functions were invoked since the last log poll",
    # Discovery: API Gateway (REST and HTTP APIs share the apigateway:GET action)
    "apigateway:GET": "REST and HTTP APIs, their stages, logging, tracing and throttling",
    # Discovery: queues, topics, tables, streams, state machines, rules
    "sqs:ListQueues": "list queues",
    "sqs:GetQueueAttributes": "queue settings, redrive policy, encryption",
    "sqs:ListQueueTags": "queue tags",
    "sns:ListTopics": "list topics",
    "sns:GetTopicAttributes": "topic settings and encryption",
    "sns:ListSubscriptionsByTopic": "subscriptions and their protocols",
    "sns:GetSubscriptionAttributes": "a subscription's dead-letter queue",
    "sns:ListTagsForResource": "topic tags",
    "dynamodb:ListTables": "list tables",
    "dynamodb:DescribeTable": "billing mode, capacity, streams",
    "dynamodb:DescribeContinuousBackups": "point-in-time recovery",
    "dynamodb:ListTagsOfResource": "table tags",
    "kinesis:ListStreams": "list streams",
    "kinesis:DescribeStreamSummary": "shards, retention, encryption",
    "kinesis:ListTagsForStream": "stream tags",
    "states:ListStateMachines": "list state machines",
    "states:DescribeStateMachine": "type, logging and tracing",
    "states:ListTagsForResource": "state machine tags",
    "events:ListRules": "list EventBridge rules",
    "events:ListTargetsByRule": "rule targets and their dead-letter queues",
    "events:ListTagsForResource": "rule tags",
}

# Granted only when the customer asks for it (the template's AlertTopicArns parameter), and
# only on the topics they list: alert notifications to an SNS channel publish through the
# role of the topic's account, never through the platform's own identity.
OPTIONAL_ACTIONS: dict[str, str] = {
    "sns:Publish": "optional: publish alert notifications to the SNS topics you list in AlertTopicArns",
}

# How botocore's signing/endpoint names map to IAM prefixes where they differ.
_IAM_PREFIX = {"monitoring": "cloudwatch", "apigatewayv2": "apigateway", "execute-api": "apigateway"}


def iam_action(signing_name: str, operation_name: str, http_method: str) -> str:
    """The IAM action that authorises one API operation.

    API Gateway's management API is authorised by HTTP verb (`apigateway:GET`), not by
    operation name; every other service we call uses `<prefix>:<Operation>`.
    """
    prefix = _IAM_PREFIX.get(signing_name, signing_name)
    if prefix == "apigateway":
        return f"apigateway:{http_method.upper()}"
    return f"{prefix}:{operation_name}"
