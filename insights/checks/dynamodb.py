"""DynamoDB table checks: throttling and errors, capacity against provisioned, backups and protection, usage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import count, days, fmt, metric, number, percent

KIND = "dynamodb.table"
SERVICE = "dynamodb"
DOCS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
NS = "AWS/DynamoDB"


def _provisioned(inp: CheckInput) -> bool | None:
    mode = inp.config.get("billing_mode")
    return None if mode is None else mode == "PROVISIONED"


def _capacity_sides(inp: CheckInput) -> list[tuple[str, float, float]]:
    """(side, peak units per second, provisioned units) for each side with both numbers."""
    sides = []
    for side, config_key in (("read", "read_capacity"), ("write", "write_capacity")):
        provisioned = number(inp.config.get(config_key))
        peak = metric(inp, f"derived:Consumed{side.capitalize()}CapacityUnits:peak_per_second")
        if provisioned and peak is not None:
            sides.append((side, peak, provisioned))
    return sides


@check(
    id="dynamodb-throttling",
    title="DynamoDB requests throttled",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Requests were rejected with ProvisionedThroughputExceededException (or ThrottlingException). The SDKs "
    "retry, adding latency; once retries run out the caller fails. On-demand tables throttle too, on hot "
    "partitions or when traffic more than doubles its previous peak.",
    fix="Provisioned: raise capacity or the auto scaling maximum; on-demand: spread the load over more partition "
    "keys (a hot key is limited to 3,000 RCU / 1,000 WCU per partition) and check the table's maximum throughput "
    "setting. CloudWatch Contributor Insights shows the hot keys.",
    docs_url=DOCS + "TroubleshootingThrottling.html",
    thresholds={"min_throttle_events": 1},
)
def throttling(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    reads = count(inp, f"{NS}:ReadThrottleEvents:Sum")
    writes = count(inp, f"{NS}:WriteThrottleEvents:Sum")
    if reads is None or writes is None:
        return None
    evidence = {
        "read_throttle_events": reads,
        "write_throttle_events": writes,
        "billing_mode": inp.config.get("billing_mode"),
    }
    if reads + writes >= th["min_throttle_events"]:
        return Result(False, evidence, f"{fmt(reads)} read and {fmt(writes)} write throttle events over {days(inp)}.")
    return Result(True, evidence, f"No throttled request over {days(inp)}.")


@check(
    id="dynamodb-pitr-disabled",
    title="DynamoDB point-in-time recovery off",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Without point-in-time recovery a bad deployment, a buggy migration or an accidental delete cannot be "
    "undone: on-demand backups only restore to when they were taken.",
    fix="Enable PITR (Table → Backups → Point-in-time recovery → Edit, `PointInTimeRecoverySpecification: "
    "{PointInTimeRecoveryEnabled: true}`); it keeps 35 days (configurable down to 1) of per-second restore points.",
    docs_url=DOCS + "PointInTimeRecovery.html",
    thresholds={},
)
def pitr_disabled(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    pitr = inp.config.get("point_in_time_recovery")
    if not isinstance(pitr, bool):
        return None
    if pitr:
        return Result(True, {"point_in_time_recovery": True}, "Point-in-time recovery is enabled.")
    return Result(False, {"point_in_time_recovery": False}, "Point-in-time recovery is disabled.")


@check(
    id="dynamodb-deletion-protection-off",
    title="DynamoDB deletion protection off",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="info",
    why="Without deletion protection one DeleteTable call — a mistaken stack deletion, a cleanup script with the "
    "wrong prefix — removes the table and its data at once.",
    fix="Enable deletion protection (Table → Additional settings → Deletion protection, `DeletionProtectionEnabled: "
    "true`, or `aws dynamodb update-table --deletion-protection-enabled`).",
    docs_url=DOCS + "WorkingWithTables.Basics.html",
    thresholds={},
)
def deletion_protection_off(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    protected = inp.config.get("deletion_protection")
    if not isinstance(protected, bool):
        return None
    if protected:
        return Result(True, {"deletion_protection": True}, "Deletion protection is enabled.")
    return Result(False, {"deletion_protection": False}, "Deletion protection is disabled.")


@check(
    id="dynamodb-capacity-near-provisioned",
    title="DynamoDB consumed capacity close to provisioned",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="At its busiest minute the table consumed over 80 % of its provisioned capacity per second. Burst capacity "
    "absorbs short peaks, but a little more traffic will be throttled, and auto scaling takes minutes to react.",
    fix="Raise the provisioned capacity or the auto scaling maximum (target utilisation 70 %), or switch the table "
    "to on-demand if traffic is spiky.",
    docs_url=DOCS + "provisioned-capacity-mode.html",
    thresholds={"utilization_percent": 80.0},
)
def capacity_near_provisioned(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if _provisioned(inp) is not True:
        return None
    sides = _capacity_sides(inp)
    if not sides:
        return None
    evidence: dict[str, Any] = {"threshold_percent": th["utilization_percent"]}
    hot = []
    for side, peak, provisioned in sides:
        utilization = percent(peak, provisioned)
        evidence[f"{side}_peak_per_second"] = round(peak, 2)
        evidence[f"{side}_capacity"] = provisioned
        evidence[f"{side}_utilization_percent"] = utilization
        if utilization > th["utilization_percent"]:
            hot.append(f"{side} {fmt(round(peak, 2))} of {fmt(provisioned)} units/s ({fmt(utilization)} %)")
    if hot:
        return Result(
            False, evidence, f"Peak consumption {'; '.join(hot)} is above {fmt(th['utilization_percent'])} %."
        )
    return Result(True, evidence, f"Peak consumption stays under {fmt(th['utilization_percent'])} % of provisioned.")


@check(
    id="dynamodb-capacity-overprovisioned",
    title="DynamoDB provisioned capacity mostly unused",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="Even at its busiest minute the table used under 20 % of a side's provisioned capacity, which is billed "
    "every hour whether used or not.",
    fix="Lower the provisioned capacity (or the auto scaling minimum) towards the peak plus headroom, or switch to "
    "on-demand if the table is mostly idle.",
    docs_url=DOCS + "provisioned-capacity-mode.html",
    thresholds={"utilization_percent": 20.0, "min_provisioned_units": 5},
)
def capacity_overprovisioned(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    if _provisioned(inp) is not True:
        return None
    # The smallest tables cost little whatever their use.
    sides = [s for s in _capacity_sides(inp) if s[2] > th["min_provisioned_units"]]
    if not sides:
        return None
    evidence: dict[str, Any] = {"threshold_percent": th["utilization_percent"]}
    idle = []
    for side, peak, provisioned in sides:
        utilization = percent(peak, provisioned)
        evidence[f"{side}_peak_per_second"] = round(peak, 2)
        evidence[f"{side}_capacity"] = provisioned
        evidence[f"{side}_utilization_percent"] = utilization
        if utilization < th["utilization_percent"]:
            idle.append(f"{side} {fmt(round(peak, 2))} of {fmt(provisioned)} units/s ({fmt(utilization)} %)")
    if idle:
        return Result(
            False, evidence, f"Peak consumption {'; '.join(idle)} is under {fmt(th['utilization_percent'])} %."
        )
    return Result(True, evidence, "Provisioned capacity matches the peak consumption.")


@check(
    id="dynamodb-provisioned-check-autoscaling",
    title="DynamoDB provisioned table: check auto scaling",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="The table uses provisioned capacity. Without auto scaling it is either over-provisioned (paid and unused) "
    "or throttled at peaks. Auto scaling is configured in Application Auto Scaling, which discovery does not read, "
    "so this is a reminder to check it.",
    fix="Check Table → Additional settings → Read/write capacity → Auto scaling: on for reads, writes and every GSI "
    "with a target around 70 %; or switch to on-demand for unpredictable traffic.",
    docs_url=DOCS + "AutoScaling.html",
    thresholds={},
)
def provisioned_check_autoscaling(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    provisioned = _provisioned(inp)
    if provisioned is None:
        return None
    evidence = {
        "billing_mode": inp.config.get("billing_mode"),
        "read_capacity": inp.config.get("read_capacity"),
        "write_capacity": inp.config.get("write_capacity"),
    }
    if not provisioned:
        return Result(True, evidence, "The table is on-demand.")
    return Result(False, evidence, "The table uses provisioned capacity: check that auto scaling is configured.")


@check(
    id="dynamodb-unused",
    title="DynamoDB table unused",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="info",
    why="No read or write consumed capacity over the window. The table still costs storage (and, if provisioned, "
    "its capacity every hour), backups and PITR.",
    fix="Confirm nothing reads or writes it (CloudTrail data events, code search); export it to S3 if the data "
    "matters, then delete it, or switch it to on-demand and the Standard-IA table class.",
    docs_url=DOCS + "metrics-dimensions.html",
    thresholds={"max_consumed_units": 0},
)
def unused(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    reads = count(inp, f"{NS}:ConsumedReadCapacityUnits:Sum")
    writes = count(inp, f"{NS}:ConsumedWriteCapacityUnits:Sum")
    if reads is None or writes is None:
        return None
    evidence = {
        "consumed_read_units": reads,
        "consumed_write_units": writes,
        "billing_mode": inp.config.get("billing_mode"),
    }
    if reads + writes <= th["max_consumed_units"]:
        return Result(False, evidence, f"No read or write capacity was consumed over {days(inp)}.")
    return Result(True, evidence, f"{fmt(reads)} read and {fmt(writes)} write units consumed over {days(inp)}.")


@check(
    id="dynamodb-system-errors",
    title="DynamoDB system errors",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="DynamoDB returned HTTP 500 errors (InternalServerError, ServiceUnavailable). They are on AWS's side and "
    "usually transient, but callers without retries fail, and a sustained rate may be a regional issue.",
    fix="Make sure every client retries with exponential backoff (the SDK defaults do; custom HTTP clients may "
    "not), make writes idempotent, and check the AWS Health Dashboard if the errors persist.",
    docs_url=DOCS + "Programming.Errors.html",
    thresholds={"min_errors": 1},
)
def system_errors(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    errors = count(inp, f"{NS}:SystemErrors:Sum")
    if errors is None:
        return None
    evidence = {"system_errors": errors}
    if errors >= th["min_errors"]:
        return Result(False, evidence, f"{fmt(errors)} system errors over {days(inp)}.")
    return Result(True, evidence, f"No system error over {days(inp)}.")
