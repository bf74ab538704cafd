"""Push ingestion's optional CloudFormation stack, and the check of the log groups'
existing subscription filters (docs/push.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from aws.errors import explain

# CloudWatch Logs accepts at most two subscription filters per log group.
MAX_FILTERS_PER_GROUP = 2
FILTER_NAME = "dashbird-push"
# CloudFormation allows 500 resources per stack; the stream, its roles and bucket take 5.
MAX_GROUPS_PER_STACK = 450


def push_stack_template(*, endpoint_url: str, access_key: str, log_groups: list[str]) -> str:
    """The template (YAML): a Firehose stream delivering to our endpoint, an S3 bucket for
    what it fails to deliver, the roles, and one subscription filter per log group."""
    groups = log_groups[:MAX_GROUPS_PER_STACK]
    resources: dict[str, Any] = {
        "FailedDeliveries": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "ExpirationInDays": 14}]},
            },
        },
        "FirehoseRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": _trust("firehose.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": "failed-deliveries",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["s3:PutObject", "s3:GetBucketLocation", "s3:ListBucket"],
                                    "Resource": [
                                        {"Fn::GetAtt": ["FailedDeliveries", "Arn"]},
                                        {"Fn::Sub": "${FailedDeliveries.Arn}/*"},
                                    ],
                                }
                            ],
                        },
                    }
                ],
            },
        },
        "DeliveryStream": {
            "Type": "AWS::KinesisFirehose::DeliveryStream",
            "Properties": {
                "DeliveryStreamType": "DirectPut",
                "HttpEndpointDestinationConfiguration": {
                    "EndpointConfiguration": {
                        "Name": "Dashbird",
                        "Url": {"Ref": "EndpointUrl"},
                        "AccessKey": {"Ref": "AccessKey"},
                    },
                    # Small buffers: freshness in seconds, not minutes.
                    "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 1},
                    "RequestConfiguration": {
                        "ContentEncoding": "GZIP",
                        "CommonAttributes": [{"AttributeName": "region", "AttributeValue": {"Ref": "AWS::Region"}}],
                    },
                    "RetryOptions": {"DurationInSeconds": 3600},
                    "RoleARN": {"Fn::GetAtt": ["FirehoseRole", "Arn"]},
                    "S3BackupMode": "FailedDataOnly",
                    "S3Configuration": {
                        "BucketARN": {"Fn::GetAtt": ["FailedDeliveries", "Arn"]},
                        "RoleARN": {"Fn::GetAtt": ["FirehoseRole", "Arn"]},
                    },
                },
            },
        },
        "LogsRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    **_trust("logs.amazonaws.com"),
                    "Statement": [
                        {
                            **_trust("logs.amazonaws.com")["Statement"][0],
                            "Condition": {
                                "StringLike": {
                                    "aws:SourceArn": {
                                        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"
                                    }
                                }
                            },
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "put-to-stream",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                                    "Resource": {"Fn::GetAtt": ["DeliveryStream", "Arn"]},
                                }
                            ],
                        },
                    }
                ],
            },
        },
    }
    for index, group in enumerate(groups):
        resources[f"Subscription{index}{_logical(group)}"[:255]] = {
            "Type": "AWS::Logs::SubscriptionFilter",
            "Properties": {
                "FilterName": FILTER_NAME,
                "LogGroupName": group,
                "FilterPattern": "",
                "DestinationArn": {"Fn::GetAtt": ["DeliveryStream", "Arn"]},
                "RoleArn": {"Fn::GetAtt": ["LogsRole", "Arn"]},
            },
        }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Push Lambda logs of {len(groups)} log group(s) to the Dashbird monitoring dashboard "
        "through Kinesis Data Firehose. A log group takes at most two subscription filters.",
        "Parameters": {
            "EndpointUrl": {"Type": "String", "Default": endpoint_url, "Description": "The dashboard's push URL."},
            "AccessKey": {
                "Type": "String",
                "NoEcho": True,
                "Default": access_key,
                "Description": "The account's push access key, shown on its page in the dashboard.",
            },
        },
        "Resources": resources,
        "Outputs": {"DeliveryStreamArn": {"Value": {"Fn::GetAtt": ["DeliveryStream", "Arn"]}}},
    }
    return yaml.safe_dump(template, sort_keys=False, width=120)


def _trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def _logical(group: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", group.removeprefix("/aws/lambda/"))[:200]


@dataclass
class GroupFilters:
    log_group: str
    filters: list[str]
    ours: bool
    error: str = ""

    @property
    def full(self) -> bool:
        """No room for our filter."""
        return not self.ours and len(self.filters) >= MAX_FILTERS_PER_GROUP


def subscription_filters(logs: Any, log_groups: list[str], *, region: str) -> list[GroupFilters]:
    """Each log group's existing subscription filters (logs:DescribeSubscriptionFilters,
    one call per group); a group we cannot read says why and the others go on."""
    out: list[GroupFilters] = []
    for group in log_groups[:MAX_GROUPS_PER_STACK]:
        try:
            answer = logs.describe_subscription_filters(logGroupName=group)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                out.append(GroupFilters(group, [], False, "no log group yet (the function never logged)"))
                continue
            problem = explain(
                exc,
                service="logs",
                operation="DescribeSubscriptionFilters",
                region=region,
                action="logs:DescribeSubscriptionFilters",
            )
            out.append(GroupFilters(group, [], False, problem.message))
            if problem.kind == "permission":
                break  # every group would say the same
            continue
        except BotoCoreError as exc:
            out.append(GroupFilters(group, [], False, str(exc)[:300]))
            continue
        filters = answer.get("subscriptionFilters") or []
        names = [str(f.get("filterName", "")) for f in filters]
        out.append(GroupFilters(group, names, FILTER_NAME in names))
    return out
