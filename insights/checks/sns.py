"""SNS topic checks: failed deliveries, subscriptions' dead-letter queues and transport, encryption, policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import as_dict, as_list, count, days, fmt, metric, percent, public_policy_result

KIND = "sns.topic"
SERVICE = "sns"
DOCS = "https://docs.aws.amazon.com/sns/latest/dg/"
NS = "AWS/SNS"


def _subscriptions(inp: CheckInput) -> list[Mapping[str, Any]] | None:
    if "subscriptions" not in inp.config:
        return None
    return [as_dict(s) for s in as_list(inp.config.get("subscriptions"))]


def _describe(sub: Mapping[str, Any]) -> str:
    endpoint = sub.get("endpoint")
    return f"{sub.get('protocol')}:{endpoint}" if endpoint else str(sub.get("protocol"))


@check(
    id="sns-delivery-failures",
    title="SNS deliveries failing",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="More than 1 % of deliveries to subscribers failed after SNS's retries. Without a subscription DLQ those "
    "messages are lost; common causes are a deleted endpoint, a missing permission (Lambda resource policy, SQS "
    "queue policy, KMS key policy) or an HTTP endpoint returning errors.",
    fix="Enable delivery status logging for the failing protocol to see the reason, fix the endpoint or its "
    "permission, and add a DLQ to each subscription so future failures are kept.",
    docs_url=DOCS + "sns-message-delivery-retries.html",
    thresholds={"failure_rate_percent": 1.0, "min_published": 20},
)
def delivery_failures(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    published = metric(inp, f"{NS}:NumberOfMessagesPublished:Sum")
    failed = count(inp, f"{NS}:NumberOfNotificationsFailed:Sum")
    if published is None or failed is None or published < th["min_published"] or published <= 0:
        return None
    # Every published message fans out to every subscription: that is how many deliveries were attempted.
    fan_out = max(1, len(_subscriptions(inp) or []))
    deliveries = published * fan_out
    rate = percent(failed, deliveries)
    evidence = {
        "failed_notifications": failed,
        "messages_published": published,
        "subscriptions": fan_out,
        "failure_rate_percent": rate,
        "threshold_percent": th["failure_rate_percent"],
    }
    sentence = f"{fmt(failed)} of about {fmt(deliveries)} deliveries ({fmt(rate)} %) failed over {days(inp)}"
    if rate > th["failure_rate_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['failure_rate_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="sns-subscription-no-dlq",
    title="SNS subscription without a dead-letter queue",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="When SNS cannot deliver to a subscription (endpoint deleted, permission missing, HTTP endpoint down past "
    "the retry policy) the message is dropped unless the subscription has a redrive policy to an SQS DLQ.",
    fix="Create an SQS queue, allow the topic to send to it, and set the subscription's RedrivePolicy "
    "(`aws sns set-subscription-attributes --attribute-name RedrivePolicy --attribute-value "
    '\'{"deadLetterTargetArn": "…"}\'`).',
    docs_url=DOCS + "sns-dead-letter-queues.html",
    thresholds={},
)
def subscription_no_dlq(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    subs = _subscriptions(inp)
    if not subs:
        return None
    missing = [_describe(s) for s in subs if not s.get("dead_letter_target")]
    if missing:
        return Result(
            False,
            {"subscriptions": missing, "subscription_count": len(subs)},
            f"{len(missing)} of {len(subs)} subscription(s) have no dead-letter queue: {', '.join(missing)}.",
        )
    return Result(True, {"subscription_count": len(subs)}, "Every subscription has a dead-letter queue.")


@check(
    id="sns-http-subscription",
    title="SNS subscription over plain HTTP",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="warning",
    why="Messages to an http:// endpoint travel unencrypted over the internet: anyone on the path can read or "
    "alter them, and the endpoint cannot be sure the sender is SNS.",
    fix="Subscribe the https:// URL of the endpoint instead (with a valid certificate), confirm it, delete the "
    "http subscription, and verify SNS message signatures in the endpoint.",
    docs_url=DOCS + "sns-http-https-endpoint-as-subscriber.html",
    thresholds={},
)
def http_subscription(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    subs = _subscriptions(inp)
    if not subs:
        return None
    plain = sum(1 for s in subs if s.get("protocol") == "http")
    evidence = {"http_subscriptions": plain, "subscription_count": len(subs)}
    if plain:
        return Result(False, evidence, f"{plain} subscription(s) deliver over plain HTTP.")
    return Result(True, evidence, "No subscription uses plain HTTP.")


@check(
    id="sns-no-encryption",
    title="SNS topic not encrypted at rest",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="info",
    why="Without a KMS key SNS stores messages unencrypted while it delivers them. Compliance baselines (CIS, "
    "PCI) expect encryption at rest for messaging that may carry personal data.",
    fix="Set a KMS key on the topic (Topic → Edit → Encryption, `KmsMasterKeyId: alias/aws/sns` or a customer "
    "managed key whose policy lets publishers and subscribing services use it).",
    docs_url=DOCS + "sns-server-side-encryption.html",
    thresholds={},
)
def no_encryption(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if "kms_key" not in inp.config:
        return None
    key = inp.config.get("kms_key")
    if key:
        return Result(True, {"kms_key": key}, "The topic is encrypted with a KMS key.")
    return Result(False, {"kms_key": None}, "The topic has no KMS key: messages are stored unencrypted.")


@check(
    id="sns-public-policy",
    title="SNS topic policy allows anyone",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="critical",
    why="A statement of the topic policy allows any principal with no condition: any AWS account can publish to "
    "(spam your subscribers) or subscribe to (read) the topic, depending on the actions granted.",
    fix="Restrict the statement to the publishing accounts or services, or add a condition (aws:SourceAccount, "
    "aws:SourceArn, aws:PrincipalOrgID); the default policy's AWS:SourceOwner condition is an example.",
    docs_url=DOCS + "sns-access-policy-use-cases.html",
    thresholds={},
)
def public_policy(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    return public_policy_result(inp, "topic")


@check(
    id="sns-no-subscriptions",
    title="SNS topic without subscriptions",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="info",
    why="The topic has no subscription: every message published to it is accepted and then goes nowhere. Either "
    "the topic is left over or a subscriber was removed by mistake.",
    fix="Subscribe the intended consumer (SQS queue, Lambda function, HTTPS endpoint), or delete the topic and the "
    "code that publishes to it.",
    docs_url=DOCS + "sns-create-subscribe-endpoint-to-topic.html",
    thresholds={},
)
def no_subscriptions(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    subs = _subscriptions(inp)
    if subs is None:
        return None
    published = metric(inp, f"{NS}:NumberOfMessagesPublished:Sum")
    evidence = {"subscription_count": len(subs), "messages_published": published}
    if subs:
        return Result(True, evidence, f"The topic has {len(subs)} subscription(s).")
    lost = f"; {fmt(published)} messages published over {days(inp)} went nowhere" if published else ""
    return Result(False, evidence, f"The topic has no subscription{lost}.")
