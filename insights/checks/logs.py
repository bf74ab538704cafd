"""Log-group checks of Lambda functions: retention, and a group that never got created."""

from __future__ import annotations

from collections.abc import Mapping

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import metric
from kinds import lambda_function

KIND = lambda_function.KIND
SERVICE = "logs"
DOCS_RETENTION = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html#SettingLogRetention"


def _log_group(inp: CheckInput) -> tuple[str | None, bool | None]:
    group = inp.config.get("log_group")
    exists = inp.config.get("log_group_exists")
    return (group if isinstance(group, str) else None), (exists if isinstance(exists, bool) else None)


@check(
    id="logs-retention-not-set",
    title="Lambda log group never expires",
    service=SERVICE,
    kind=KIND,
    pillar="cost_optimization",
    severity="warning",
    why="The function's log group keeps every log event for ever (CloudWatch Logs' default). Storage grows without "
    "bound at $0.03 per GB-month, and old logs often hold personal data you are not allowed to keep indefinitely.",
    fix="Set a retention on the log group (CloudWatch → Log groups → Actions → Edit retention setting, `aws logs "
    "put-retention-policy --retention-in-days 30`, or an AWS::Logs::LogGroup with RetentionInDays in the stack, "
    "created before the function first logs).",
    docs_url=DOCS_RETENTION,
    thresholds={},
)
def retention_not_set(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    group, exists = _log_group(inp)
    # exists is None when the log groups could not be listed: retention None then means "unknown".
    if exists is not True or "log_retention_days" not in inp.config:
        return None
    retention = inp.config.get("log_retention_days")
    evidence = {"log_group": group, "retention_days": retention}
    if retention is None:
        return Result(False, evidence, f"Log group {group} has no retention: its events never expire.")
    return Result(True, evidence, f"Log group {group} keeps events for {retention} days.")


@check(
    id="logs-retention-very-long",
    title="Lambda logs kept longer than a year",
    service=SERVICE,
    kind=KIND,
    pillar="sustainability",
    severity="info",
    why="Function logs are mostly useful for days or weeks. Keeping them for years stores (and replicates) data "
    "nobody reads; if a regulation requires long retention, exporting to S3 with a Glacier lifecycle is far cheaper.",
    fix="Lower the log group's retention to what your operations need (e.g. 30 or 90 days) with `aws logs "
    "put-retention-policy`, and archive to S3 via a subscription or export task where long-term retention is required.",
    docs_url=DOCS_RETENTION,
    thresholds={"max_retention_days": 365},
)
def retention_very_long(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    group, exists = _log_group(inp)
    retention = inp.config.get("log_retention_days")
    if exists is not True or not isinstance(retention, int | float) or isinstance(retention, bool):
        return None
    evidence = {"log_group": group, "retention_days": retention, "threshold_days": th["max_retention_days"]}
    if retention > th["max_retention_days"]:
        return Result(False, evidence, f"Log group {group} keeps events for {retention} days.")
    return Result(True, evidence, f"Log group {group} keeps events for {retention} days.")


@check(
    id="logs-group-missing",
    title="Invoked Lambda without a log group",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="warning",
    why="The function runs but its log group does not exist, so its output (errors included) is thrown away. Lambda "
    "creates the group on first write only if the execution role may call logs:CreateLogGroup; a group deleted "
    "afterwards stays missing.",
    fix="Create the log group (`aws logs create-log-group --log-group-name /aws/lambda/<name>`, ideally in the stack "
    "with a retention) and give the execution role logs:CreateLogStream and logs:PutLogEvents "
    "(AWSLambdaBasicExecutionRole).",
    docs_url="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html",
    thresholds={"min_invocations": 1},
)
def group_missing(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    group, exists = _log_group(inp)
    if exists is None:
        return None
    if exists:
        return Result(True, {"log_group": group}, f"Log group {group} exists.")
    invocations = metric(inp, "AWS/Lambda:Invocations:Sum")
    if invocations is None and inp.stats is not None:
        invocations = float(inp.stats.invocations)
    if invocations is None or invocations < th["min_invocations"]:
        return None  # never invoked: a missing group is expected
    evidence = {"log_group": group, "invocations": invocations}
    return Result(
        False, evidence, f"The function was invoked {invocations:,.0f} times but log group {group} does not exist."
    )
