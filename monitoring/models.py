from __future__ import annotations

from django.db import models

from accounts.models import AwsAccount, Organization


class ResourceKind(models.TextChoices):
    LAMBDA_FUNCTION = "lambda.function", "Lambda function"
    APIGATEWAY_REST_API = "apigateway.restapi", "API Gateway REST API"
    APIGATEWAY_HTTP_API = "apigateway.httpapi", "API Gateway HTTP API"
    SQS_QUEUE = "sqs.queue", "SQS queue"
    SNS_TOPIC = "sns.topic", "SNS topic"
    DYNAMODB_TABLE = "dynamodb.table", "DynamoDB table"
    KINESIS_STREAM = "kinesis.stream", "Kinesis stream"
    STEPFUNCTIONS_STATE_MACHINE = "states.statemachine", "Step Functions state machine"
    EVENTBRIDGE_RULE = "events.rule", "EventBridge rule"


class Resource(models.Model):
    """One discovered AWS resource and its latest configuration."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="resources")
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="resources")
    region = models.CharField(max_length=32)
    kind = models.CharField(max_length=32, choices=ResourceKind.choices)
    arn = models.CharField(max_length=2048)
    name = models.CharField(max_length=512)
    config = models.JSONField(default=dict)
    tags = models.JSONField(default=dict)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    # Set when discovery no longer finds it; cleared if it comes back.
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["account", "arn"], name="resource_unique_arn_per_account")]
        indexes = [
            models.Index(fields=["organization", "kind", "name"]),
            models.Index(fields=["account", "region", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"


class ResourceChange(models.Model):
    """A configuration change seen by discovery: drawn as a deployment marker on charts."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="changes")
    detected_at = models.DateTimeField()
    # {"field.path": [old, new], ...}; the first sighting is not a change.
    diff = models.JSONField()

    class Meta:
        ordering = ["-detected_at"]
        indexes = [models.Index(fields=["resource", "-detected_at"])]

    def __str__(self) -> str:
        return f"{self.resource_id} changed {', '.join(self.diff)} at {self.detected_at:%Y-%m-%d %H:%M}"
