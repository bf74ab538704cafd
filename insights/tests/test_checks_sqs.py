"""SQS queue checks."""

from __future__ import annotations

from typing import Any

import pytest

from insights.tests.checks_support import ARNS, Case, assert_fails, assert_passes, evaluate, make, service_ids

KIND = "sqs.queue"
QUEUE = ARNS[KIND]
DLQ = "arn:aws:sqs:eu-west-1:123456789012:orders-dlq"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:orders"

BASE: dict[str, Any] = {
    "url": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
    "fifo": False,
    "visibility_timeout_s": 180,
    "message_retention_s": 345600,
    "delay_s": 0,
    "receive_wait_s": 20,
    "max_message_size": 262144,
    "dead_letter_target": DLQ,
    "max_receive_count": 5,
    "is_dead_letter_queue": False,
    "kms_key": None,
    "sse_sqs": True,
    "policy": None,
}

NAMES = {
    "age": "ApproximateAgeOfOldestMessage:Maximum",
    "visible": "ApproximateNumberOfMessagesVisible:Maximum",
    "sent": "NumberOfMessagesSent:Sum",
    "received": "NumberOfMessagesReceived:Sum",
    "empty": "NumberOfEmptyReceives:Sum",
}


def consumer(timeout_s: int = 30, window_s: int = 5) -> dict[str, Any]:
    return {
        "runtime": "python3.12",
        "timeout_s": timeout_s,
        "event_source_mappings": [{"event_source_arn": QUEUE, "batch_size": 10, "maximum_batching_window_s": window_s}],
    }


def queue(related: dict[str, Any] | None = None, metrics: dict[str, float] | None = None, **cfg: Any) -> Any:
    return make(
        KIND,
        {**BASE, **cfg},
        metrics={f"AWS/SQS:{NAMES[k]}": v for k, v in (metrics or {}).items()},
        related=related,
    )


DLQ_CONFIG: dict[str, Any] = {"is_dead_letter_queue": True, "dead_letter_target": None, "max_receive_count": None}

CASES = [
    Case(
        "sqs-oldest-message-age-high",
        queue(metrics={"age": 7200}),
        {"oldest_message_age_s": 7200.0, "threshold_s": 3600.0},
        queue(metrics={"age": 30}),
        ("2 h",),
    ),
    Case(
        "sqs-messages-near-retention",
        queue(metrics={"age": 300000}),
        {"oldest_message_age_s": 300000.0, "message_retention_s": 345600.0, "share_of_retention_percent": 86.81},
        queue(metrics={"age": 7200}),
    ),
    Case(
        "sqs-messages-piling-up",
        queue(metrics={"visible": 5000}),
        {"visible_messages": 5000.0, "threshold": 1000.0},
        queue(metrics={"visible": 10}),
    ),
    Case(
        "sqs-dlq-has-messages",
        queue(metrics={"visible": 12}, **DLQ_CONFIG),
        {"visible_messages": 12.0},
        queue(metrics={"visible": 0}, **DLQ_CONFIG),
    ),
    Case(
        "sqs-no-redrive-policy",
        queue(dead_letter_target=None, max_receive_count=None),
        {"dead_letter_target": None, "max_receive_count": None},
        queue(),
    ),
    Case(
        "sqs-visibility-timeout-too-short",
        queue(visibility_timeout_s=30, related={"consumers": [consumer(30, 5)]}),
        {"visibility_timeout_s": 30.0, "max_consumer_timeout_s": 30.0, "required_visibility_timeout_s": 185.0},
        queue(visibility_timeout_s=200, related={"consumers": [consumer(30, 5)]}),
    ),
    Case(
        "sqs-max-receive-count-low",
        queue(max_receive_count=1, related={"consumers": [consumer()]}),
        {"max_receive_count": 1.0, "threshold": 5},
        queue(related={"consumers": [consumer()]}),
    ),
    Case(
        "sqs-unused",
        queue(metrics={"sent": 0, "received": 0, "visible": 0}),
        {"messages_sent": 0.0, "messages_received": 0.0},
        queue(metrics={"sent": 100, "received": 100}),
    ),
    Case(
        "sqs-no-encryption",
        queue(kms_key=None, sse_sqs=False),
        {"kms_key": None, "sse_sqs": False},
        queue(),
    ),
    Case(
        "sqs-public-policy",
        queue(
            policy={"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:*", "Resource": QUEUE}]}
        ),
        {"statements": ["#0"]},
        queue(
            policy={
                "Statement": [
                    {
                        "Sid": "sns",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "sqs:SendMessage",
                        "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}},
                    }
                ]
            }
        ),
    ),
    Case(
        "sqs-short-polling",
        queue(receive_wait_s=0, related={"consumers": []}, metrics={"empty": 2_000_000, "received": 100_000}),
        {"receive_wait_s": 0.0, "empty_receives": 2_000_000.0, "empty_share_percent": 95.24, "monthly_cost_usd": 3.43},
        queue(related={"consumers": []}, metrics={"empty": 2_000_000, "received": 100_000}),
    ),
]


def test_every_sqs_check_has_a_case() -> None:
    assert {c.check_id for c in CASES} == service_ids("sqs")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_fails(case: Case) -> None:
    assert_fails(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.check_id)
def test_passes(case: Case) -> None:
    assert_passes(case)


def test_dead_letter_queues_are_exempt_from_source_queue_checks() -> None:
    for check_id in ("sqs-no-redrive-policy", "sqs-unused", "sqs-oldest-message-age-high", "sqs-messages-piling-up"):
        inp = queue(metrics={"age": 90000, "visible": 5000, "sent": 0, "received": 0}, **DLQ_CONFIG)
        assert evaluate(check_id, inp) is None, check_id
    # …but their messages still expire.
    expiring = evaluate("sqs-messages-near-retention", queue(metrics={"age": 340000}, **DLQ_CONFIG))
    assert expiring is not None and not expiring.passed


def test_consumers_unknown_or_absent() -> None:
    assert evaluate("sqs-visibility-timeout-too-short", queue(visibility_timeout_s=30)) is None
    assert (
        evaluate("sqs-visibility-timeout-too-short", queue(visibility_timeout_s=30, related={"consumers": []})) is None
    )
    # Lambda pollers long-poll whatever the queue says.
    with_lambda = queue(receive_wait_s=0, related={"consumers": [consumer()]}, metrics={"empty": 2_000_000})
    assert evaluate("sqs-short-polling", with_lambda) is None


def test_visibility_uses_the_slowest_consumer() -> None:
    inp = queue(visibility_timeout_s=400, related={"consumers": [consumer(30, 0), consumer(70, 0)]})
    result = evaluate("sqs-visibility-timeout-too-short", inp)
    assert result is not None and not result.passed
    assert result.evidence["required_visibility_timeout_s"] == 420.0


def test_unused_needs_metrics() -> None:
    assert evaluate("sqs-unused", queue()) is None
