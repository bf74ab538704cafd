"""Discovery against the sandbox AWS: a real moto server over HTTP."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

import kinds
from accounts.models import AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from aws import clients
from kinds import REQUIRED_ACTIONS
from kinds.describe import Context
from monitoring.collection.orchestrator import UnitBusy, collect_unit, regions_refresh, unit_lock
from monitoring.ingest.stack import subscription_filters
from monitoring.models import Resource, ResourceChange

pytestmark = pytest.mark.django_db

ALL_KINDS = {
    "lambda.function",
    "apigateway.restapi",
    "apigateway.httpapi",
    "sqs.queue",
    "sns.topic",
    "dynamodb.table",
    "kinesis.stream",
    "states.statemachine",
    "events.rule",
    "elb.application",
    "elb.network",
    "appsync.graphql_api",
    "firehose.delivery_stream",
    "ecs.service",
}


@pytest.fixture
def account(owner: Any, sandbox: Any) -> AwsAccount:
    account = aws_account_start(organization=owner.organization, name="Sandbox")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=["us-east-1"])
    assert aws_account_validate(account=account).ok
    return account


def by_name(account: AwsAccount, kind: str, name: str) -> Resource:
    return Resource.objects.get(account=account, kind=kind, name=name)


def test_discovery_finds_every_kind_with_its_configuration(account: AwsAccount, sandbox: Any) -> None:
    summary = collect_unit(account, "us-east-1")

    assert set(summary.resources) == ALL_KINDS
    assert summary.problems == []
    assert summary.resources["lambda.function"] == 12
    assert Resource.objects.filter(account=account, gone_at=None).count() == sum(summary.resources.values())

    first = by_name(account, "lambda.function", "orders-create")
    assert first.config["runtime"] == "python3.12"
    assert first.config["architecture"] == "arm64"
    assert first.config["reserved_concurrency"] == 50
    assert first.config["async"]["on_failure_destination"].endswith(":orders-dlq")
    assert first.config["async"]["maximum_retry_attempts"] == 1
    assert first.config["tracing"] == "Active"
    assert first.config["log_group"] == "/aws/lambda/orders-create"
    assert first.config["log_retention_days"] == 30
    assert first.tags == {"team": first.tags["team"], "env": "prod"}

    webhook = by_name(account, "lambda.function", "payments-webhook")
    assert webhook.config["function_url"]["auth_type"] == "NONE"
    assert webhook.config["env_var_names"] == ["LOG_LEVEL", "STRIPE_SECRET_KEY", "TABLE_NAME"]
    assert "sk_test_sandbox" not in json.dumps(webhook.config)  # names only, never values
    # lambda:GetPolicy: only what the public-policy check needs; no policy at all is "none".
    assert webhook.config["resource_policy"] == {
        "public_statements": ["FunctionURLAllowPublicAccess"],
        "principals": ["*"],
    }
    assert first.config["resource_policy"] is None
    last = by_name(account, "lambda.function", sandbox.state.functions[-1]["name"])
    assert last.config["log_retention_days"] is None  # never expires

    orders = by_name(account, "sqs.queue", "orders")
    assert orders.config["dead_letter_target"].endswith(":orders-dlq")
    assert orders.config["max_receive_count"] == 5
    assert by_name(account, "sqs.queue", "orders-dlq").config["is_dead_letter_queue"] is True
    assert by_name(account, "sqs.queue", "emails").config["dead_letter_target"] is None

    alerts = by_name(account, "sns.topic", "alerts")
    assert sorted(s["protocol"] for s in alerts.config["subscriptions"]) == ["http", "sqs"]
    users = by_name(account, "dynamodb.table", "users")
    assert users.config["billing_mode"] == "PAY_PER_REQUEST"
    assert users.config["point_in_time_recovery"] is True
    assert users.config["deletion_protection"] is True
    sessions = by_name(account, "dynamodb.table", "sessions")
    assert (sessions.config["billing_mode"], sessions.config["read_capacity"]) == ("PROVISIONED", 5)
    assert by_name(account, "kinesis.stream", "clickstream").config["open_shards"] == 2
    assert by_name(account, "states.statemachine", "order-workflow").config["logging_level"] == "OFF"
    rule = by_name(account, "events.rule", "order-events")
    assert rule.config["targets"][0]["dead_letter_target"].endswith(":orders-dlq")
    api = by_name(account, "apigateway.restapi", "shop-api")
    assert {s["name"]: s["tracing_enabled"] for s in api.config["stages"]} == {"prod": True, "dev": False}
    assert by_name(account, "apigateway.httpapi", "webhooks").config["protocol"] == "HTTP"
    # Lambda proxy integrations name the function's ARN: the API page links to it.
    routes = {i["route"]: i for i in api.config["integrations"]}
    assert routes["GET /"]["type"] == "MOCK"
    assert re.fullmatch(r"arn:aws:lambda:us-east-1:\d+:function:[\w-]+", routes["POST /orders"]["target"])
    http_targets = [i["target"] for i in by_name(account, "apigateway.httpapi", "webhooks").config["integrations"]]
    assert len(http_targets) == 1 and ":function:" in http_targets[0]

    shop = by_name(account, "elb.application", "shop-alb")
    assert shop.tags == {"team": "checkout"}
    assert shop.config["scheme"] == "internet-facing"
    assert shop.config["availability_zones"] == ["us-east-1a", "us-east-1b"]
    assert [(x["protocol"], x["port"], x["ssl_policy"]) for x in shop.config["listeners"]] == [
        ("HTTP", 80, None),
        ("HTTPS", 443, "ELBSecurityPolicy-2016-08"),
        ("HTTP", 8081, None),
    ]
    groups = {g["name"]: g for g in shop.config["target_groups"]}
    assert groups["shop-web"]["has_targets"] is True
    assert groups["shop-web"]["dimension"].startswith("targetgroup/shop-web/")
    assert groups["shop-api-fn"]["lambda_functions"] == [first.arn]
    assert shop.config["deletion_protection"] is False
    internal = by_name(account, "elb.application", "internal-alb")
    assert internal.config["listeners"][0]["redirect_protocol"] == "HTTPS"
    assert [g["has_targets"] for g in internal.config["target_groups"]] == [False]
    assert by_name(account, "elb.network", "tcp-nlb").config["availability_zones"] == ["us-east-1a"]
    graphql = by_name(account, "appsync.graphql_api", "shop-graphql")
    assert graphql.config["authentication_type"] == "API_KEY"
    assert graphql.config["logging"] is None and graphql.config["cache"] is None
    assert [k["description"] for k in graphql.config["api_keys"]] == ["web storefront"]
    keys = sandbox.admin("appsync").list_api_keys(apiId=graphql.config["api_id"])["apiKeys"]
    assert keys and all(k["id"] not in json.dumps(graphql.config) for k in keys)  # a key's id is the key
    admin = by_name(account, "appsync.graphql_api", "admin-graphql")
    assert admin.config["cache"]["behavior"] == "FULL_REQUEST_CACHING"
    assert admin.config["logging"] == {"field_log_level": "ERROR", "exclude_verbose_content": False}

    account.refresh_from_db()
    assert "discovery:us-east-1" in account.last_collected


def test_ecs_services_are_discovered_with_their_cluster_tasks_and_task_definition(
    account: AwsAccount, sandbox: Any
) -> None:
    summary = collect_unit(account, "us-east-1")

    assert summary.resources["ecs.service"] == 4
    web = by_name(account, "ecs.service", "web")
    assert web.arn.endswith(":service/shop/web")
    assert web.tags == {"team": "checkout"}
    assert {k: web.config[k] for k in ("cluster", "launch_type", "platform_version", "container_insights")} == {
        "cluster": "shop",
        "launch_type": "FARGATE",
        "platform_version": "LATEST",
        "container_insights": True,
    }
    assert (web.config["desired_count"], web.config["running_count"]) == (2, 2)
    assert web.config["auto_scaling"] == {"min": 2, "max": 6}
    assert (web.config["task_cpu"], web.config["task_memory_mb"], web.config["task_definition"]) == (
        1024,
        2048,
        "web:1",
    )
    assert web.config["containers"][0]["log_driver"] == "awslogs"
    assert web.config["assign_public_ip"] is False
    assert web.config["deployments"][0]["status"] == "PRIMARY"
    assert kinds.details(web.kind, web.config) == "shop · FARGATE · 2/2 tasks"
    assert kinds.get(web.kind).dimensions(web) == [
        {"Name": "ClusterName", "Value": "shop"},
        {"Name": "ServiceName", "Value": "web"},
    ]

    worker = by_name(account, "ecs.service", "worker")
    assert (worker.config["desired_count"], worker.config["running_count"]) == (3, 0)
    assert worker.config["container_insights"] is False
    assert worker.config["platform_version"] == "1.3.0"
    assert worker.config["assign_public_ip"] is True
    assert worker.config["auto_scaling"] is None
    assert worker.config["containers"][0]["log_driver"] is None
    reports = by_name(account, "ecs.service", "reports")
    assert (reports.config["launch_type"], reports.config["assign_public_ip"]) == ("EC2", None)


def test_firehose_delivery_streams_are_discovered_with_source_destination_and_settings(
    account: AwsAccount, sandbox: Any
) -> None:
    summary = collect_unit(account, "us-east-1")

    assert summary.resources["firehose.delivery_stream"] == 2
    archive = by_name(account, "firehose.delivery_stream", "clickstream-archive")
    assert archive.config["type"] == "KinesisStreamAsSource"
    assert archive.config["source_arn"].endswith(":stream/clickstream")
    assert archive.config["destination"] == "S3"
    assert archive.config["destination_target"] == "arn:aws:s3:::sandbox-clickstream-archive"
    assert (archive.config["buffer_size_mb"], archive.config["buffer_interval_s"]) == (64, 300)
    assert archive.config["error_logging"] is True
    assert archive.config["error_output_prefix"].startswith("errors/")
    assert archive.tags == {"team": "data"}
    assert kinds.details(archive.kind, archive.config) == "Kinesis stream → S3"

    logs = by_name(account, "firehose.delivery_stream", "app-logs")
    assert (logs.config["type"], logs.config["encryption"]) == ("DirectPut", "DISABLED")
    assert (logs.config["error_logging"], logs.config["error_output_prefix"]) == (False, None)
    assert logs.config["buffer_interval_s"] == 10


def test_the_actions_the_collectors_call_are_exactly_the_role_template_s(account: AwsAccount, sandbox: Any) -> None:
    from devtools.sandbox.catalog import FunctionSpec
    from devtools.sandbox.traffic import TrafficGenerator

    TrafficGenerator(
        [FunctionSpec(**f) for f in sandbox.state.functions[:2]],
        logs=sandbox.admin("logs"),
        cloudwatch=sandbox.admin("cloudwatch"),
        seed=1,
        per_minute=60,
        # Settled traced invocations, so that the traces step asks X-Ray for them.
    ).tick(10, now=datetime.now(tz=UTC) - timedelta(minutes=2))
    # "All regions": the region listing is part of collection too (the sandbox, like moto,
    # does not answer account:ListRegions, so ec2:DescribeRegions is asked after it).
    AwsAccount.objects.filter(pk=account.pk).update(all_regions=True)
    account.refresh_from_db()
    with clients.recording() as recorder:
        regions_refresh(account)
        collect_unit(account, "us-east-1")
        # The push set-up's check of existing subscription filters (the account page's button).
        groups = [f"/aws/lambda/{f['name']}" for f in sandbox.state.functions[:1]]
        subscription_filters(clients.customer_client(account, "us-east-1", "logs"), groups, region="us-east-1")
    assert recorder.actions == set(REQUIRED_ACTIONS)


def test_a_second_run_records_a_configuration_change(account: AwsAccount, sandbox: Any) -> None:
    collect_unit(account, "us-east-1")
    sandbox.admin("lambda").update_function_configuration(FunctionName="email-sender", MemorySize=2048)
    try:
        summary = collect_unit(account, "us-east-1")
    finally:
        sandbox.admin("lambda").update_function_configuration(FunctionName="email-sender", MemorySize=128)

    fn = by_name(account, "lambda.function", "email-sender")
    change = ResourceChange.objects.get(resource=fn)
    assert change.diff["memory_mb"][1] == 2048
    assert summary.changes["changed"] >= 1
    assert fn.config["memory_mb"] == 2048


def test_a_deleted_function_is_marked_gone_and_kept(account: AwsAccount, sandbox: Any) -> None:
    lam = sandbox.admin("lambda")
    lam.create_function(
        FunctionName="short-lived",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{sandbox.state.account_id}:role/sandbox-lambda-exec",
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    collect_unit(account, "us-east-1")
    lam.delete_function(FunctionName="short-lived")

    summary = collect_unit(account, "us-east-1")

    gone = by_name(account, "lambda.function", "short-lived")
    assert gone.gone_at is not None
    assert summary.changes["gone"] == 1
    assert by_name(account, "lambda.function", "orders-create").gone_at is None


def test_a_denied_listing_is_a_health_problem_and_marks_nothing_gone(owner: Any, sandbox: Any) -> None:
    role = sandbox.make_role(
        "NoSqs", external_id="ext-no-sqs", actions=[a for a in REQUIRED_ACTIONS if a != "sqs:ListQueues"]
    )
    account = aws_account_start(organization=owner.organization, name="Partial")
    AwsAccount.objects.filter(pk=account.pk).update(external_id="ext-no-sqs")
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=role, regions=["us-east-1"])
    AwsAccount.objects.filter(pk=account.pk).update(status=AwsAccount.Status.CONNECTED)

    summary = collect_unit(account, "us-east-1")

    assert "sqs.queue" not in summary.resources
    assert summary.resources["lambda.function"] == 12  # the rest carried on
    account.refresh_from_db()
    assert [(p["service"], p["operation"], p["kind"]) for p in account.problems] == [
        ("sqs", "ListQueues", "permission")
    ]
    assert "sqs:ListQueues" in account.problems[0]["message"]


def test_two_workers_never_collect_the_same_unit_at_once(account: AwsAccount) -> None:
    with unit_lock(account.pk, "us-east-1"), pytest.raises(UnitBusy):
        collect_unit(account, "us-east-1")


def test_collect_once_prints_resources_items_and_api_calls(account: AwsAccount) -> None:
    out = StringIO()
    call_command("collect", once=True, stdout=out)

    summary = json.loads(out.getvalue())
    unit = summary["units"][0]
    assert unit["region"] == "us-east-1"
    assert unit["resources_by_type"]["lambda.function"] == 12
    assert unit["items_ingested"]["created"] == sum(unit["resources_by_type"].values())
    assert unit["api_calls"]["lambda"]["ListFunctions"] == 1
    assert unit["api_calls"]["lambda"]["GetFunctionConcurrency"] == 12
    assert summary["api_calls_total"] == unit["api_calls_total"] > 0


def test_assumed_role_credentials_are_reused_across_clients(account: AwsAccount, sandbox: Any) -> None:
    from moto.sts.models import sts_backends

    assumed = sts_backends["123456789012"]["aws"].assumed_roles
    clients.forget_credentials(account)
    before = len(assumed)
    threads = [threading.Thread(target=clients.customer_client, args=(account, "us-east-1", s)) for s in ["sqs", "sns"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clients.customer_client(account, "us-east-1", "lambda")
    clients.customer_client(account, "us-east-1", "dynamodb")

    assert len(assumed) - before <= 2  # at most the two racing first callers; then the cache


def test_delivery_streams_are_listed_page_by_page_from_each_page_s_last_name(sandbox: Any) -> None:
    firehose = sandbox.admin("firehose")
    starts: list[str | None] = []
    firehose.meta.events.register(
        "before-parameter-build.firehose.ListDeliveryStreams",
        lambda params, **_: starts.append(params.get("ExclusiveStartDeliveryStreamName")),
    )
    ctx = Context(lambda service: firehose, "us-east-1")
    names = list(ctx.paginate("firehose", "ListDeliveryStreams", "DeliveryStreamNames", Limit=1))
    assert names == ["app-logs", "clickstream-archive"]
    assert starts == [None, "app-logs"]
