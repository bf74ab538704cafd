"""How fast we may call each AWS API, per customer account × region.

The customer's own tools share these quotas, so we take a share, not all of it.
Sources: AWS service quotas pages (Lambda, CloudWatch, CloudWatch Logs, SQS, SNS,
DynamoDB, Kinesis, Step Functions, EventBridge), consulted 2026-11.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pace:
    rate: float  # tokens per second
    burst: int  # bucket size

    def scaled(self, factor: float) -> Pace:
        return Pace(rate=self.rate * factor, burst=max(1, round(self.burst * factor)))


# (IAM-style service prefix, operation) -> pace. Unlisted operations get DEFAULT.
PACES: dict[tuple[str, str], Pace] = {
    # FilterLogEvents: 5 TPS per account and region, not adjustable. We take 3.
    ("logs", "FilterLogEvents"): Pace(rate=3, burst=3),
    ("logs", "DescribeLogGroups"): Pace(rate=3, burst=5),
    # GetMetricData: 50 TPS per account and region (adjustable). We take 10.
    ("cloudwatch", "GetMetricData"): Pace(rate=10, burst=10),
    # Lambda control plane reads: 15 TPS per account and region, shared by all of them.
    ("lambda", "*"): Pace(rate=8, burst=10),
    # API Gateway management: 10 TPS per account, burst 40 (GET requests).
    ("apigateway", "*"): Pace(rate=5, burst=10),
    # X-Ray's read APIs are throttled at a few requests per second per account and region;
    # each BatchGetTraces carries five traces, and the hourly budget bounds the total.
    ("xray", "BatchGetTraces"): Pace(rate=2, burst=5),
    # Step Functions DescribeStateMachine: 20 bucket refilling at 1/s... ours below.
    ("states", "*"): Pace(rate=2, burst=10),
}
DEFAULT = Pace(rate=5, burst=10)


def pace_for(prefix: str, operation: str) -> tuple[str, Pace]:
    """(bucket name, pace): an operation listed alone has its own bucket; the rest of a
    service listed as "*" share one; anything else gets a DEFAULT bucket of its own."""
    if (prefix, operation) in PACES:
        return f"{prefix}:{operation}", PACES[(prefix, operation)]
    if (prefix, "*") in PACES:
        return f"{prefix}:*", PACES[(prefix, "*")]
    return f"{prefix}:{operation}", DEFAULT
