"""Connecting a customer AWS account: the CloudFormation template, and validation.

The role we ask for trusts one principal (the platform's) on one condition (the
account's ExternalId), and allows exactly `kinds.REQUIRED_ACTIONS`,
plus, only when the customer lists topics in `AlertTopicArns`, `sns:Publish` on those
topics (for SNS alert channels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import yaml
from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from django.conf import settings

import kinds
from aws import clients
from aws.errors import ACCESS_DENIED, REGION_DISABLED, Problem, error_code, explain
from aws.permissions import OPTIONAL_ACTIONS, iam_action
from aws.regions import HOME_REGION, RegionsUnavailable, enabled_regions
from kinds import REQUIRED_ACTIONS, Probe

ROLE_NAME = "DashbirdReadOnly"
ROLE_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}$")
REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")

# One cheap read per service the collectors use: a denied one names the missing action.
# Probes of a named object that need not exist accept "not found" as proof of permission
# (AWS authorises a call before it looks the object up).
PROBE_LOG_GROUP = "/aws/lambda/dashbird-permission-probe"
PROBES: list[Probe] = [
    *kinds.probes(),  # each kind's discovery reads
    ("logs", "FilterLogEvents", {"logGroupName": PROBE_LOG_GROUP, "limit": 1}),
    ("cloudwatch", "GetMetricData", {}),  # parameters filled in at call time (needs times)
]
PROBE_OK = {"ResourceNotFoundException"}


def _probe_params(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if operation != "GetMetricData":
        return params
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    return {
        "MetricDataQueries": [
            {
                "Id": "probe",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations"},
                    "Period": 300,
                    "Stat": "Sum",
                },
            }
        ],
        "StartTime": now - timedelta(minutes=10),
        "EndTime": now,
    }


def platform_principal() -> str:
    """The ARN customer roles must trust: the setting, else who STS says we are."""
    if settings.PLATFORM_AWS_PRINCIPAL:
        return str(settings.PLATFORM_AWS_PRINCIPAL)
    try:
        arn = str(clients.platform_client("sts", settings.AWS_STS_REGION).get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError):
        return "arn:aws:iam::YOUR_PLATFORM_ACCOUNT_ID:root"
    # An assumed-role session ARN is not a valid principal; trust its role instead.
    match = re.match(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/", arn)
    return f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}" if match else arn


def cloudformation_template(*, principal: str, external_id: str = "") -> str:
    """The template (YAML) that creates the read-only role. Parametrised, so one hosted
    copy serves every account; the values are only defaults."""
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Read-only role for the self-hosted Dashbird monitoring dashboard.",
        "Parameters": {
            "ExternalId": {
                "Type": "String",
                "Description": "The ExternalId shown in the dashboard's onboarding wizard.",
                "MinLength": 2,
                "MaxLength": 1224,
                **({"Default": external_id} if external_id else {}),
            },
            "PlatformPrincipal": {
                "Type": "String",
                "Description": "ARN of the monitoring platform's AWS identity, which this role trusts.",
                "Default": principal,
            },
            "RoleName": {"Type": "String", "Default": ROLE_NAME},
            "AlertTopicArns": {
                "Type": "String",
                "Description": "Optional: ARNs of SNS topics in this account that Dashbird alert channels "
                "may publish to, separated by commas without spaces. Empty: the role publishes nowhere.",
                "Default": "",
            },
        },
        "Conditions": {
            "PublishesAlerts": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertTopicArns"}, ""]}]},
        },
        "Resources": {
            "MonitoringRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    "Description": "Lets the Dashbird monitoring platform read serverless configuration, metrics and logs.",
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": {"Ref": "PlatformPrincipal"}},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "DashbirdReadOnly",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {"Effect": "Allow", "Action": sorted(REQUIRED_ACTIONS), "Resource": "*"},
                                ],
                            },
                        },
                        {
                            "Fn::If": [
                                "PublishesAlerts",
                                {
                                    "PolicyName": "DashbirdAlertPublish",
                                    "PolicyDocument": {
                                        "Version": "2012-10-17",
                                        "Statement": [
                                            {
                                                "Effect": "Allow",
                                                "Action": sorted(OPTIONAL_ACTIONS),
                                                "Resource": {"Fn::Split": [",", {"Ref": "AlertTopicArns"}]},
                                            }
                                        ],
                                    },
                                },
                                {"Ref": "AWS::NoValue"},
                            ]
                        },
                    ],
                },
            }
        },
        "Outputs": {
            "RoleArn": {
                "Description": "Paste this into the wizard.",
                "Value": {"Fn::GetAtt": ["MonitoringRole", "Arn"]},
            }
        },
    }
    return yaml.safe_dump(template, sort_keys=False, width=120)


def quick_create_url(*, external_id: str, principal: str, region: str = "us-east-1") -> str | None:
    """The AWS console's quick-create link, when the operator hosts the template in S3."""
    if not settings.ONBOARDING_TEMPLATE_URL:
        return None
    query = urlencode(
        {
            "templateURL": settings.ONBOARDING_TEMPLATE_URL,
            "stackName": "dashbird-monitoring",
            "param_ExternalId": external_id,
            "param_PlatformPrincipal": principal,
        }
    )
    return f"https://console.aws.amazon.com/cloudformation/home?region={region}#/stacks/quickcreate?{query}"


@dataclass
class ValidationReport:
    ok: bool
    # The account STS says the assumed role lives in; empty unless the role was assumed.
    # Never the account typed in the ARN: that proves nothing about who controls it.
    aws_account_id: str = ""
    error: str = ""
    region_problems: dict[str, list[Problem]] = field(default_factory=dict)
    # With "all regions": the enabled regions the role listed (and then probed).
    regions_found: list[str] | None = None

    @property
    def messages(self) -> list[str]:
        out = [self.error] if self.error else []
        for problems in self.region_problems.values():
            out.extend(p.message for p in problems)
        return out


def parse_regions(text: str | list[str]) -> list[str]:
    items = text if isinstance(text, list) else re.split(r"[\s,]+", text)
    regions = sorted({r.strip() for r in items if r.strip()})
    bad = [r for r in regions if not REGION_RE.match(r)]
    if bad:
        raise ValueError(f"Not AWS region names: {', '.join(bad)} (expected names like us-east-1).")
    if not regions:
        raise ValueError("Choose at least one region.")
    return regions


def validate_role(
    *, role_arn: str, external_id: str, regions: list[str], all_regions: bool = False
) -> ValidationReport:
    """Assume the role with the ExternalId, ask STS whose it is, then make one cheap read per
    service per region.

    AWS answers the same AccessDenied to AssumeRole whether the role is missing, its trust
    policy names another principal, or the ExternalId differs, so the message names all
    three with the exact values to compare.

    Only an assumed role proves that the account's owner deployed our template with this
    ExternalId, so the report's `aws_account_id` comes from `GetCallerIdentity` of the
    assumed role and stays empty on every refusal.
    """
    match = ROLE_ARN_RE.match(role_arn.strip())
    if not match:
        return ValidationReport(
            ok=False, error=f"{role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/{ROLE_NAME})."
        )
    account_id = match.group("account")
    try:
        creds = clients.assume_role(role_arn=role_arn, external_id=external_id)
    except NoCredentialsError:
        return ValidationReport(
            ok=False,
            error="This installation has no AWS identity of its own to assume the role with. "
            "Give it an instance role, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.",
        )
    except ClientError as exc:
        if error_code(exc) in ACCESS_DENIED:
            return ValidationReport(
                ok=False,
                error=(
                    f"AWS refused to let us assume {role_arn}. Either the role does not exist in account "
                    f"{account_id} (check the ARN and that the stack finished creating), its trust policy does "
                    f"not trust {platform_principal()}, or its sts:ExternalId condition is not {external_id}. "
                    "Re-deploy the template from step 1 with these values."
                ),
            )
        return ValidationReport(ok=False, error=explain(exc, service="sts", operation="AssumeRole", region="").message)
    except BotoCoreError as exc:
        return ValidationReport(ok=False, error=f"Could not reach AWS STS: {exc}")
    try:
        # GetCallerIdentity needs no permission: any role can answer it about itself.
        identity = clients.session_client(creds, "sts", settings.AWS_STS_REGION).get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        return ValidationReport(ok=False, error=f"AWS STS did not say which account the role is in: {exc}")
    verified = str(identity.get("Account", ""))
    if verified != account_id:
        return ValidationReport(
            ok=False,
            error=f"The role {role_arn} answered from account {verified or 'unknown'}, not {account_id}. "
            "Check the role ARN.",
        )

    found = None
    if all_regions:
        try:
            found, _ = enabled_regions(lambda service: clients.session_client(creds, service, HOME_REGION))
        except RegionsUnavailable as exc:
            return ValidationReport(ok=False, aws_account_id=verified, error=exc.problem.message)
        if not found:
            return ValidationReport(ok=False, aws_account_id=verified, error="The account lists no enabled region.")
        regions = found
    problems: dict[str, list[Problem]] = {}
    for region in regions:
        for service, operation, params in PROBES:
            client = clients.session_client(creds, service, region)
            model = client.meta.service_model
            action = iam_action(model.signing_name, operation, model.operation_model(operation).http["method"])
            try:
                getattr(client, xform_name(operation))(**_probe_params(operation, params))
            except ClientError as exc:
                if error_code(exc) in PROBE_OK:
                    continue
                problem = explain(exc, service=service, operation=operation, region=region, action=action)
                problems.setdefault(region, []).append(problem)
                if error_code(exc) in REGION_DISABLED:
                    break  # the rest of the region would say the same
            except BotoCoreError as exc:
                problems.setdefault(region, []).append(
                    explain(exc, service=service, operation=operation, region=region, action=action)
                )
    return ValidationReport(ok=not problems, aws_account_id=verified, region_problems=problems, regions_found=found)
