"""The sandbox serves more than its own AWS account (the scale benchmark's customers): each
seeded through the sandbox's own helpers, each reached only through its own role."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from accounts.onboarding import ROLE_NAME
from devtools.sandbox.seed import admin_client, create_customer_role, seeding_account
from kinds import REQUIRED_ACTIONS

REGION = "ap-southeast-7"
OTHER = "210987654321"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def platform_identity(endpoint: str) -> dict[str, str]:
    """An identity of this test's own in the sandbox's account, allowed to assume roles (the
    suite's shared platform user may be gone by now: in-process moto tests reset the state
    the sandbox server shares)."""
    iam = admin_client("iam", endpoint, REGION)
    name = f"platform-{uuid.uuid4().hex[:12]}"
    user = iam.create_user(UserName=name)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(
        UserName=name,
        PolicyName="assume-customer-roles",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
        ),
    )
    return {"principal": user["Arn"], "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def platform_client(sandbox: Any, identity: dict[str, str], service: str, role_arn: str, external_id: str) -> Any:
    sts = boto3.client(
        "sts",
        endpoint_url=sandbox.endpoint,
        region_name=REGION,
        aws_access_key_id=identity["key"],
        aws_secret_access_key=identity["secret"],
    )
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="dashbird", ExternalId=external_id)["Credentials"]
    return boto3.client(
        service,
        endpoint_url=sandbox.endpoint,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_another_account_is_seeded_and_read_through_its_own_role_only(sandbox_aws: Any) -> None:
    platform = platform_identity(sandbox_aws.endpoint)
    with seeding_account(OTHER):
        role_arn = create_customer_role(
            sandbox_aws.endpoint,
            REGION,
            role_name=ROLE_NAME,
            principal=platform["principal"],
            external_id="other-external-id",
            actions=REQUIRED_ACTIONS,
        )
        exec_role = admin_client("iam", sandbox_aws.endpoint, REGION).create_role(
            RoleName="exec", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
        )["Role"]["Arn"]
        lam = admin_client("lambda", sandbox_aws.endpoint, REGION)
        lam.create_function(
            FunctionName="elsewhere",
            Runtime="python3.12",
            Role=exec_role,
            Handler="app.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )
    assert role_arn == f"arn:aws:iam::{OTHER}:role/{ROLE_NAME}"

    other = platform_client(sandbox_aws, platform, "lambda", role_arn, "other-external-id")
    listed = other.list_functions()["Functions"]
    assert [(f["FunctionName"], f["FunctionArn"].split(":")[4]) for f in listed] == [("elsewhere", OTHER)]
    # The sandbox's own account does not see it.
    assert "elsewhere" not in [
        f["FunctionName"] for f in admin_client("lambda", sandbox_aws.endpoint, REGION).list_functions()["Functions"]
    ]
    # Its role still enforces its permissions and its ExternalId.
    with pytest.raises(ClientError, match="not authorized to perform: lambda:CreateFunction"):
        other.create_function(
            FunctionName="nope",
            Runtime="python3.12",
            Role=exec_role,
            Handler="app.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )
    with pytest.raises(ClientError, match="AccessDenied"):
        platform_client(sandbox_aws, platform, "lambda", role_arn, "wrong-external-id")
