"""SNS channels and tenancy, against the sandbox AWS: an account id counts for an
organisation only once its role was assumed with the organisation's ExternalId, and SNS
notifications publish through that role, never with the platform's own identity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.urls import reverse
from moto.sns.models import sns_backends

from accounts.models import AwsAccount
from accounts.selectors import validated_aws_accounts
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from alerts.channels import Notice
from alerts.channels import sns as sns_module
from alerts.models import Channel
from alerts.services import channel_send
from devtools.sandbox.server import SANDBOX_ACCOUNT_ID
from kinds import REQUIRED_ACTIONS

pytestmark = pytest.mark.django_db
REGION = "us-east-1"


@pytest.fixture
def aws(sandbox: Any) -> Iterator[Any]:
    sns_module._session.cache_clear()  # a session made before the sandbox's environment was set
    yield sandbox
    sns_module._session.cache_clear()


def connect(tenant: Any, role_arn: str, external_id: str) -> AwsAccount:
    account = aws_account_start(organization=tenant.organization, name="Prod")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=role_arn, regions=[REGION])
    aws_account_validate(account=account)
    account.refresh_from_db()
    return account


def topic(aws: Any, name: str) -> str:
    return str(aws.admin("sns").create_topic(Name=name)["TopicArn"])


def published(arn: str) -> list[Any]:
    return list(sns_backends[SANDBOX_ACCOUNT_ID][REGION].topics[arn].sent_notifications)


def notice(organization: str) -> Notice:
    return Notice(
        kind="test", title="Test notification", summary="s", severity="info", organization=organization,
        url="http://localhost/alerts/", incident_id=None, dedup_key="dashbird-test-1", resource=None, rule=None,
        fields={}, occurred_at=datetime.now(tz=UTC).isoformat(),
    )  # fmt: skip


def test_organisation_b_cannot_aim_an_sns_channel_at_organisation_a_s_account(
    aws: Any, owner: Any, outsider: Any
) -> None:
    role_a = aws.make_role("TenantARole", external_id="ext-tenant-a", actions=[*REQUIRED_ACTIONS, "sns:Publish"])
    account_a = connect(owner, role_a, "ext-tenant-a")
    assert account_a.validated_at is not None and account_a.aws_account_id == SANDBOX_ACCOUNT_ID
    arn = topic(aws, "tenant-a-alerts")

    # B types A's role ARN: AWS refuses B's ExternalId, so B never gains A's account id.
    account_b = connect(outsider, role_a, "ext-tenant-b")
    assert account_b.status == AwsAccount.Status.ERROR
    assert account_b.aws_account_id == "" and account_b.validated_at is None
    assert not validated_aws_accounts(outsider.organization).exists()

    # At save: refused, with the reason on the field.
    response = outsider.client().post(
        reverse("alerts:channel_new", args=["sns"]), {"channel_name": "x", "topic_arn": arn}
    )
    assert response.status_code == 200
    assert "validated AWS accounts" in response.content.decode()
    assert not Channel.objects.filter(organization=outsider.organization).exists()

    # At send: a channel row that got in anyway (the old wizard recorded the typed account id
    # before validation) publishes nothing.
    AwsAccount.objects.filter(pk=account_b.pk).update(aws_account_id=SANDBOX_ACCOUNT_ID)
    smuggled = Channel.objects.create(
        organization=outsider.organization, kind="sns", name="smuggled", config={"topic_arn": arn}
    )
    result = channel_send(channel=smuggled, notice=notice("Globex"))
    assert result.status == "failed"
    assert f"the topic's AWS account {SANDBOX_ACCOUNT_ID} is not a validated AWS account" in result.error
    assert published(arn) == []

    # A itself publishes to its topic through its own role.
    response = owner.client().post(
        reverse("alerts:channel_new", args=["sns"]), {"channel_name": "ops", "topic_arn": arn}
    )
    assert response.status_code == 302
    mine = Channel.objects.get(organization=owner.organization, kind="sns")
    assert channel_send(channel=mine, notice=notice("Acme")).status == "sent"
    assert len(published(arn)) == 1


def test_sns_publishes_through_the_customer_role_not_the_platform_identity(aws: Any, owner: Any) -> None:
    # The sandbox lets the platform's own keys do anything, and a role only what its policy
    # allows: a role without sns:Publish therefore shows which identity published.
    role = aws.make_role("NoPublishRole", external_id="ext-no-publish", actions=REQUIRED_ACTIONS)
    connect(owner, role, "ext-no-publish")
    arn = topic(aws, "no-publish-alerts")
    channel = Channel.objects.create(organization=owner.organization, kind="sns", name="ops", config={"topic_arn": arn})

    result = channel_send(channel=channel, notice=notice("Acme"))

    assert result.status == "failed"
    assert "SNS AccessDenied" in result.error and "sns:Publish" in result.error
    assert published(arn) == []


def test_changing_the_role_arn_forgets_the_proven_account_until_validated_again(aws: Any, owner: Any) -> None:
    role = aws.make_role("ProvenRole", external_id="ext-proven", actions=REQUIRED_ACTIONS)
    account = connect(owner, role, "ext-proven")
    assert validated_aws_accounts(owner.organization).get() == account

    aws_account_configure(account=account, role_arn="arn:aws:iam::210987654321:role/Typed", regions=[REGION])

    account.refresh_from_db()
    assert (account.aws_account_id, account.validated_at, account.status) == ("", None, AwsAccount.Status.PENDING)
    assert not validated_aws_accounts(owner.organization).exists()
