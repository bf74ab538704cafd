"""Amazon SNS: publish the webhook's JSON body to a topic, through the customer's own role.

An SNS channel publishes with the temporary credentials of the role of the AWS account the
topic lives in, that account being a validated account of the channel's organisation
(`alerts.services` resolves it at every send, and refuses otherwise). The platform's own
identity never publishes: were it to, any organisation could name a topic that another had
opened to the platform. The role needs `sns:Publish` on the topic: the CloudFormation
template grants it, scoped to the topics listed in its `AlertTopicArns` parameter.
Endpoints come from botocore's standard configuration, so AWS_ENDPOINT_URL(_SNS) works.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import unicodedata
from functools import cache
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django import forms

from alerts.http import Attempt, encode_json
from aws.errors import THROTTLED

from .base import ChannelError, ChannelForm, ChannelKind, Delivery, Notice, register
from .webhook import incident_body

TOPIC_ARN = re.compile(r"^arn:aws[-a-z]*:sns:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$")
SUBJECT_MAX = 99  # SNS: "less than 100 characters"
CONNECT_TIMEOUT = 5.0


class SnsForm(ChannelForm):
    channel_kind = "sns"
    topic_arn = forms.CharField(
        label="Topic ARN",
        max_length=400,
        help_text="arn:aws:sns:<region>:<account>:<topic>, in one of this organisation's connected AWS accounts. "
        "Notifications publish through that account's Dashbird role: list the topic in the AlertTopicArns "
        "parameter of its CloudFormation stack.",
    )


def _topic_arn(value: Any) -> str:
    arn = str(value or "").strip()
    if not TOPIC_ARN.match(arn):
        raise ValueError("must look like arn:aws:sns:<region>:<12-digit account>:<topic name>")
    return arn


def topic_region(arn: str) -> str:
    match = TOPIC_ARN.match(arn)
    if match is None:
        raise ValueError("not an SNS topic ARN")
    return match.group(1)


def topic_account(arn: str) -> str:
    match = TOPIC_ARN.match(arn)
    if match is None:
        raise ValueError("not an SNS topic ARN")
    return match.group(2)


def ascii_subject(text: str) -> str:
    """SNS subjects must be ASCII without control characters, and under 100 characters."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    printable = "".join(ch if ch.isprintable() else " " for ch in folded)
    subject = " ".join(printable.split())
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 3] + "..."


_lock = threading.Lock()


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def _client(region: str, delivery: Delivery) -> BaseClient:
    creds = delivery.aws_credentials
    config = Config(
        retries={"mode": "standard", "max_attempts": delivery.retries + 1},
        connect_timeout=min(CONNECT_TIMEOUT, delivery.timeout),
        read_timeout=delivery.timeout,
        user_agent_extra="dashbird-clone-notifier",
    )
    with _lock:  # creating clients from one session is not thread-safe
        return _session().client(
            "sns",
            region_name=region,
            config=config,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.token,
        )


@register
class SnsChannel(ChannelKind):
    kind = "sns"
    label = "Amazon SNS"
    env_flag = "ALERTS_CHANNEL_SNS"
    form_class = SnsForm
    http_retries = 2  # botocore's standard mode: three attempts in all

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"topic_arn": self._field(config, "topic_arn", _topic_arn)}

    def describe(self, config: dict[str, Any]) -> str:
        return f"SNS topic {config.get('topic_arn', '')}"

    def payload(self, notice: Notice, config: dict[str, Any]) -> dict[str, Any]:
        arn = config["topic_arn"]
        event = f"incident.{notice.kind}"
        body: dict[str, Any] = {
            "TopicArn": arn,
            "Subject": ascii_subject(f"[Dashbird] {notice.label}: {notice.title}"),
            "Message": encode_json(incident_body(notice)).decode("ascii"),
            "MessageAttributes": {
                # Subscribers filter on these (subscription filter policies) without parsing the body.
                "severity": {"DataType": "String", "StringValue": notice.severity},
                "event": {"DataType": "String", "StringValue": event},
            },
        }
        if arn.endswith(".fifo"):
            # FIFO topics need a group (one incident's events stay in order) and a dedup id.
            body["MessageGroupId"] = notice.dedup_key[:128]
            key = f"{notice.dedup_key}|{notice.kind}|{notice.occurred_at}".encode()
            body["MessageDeduplicationId"] = hashlib.sha256(key).hexdigest()
        return body

    def send(self, notice: Notice, config: dict[str, Any], delivery: Delivery | None = None) -> list[Attempt]:
        config = self.validate_config(config)
        delivery = delivery or self.delivery()
        if delivery.aws_credentials is None:
            raise ChannelError(
                "Amazon SNS: no customer role to publish through (the platform's own identity never publishes)",
                permanent=True,
            )
        body = self.payload(notice, config)
        started = time.monotonic()
        try:
            response = _client(topic_region(config["topic_arn"]), delivery).publish(**body)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "ClientError"))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            attempt = Attempt(status, f"SNS {code}: {str(error.get('Message', ''))[:200]}", _ms(started), "")
            # 4xx answers (no such topic, not authorised, invalid parameter) repeat; throttling and 5xx pass.
            permanent = code not in THROTTLED and status is not None and status < 500
            raise ChannelError(f"Amazon SNS: {attempt.error}", permanent=permanent, attempts=[attempt]) from exc
        except BotoCoreError as exc:  # no credentials, endpoint unreachable, timeouts: may pass
            attempt = Attempt(None, f"SNS {type(exc).__name__}", _ms(started), "")
            raise ChannelError(f"Amazon SNS: {attempt.error}", attempts=[attempt]) from exc
        meta = response.get("ResponseMetadata", {})
        excerpt = f"MessageId {response.get('MessageId', '')}; retries {meta.get('RetryAttempts', 0)}"
        return [Attempt(meta.get("HTTPStatusCode", 200), "", _ms(started), excerpt)]


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
