"""Lambda functions: discovered with their configuration, their event sources and their log
group; the one kind whose invocations are read from its logs."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from aws.errors import error_code
from kinds.base import AVG, MAX, REGISTRY, SUM, Kind, Link, MetricSpec, Section, by_name, register
from kinds.describe import Context, ListingFailed, Snapshot

KIND = "lambda.function"
TAG_TYPE = "lambda:function"  # in the Tagging API: its tags come from the region's tag listing

ACTIONS = {
    "lambda:ListFunctions": "list functions with runtime, memory, timeout, layers, VPC, DLQ, tracing",
    "lambda:GetFunctionConcurrency": "reserved concurrency per function",
    "lambda:ListProvisionedConcurrencyConfigs": "provisioned concurrency per function",
    "lambda:ListEventSourceMappings": "event sources (SQS, Kinesis, DynamoDB streams) per function",
    "lambda:GetFunctionUrlConfig": "function URL and its auth type",
    "lambda:GetFunctionEventInvokeConfig": "async retries and on-success/on-failure destinations",
    "tag:GetResources": "tags of a region's functions, queues, topics, tables, state machines, rules and delivery streams, 100 resources a call, for projects and filters",
    "lambda:GetPolicy": "whether a function's resource policy lets anyone invoke it, and its principals",
    "lambda:GetAccountSettings": "the region's concurrency limit and unreserved pool, for the account checks",
    "logs:DescribeLogGroups": "log group of each function and its retention",
}


# Condition keys that tie a statement to one caller: with any of them a "*" principal is not
# the public (S3 or SNS granting itself access to the function, scoped by source).
_SCOPING_CONDITIONS = {"aws:sourcearn", "aws:sourceaccount", "aws:principalorgid", "aws:sourceowner"}
_UNREADABLE = object()


def _principals(principal: Any) -> list[str]:
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, Mapping):
        out: list[str] = []
        for value in principal.values():
            out.extend(str(v) for v in (value if isinstance(value, list) else [value]))
        return out
    return []


def policy_summary(text: Any) -> dict[str, Any] | None:
    """What the checks need of a function's resource policy, and nothing more: the statements
    that allow everyone ("*" without a SourceArn/SourceAccount-like condition) and the principals."""
    try:
        doc = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        doc = None
    if not isinstance(doc, Mapping):
        return None
    statements = doc.get("Statement")
    statements = [statements] if isinstance(statements, Mapping) else statements
    public: list[str] = []
    principals: set[str] = set()
    for index, st in enumerate(statements if isinstance(statements, list) else []):
        if not isinstance(st, Mapping) or st.get("Effect") != "Allow":
            continue
        who = _principals(st.get("Principal"))
        principals.update(who)
        condition = st.get("Condition")
        conditions: Mapping[str, Any] = condition if isinstance(condition, Mapping) else {}
        scoped = any(
            str(key).lower() in _SCOPING_CONDITIONS
            for block in conditions.values()
            if isinstance(block, Mapping)
            for key in block
        )
        if "*" in who and not scoped:
            public.append(str(st.get("Sid") or f"#{index}"))
    return {"public_statements": public, "principals": sorted(principals)}


def describe(ctx: Context) -> list[Snapshot]:
    functions = list(ctx.paginate("lambda", "ListFunctions", "Functions"))
    # One listing per region instead of one call per function.
    mappings: dict[str, list[dict[str, Any]]] = {}
    try:
        for m in ctx.paginate("lambda", "ListEventSourceMappings", "EventSourceMappings"):
            mappings.setdefault(m.get("FunctionArn", ""), []).append(
                {
                    "uuid": m.get("UUID"),
                    "event_source_arn": m.get("EventSourceArn"),
                    "state": m.get("State"),
                    "batch_size": m.get("BatchSize"),
                    "maximum_batching_window_s": m.get("MaximumBatchingWindowInSeconds"),
                    "function_response_types": m.get("FunctionResponseTypes", []),
                    "on_failure_destination": (m.get("DestinationConfig") or {})
                    .get("OnFailure", {})
                    .get("Destination"),
                    "maximum_retry_attempts": m.get("MaximumRetryAttempts"),
                    "bisect_batch_on_error": m.get("BisectBatchOnFunctionError"),
                }
            )
    except ListingFailed:
        pass
    # Tags for the whole region in one paged listing: tag filters decide before any detail
    # read, and a tag change is seen at every run.
    region_tags = ctx.region_tags(TAG_TYPE) if functions else {}
    listed = []
    for fn in functions:
        name, arn = fn["FunctionName"], fn["FunctionArn"]
        if not ctx.wanted(KIND, name):
            continue
        if region_tags is not None and not ctx.wanted(KIND, name, region_tags.get(arn, {})):
            continue
        listed.append(fn)
    due = ctx.details_due([(fn["FunctionArn"], fingerprint(fn)) for fn in listed])
    # The log groups (retention, existence) of the functions read this run, and of those
    # whose group was missing or unreadable (a function's group appears at its first
    # invocation): 50 a call, instead of the region's whole listing every run.
    log_groups = read_log_groups(
        ctx,
        [
            log_group_of(fn)
            for fn in listed
            if fn["FunctionArn"] in due or log_group_unknown(ctx.known.get(fn["FunctionArn"]), log_group_of(fn))
        ],
    )

    snapshots = []
    for fn in listed:
        name, arn = fn["FunctionName"], fn["FunctionArn"]
        known = ctx.known.get(arn)
        read = arn in due or known is None
        if region_tags is not None:
            tags = region_tags.get(arn, {})
        elif read:
            # Without the Tagging API (a role from an older template): one read per function.
            tags = ctx.call("lambda", "ListTags", {}, Resource=arn).get("Tags", {})
            tags = {str(k): str(v) for k, v in tags.items()}
            if not ctx.wanted(KIND, name, tags):
                continue
        else:
            tags = dict(known.tags) if known else {}
        config = listed_config(fn, mappings.get(arn, []))
        if config["log_group"] in log_groups:
            config.update(log_groups[config["log_group"]])
        elif known is not None:
            config.update({key: known.config[key] for key in LOG_GROUP_KEYS if key in known.config})
        if read:
            config.update(detail_config(ctx, name))
        elif known is not None:
            config.update({key: known.config[key] for key in DETAIL_KEYS if key in known.config})
        snapshots.append(Snapshot(KIND, arn, name, config, tags, fingerprint=fingerprint(fn), details_read=read))
    return snapshots


# What the per-function detail reads give (reused while the listing shows no change).
DETAIL_KEYS = ("reserved_concurrency", "provisioned_concurrency", "function_url", "async", "resource_policy")
# What the function's log group says (reused between its reads, like the details).
LOG_GROUP_KEYS = ("log_group_exists", "log_retention_days")
# DescribeLogGroups takes at most 50 log group names a call (logGroupIdentifiers).
LOG_GROUPS_PER_CALL = 50
_IDENTIFIERS_REFUSED = {"InvalidParameterException", "ValidationException"}


def log_group_of(fn: Mapping[str, Any]) -> str:
    return str((fn.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{fn['FunctionName']}")


def log_group_unknown(known: Any, log_group: str) -> bool:
    """Whether the stored configuration does not say that this log group exists: a
    function never read, one whose group was missing (it appears at the first invocation,
    so it is looked for every run until found) or could not be read, or one whose group
    changed."""
    config = known.config if known is not None else {}
    return config.get("log_group") != log_group or config.get("log_group_exists") is not True


def read_log_groups(ctx: Context, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """log group → its LOG_GROUP_KEYS, for the given names only: DescribeLogGroups with up to 50
    names a call (`logGroupIdentifiers`). A name AWS does not return does not exist. A name
    whose call failed is left out (its stored values stay, or it is unknown). Where AWS
    refuses the identifiers (an endpoint that predates them), the region's whole /aws/lambda/
    listing answers instead, 50 groups a page."""
    wanted = sorted(set(names))
    out: dict[str, dict[str, Any]] = {}
    client = ctx.client("logs")
    for start in range(0, len(wanted), LOG_GROUPS_PER_CALL):
        chunk = wanted[start : start + LOG_GROUPS_PER_CALL]
        try:
            answer = client.describe_log_groups(logGroupIdentifiers=chunk)
        except ClientError as exc:
            if error_code(exc) in _IDENTIFIERS_REFUSED:
                return _log_groups_listed(ctx, wanted)
            ctx.record(exc, "logs", "DescribeLogGroups")
            continue
        except BotoCoreError as exc:
            ctx.record(exc, "logs", "DescribeLogGroups")
            continue
        found = {g.get("logGroupName"): g for g in answer.get("logGroups", [])}
        for name in chunk:
            group = found.get(name)
            out[name] = {
                "log_group_exists": group is not None,
                "log_retention_days": group.get("retentionInDays") if group else None,
            }
    return out


def _log_groups_listed(ctx: Context, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    try:
        groups = {
            g["logGroupName"]: g.get("retentionInDays")
            for g in ctx.paginate("logs", "DescribeLogGroups", "logGroups", logGroupNamePrefix="/aws/lambda/")
        }
    except ListingFailed:
        return {}
    return {
        name: {"log_group_exists": name in groups, "log_retention_days": groups.get(name)}
        for name in names
        if name.startswith("/aws/lambda/")
    }


def fingerprint(fn: Mapping[str, Any]) -> str:
    """What ListFunctions says that changes with every update of the function's code or
    configuration (its resource policy included): its details are read again when it changes."""
    return f"{fn.get('LastModified', '')}|{fn.get('RevisionId', '')}"


def listed_config(fn: Mapping[str, Any], mappings: list[dict[str, Any]]) -> dict[str, Any]:
    """The configuration ListFunctions (and the region's listings) give, read every run."""
    logging_config = fn.get("LoggingConfig") or {}
    log_group = log_group_of(fn)
    vpc = fn.get("VpcConfig") or {}
    return {
        "runtime": fn.get("Runtime") or ("container" if fn.get("PackageType") == "Image" else None),
        "package_type": fn.get("PackageType", "Zip"),
        "architecture": (fn.get("Architectures") or ["x86_64"])[0],
        "memory_mb": fn.get("MemorySize"),
        "timeout_s": fn.get("Timeout"),
        "handler": fn.get("Handler"),
        "role": fn.get("Role"),
        "code_sha256": fn.get("CodeSha256"),
        "code_size": fn.get("CodeSize"),
        "version": fn.get("Version"),
        "last_modified": fn.get("LastModified"),
        "layers": [layer["Arn"] for layer in fn.get("Layers", [])],
        "env_var_names": sorted(((fn.get("Environment") or {}).get("Variables") or {}).keys()),
        "vpc": {"subnet_ids": vpc.get("SubnetIds", []), "security_group_ids": vpc.get("SecurityGroupIds", [])}
        if vpc.get("SubnetIds")
        else None,
        "dead_letter_target": (fn.get("DeadLetterConfig") or {}).get("TargetArn"),
        "tracing": (fn.get("TracingConfig") or {}).get("Mode", "PassThrough"),
        "ephemeral_storage_mb": (fn.get("EphemeralStorage") or {}).get("Size"),
        "snap_start": (fn.get("SnapStart") or {}).get("ApplyOn", "None"),
        "log_format": logging_config.get("LogFormat", "Text"),
        "log_group": log_group,
        "event_source_mappings": mappings,
    }


def detail_config(ctx: Context, name: str) -> dict[str, Any]:
    """The configuration only per-function reads give (DETAIL_KEYS): five calls."""
    concurrency = ctx.call("lambda", "GetFunctionConcurrency", {}, FunctionName=name)
    provisioned = ctx.call("lambda", "ListProvisionedConcurrencyConfigs", {}, FunctionName=name)
    url = ctx.call("lambda", "GetFunctionUrlConfig", None, FunctionName=name)
    invoke = ctx.call("lambda", "GetFunctionEventInvokeConfig", None, FunctionName=name)
    # No policy at all answers ResourceNotFoundException: that is "none", not a problem.
    policy = ctx.call("lambda", "GetPolicy", _UNREADABLE, not_found=None, FunctionName=name)
    destinations = (invoke or {}).get("DestinationConfig") or {}
    config: dict[str, Any] = {
        "reserved_concurrency": concurrency.get("ReservedConcurrentExecutions"),
        "provisioned_concurrency": [
            {
                "qualifier": p.get("FunctionArn", "").rsplit(":", 1)[-1],
                "requested": p.get("RequestedProvisionedConcurrentExecutions"),
                "allocated": p.get("AllocatedProvisionedConcurrentExecutions"),
                "status": p.get("Status"),
            }
            for p in provisioned.get("ProvisionedConcurrencyConfigs", [])
        ],
        "function_url": {"auth_type": url.get("AuthType"), "url": url.get("FunctionUrl")} if url else None,
        "async": {
            "maximum_retry_attempts": invoke.get("MaximumRetryAttempts"),
            "maximum_event_age_s": invoke.get("MaximumEventAgeInSeconds"),
            "on_failure_destination": (destinations.get("OnFailure") or {}).get("Destination"),
            "on_success_destination": (destinations.get("OnSuccess") or {}).get("Destination"),
        }
        if invoke
        else None,
    }
    if policy is not _UNREADABLE:  # unreadable (denied): unknown, so the check does not judge
        config["resource_policy"] = policy_summary((policy or {}).get("Policy"))
    return config


def details(config: Mapping[str, Any]) -> str:
    return (
        f"{config.get('runtime', '')} · {config.get('architecture', '')} · "
        f"{config.get('memory_mb', '')} MB · {config.get('timeout_s', '')} s"
    )


def polls(config: Mapping[str, Any]) -> list[str]:
    return [m["event_source_arn"] for m in config.get("event_source_mappings", []) if m.get("event_source_arn")]


def links(config: Mapping[str, Any]) -> list[Link]:
    out = []
    if config.get("dead_letter_target"):
        out.append(Link(config["dead_letter_target"], "Dead-letter queue", "Dead-letter queue of"))
    destinations = config.get("async") or {}
    if destinations.get("on_failure_destination"):
        out.append(Link(destinations["on_failure_destination"], "On-failure destination", "On-failure destination of"))
    if destinations.get("on_success_destination"):
        out.append(Link(destinations["on_success_destination"], "On-success destination", "On-success destination of"))
    for m in config.get("event_source_mappings", []):
        if m.get("on_failure_destination"):
            out.append(Link(m["on_failure_destination"], "Event source failures to", "Failed batches of"))
    return out


def related(resources: Sequence[Any], metrics: Mapping[int, Mapping[str, float]]) -> dict[int, dict[str, Any]]:
    """Per function: whether anything invokes it asynchronously, and every source that
    invokes it (event source mappings, then topics and rules)."""
    async_sources: dict[str, list[str]] = defaultdict(list)
    for r in resources:
        kind = REGISTRY.get(r.kind)
        for target in kind.invokes(r.config) if kind else []:
            async_sources[target].append(r.arn)
    out: dict[int, dict[str, Any]] = {}
    for fn in (r for r in resources if r.kind == KIND):
        sources = [m.get("event_source_arn") for m in fn.config.get("event_source_mappings", [])]
        out[fn.pk] = {
            "async_invoked": bool(async_sources.get(fn.arn)),
            "sources": sources + async_sources.get(fn.arn, []),
        }
    return out


register(
    Kind(
        id=KIND,
        label="Lambda function",
        service="lambda",
        describe=describe,
        tag_type=TAG_TYPE,
        actions=ACTIONS,
        probes=(
            ("lambda", "ListFunctions", {"MaxItems": 1}),
            ("logs", "DescribeLogGroups", {"limit": 1}),
            ("resourcegroupstaggingapi", "GetResources", {"ResourcesPerPage": 1}),
        ),
        dimensions=by_name("FunctionName"),
        metrics=(
            MetricSpec("AWS/Lambda", "Invocations", (SUM,)),
            MetricSpec("AWS/Lambda", "Errors", (SUM,)),
            MetricSpec("AWS/Lambda", "Throttles", (SUM,)),
            MetricSpec("AWS/Lambda", "Duration", (AVG, "p95", "p99", MAX)),
            MetricSpec("AWS/Lambda", "ConcurrentExecutions", (MAX,)),
            MetricSpec("AWS/Lambda", "IteratorAge", (MAX,)),
            MetricSpec("AWS/Lambda", "DeadLetterErrors", (SUM,)),
            MetricSpec("AWS/Lambda", "DestinationDeliveryFailures", (SUM,)),
            MetricSpec("AWS/Lambda", "AsyncEventsDropped", (SUM,)),
            MetricSpec("AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", (SUM,)),
        ),
        poll_seconds=60,
        derived_metrics=(
            "errors",
            "error_rate",
            "timeouts",
            "out_of_memory",
            "cold_starts",
            "duration",
            "memory_use",
            "cost",
            "retries",
        ),
        details=details,
        sections=(
            Section("invocations", "Invocations and errors", "rollups", ("invocations", "errors")),
            Section("duration", "Duration", "rollups", ("p95",)),
            Section("memory", "Memory", "rollups", ("memory",)),
            Section("cost", "Cost", "rollups", ("cost",)),
            Section(
                "concurrency",
                "Concurrency and throttles",
                "metrics",
                ("AWS/Lambda:ConcurrentExecutions:Maximum", "AWS/Lambda:Throttles:Sum"),
            ),
            Section("invocation-list", "Invocations", "invocations"),
            Section("downstream", "Downstream calls", "downstream"),
            Section("error-groups", "Error groups", "error_groups"),
            Section("configuration", "Configuration", "config"),
        ),
        related=related,
        polls=polls,
        links=links,
    )
)
