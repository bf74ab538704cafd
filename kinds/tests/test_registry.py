from __future__ import annotations

import dataclasses
import importlib
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import kinds
from aws.permissions import COMMON_ACTIONS
from kinds import (
    apigateway,
    appsync_api,
    ecs_service,
    eventbridge_rule,
    firehose_stream,
    lambda_function,
    load_balancer,
    sns_topic,
    sqs_queue,
)
from kinds.base import register

BASE_DIR = Path(__file__).resolve().parents[2]
MOST_FILES_PER_KIND = 3  # its kind module, its insights checks module, its sandbox seed


def _product_files() -> list[Path]:
    """Tracked files that are product code: tests, migrations and prose don't count."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out = []
    for name in listed:
        path = Path(name)
        if path.suffix not in {".py", ".html", ".txt", ".js", ".yml", ".yaml", ".toml"} and path.name != "Makefile":
            continue
        if "tests" in path.parts or "migrations" in path.parts or path.name == "conftest.py":
            continue
        if (BASE_DIR / path).is_file():
            out.append(path)
    return out


def kind_spellings() -> dict[str, list[str]]:
    """For every kind id, the product files that spell it."""
    texts = {str(p): (BASE_DIR / p).read_text(errors="replace") for p in _product_files()}
    found: dict[str, list[str]] = {}
    for kind_id in kinds.ids():
        pattern = re.compile(rf"(?<![\w.]){re.escape(kind_id)}(?![\w])")
        found[kind_id] = sorted(name for name, text in texts.items() if pattern.search(text))
    return found


def test_every_kind_id_is_spelled_in_at_most_three_product_files() -> None:
    found = kind_spellings()
    for kind_id, files in found.items():
        print(f"{kind_id:22} {len(files)}  {', '.join(files)}")
    assert found["lambda.function"], "the pattern is stale: not even the kind module matched"
    assert {k: f for k, f in found.items() if len(f) > MOST_FILES_PER_KIND} == {}


def test_the_registry_lists_every_kind_once_in_the_product_s_order() -> None:
    assert kinds.ids() == [
        "lambda.function",
        "apigateway.restapi",
        "apigateway.httpapi",
        "sqs.queue",
        "sns.topic",
        "dynamodb.table",
        "kinesis.stream",
        "firehose.delivery_stream",
        "states.statemachine",
        "events.rule",
        "elb.application",
        "elb.network",
        "appsync.graphql_api",
        "ecs.service",
    ]
    assert kinds.choices()[0] == (lambda_function.KIND, "Lambda function")
    assert all(k.label and k.metrics and k.actions and k.sections for k in kinds.all_kinds())


def test_a_duplicate_or_misshapen_kind_is_refused() -> None:
    existing = kinds.get(sqs_queue.KIND)
    with pytest.raises(ValueError, match="duplicate"):
        register(existing)
    misshapen = dataclasses.replace(existing, id="queue")
    with pytest.raises(ValueError, match=r"<service>\.<type>"):
        register(misshapen)
    assert "queue" not in kinds.REGISTRY


def test_the_role_s_actions_are_the_kinds_and_the_common_ones() -> None:
    from_kinds = {a for k in kinds.all_kinds() for a in k.actions}
    assert set(kinds.REQUIRED_ACTIONS) == from_kinds | set(COMMON_ACTIONS)
    assert kinds.REQUIRED_ACTIONS["apigateway:GET"]  # shared by REST and HTTP APIs, listed once
    assert list(kinds.REQUIRED_ACTIONS).count("apigateway:GET") == 1


def test_each_service_a_describer_lists_with_has_one_probe() -> None:
    probes = kinds.probes()
    assert len({(s, op) for s, op, _ in probes}) == len(probes)
    assert {s for s, _, _ in probes} == {
        "lambda",
        "logs",
        "apigateway",
        "sqs",
        "sns",
        "dynamodb",
        "kinesis",
        "firehose",
        "stepfunctions",
        "events",
        "elbv2",
        "appsync",
        "ecs",
        "application-autoscaling",
        "resourcegroupstaggingapi",  # the region's tags, for every kind with a tag_type
    }


def test_poll_defaults_come_from_the_kinds_and_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert kinds.poll_defaults() == {
        lambda_function.KIND: 60,
        apigateway.REST_API: 120,
        apigateway.HTTP_API: 120,
        sqs_queue.KIND: 120,
    }
    monkeypatch.delenv("METRICS_POLL_SECONDS", raising=False)
    from dashbird_clone import settings as module

    importlib.reload(module)
    assert {**kinds.poll_defaults(), "default": 300} == module.METRICS_POLL_SECONDS


@pytest.mark.parametrize(
    ("kind_id", "config", "details"),
    [
        (
            lambda_function.KIND,
            {"runtime": "python3.12", "architecture": "arm64", "memory_mb": 512, "timeout_s": 30},
            "python3.12 · arm64 · 512 MB · 30 s",
        ),
        (sqs_queue.KIND, {"dead_letter_target": "arn:aws:sqs:eu-west-1:1:dlq"}, "with DLQ"),
        (sqs_queue.KIND, {"is_dead_letter_queue": True}, "dead-letter queue"),
        (sqs_queue.KIND, {}, "no DLQ"),
        ("dynamodb.table", {"billing_mode": "PAY_PER_REQUEST"}, "PAY_PER_REQUEST"),
        ("states.statemachine", {"type": "EXPRESS"}, "EXPRESS"),
        ("kinesis.stream", {"mode": "ON_DEMAND"}, "ON_DEMAND"),
        (sns_topic.KIND, {"fifo": True}, ""),
        (
            load_balancer.ALB,
            {
                "scheme": "internet-facing",
                "availability_zones": ["eu-west-1a", "eu-west-1b"],
                "listeners": [{"protocol": "HTTPS"}, {"protocol": "HTTP"}, {"protocol": "HTTPS"}],
            },
            "internet-facing · 2 AZs · HTTP, HTTPS",
        ),
        (load_balancer.NLB, {"scheme": "internal", "availability_zones": ["eu-west-1a"]}, "internal · 1 AZ"),
        (appsync_api.KIND, {"authentication_type": "API_KEY"}, "API_KEY"),
        (
            appsync_api.KIND,
            {"authentication_type": "AWS_IAM", "additional_authentication_types": ["API_KEY"]},
            "AWS_IAM + API_KEY",
        ),
        (
            ecs_service.KIND,
            {"cluster": "shop", "launch_type": "FARGATE", "desired_count": 3, "running_count": 1},
            "shop · FARGATE · 1/3 tasks",
        ),
        (ecs_service.KIND, {"cluster": "batch", "capacity_providers": ["spot"]}, "batch"),
        (firehose_stream.KIND, {"type": "KinesisStreamAsSource", "destination": "S3"}, "Kinesis stream → S3"),
        (firehose_stream.KIND, {"type": "DirectPut", "destination": "HTTP endpoint"}, "Direct PUT → HTTP endpoint"),
        (firehose_stream.KIND, {"type": "DirectPut", "destination": None}, "Direct PUT"),
        ("no.such-kind", {"anything": 1}, ""),
    ],
)
def test_the_resources_list_summary_is_the_kind_s(kind_id: str, config: dict[str, Any], details: str) -> None:
    assert kinds.details(kind_id, config) == details


def _resource(pk: int, kind: str, arn: str, config: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, kind=kind, arn=arn, name=arn.rsplit(":", 1)[-1], config=config)


def test_related_resources_follow_sources_topics_rules_and_dead_letter_queues() -> None:
    fn = _resource(
        1,
        lambda_function.KIND,
        "arn:fn:worker",
        {"event_source_mappings": [{"event_source_arn": "arn:q:jobs"}]},
    )
    idle = _resource(2, lambda_function.KIND, "arn:fn:idle", {})
    queue = _resource(3, sqs_queue.KIND, "arn:q:jobs", {"dead_letter_target": "arn:q:jobs-dlq"})
    dlq = _resource(4, sqs_queue.KIND, "arn:q:jobs-dlq", {})
    topic = _resource(
        5,
        sns_topic.KIND,
        "arn:sns:news",
        {"subscriptions": [{"protocol": "lambda", "endpoint": "arn:fn:worker"}, {"protocol": "email"}]},
    )
    rule = _resource(6, eventbridge_rule.KIND, "arn:rule:nightly", {"targets": [{"arn": "arn:fn:worker"}]})
    resources = [fn, idle, queue, dlq, topic, rule]
    metrics = {4: {sqs_queue.VISIBLE: 7.0}}

    related: dict[int, dict[str, Any]] = {}
    for kind in kinds.all_kinds():
        if kind.related:
            related.update(kind.related(resources, metrics))

    assert related[1] == {"async_invoked": True, "sources": ["arn:q:jobs", "arn:sns:news", "arn:rule:nightly"]}
    assert related[2] == {"async_invoked": False, "sources": []}
    assert related[3] == {"consumers": [fn.config], "dead_letter_queue_messages": 7.0}
    assert related[4] == {"consumers": [], "dead_letter_queue_messages": None}
    assert 5 not in related and 6 not in related


def test_metric_dimensions_name_the_resource_as_cloudwatch_does() -> None:
    table = SimpleNamespace(name="orders", arn="arn:aws:dynamodb:eu-west-1:1:table/orders", config={})
    ddb = kinds.get("dynamodb.table")
    latency = next(s for s in ddb.metrics if s.extra_dimensions)
    assert ddb.dimensions_for(table, latency) == [
        {"Name": "TableName", "Value": "orders"},
        {"Name": "Operation", "Value": "GetItem"},
    ]
    http_api = SimpleNamespace(name="shop", arn="arn", config={"api_id": "a1b2"})
    assert kinds.get(apigateway.HTTP_API).dimensions(http_api) == [{"Name": "ApiId", "Value": "a1b2"}]
    machine = SimpleNamespace(name="flow", arn="arn:aws:states:eu-west-1:1:stateMachine:flow", config={})
    assert kinds.get("states.statemachine").dimensions(machine) == [{"Name": "StateMachineArn", "Value": machine.arn}]
    service = SimpleNamespace(name="web", arn="arn:aws:ecs:eu-west-1:1:service/shop/web", config={"cluster": "shop"})
    cpu = kinds.get(ecs_service.KIND).metrics[0]
    assert kinds.get(ecs_service.KIND).dimensions_for(service, cpu) == [
        {"Name": "ClusterName", "Value": "shop"},
        {"Name": "ServiceName", "Value": "web"},
    ]
    stream = SimpleNamespace(name="app-logs", arn="arn:aws:firehose:eu-west-1:1:deliverystream/app-logs", config={})
    assert kinds.get(firehose_stream.KIND).dimensions(stream) == [{"Name": "DeliveryStreamName", "Value": "app-logs"}]


def test_load_balancer_metrics_are_asked_per_target_group_where_cloudwatch_has_them_only_so() -> None:
    arn = "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/shop/50dc6c495c0c9188"
    alb = SimpleNamespace(
        name="shop",
        arn=arn,
        config={
            "target_groups": [{"dimension": "targetgroup/web/73e2d6bc24d8a067"}, {"dimension": "targetgroup/fn/1"}]
        },
    )
    kind = kinds.get(load_balancer.ALB)
    requests = next(s for s in kind.metrics if s.name == "RequestCount")
    unhealthy = next(s for s in kind.metrics if s.name == "UnHealthyHostCount")
    assert kind.dimension_sets(alb, requests) == [[{"Name": "LoadBalancer", "Value": "app/shop/50dc6c495c0c9188"}]]
    assert kind.dimension_sets(alb, unhealthy) == [
        [
            {"Name": "LoadBalancer", "Value": "app/shop/50dc6c495c0c9188"},
            {"Name": "TargetGroup", "Value": "targetgroup/web/73e2d6bc24d8a067"},
        ],
        [
            {"Name": "LoadBalancer", "Value": "app/shop/50dc6c495c0c9188"},
            {"Name": "TargetGroup", "Value": "targetgroup/fn/1"},
        ],
    ]
    assert kind.queries_for(alb) == kind.queries_per_resource + 2  # one more part of each of the two health metrics
    lonely = SimpleNamespace(name="shop", arn=arn, config={"target_groups": []})
    assert kind.dimension_sets(lonely, unhealthy) == []
    api = SimpleNamespace(name="shop", arn="arn:aws:appsync:eu-west-1:1:apis/abc", config={"api_id": "abc"})
    assert kinds.get(appsync_api.KIND).dimensions(api) == [{"Name": "GraphQLAPIId", "Value": "abc"}]
