"""The IAM actions our read-only role grants that belong to no resource kind, and how an
API operation maps to its IAM action.

Keep it least-privilege: an action belongs here only when a collector or a check calls it.
"""

from __future__ import annotations

# IAM action -> why we need it (shown in the onboarding wizard), for the calls no single
# resource kind makes; each kind's own actions live in its module under kinds/, and
# `kinds.REQUIRED_ACTIONS` is the role's whole list.
COMMON_ACTIONS: dict[str, str] = {
    "logs:FilterLogEvents": "read the log groups of functions that were invoked, from a checkpoint",
    "cloudwatch:GetMetricData": "metrics, and which functions were invoked since the last log poll",
    "xray:BatchGetTraces": "the X-Ray traces of failed, slowest and sampled invocations: their calls to other services",
    "account:ListRegions": "with “all regions”: the regions the account has enabled, found again at each discovery",
    "logs:DescribeSubscriptionFilters": "with push ingestion: which log groups already have subscription filters "
    "(at most two per group)",
    "ec2:DescribeRegions": "with “all regions”: the enabled regions, where account:ListRegions is not answered",
}

# Granted only when the customer asks for it (the template's AlertTopicArns parameter), and
# only on the topics they list: alert notifications to an SNS channel publish through the
# role of the topic's account, never through the platform's own identity.
OPTIONAL_ACTIONS: dict[str, str] = {
    "sns:Publish": "optional: publish alert notifications to the SNS topics you list in AlertTopicArns",
}

# How botocore's signing/endpoint names map to IAM prefixes where they differ.
_IAM_PREFIX = {"tagging": "tag", "monitoring": "cloudwatch", "apigatewayv2": "apigateway", "execute-api": "apigateway"}


def iam_action(signing_name: str, operation_name: str, http_method: str) -> str:
    """The IAM action that authorises one API operation.

    API Gateway's management API is authorised by HTTP verb (`apigateway:GET`), not by
    operation name; every other service we call uses `<prefix>:<Operation>`.
    """
    prefix = _IAM_PREFIX.get(signing_name, signing_name)
    if prefix == "apigateway":
        return f"apigateway:{http_method.upper()}"
    return f"{prefix}:{operation_name}"
