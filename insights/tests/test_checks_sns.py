"""SNS topic checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import Case, assert_fails, assert_passes, evaluate, make, service_ids

KIND = "sns.topic"
DLQ = "arn:aws:sqs:eu-west-1:123456789012:orders-sns-dlq"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:orders"


def sub(protocol: str = "sqs", endpoint: str | None = QUEUE, dlq: str | None = DLQ) -> dict[str, Any]:
    return {"protocol": protocol, "endpoint": endpoint, "dead_letter_target": dlq, "raw_message_delivery": True}


def topic(subs: list[dict[str, Any]] | None = None, metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    config = {
        "fifo": False,
        "kms_key": "alias/aws/sns",
        "policy": None,
        "subscriptions": subs if subs is not None else [sub()],
        **cfg,
    }
    names = {"published": "NumberOfMessagesPublished:Sum", "failed": "NumberOfNotificationsFailed:Sum"}
    return make(KIND, config, metrics={f"AWS/SNS:{names[k]}": v for k, v in (metrics or {}).items()})


OWNER_POLICY = {
    "Statement": [
        {
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:Publish", "SNS:Subscribe"],
            "Condition": {"StringEquals": {"AWS:SourceOwner": "123456789012"}},
        }
    ]
}

CASES = [
    Case(
        "sns-delivery-failures",
        topic(
            [sub(), sub("lambda", "arn:aws:lambda:eu-west-1:123456789012:function:x")],
            metrics={"published": 1000, "failed": 100},
        ),
        {"failed_notifications": 100.0, "messages_published": 1000.0, "subscriptions": 2, "failure_rate_percent": 5.0},
        topic(metrics={"published": 1000, "failed": 2}),
    ),
    Case(
        "sns-subscription-no-dlq",
        topic([sub(), sub("email", None, None)]),
        {"subscriptions": ["email"], "subscription_count": 2},
        topic(),
    ),
    Case(
        "sns-http-subscription",
        topic([sub("http", None), sub("https", None)]),
        {"http_subscriptions": 1, "subscription_count": 2},
        topic([sub("https", None)]),
    ),
    Case(
        "sns-no-encryption",
        topic(kms_key=None),
        {"kms_key": None},
        topic(),
    ),
    Case(
        "sns-public-policy",
        topic(
            policy={
                "Statement": [
                    {"Sid": "anyone", "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "SNS:Subscribe"}
                ]
            }
        ),
        {"statements": ["anyone"]},
        topic(policy=OWNER_POLICY),
    ),
    Case(
        "sns-no-subscriptions",
        topic([], metrics={"published": 40}),
        {"subscription_count": 0, "messages_published": 40.0},
        topic(),
        ("40 messages published over 7 days went nowhere",),
    ),
]


def test_every_sns_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("sns")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_delivery_failures_need_a_sample() -> None:
    assert evaluate("sns-delivery-failures", topic(metrics={"published": 2, "failed": 1})) is None
    assert evaluate("sns-delivery-failures", topic(metrics={"failed": 5})) is None
