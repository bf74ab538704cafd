"""Amazon SNS: the exact Publish parameters, and a publish to a topic in moto (in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from alerts.channels import ChannelError, ConfigError, get_kind
from alerts.channels import sns as sns_module
from alerts.channels.sns import ascii_subject, topic_account
from aws.clients import Credentials

from .receiver import sample_notice

sns = get_kind("sns")
REGION = "eu-west-1"
ARN = f"arn:aws:sns:{REGION}:{DEFAULT_ACCOUNT_ID}:dashbird-alerts"
# What alerts.services passes: the temporary credentials of the topic account's role.
THROUGH_ROLE = sns.delivery(
    aws_credentials=Credentials("ASIAROLE", "role-secret", "role-token", datetime.now(tz=UTC) + timedelta(hours=1))
)
MESSAGE = (
    '{"version":1,"event":"incident.opened","incident":{"id":42,"title":"Error rate 12.5 % on orders-create",'
    '"summary":"12.5 % of 400 invocations failed in the last 5 minutes (threshold 5 %).","severity":"critical",'
    '"url":"https://dashbird.example.com/alerts/incidents/42/","resource":"orders-create","rule":"Errors above 5 %",'
    '"fields":{"value":"12.5 %","threshold":"5 %","window":"5 min","region":"eu-west-1"},'
    '"occurred_at":"2026-01-02T03:04:05Z"},"organization":"Acme","dedup_key":"dashbird-incident-42"}'
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # In-process moto: no endpoint override may send the calls elsewhere.
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SNS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    sns_module._session.cache_clear()
    with mock_aws():
        yield
    sns_module._session.cache_clear()


def test_payload_is_the_publish_request() -> None:
    assert sns.payload(sample_notice(), {"topic_arn": ARN}) == {
        "TopicArn": ARN,
        "Subject": "[Dashbird] Incident opened: Error rate 12.5 % on orders-create",
        "Message": MESSAGE,
        "MessageAttributes": {
            "severity": {"DataType": "String", "StringValue": "critical"},
            "event": {"DataType": "String", "StringValue": "incident.opened"},
        },
    }


def test_fifo_topics_get_a_group_and_a_deduplication_id() -> None:
    arn = ARN + ".fifo"
    opened = sns.payload(sample_notice(), {"topic_arn": arn})
    resolved = sns.payload(sample_notice(kind="resolved"), {"topic_arn": arn})
    assert opened["MessageGroupId"] == resolved["MessageGroupId"] == "dashbird-incident-42"
    assert len(opened["MessageDeduplicationId"]) == 64
    assert opened["MessageDeduplicationId"] != resolved["MessageDeduplicationId"]


def test_subject_is_ascii_one_line_and_under_100_characters() -> None:
    assert ascii_subject("Ünïcode — title\nnext  line") == "Unicode title next line"
    long = ascii_subject("x" * 300)
    assert len(long) == 99 and long.endswith("...")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sns:eu-west-1:123456789012:alerts",
        "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts",
        "arn:aws-cn:sns:cn-north-1:123456789012:alerts.fifo",
    ],
)
def test_valid_topic_arns(arn: str) -> None:
    assert sns.validate_config({"topic_arn": f" {arn} "}) == {"topic_arn": arn}
    assert topic_account(arn) == "123456789012"


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "arn:aws:sqs:eu-west-1:123456789012:alerts",
        "arn:aws:sns:eu-west-1:1234:alerts",
        "arn:aws:sns::123456789012:alerts",
        "arn:aws:sns:eu-west-1:123456789012:",
        "arn:aws:sns:eu-west-1:123456789012:bad name",
    ],
)
def test_invalid_topic_arns(arn: str) -> None:
    with pytest.raises(ConfigError, match=r"^Topic ARN: must look like"):
        sns.validate_config({"topic_arn": arn})


@pytest.mark.usefixtures("aws")
def test_send_publishes_to_the_topic() -> None:
    client = boto3.client("sns", region_name=REGION)
    arn = client.create_topic(Name="dashbird-alerts")["TopicArn"]
    assert arn == ARN
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)

    attempts = sns.send(sample_notice(), {"topic_arn": arn}, THROUGH_ROLE)

    assert [(a.status, a.error) for a in attempts] == [(200, "")]
    assert attempts[0].response_excerpt.startswith("MessageId ")
    [(message_id, message, subject, attributes, group)] = (
        sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[arn].sent_notifications
    )
    assert message == MESSAGE
    assert subject == "[Dashbird] Incident opened: Error rate 12.5 % on orders-create"
    assert attributes == {
        "severity": {"Type": "String", "Value": "critical"},
        "event": {"Type": "String", "Value": "incident.opened"},
    }
    assert group is None
    assert message_id in attempts[0].response_excerpt
    # …and what a subscriber receives.
    [delivered] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)["Messages"]
    envelope = json.loads(delivered["Body"])
    assert json.loads(envelope["Message"])["dedup_key"] == "dashbird-incident-42"
    assert envelope["MessageAttributes"]["event"] == {"Type": "String", "Value": "incident.opened"}


@pytest.mark.usefixtures("aws")
def test_missing_topic_is_a_permanent_error() -> None:
    with pytest.raises(ChannelError) as caught:
        sns.send(sample_notice(), {"topic_arn": ARN}, THROUGH_ROLE)

    assert caught.value.permanent is True
    [attempt] = caught.value.attempts
    assert attempt.status == 404
    assert attempt.error.startswith("SNS NotFound")


def test_sns_publish_region_comes_from_the_arn() -> None:
    assert sns_module.topic_region("arn:aws:sns:ap-southeast-2:123456789012:t") == "ap-southeast-2"
    assert json.loads(sns.payload(sample_notice(), {"topic_arn": ARN})["Message"])["version"] == 1


def test_config_does_not_need_aws(settings: Any) -> None:
    # Validation is offline: the form works without credentials or network.
    assert sns.form_class(data={"topic_arn": ARN}).is_valid()


@pytest.mark.usefixtures("aws")
def test_without_a_customer_role_nothing_is_published() -> None:
    client = boto3.client("sns", region_name=REGION)
    arn = client.create_topic(Name="dashbird-alerts")["TopicArn"]

    with pytest.raises(ChannelError, match="no customer role to publish through") as caught:
        sns.send(sample_notice(), {"topic_arn": arn})

    assert caught.value.permanent is True
    assert sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[arn].sent_notifications == []
