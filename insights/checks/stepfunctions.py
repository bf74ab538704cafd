"""Step Functions state machine checks: failed, timed-out and throttled executions, logging and tracing."""

from __future__ import annotations

from collections.abc import Mapping

from insights.checks.base import CheckInput, Result, check
from insights.checks.helpers import count, days, fmt, metric, percent

KIND = "states.statemachine"
SERVICE = "stepfunctions"
DOCS = "https://docs.aws.amazon.com/step-functions/latest/dg/"
NS = "AWS/States"


def _started(inp: CheckInput) -> float | None:
    return metric(inp, f"{NS}:ExecutionsStarted:Sum")


@check(
    id="stepfunctions-executions-failed",
    title="Step Functions executions failing",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="More than 1 % of executions failed: a task raised an error that no Retry or Catch handled. The business "
    "process the workflow implements stopped half-way for those executions.",
    fix="Open a failed execution's event history to find the failing state, add Retry with backoff for transient "
    "errors (Lambda.ServiceException, throttling) and Catch to a compensation or notification path for the rest.",
    docs_url=DOCS + "concepts-error-handling.html",
    thresholds={"failure_rate_percent": 1.0, "min_executions": 20},
)
def executions_failed(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    started = _started(inp)
    failed = count(inp, f"{NS}:ExecutionsFailed:Sum")
    if started is None or failed is None or started < th["min_executions"] or started <= 0:
        return None
    rate = percent(failed, started)
    evidence = {
        "failure_rate_percent": rate,
        "failed": failed,
        "started": started,
        "threshold_percent": th["failure_rate_percent"],
    }
    sentence = f"{fmt(rate)} % of executions failed ({fmt(failed)} of {fmt(started)}) over {days(inp)}"
    if rate > th["failure_rate_percent"]:
        return Result(False, evidence, f"{sentence}, above {fmt(th['failure_rate_percent'])} %.")
    return Result(True, evidence, f"{sentence}.")


@check(
    id="stepfunctions-executions-timed-out",
    title="Step Functions executions timing out",
    service=SERVICE,
    kind=KIND,
    pillar="reliability",
    severity="warning",
    why="Executions hit the state machine's TimeoutSeconds (or a task its own timeout, escalated): usually a task "
    "waiting for a callback token that never came, or a downstream call hanging.",
    fix="Set TimeoutSeconds and HeartbeatSeconds on waiting tasks, make sure callbacks are always sent (also on "
    "failure), and Catch States.Timeout to clean up.",
    docs_url=DOCS + "concepts-error-handling.html",
    thresholds={"min_timeouts": 1},
)
def executions_timed_out(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    started = _started(inp)
    timed_out = count(inp, f"{NS}:ExecutionsTimedOut:Sum")
    if started is None or timed_out is None:
        return None
    evidence = {"timed_out": timed_out, "started": started}
    if timed_out >= th["min_timeouts"]:
        return Result(
            False, evidence, f"{fmt(timed_out)} executions timed out over {days(inp)} ({fmt(started)} started)."
        )
    return Result(True, evidence, f"No execution timed out over {days(inp)}.")


@check(
    id="stepfunctions-executions-throttled",
    title="Step Functions executions throttled",
    service=SERVICE,
    kind=KIND,
    pillar="performance_efficiency",
    severity="warning",
    why="StartExecution or state transitions were throttled: the account's Step Functions quotas (StartExecution "
    "and state-transition token buckets per region) were exhausted, delaying or rejecting executions.",
    fix="Request higher quotas in Service Quotas, use Express workflows for high-volume short workflows, batch work "
    "with Map states instead of starting many executions, and buffer starts through SQS.",
    docs_url=DOCS + "service-quotas.html",
    thresholds={"min_throttled": 1},
)
def executions_throttled(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    throttled = metric(inp, f"{NS}:ExecutionThrottled:Sum")
    if throttled is None:
        throttled = count(inp, f"{NS}:ExecutionThrottled:Sum")
    if throttled is None:
        return None
    evidence = {"throttled": throttled}
    if throttled >= th["min_throttled"]:
        return Result(False, evidence, f"{fmt(throttled)} executions were throttled over {days(inp)}.")
    return Result(True, evidence, f"No execution was throttled over {days(inp)}.")


@check(
    id="stepfunctions-logging-off",
    title="Step Functions logging off",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="warning",
    why="With logging OFF, Express workflows leave no record of their executions at all (they have no execution "
    "history), and Standard workflows' failures cannot be searched with Logs Insights or kept past 90 days.",
    fix="Set the logging level to ERROR (or ALL while debugging) with a CloudWatch Logs destination (State machine "
    "→ Edit → Logging, `LoggingConfiguration: {Level: ERROR, Destinations: […]}`).",
    docs_url=DOCS + "cw-logs.html",
    thresholds={},
)
def logging_off(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    level = inp.config.get("logging_level")
    if level is None:
        return None
    evidence = {"logging_level": level, "type": inp.config.get("type")}
    if level == "OFF":
        kind = inp.config.get("type")
        what = f"{kind} state machine" if kind else "state machine"
        return Result(False, evidence, f"Logging is off for this {what}.")
    return Result(True, evidence, f"Logging level is {level}.")


@check(
    id="stepfunctions-tracing-off",
    title="Step Functions X-Ray tracing off",
    service=SERVICE,
    kind=KIND,
    pillar="operational_excellence",
    severity="info",
    why="Without X-Ray the traces of the functions and services a workflow calls are not tied to the execution: you "
    "cannot see where an execution spent its time or which call failed across services.",
    fix="Enable X-Ray tracing on the state machine (State machine → Edit → Tracing, `TracingConfiguration: "
    "{Enabled: true}`); the role needs xray:PutTraceSegments.",
    docs_url=DOCS + "concepts-xray-tracing.html",
    thresholds={},
)
def tracing_off(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    tracing = inp.config.get("tracing")
    if not isinstance(tracing, bool):
        return None
    if tracing:
        return Result(True, {"tracing": True}, "X-Ray tracing is on.")
    return Result(False, {"tracing": False}, "X-Ray tracing is off.")


@check(
    id="stepfunctions-logs-include-execution-data",
    title="Step Functions logs include execution data",
    service=SERVICE,
    kind=KIND,
    pillar="security",
    severity="info",
    why="With includeExecutionData every state's input and output is written to CloudWatch Logs, where personal "
    "data, tokens or payment details in the payloads become readable by anyone with log access and are kept for "
    "the log group's retention.",
    fix="Turn off 'Include execution data' in the logging configuration unless you need it, or make sure the "
    "payloads carry no sensitive fields and the log group is encrypted with a KMS key and access-restricted.",
    docs_url=DOCS + "cw-logs.html",
    thresholds={},
)
def logs_include_execution_data(inp: CheckInput, th: Mapping[str, float]) -> Result | None:
    include = inp.config.get("logging_include_execution_data")
    level = inp.config.get("logging_level")
    if not isinstance(include, bool) or level is None:
        return None
    evidence = {"logging_include_execution_data": include, "logging_level": level}
    if include and level != "OFF":
        return Result(False, evidence, f"Logs at level {level} include every state's input and output.")
    return Result(True, evidence, "Logs do not include execution data.")
