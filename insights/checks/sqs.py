"""SQS queue checks: backlog and message age, dead-letter handling, consumers' timeouts, encryption, policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import as_dict, as_list, count, days, fmt, metric, number, percent, public_policy_result

KIND = "sqs.queue"
SERVICE = "sqs"
DOCS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
NS = "AWS/SQS"

# $0.40 per million requests (standard queues, after the free tier), the price of an empty receive.
REQUEST_PRICE_USD = 0.40 / 1_000_000


def _is_dlq(inp: CheckInput) -> bool | None:
    value = inp.config.get("is_dead_letter_queue")
    return value if isinstance(value, bool) else None


def _duration(s: float) -> str:
    if s >= 86400:
        return f"{fmt(round(s / 86400, 1))} days"
    if s >= 3600:
        return f"{fmt(round(s / 3600, 1))} h"
    if s >= 60:
        return f"{fmt(round(s / 60, 1))} min"
    return f"{fmt(round(s))} s"


@check(
    id="sqs-oldest-message-age-high",
    title="SQS messages waiting too long",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="The oldest message waited over an hour: consumers are down, too slow, or a message keeps failing and "
    "returning to the queue. Work is delayed, and messages are deleted unread once they reach the retention period.",
    fix="Check the consumers (errors, throttles, a disabled event source mapping), scale them (Lambda: raise the "
    "mapping's maximum concurrency or the function's reserved concurrency), and add a redrive policy so poison "
    "messages leave the queue.",
    docs_url=DOCS + "sqs-available-cloudwatch-metrics.html",
    thresholds={"age_seconds": 3600.0},
)
def oldest_message_age(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    age = metric(inp, f"{NS}:ApproximateAgeOfOldestMessage:Maximum")
    # Messages in a DLQ are old by design; sqs-dlq-has-messages and sqs-messages-near-retention cover it.
    if age is None or _is_dlq(inp) is not False:
        return None
    evidence = {"oldest_message_age_s": age, "threshold_s": th["age_seconds"]}
    sentence = f"The oldest message waited {_duration(age)} over {days(inp)}"
    if age > th["age_seconds"]:
        return Result(False, evidence, f"{sentence}, above {_duration(th['age_seconds'])}.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="sqs-messages-near-retention",
    title="SQS messages about to expire",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="critical",
    why="The oldest message reached 80 % of the queue's retention period; SQS deletes messages at the end of it "
    "without telling anyone. In a DLQ this is easy to miss: a standard queue's message keeps its original enqueue "
    "time when it moves to the DLQ, so it can expire there much sooner than the DLQ's retention suggests.",
    fix="Drain or redrive the queue now (SQS console → Start DLQ redrive), fix the consumer, and raise "
    "MessageRetentionPeriod (up to 14 days) — for a DLQ, longer than its source queue's.",
    docs_url=DOCS + "sqs-dead-letter-queues.html",
    thresholds={"retention_share_percent": 80.0},
)
def near_retention(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    age = metric(inp, f"{NS}:ApproximateAgeOfOldestMessage:Maximum")
    retention = number(inp.config.get("message_retention_s"))
    if age is None or not retention:
        return None
    share = percent(age, retention)
    evidence = {
        "oldest_message_age_s": age,
        "message_retention_s": retention,
        "share_of_retention_percent": share,
        "threshold_percent": th["retention_share_percent"],
    }
    sentence = f"The oldest message is {_duration(age)} old, {fmt(share)} % of the {_duration(retention)} retention"
    if share > th["retention_share_percent"]:
        return Result(False, evidence, f"{sentence}: it will be deleted unread soon.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="sqs-messages-piling-up",
    title="SQS backlog growing",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="Over 1,000 messages were waiting at once: producers outpace consumers. The delay grows with the backlog and "
    "a long backlog takes long to drain once the consumers are back.",
    fix="Scale the consumers (Lambda: raise the event source mapping's maximum concurrency and the function's "
    "reserved concurrency, use larger batches), speed up processing, or add workers for non-Lambda consumers.",
    docs_url=DOCS + "sqs-available-cloudwatch-metrics.html",
    thresholds={"visible_messages": 1000.0},
)
def piling_up(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    visible = metric(inp, f"{NS}:ApproximateNumberOfMessagesVisible:Maximum")
    if visible is None or _is_dlq(inp) is not False:
        return None
    evidence = {"visible_messages": visible, "threshold": th["visible_messages"]}
    sentence = f"Up to {fmt(visible)} messages were waiting over {days(inp)}"
    if visible > th["visible_messages"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['visible_messages'])}.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="sqs-dlq-has-messages",
    title="Dead-letter queue receiving messages",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="This queue is a dead-letter queue and holds messages: each one failed processing maxReceiveCount times in "
    "its source queue. That work has not been done, and DLQ messages still expire at the retention period.",
    fix="Read a few messages (SQS console → Send and receive messages → Poll) and the consumer's errors for them, "
    "fix the cause, then redrive them to the source queue (Start DLQ redrive) or discard them deliberately.",
    docs_url=DOCS + "sqs-dead-letter-queues.html",
    thresholds={"max_messages": 0},
)
def dlq_has_messages(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if _is_dlq(inp) is not True:
        return None
    visible = count(inp, f"{NS}:ApproximateNumberOfMessagesVisible:Maximum")
    if visible is None:
        return None
    evidence = {"visible_messages": visible}
    if visible > th["max_messages"]:
        return Result(False, evidence, f"The dead-letter queue held up to {fmt(visible)} messages over {days(inp)}.")
    return Result(True, evidence, f"The dead-letter queue stayed empty over {days(inp)}.")


@check(
    id="sqs-no-redrive-policy",
    title="SQS queue without a dead-letter queue",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Without a redrive policy a message that always fails (a poison message) is received again and again until "
    "it expires: it wastes consumer time, can block FIFO message groups, and is finally deleted without a trace.",
    fix="Create a dead-letter queue (FIFO if this queue is FIFO) and set the redrive policy (Queue → Dead-letter "
    "queue → Enabled, maxReceiveCount 5 or more), then alarm on the DLQ's ApproximateNumberOfMessagesVisible.",
    docs_url=DOCS + "sqs-dead-letter-queues.html",
    thresholds={},
)
def no_redrive_policy(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if _is_dlq(inp) is not False or "dead_letter_target" not in inp.config:
        return None
    target = inp.config.get("dead_letter_target")
    evidence = {"dead_letter_target": target, "max_receive_count": inp.config.get("max_receive_count")}
    if target:
        return Result(True, evidence, "Failed messages move to a dead-letter queue.")
    return Result(False, evidence, "The queue has no redrive policy: failing messages are retried until they expire.")


def _required_visibility(inp: CheckInput, consumer: Mapping[str, Any], multiple: float) -> float | None:
    """multiple × the function timeout + the batching window of its mapping from this queue."""
    timeout = number(consumer.get("timeout_s"))
    if timeout is None:
        return None
    window = 0.0
    for mapping in as_list(consumer.get("event_source_mappings")):
        m = as_dict(mapping)
        if m.get("event_source_arn") == inp.arn:
            window = max(window, number(m.get("maximum_batching_window_s")) or 0.0)
    return multiple * timeout + window


@check(
    id="sqs-visibility-timeout-too-short",
    title="SQS visibility timeout shorter than 6× the consumer's timeout",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="AWS recommends a visibility timeout of at least six times the consuming function's timeout (plus its "
    "batching window). Shorter, a message whose invocation is slow or throttled and retried becomes visible again "
    "while it is still being processed, and is processed twice.",
    fix="Raise the queue's VisibilityTimeout to the required value (Queue → Edit → Visibility timeout, or "
    "`aws sqs set-queue-attributes --attributes VisibilityTimeout=…`), or lower the function's timeout.",
    docs_url="https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html",
    thresholds={"timeout_multiple": 6.0},
)
def visibility_timeout_too_short(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    visibility = number(inp.config.get("visibility_timeout_s"))
    consumers = [as_dict(c) for c in as_list(inp.related.get("consumers"))]
    if visibility is None or not consumers:
        return None
    required_values = [
        value for c in consumers if (value := _required_visibility(inp, c, th["timeout_multiple"])) is not None
    ]
    if not required_values:
        return None
    required = max(required_values)
    max_timeout = max(number(c.get("timeout_s")) or 0 for c in consumers)
    evidence = {
        "visibility_timeout_s": visibility,
        "max_consumer_timeout_s": max_timeout,
        "required_visibility_timeout_s": required,
    }
    if visibility < required:
        return Result(
            False,
            evidence,
            f"Visibility timeout {fmt(visibility)} s is under the {fmt(required)} s needed for a consumer with a "
            f"{fmt(max_timeout)} s timeout.",
        )
    return Result(True, evidence, f"Visibility timeout {fmt(visibility)} s covers the consumers' timeouts.")


@check(
    id="sqs-max-receive-count-low",
    title="SQS maxReceiveCount too low for a Lambda consumer",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="info",
    why="With a Lambda consumer a message can be received and returned without a real failure (throttled "
    "invocation, scaling). With maxReceiveCount below 5 such messages reach the DLQ after a transient hiccup.",
    fix="Set maxReceiveCount to at least 5 in the queue's redrive policy (Queue → Dead-letter queue → Maximum "
    "receives).",
    docs_url="https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html",
    thresholds={"min_receive_count": 5},
)
def max_receive_count_low(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    receives = number(inp.config.get("max_receive_count"))
    if receives is None or not inp.config.get("dead_letter_target") or not as_list(inp.related.get("consumers")):
        return None
    evidence = {"max_receive_count": receives, "threshold": th["min_receive_count"]}
    if receives < th["min_receive_count"]:
        return Result(
            False,
            evidence,
            f"maxReceiveCount is {fmt(receives)}: messages reach the DLQ after {fmt(receives)} receive(s).",
        )
    return Result(True, evidence, f"maxReceiveCount is {fmt(receives)}.")


@check(
    id="sqs-unused",
    title="SQS queue unused",
    service=SERVICE,
    kind=KIND,
    pillar="sustainability",
    severity="info",
    why="No message was sent to or received from the queue over the window. Leftover queues confuse operators, keep "
    "stale permissions alive and may still be polled by forgotten consumers.",
    fix="Confirm nothing produces to or consumes from it (CloudTrail data events, code search), then delete it "
    "(`aws sqs delete-queue`) or remove it from the stack that creates it.",
    docs_url=DOCS + "sqs-available-cloudwatch-metrics.html",
    thresholds={"max_messages": 0},
)
def unused(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    # A healthy dead-letter queue receives nothing.
    if _is_dlq(inp) is not False:
        return None
    sent = count(inp, f"{NS}:NumberOfMessagesSent:Sum")
    received = count(inp, f"{NS}:NumberOfMessagesReceived:Sum")
    if sent is None or received is None:
        return None
    evidence = {"messages_sent": sent, "messages_received": received}
    if sent + received <= th["max_messages"]:
        return Result(False, evidence, f"No message was sent or received over {days(inp)}.")
    return Result(True, evidence, f"{fmt(sent)} messages sent and {fmt(received)} received over {days(inp)}.")


@check(
    id="sqs-no-encryption",
    title="SQS queue not encrypted at rest",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="Messages are stored unencrypted. Queues created since October 2022 get SQS-managed encryption by default; "
    "older ones, or ones where it was turned off, do not, which fails most compliance baselines.",
    fix="Enable SSE-SQS (Queue → Edit → Encryption, `SqsManagedSseEnabled: true`) or SSE-KMS with a customer "
    "managed key when you need key policies and CloudTrail records of key use (producers then need kms:GenerateDataKey).",
    docs_url=DOCS + "sqs-server-side-encryption.html",
    thresholds={},
)
def no_encryption(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if "kms_key" not in inp.config or "sse_sqs" not in inp.config:
        return None
    kms_key, sse_sqs = inp.config.get("kms_key"), inp.config.get("sse_sqs")
    evidence = {"kms_key": kms_key, "sse_sqs": sse_sqs}
    if kms_key or sse_sqs is True:
        return Result(True, evidence, "Messages are encrypted at rest.")
    return Result(False, evidence, "The queue has neither SSE-SQS nor SSE-KMS encryption.")


@check(
    id="sqs-public-policy",
    title="SQS queue policy allows anyone",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="critical",
    why="A statement of the queue policy allows any principal with no condition: any AWS account can send, read or "
    "delete messages, depending on the actions granted.",
    fix="Replace Principal '*' with the accounts or services that need access, or add a condition such as "
    "aws:SourceArn (for SNS or EventBridge) or aws:PrincipalOrgID.",
    docs_url=DOCS + "sqs-basic-examples-of-sqs-policies.html",
    thresholds={},
)
def public_policy(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return public_policy_result(inp, "queue")


@check(
    id="sqs-short-polling",
    title="SQS queue polled without long polling",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="The queue's receive wait time is 0, and most receives came back empty. Each empty receive is a billed "
    "request and a wasted round trip; long polling waits up to 20 s for a message instead.",
    fix="Set ReceiveMessageWaitTimeSeconds to 20 on the queue (Queue → Edit → Receive message wait time) or pass "
    "WaitTimeSeconds=20 in the consumers' ReceiveMessage calls.",
    docs_url=DOCS + "sqs-short-and-long-polling.html",
    thresholds={"min_empty_receives": 100000, "empty_share_percent": 50.0},
)
def short_polling(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    wait = number(inp.config.get("receive_wait_s"))
    consumers = inp.related.get("consumers")
    # Lambda's pollers always long-poll: only queues known to have no Lambda consumer are about the queue setting.
    if wait is None or not isinstance(consumers, list) or consumers:
        return None
    empty = metric(inp, f"{NS}:NumberOfEmptyReceives:Sum")
    received = count(inp, f"{NS}:NumberOfMessagesReceived:Sum")
    if empty is None or received is None:
        return None
    share = percent(empty, empty + received)
    evidence = {
        "receive_wait_s": wait,
        "empty_receives": empty,
        "messages_received": received,
        "empty_share_percent": share,
        "monthly_cost_usd": round(empty * REQUEST_PRICE_USD * 30 / max(inp.window_days, 1), 2),
    }
    if wait == 0 and empty >= th["min_empty_receives"] and share > th["empty_share_percent"]:
        return Result(
            False,
            evidence,
            f"{fmt(empty)} empty receives over {days(inp)} ({fmt(share)} % of receives) with a 0 s wait time.",
        )
    return Result(True, evidence, f"Receive wait time {fmt(wait)} s, {fmt(empty)} empty receives over {days(inp)}.")
