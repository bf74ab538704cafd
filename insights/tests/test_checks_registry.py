"""The catalogue as a whole: size, coverage of the pillars, documentation, and robustness to missing data."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from insights.checks import (
    KINDS,
    PILLARS,
    REGISTRY,
    SEVERITIES,
    Check,
    CheckInput,
    InvocationStats,
    Result,
    checks_for,
    public_statements,
    register,
    run_checks,
)
from insights.tests.checks_support import make

ALL = sorted(REGISTRY.values(), key=lambda c: c.id)
SERVICE_PREFIX = {
    "lambda": "lambda-",
    "apigateway": "apigateway-",
    "sqs": "sqs-",
    "sns": "sns-",
    "dynamodb": "dynamodb-",
    "kinesis": "kinesis-",
    "stepfunctions": "stepfunctions-",
    "eventbridge": "eventbridge-",
    "elb": "elb-",
    "appsync": "appsync-",
    "ecs": "ecs-",
    "firehose": "firehose-",
    "logs": "logs-",
    "account": "account-",
}

# Every configuration key discovery stores per kind (the describers in kinds/), and the account's.
CONFIG_KEYS = {
    "lambda.function": [
        "runtime", "package_type", "architecture", "memory_mb", "timeout_s", "handler", "role", "code_sha256",
        "code_size", "version", "last_modified", "layers", "env_var_names", "vpc", "dead_letter_target", "tracing",
        "ephemeral_storage_mb", "snap_start", "log_format", "log_group", "log_group_exists", "log_retention_days",
        "reserved_concurrency", "provisioned_concurrency", "event_source_mappings", "function_url", "async",
        "resource_policy",
    ],
    "apigateway.restapi": [
        "api_id", "endpoint_types", "minimum_compression_size", "api_key_source", "has_resource_policy", "authorizers",
        "stages", "integrations",
    ],
    "apigateway.httpapi": [
        "api_id", "protocol", "endpoint", "disable_execute_api_endpoint", "authorizers", "stages", "integrations",
    ],
    "sqs.queue": [
        "url", "fifo", "visibility_timeout_s", "message_retention_s", "delay_s", "receive_wait_s", "max_message_size",
        "dead_letter_target", "max_receive_count", "is_dead_letter_queue", "kms_key", "sse_sqs", "policy",
    ],
    "sns.topic": ["fifo", "kms_key", "policy", "subscriptions"],
    "dynamodb.table": [
        "billing_mode", "read_capacity", "write_capacity", "global_secondary_indexes", "stream",
        "point_in_time_recovery", "deletion_protection", "sse", "table_class",
    ],
    "kinesis.stream": ["mode", "open_shards", "retention_hours", "encryption", "enhanced_monitoring"],
    "states.statemachine": [
        "type", "role", "status", "logging_level", "logging_include_execution_data", "tracing", "revision_id",
        "definition_sha",
    ],
    "events.rule": ["event_bus", "state", "schedule", "event_pattern", "targets"],
    "elb.application": [
        "type", "scheme", "dns_name", "vpc_id", "ip_address_type", "availability_zones", "security_groups",
        "listeners", "target_groups", "deletion_protection", "access_logs", "idle_timeout_s",
        "drop_invalid_header_fields", "cross_zone",
    ],
    "elb.network": [
        "type", "scheme", "dns_name", "vpc_id", "ip_address_type", "availability_zones", "security_groups",
        "listeners", "target_groups", "deletion_protection", "access_logs", "idle_timeout_s",
        "drop_invalid_header_fields", "cross_zone",
    ],
    "appsync.graphql_api": [
        "api_id", "api_type", "visibility", "authentication_type", "additional_authentication_types", "logging",
        "xray_enabled", "waf_web_acl", "api_keys", "data_sources", "cache",
    ],
    "ecs.service": [
        "cluster", "cluster_arn", "status", "launch_type", "capacity_providers", "platform_version",
        "scheduling_strategy", "desired_count", "running_count", "pending_count", "task_definition",
        "assign_public_ip", "load_balancers", "deployment_controller", "circuit_breaker", "minimum_healthy_percent",
        "maximum_percent", "deployments", "execute_command", "container_insights", "task_cpu", "task_memory_mb",
        "network_mode", "requires_compatibilities", "os_family", "containers", "auto_scaling",
    ],
    "firehose.delivery_stream": [
        "type", "status", "source_arn", "encryption", "encryption_key_type", "destination", "destination_target",
        "buffer_size_mb", "buffer_interval_s", "compression", "error_output_prefix", "backup_mode", "error_logging",
        "error_log_group", "processing_lambdas", "format_conversion", "dynamic_partitioning",
    ],
    "account": ["concurrency_limit", "unreserved_concurrency"],  # the engine, from AccountRegion
}  # fmt: skip


@pytest.fixture
def scratch_registry() -> Iterator[dict[str, Check]]:
    """Lets a test register throw-away checks and removes them afterwards."""
    before = dict(REGISTRY)
    yield REGISTRY
    REGISTRY.clear()
    REGISTRY.update(before)


def sample_check(**kw: Any) -> Check:
    fields: dict[str, Any] = {
        "id": "lambda-test-only",
        "title": "Test",
        "service": "lambda",
        "kind": "lambda.function",
        "pillar": "reliability",
        "severity": "info",
        "why": "Because.",
        "fix": "Fix it.",
        "docs_url": "https://docs.aws.amazon.com/lambda/latest/dg/welcome.html",
        "thresholds": {"limit": 1.0},
        "evaluate": lambda inp, th: Result(passed=True),
    }
    fields.update(kw)
    return Check(**fields)


# --- the catalogue --------------------------------------------------------------------------------


def test_at_least_sixty_checks() -> None:
    assert len(REGISTRY) >= 60


def test_every_pillar_and_kind_is_covered() -> None:
    assert set(Counter(c.pillar for c in ALL)) == set(PILLARS)
    assert set(Counter(c.kind for c in ALL)) == set(KINDS)


def test_ids_are_unique_stable_kebab_case_and_prefixed_by_service() -> None:
    ids = [c.id for c in ALL]
    assert len(ids) == len(set(ids))
    for c in ALL:
        assert REGISTRY[c.id] is c
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", c.id), c.id
        assert c.id.startswith(SERVICE_PREFIX[c.service]), c.id


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.id)
def test_check_is_documented(check: Check) -> None:
    assert check.title.strip() and len(check.title) <= 80
    assert check.pillar in PILLARS and check.severity in SEVERITIES and check.kind in KINDS
    assert len(check.why.strip()) >= 80 and check.why.rstrip().endswith((".", ")")), check.why
    assert len(check.fix.strip()) >= 60 and check.fix.rstrip().endswith((".", ")")), check.fix
    assert re.fullmatch(r"https://docs\.aws\.amazon\.com/\S+", check.docs_url), check.docs_url
    assert isinstance(check.thresholds, Mapping)
    for name, value in check.thresholds.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert isinstance(value, int | float) and not isinstance(value, bool), (name, value)


# --- missing data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.id)
def test_empty_input_is_not_applicable(check: Check) -> None:
    empty = CheckInput(kind=check.kind, name="x", arn="", region="eu-west-1", config={})
    assert check.evaluate(empty, dict(check.thresholds)) is None


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.id)
def test_none_values_and_empty_stats_do_not_raise(check: Check) -> None:
    config = dict.fromkeys(CONFIG_KEYS[check.kind])
    inputs = [
        make(check.kind, config),
        make(check.kind, config, stats=InvocationStats(), today="2025-06-01"),
        make(
            check.kind, config, related={"consumers": None, "async_invoked": None, "dead_letter_queue_messages": None}
        ),
        make(
            check.kind,
            {**config, "stages": [{}], "subscriptions": [{}], "targets": [{}], "event_source_mappings": [{}]},
        ),
    ]
    for inp in inputs:
        result = check.evaluate(inp, dict(check.thresholds))
        assert result is None or isinstance(result, Result)


def test_not_applicable_results_are_skipped_by_run_checks() -> None:
    empty = CheckInput(kind="sqs.queue", name="q", arn="", region="eu-west-1", config={})
    assert run_checks(empty) == []


# --- registry behaviour ---------------------------------------------------------------------------


def test_checks_for_returns_only_that_kind() -> None:
    for kind in KINDS:
        found = checks_for(kind)
        assert found and all(c.kind == kind for c in found)
    assert checks_for("ec2.instance") == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"pillar": "speed"}, "pillar"), ({"severity": "high"}, "severity"), ({"kind": "ec2.instance"}, "kind")],
)
def test_register_rejects_bad_values(scratch_registry: dict[str, Check], changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        register(sample_check(**changes))
    assert "lambda-test-only" not in scratch_registry


def test_register_rejects_duplicate_ids(scratch_registry: dict[str, Check]) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        register(sample_check(id="lambda-error-rate-high"))


def test_run_checks_merges_overrides_and_lets_bugs_raise(scratch_registry: dict[str, Check]) -> None:
    seen: list[Mapping[str, float]] = []

    def record(inp: CheckInput, th: Mapping[str, float]) -> Result:
        seen.append(th)
        return Result(passed=True)

    register(sample_check(kind="account", service="account", id="account-test-only", evaluate=record))
    run_checks(make("account", {}), {"account-test-only": {"limit": 5.0, "extra": 2.0}})
    assert seen == [{"limit": 5.0, "extra": 2.0}]
    assert REGISTRY["account-test-only"].thresholds == {"limit": 1.0}  # defaults untouched

    def broken(inp: CheckInput, th: Mapping[str, float]) -> Result:
        raise KeyError("bug")

    register(sample_check(kind="account", service="account", id="account-test-broken", evaluate=broken))
    with pytest.raises(KeyError):
        run_checks(make("account", {}))


# --- shared helpers and purity ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, []),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sqs:*"}}, ["#0"]),
        ({"Statement": [{"Sid": "a", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish"}]}, ["a"]),
        ({"Statement": [{"Sid": "a", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]}}]}, ["a"]),
        ({"Statement": [{"Sid": "d", "Effect": "Deny", "Principal": "*", "Action": "*"}]}, []),
        (
            {
                "Statement": [
                    {
                        "Sid": "c",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": "1"}},
                    }
                ]
            },
            [],
        ),
        ({"Statement": [{"Sid": "s", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}}]}, []),
        (
            {"Statement": [{"Sid": "acct", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]},
            [],
        ),
        ({"Statement": "garbage"}, []),
    ],
)
def test_public_statements(policy: Any, expected: list[str]) -> None:
    assert public_statements(policy) == expected


def test_catalogue_imports_no_django() -> None:
    code = "import sys, insights.checks; bad = [m for m in sys.modules if m.split('.')[0] == 'django']; print(bad); assert not bad"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60, cwd=root
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- every input a check reads is collected ------------------------------------------------------------


class _Recording(dict[str, Any]):
    """A mapping that remembers every key a check asked for, present or not."""

    def __init__(self, data: Mapping[str, Any], seen: set[str]) -> None:
        super().__init__(data)
        self.seen = seen

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.seen.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.seen.add(str(key))
        return super().__contains__(key)


def _cases() -> list[Any]:
    """Every check's failing and passing case, from the per-service test modules."""
    import importlib

    out: list[Any] = []
    for path in sorted(Path(__file__).parent.glob("test_checks_*.py")):
        if path.stem == "test_checks_registry":
            continue
        out.extend(getattr(importlib.import_module(f"insights.tests.{path.stem}"), "CASES", []))
    return out


def _collected_metrics() -> dict[str, set[str]]:
    """The metric keys collection stores per kind: each kind's catalogue, the account-level
    metrics, and what the engine derives from them (insights/engine.py `_metrics`)."""
    import kinds
    from monitoring.collection.metrics import ACCOUNT_KIND, ACCOUNT_METRICS

    out = {k.id: {f"{m.namespace}:{m.name}:{stat}" for m in k.metrics for stat in m.stats} for k in kinds.all_kinds()}
    out[ACCOUNT_KIND] = {f"{m.namespace}:{m.name}:{stat}" for m in ACCOUNT_METRICS for stat in m.stats}
    for key in list(out.get("dynamodb.table", ())):
        if key.startswith("AWS/DynamoDB:Consumed") and key.endswith(":Sum"):
            out["dynamodb.table"].add(f"derived:{key.split(':')[1]}:peak_per_second")
    return out


def test_every_check_reads_only_inputs_that_collection_produces() -> None:
    """A check reading a configuration key no describer stores, or a metric nobody polls,
    can never fire: it must not be listed."""
    metrics = _collected_metrics()
    cases = _cases()
    assert {c.check_id for c in cases} == set(REGISTRY), "every check needs a Case in its service's test module"
    problems = []
    for case in cases:
        check = REGISTRY[case.check_id]
        for inp in (case.failing, case.passing):
            config_seen: set[str] = set()
            metrics_seen: set[str] = set()
            recorded = CheckInput(
                **{
                    **inp.__dict__,
                    "config": _Recording(inp.config, config_seen),
                    "metrics": _Recording(inp.metrics, metrics_seen),
                }
            )
            check.evaluate(recorded, dict(check.thresholds))
            for key in sorted(config_seen - set(CONFIG_KEYS[check.kind])):
                problems.append(f"{check.id}: configuration key {key!r} is never stored for {check.kind}")
            for key in sorted(metrics_seen - metrics.get(check.kind, set())):
                problems.append(f"{check.id}: metric {key!r} is never collected for {check.kind}")
    assert not sorted(set(problems)), "\n".join(sorted(set(problems)))
