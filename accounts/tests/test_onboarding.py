"""Connecting an AWS account, against the sandbox AWS (a moto server over HTTP)."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import AwsAccount
from accounts.onboarding import cloudformation_template, validate_role
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from kinds import REQUIRED_ACTIONS

pytestmark = pytest.mark.django_db


def connect(owner: Any, role_arn: str, *, external_id: str | None = None) -> tuple[AwsAccount, Any]:
    account = aws_account_start(organization=owner.organization, name="Production")
    if external_id:
        AwsAccount.objects.filter(pk=account.pk).update(external_id=external_id)
        account.refresh_from_db()
    aws_account_configure(account=account, role_arn=role_arn, regions=["us-east-1"])
    return account, aws_account_validate(account=account)


def test_the_right_external_id_connects_and_queues_the_first_discovery(
    owner: Any, sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        account, report = connect(owner, sandbox.state.role_arn, external_id=sandbox.state.external_id)

    assert report.ok, report.messages
    account.refresh_from_db()
    assert account.status == AwsAccount.Status.CONNECTED
    assert account.aws_account_id == "123456789012"
    assert account.validated_at is not None
    assert len(callbacks) == 1


def test_a_wrong_external_id_is_refused_with_every_value_to_check(owner: Any, sandbox: Any) -> None:
    account, report = connect(owner, sandbox.state.role_arn)  # our fresh ExternalId, not the role's

    assert not report.ok
    assert "AWS refused to let us assume" in report.error
    assert account.external_id in report.error
    assert sandbox.state.platform_principal in report.error
    account.refresh_from_db()
    assert account.status == AwsAccount.Status.ERROR
    assert account.last_error == report.error


def test_a_missing_role_says_the_role_may_not_exist(owner: Any, sandbox: Any) -> None:
    _account, report = connect(owner, "arn:aws:iam::123456789012:role/NoSuchRole", external_id="ext-missing-1")

    assert not report.ok
    assert "does not exist in account 123456789012" in report.error


def test_a_missing_permission_is_named_per_region(owner: Any, sandbox: Any) -> None:
    actions = [a for a in REQUIRED_ACTIONS if a != "lambda:ListFunctions"]
    role = sandbox.make_role("NoListFunctions", external_id="ext-no-list", actions=actions)

    _account, report = connect(owner, role, external_id="ext-no-list")

    assert not report.ok
    assert report.error == ""
    messages = [p.message for p in report.region_problems["us-east-1"]]
    assert messages == [
        "Permission missing: the role may not call lambda:ListFunctions in us-east-1. "
        "Update the role from the latest CloudFormation template."
    ]


def test_a_malformed_role_arn_is_refused_before_calling_aws(owner: Any) -> None:
    report = validate_role(role_arn="arn:aws:iam::123:user/bob", external_id="x" * 10, regions=["us-east-1"])
    assert not report.ok
    assert "is not an IAM role ARN" in report.error


def test_the_wizard_walks_an_admin_from_template_to_connected(owner: Any, sandbox: Any) -> None:
    client = owner.client()
    response = client.post(reverse("accounts:aws_accounts"), {"name": "Production"})
    account = AwsAccount.objects.get(organization=owner.organization)
    assert response["Location"] == reverse("accounts:aws_account_setup", args=[account.pk])

    page = client.get(response["Location"]).content.decode()
    assert account.external_id in page
    assert sandbox.state.platform_principal in page
    template = client.get(reverse("accounts:aws_account_template", args=[account.pk]))
    assert yaml.safe_load(template.content)["Parameters"]["ExternalId"]["Default"] == account.external_id

    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    response = client.post(
        response["Location"], {"name": "Production", "role_arn": sandbox.state.role_arn, "regions": "us-east-1"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:aws_account_detail", args=[account.pk])
    detail = client.get(response["Location"]).content.decode()
    assert "Connected" in detail


def test_the_wizard_shows_the_refusal_on_the_page(owner: Any, sandbox: Any) -> None:
    client = owner.client()
    client.post(reverse("accounts:aws_accounts"), {"name": "Staging"})
    account = AwsAccount.objects.get(organization=owner.organization)

    response = client.post(
        reverse("accounts:aws_account_setup", args=[account.pk]),
        {"name": "Staging", "role_arn": "arn:aws:iam::123456789012:role/Nope", "regions": "us-east-1, moon-1"},
    )
    assert b"Not AWS region names: moon-1" in response.content

    response = client.post(
        reverse("accounts:aws_account_setup", args=[account.pk]),
        {"name": "Staging", "role_arn": "arn:aws:iam::123456789012:role/Nope", "regions": "us-east-1"},
    )
    assert response.status_code == 200
    assert b"AWS refused to let us assume" in response.content


def test_members_may_look_but_not_connect_and_outsiders_get_404(owner: Any, teammate: Any, outsider: Any) -> None:
    account = aws_account_start(organization=owner.organization, name="Production")

    assert teammate.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).status_code == 200
    assert teammate.client().get(reverse("accounts:aws_account_setup", args=[account.pk])).status_code == 403
    assert teammate.client().post(reverse("accounts:aws_accounts"), {"name": "Mine"}).status_code == 403
    for name in ["accounts:aws_account_detail", "accounts:aws_account_setup", "accounts:aws_account_template"]:
        assert outsider.client().get(reverse(name, args=[account.pk])).status_code == 404
    assert (
        outsider.client().post(reverse("accounts:aws_account_action", args=[account.pk, "remove"])).status_code == 404
    )


def test_pause_resume_and_remove_with_confirmation(owner: Any, sandbox: Any) -> None:
    account, _ = connect(owner, sandbox.state.role_arn, external_id=sandbox.state.external_id)
    client = owner.client()

    client.post(reverse("accounts:aws_account_action", args=[account.pk, "pause"]))
    account.refresh_from_db()
    assert account.status == AwsAccount.Status.PAUSED
    client.post(reverse("accounts:aws_account_action", args=[account.pk, "resume"]))
    account.refresh_from_db()
    assert account.status == AwsAccount.Status.CONNECTED

    client.post(reverse("accounts:aws_account_action", args=[account.pk, "remove"]), {"confirm": "wrong"})
    assert AwsAccount.objects.filter(pk=account.pk).exists()
    client.post(reverse("accounts:aws_account_action", args=[account.pk, "remove"]), {"confirm": "Production"})
    assert not AwsAccount.objects.filter(pk=account.pk).exists()


def test_connect_account_command_validates_and_creates(owner: Any, sandbox: Any) -> None:
    out = StringIO()
    call_command(
        "connect_account",
        org=owner.organization.slug,
        role_arn=sandbox.state.role_arn,
        external_id=sandbox.state.external_id,
        regions="us-east-1",
        stdout=out,
    )
    account = AwsAccount.objects.get(organization=owner.organization)
    assert account.status == AwsAccount.Status.CONNECTED
    assert account.name == "123456789012"
    assert '"status": "connected"' in out.getvalue()

    with pytest.raises(CommandError, match="AWS refused"):
        call_command(
            "connect_account",
            org=owner.organization.slug,
            role_arn=sandbox.make_role("OtherRole", external_id="other-ext-1"),
            external_id="not-the-one",
            regions="us-east-1",
            stdout=StringIO(),
        )


def test_the_template_grants_exactly_the_listed_actions_and_passes_cfn_lint(tmp_path: Path) -> None:
    text = cloudformation_template(principal="arn:aws:iam::111122223333:role/platform", external_id="abc123")
    template = yaml.safe_load(text)
    policies = template["Resources"]["MonitoringRole"]["Properties"]["Policies"]
    statement = policies[0]["PolicyDocument"]["Statement"]
    assert statement == [{"Effect": "Allow", "Action": sorted(REQUIRED_ACTIONS), "Resource": "*"}]
    # sns:Publish only when topics are listed, and only on them.
    [condition, publish, absent] = policies[1]["Fn::If"]
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertTopicArns"}, ""]}]}
    assert template["Parameters"]["AlertTopicArns"]["Default"] == ""
    assert publish["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": {"Fn::Split": [",", {"Ref": "AlertTopicArns"}]}}
    ]
    assert absent == {"Ref": "AWS::NoValue"}
    trust = template["Resources"]["MonitoringRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}

    path = tmp_path / "role.yaml"
    path.write_text(text)
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(path)], capture_output=True, text=True, timeout=120
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_an_admin_sets_per_kind_metric_intervals_for_one_account(owner: Any, teammate: Any) -> None:
    account = aws_account_start(organization=owner.organization, name="Production")
    url = reverse("accounts:aws_account_intervals", args=[account.pk])

    assert teammate.client().post(url, {"sqs.queue": "600"}).status_code == 403
    owner.client().post(url, {"sqs.queue": "600", "lambda.function": ""})
    account.refresh_from_db()
    assert account.metric_intervals == {"sqs.queue": 600}

    owner.client().post(url, {"sqs.queue": "5"})  # below CloudWatch's 1-minute period
    account.refresh_from_db()
    assert account.metric_intervals == {"sqs.queue": 600}


def test_account_ids_recorded_from_typed_arns_before_validation_are_forgotten(owner: Any) -> None:
    import importlib

    from django.apps import apps
    from django.utils import timezone

    typed = aws_account_start(organization=owner.organization, name="Typed")
    proven = aws_account_start(organization=owner.organization, name="Proven")
    AwsAccount.objects.filter(pk=typed.pk).update(aws_account_id="111111111111")
    AwsAccount.objects.filter(pk=proven.pk).update(aws_account_id="222222222222", validated_at=timezone.now())

    importlib.import_module("accounts.migrations.0006_forget_unvalidated_account_ids").forget(apps, None)

    assert AwsAccount.objects.get(pk=typed.pk).aws_account_id == ""
    assert AwsAccount.objects.get(pk=proven.pk).aws_account_id == "222222222222"
