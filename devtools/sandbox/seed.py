"""Create the sandbox account's resources, the platform identity and the read-only role."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3

from accounts.onboarding import ROLE_NAME
from kinds import REQUIRED_ACTIONS

from .catalog import DELIVERY_STREAMS, ECS_CLUSTERS, ECS_SERVICES, FunctionSpec, functions
from .server import ADMIN_ACCESS_KEY_ID, SANDBOX_ACCOUNT_ID, SEED_SESSION

# Keys of the sandbox's own (seeding, traffic) identity. moto accepts any key that is
# not an assumed-role key, and the enforcing layer lets such requests through.
ADMIN_KEY = {"aws_access_key_id": ADMIN_ACCESS_KEY_ID, "aws_secret_access_key": "sandbox-admin-secret"}


@dataclass
class SandboxState:
    endpoint: str
    region: str
    account_id: str
    role_arn: str
    external_id: str
    platform_access_key_id: str
    platform_secret_access_key: str
    platform_principal: str
    functions: list[dict[str, Any]]
    # How the traffic is generated (seed, rate, tick, rhythm, anomalies) and since when
    # (`live_since`): what the history (`history.py`) needs to write the past that leads to it.
    traffic: dict[str, Any] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """What the platform's processes need to reach the sandbox as their AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.platform_access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.platform_secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "PLATFORM_AWS_PRINCIPAL": self.platform_principal,
        }

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


# The account the sandbox's identity seeds: its own, or another one (`seeding_account`):
# the scale benchmark's hundred customer accounts, each in its own moto account.
_SEEDING: ContextVar[str | None] = ContextVar("sandbox_seeding_account", default=None)
_SEED_KEYS: dict[tuple[str, str], dict[str, str]] = {}


def seeding_account_id() -> str:
    return _SEEDING.get() or SANDBOX_ACCOUNT_ID


@contextmanager
def seeding_account(account_id: str) -> Iterator[None]:
    """Within it, `admin_client` (and so every helper here) acts in that AWS account."""
    token = _SEEDING.set(account_id)
    try:
        yield
    finally:
        _SEEDING.reset(token)


_THREAD = threading.local()


def _session() -> boto3.session.Session:
    """A boto3 session per thread: creating clients from one session in several threads at
    once is not safe (the scale benchmark seeds accounts in threads)."""
    if not hasattr(_THREAD, "session"):
        _THREAD.session = boto3.session.Session()
    session: boto3.session.Session = _THREAD.session
    return session


def admin_client(service: str, endpoint: str, region: str) -> Any:
    account_id = _SEEDING.get()
    if account_id is None or account_id == SANDBOX_ACCOUNT_ID:
        return _session().client(service, endpoint_url=endpoint, region_name=region, **ADMIN_KEY)
    keys = _SEED_KEYS.get((endpoint, account_id))
    if keys is None:
        # moto switches account on the assumed role's ARN (the role need not exist); the
        # sandbox lets its own identity do that to seed (devtools/sandbox/server.py).
        sts = _session().client("sts", endpoint_url=endpoint, region_name=region, **ADMIN_KEY)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{SEED_SESSION}", RoleSessionName=SEED_SESSION)[
            "Credentials"
        ]
        keys = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
        _SEED_KEYS[(endpoint, account_id)] = keys
    return _session().client(service, endpoint_url=endpoint, region_name=region, **keys)


def _zip(code: str, filename: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(filename, code)
    return buffer.getvalue()


def create_identities(endpoint: str, region: str, external_id: str, role_name: str = ROLE_NAME) -> dict[str, str]:
    """The platform's IAM user (its own identity) and the customer's read-only role."""
    iam = admin_client("iam", endpoint, region)
    user = iam.create_user(UserName="dashbird-platform")["User"]
    key = iam.create_access_key(UserName="dashbird-platform")["AccessKey"]
    iam.put_user_policy(
        UserName="dashbird-platform",
        PolicyName="assume-customer-roles",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
        ),
    )
    role_arn = create_customer_role(
        endpoint, region, role_name=role_name, principal=user["Arn"], external_id=external_id, actions=REQUIRED_ACTIONS
    )
    return {
        "role_arn": role_arn,
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
        "principal": user["Arn"],
    }


def create_customer_role(
    endpoint: str, region: str, *, role_name: str, principal: str, external_id: str, actions: Any
) -> str:
    """A role as the CloudFormation template makes it (also used by tests to make bad ones)."""
    iam = admin_client("iam", endpoint, region)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(
        RoleName=role_name,
        PolicyName="DashbirdReadOnly",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": sorted(actions), "Resource": "*"}]}
        ),
    )
    return str(role["Arn"])


HANDLER_CODE = {
    "python": ("app.py", "def handler(event, context):\n    return {'ok': True}\n"),
    "nodejs": ("index.mjs", "export const handler = async () => ({ ok: true });\n"),
    "java": ("Handler.java", "public class Handler {}\n"),
    "go": ("bootstrap", "#!/bin/sh\n"),
    "dotnet": ("Function.cs", "public class Function {}\n"),
    "ruby": ("function.rb", "def handler(event:, context:) = { ok: true }\n"),
}


def create_resources(endpoint: str, region: str, specs: list[FunctionSpec]) -> None:
    iam = admin_client("iam", endpoint, region)
    existing = [r["Arn"] for r in iam.list_roles()["Roles"] if r["RoleName"] == "sandbox-lambda-exec"]
    exec_role = (
        existing[0]
        if existing
        else iam.create_role(
            RoleName="sandbox-lambda-exec",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
    )  # IAM is global: a second region reuses it

    sqs = admin_client("sqs", endpoint, region)
    dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    orders = sqs.create_queue(
        QueueName="orders",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
            "VisibilityTimeout": "30",
            "SqsManagedSseEnabled": "true",
        },
        tags={"team": "checkout"},
    )["QueueUrl"]
    orders_arn = sqs.get_queue_attributes(QueueUrl=orders, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # No DLQ, and encryption turned off (new queues get SSE-SQS by default).
    sqs.create_queue(QueueName="emails", Attributes={"VisibilityTimeout": "10", "SqsManagedSseEnabled": "false"})
    sqs.create_queue(QueueName="events.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})

    sns = admin_client("sns", endpoint, region)
    alerts = sns.create_topic(Name="alerts", Tags=[{"Key": "team", "Value": "platform"}])["TopicArn"]
    sns.subscribe(TopicArn=alerts, Protocol="sqs", Endpoint=orders_arn)
    sns.subscribe(TopicArn=alerts, Protocol="http", Endpoint="http://hooks.example.com/alerts")
    sns.create_topic(Name="billing", Attributes={"KmsMasterKeyId": "alias/aws/sns"})

    lam = admin_client("lambda", endpoint, region)
    logs = admin_client("logs", endpoint, region)
    for spec in specs:
        filename, code = HANDLER_CODE[spec.family]
        params: dict[str, Any] = {
            "FunctionName": spec.name,
            "Runtime": spec.runtime,
            "Role": exec_role,
            "Handler": spec.handler,
            "Code": {"ZipFile": _zip(code, filename)},
            "MemorySize": spec.memory_mb,
            "Timeout": spec.timeout_s,
            "Architectures": [spec.architecture],
            "Environment": {"Variables": spec.env_vars},
            "TracingConfig": {"Mode": "Active" if spec.tracing else "PassThrough"},
            "LoggingConfig": {"LogFormat": spec.log_format},
            "Tags": spec.tags,
        }
        if spec.dead_letter:
            params["DeadLetterConfig"] = {"TargetArn": dlq_arn}
        lam.create_function(**params)
        group = f"/aws/lambda/{spec.name}"
        logs.create_log_group(logGroupName=group)
        if spec.name != specs[-1].name:  # the last one keeps "never expire": a finding
            logs.put_retention_policy(logGroupName=group, retentionInDays=30)
        if spec.dead_letter:
            # moto ignores DeadLetterConfig; an on-failure destination is the modern equivalent.
            lam.put_function_event_invoke_config(
                FunctionName=spec.name,
                MaximumRetryAttempts=1,
                DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
            )
        if spec.reserved_concurrency is not None:
            lam.put_function_concurrency(FunctionName=spec.name, ReservedConcurrentExecutions=spec.reserved_concurrency)
        if spec.function_url_auth:
            lam.create_function_url_config(FunctionName=spec.name, AuthType=spec.function_url_auth)
            if spec.function_url_auth == "NONE":
                # What the console adds for a public URL: anyone may invoke it (a finding).
                lam.add_permission(
                    FunctionName=spec.name,
                    StatementId="FunctionURLAllowPublicAccess",
                    Action="lambda:InvokeFunctionUrl",
                    Principal="*",
                    FunctionUrlAuthType="NONE",
                )
        if spec.sqs_source:
            lam.create_event_source_mapping(EventSourceArn=orders_arn, FunctionName=spec.name, BatchSize=10)

    ddb = admin_client("dynamodb", endpoint, region)
    ddb.create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=True,
        Tags=[{"Key": "team", "Value": "growth"}],
    )
    ddb.update_continuous_backups(
        TableName="users", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    ddb.create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "sid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sid", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )

    admin_client("kinesis", endpoint, region).create_stream(StreamName="clickstream", ShardCount=2)

    apigw = admin_client("apigateway", endpoint, region)
    api = apigw.create_rest_api(name="shop-api", tags={"team": "checkout"})
    root = next(r for r in apigw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/")
    apigw.put_method(restApiId=api["id"], resourceId=root["id"], httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=root["id"], httpMethod="GET", type="MOCK")
    fn_uri = "arn:aws:apigateway:{0}:lambda:path/2015-03-31/functions/arn:aws:lambda:{0}:{1}:function:{2}/invocations"
    if specs:  # a Lambda proxy integration: the API page links to its function and back
        orders = apigw.create_resource(restApiId=api["id"], parentId=root["id"], pathPart="orders")
        apigw.put_method(restApiId=api["id"], resourceId=orders["id"], httpMethod="POST", authorizationType="NONE")
        apigw.put_integration(
            restApiId=api["id"], resourceId=orders["id"], httpMethod="POST", type="AWS_PROXY",
            integrationHttpMethod="POST", uri=fn_uri.format(region, seeding_account_id(), specs[0].name),
        )  # fmt: skip
    deployment = apigw.create_deployment(restApiId=api["id"])
    apigw.create_stage(restApiId=api["id"], stageName="prod", deploymentId=deployment["id"], tracingEnabled=True)
    apigw.create_stage(restApiId=api["id"], stageName="dev", deploymentId=deployment["id"])
    http = admin_client("apigatewayv2", endpoint, region)
    http_api = http.create_api(Name="webhooks", ProtocolType="HTTP")
    http.create_stage(ApiId=http_api["ApiId"], StageName="$default", AutoDeploy=True)
    if specs:
        http.create_integration(
            ApiId=http_api["ApiId"], IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
            IntegrationUri=f"arn:aws:lambda:{region}:{seeding_account_id()}:function:{specs[-1].name}",
        )  # fmt: skip

    sfn = admin_client("stepfunctions", endpoint, region)
    sfn.create_state_machine(
        name="order-workflow",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=exec_role,
    )

    events = admin_client("events", endpoint, region)
    events.put_rule(Name="nightly-report", ScheduleExpression="cron(0 2 * * ? *)", State="ENABLED")
    report_fn = next((s.name for s in specs if s.name.startswith("report-nightly")), specs[0].name if specs else None)
    if report_fn:
        fn_arn = f"arn:aws:lambda:{region}:{seeding_account_id()}:function:{report_fn}"
        events.put_targets(Rule="nightly-report", Targets=[{"Id": "report", "Arn": fn_arn}])
    events.put_rule(
        Name="order-events",
        EventPattern=json.dumps({"source": ["shop.orders"]}),
        State="ENABLED",
    )
    events.put_targets(
        Rule="order-events", Targets=[{"Id": "queue", "Arn": orders_arn, "DeadLetterConfig": {"Arn": dlq_arn}}]
    )
    create_ecs_services(endpoint, region)
    create_delivery_streams(endpoint, region, exec_role)
    api_fn = specs[0].name if specs else None
    create_load_balancers(endpoint, region, api_fn)
    create_graphql_apis(endpoint, region)


def create_ecs_services(endpoint: str, region: str) -> None:
    """The catalogue's ECS clusters and services. moto starts no task: a service's running
    count is set by updating its desired count, which a service below its target skips."""
    ec2 = admin_client("ec2", endpoint, region)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    ecs = admin_client("ecs", endpoint, region)
    for cluster, insights in ECS_CLUSTERS.items():
        ecs.create_cluster(
            clusterName=cluster,
            settings=[{"name": "containerInsights", "value": "enabled" if insights else "disabled"}],
        )
    scaling = admin_client("application-autoscaling", endpoint, region)
    for spec in ECS_SERVICES:
        container: dict[str, Any] = {
            "name": spec.name,
            "image": f"public.ecr.aws/sandbox/{spec.name}:1.4",
            "essential": True,
        }
        if spec.logging:
            container["logConfiguration"] = {
                "logDriver": "awslogs",
                "options": {"awslogs-group": f"/ecs/{spec.name}", "awslogs-region": region},
            }
        fargate = spec.launch_type == "FARGATE"
        ecs.register_task_definition(
            family=spec.name,
            requiresCompatibilities=[spec.launch_type],
            networkMode="awsvpc" if fargate else "bridge",
            cpu="1024" if fargate else "2048",
            memory="2048" if fargate else "4096",
            containerDefinitions=[container],
        )
        params: dict[str, Any] = {
            "cluster": spec.cluster,
            "serviceName": spec.name,
            "taskDefinition": spec.name,
            "desiredCount": spec.desired,
            "launchType": spec.launch_type,
            "tags": [{"key": "team", "value": "checkout" if spec.cluster == "shop" else "data"}],
        }
        if fargate:
            params["platformVersion"] = spec.platform_version or "LATEST"
            params["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": [subnet],
                    "securityGroups": [group],
                    "assignPublicIp": "ENABLED" if spec.public_ip else "DISABLED",
                }
            }
        ecs.create_service(**params)
        if spec.running == spec.desired:
            ecs.update_service(cluster=spec.cluster, service=spec.name, desiredCount=spec.desired)
        if spec.scaling:
            scaling.register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=f"service/{spec.cluster}/{spec.name}",
                ScalableDimension="ecs:service:DesiredCount",
                MinCapacity=spec.scaling[0],
                MaxCapacity=spec.scaling[1],
            )


def create_delivery_streams(endpoint: str, region: str, role: str) -> None:
    firehose = admin_client("firehose", endpoint, region)
    for spec in DELIVERY_STREAMS:
        destination: dict[str, Any] = {"RoleARN": role, "BucketARN": f"arn:aws:s3:::sandbox-{spec.name}"}
        params: dict[str, Any] = {"DeliveryStreamName": spec.name, "Tags": [{"Key": "team", "Value": "data"}]}
        if spec.well_configured:
            destination |= {
                "Prefix": "data/",
                "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
                "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 300},
                "CompressionFormat": "GZIP",
                "CloudWatchLoggingOptions": {
                    "Enabled": True,
                    "LogGroupName": f"/aws/kinesisfirehose/{spec.name}",
                    "LogStreamName": "DestinationDelivery",
                },
            }
        else:  # small buffers: many small objects
            destination["BufferingHints"] = {"SizeInMBs": 1, "IntervalInSeconds": 10}
        if spec.source_stream:
            params["DeliveryStreamType"] = "KinesisStreamAsSource"
            params["KinesisStreamSourceConfiguration"] = {
                "KinesisStreamARN": f"arn:aws:kinesis:{region}:{seeding_account_id()}:stream/{spec.source_stream}",
                "RoleARN": role,
            }
        else:
            params["DeliveryStreamType"] = "DirectPut"
            if spec.well_configured:
                params["DeliveryStreamEncryptionConfigurationInput"] = {"KeyType": "AWS_OWNED_CMK"}
        firehose.create_delivery_stream(ExtendedS3DestinationConfiguration=destination, **params)


def create_load_balancers(endpoint: str, region: str, lambda_target: str | None) -> None:
    """An internet-facing ALB with the usual mistakes (HTTP not redirected, an old TLS policy,
    a Lambda target group health-checked), a tidy internal ALB nobody calls, and a
    single-AZ NLB. Their traffic (devtools.sandbox.service_traffic) makes shop-alb and
    tcp-nlb report unhealthy hosts."""
    ec2 = admin_client("ec2", endpoint, region)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[:2]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for i, zone in enumerate(zones, start=1)
    ]
    certificate = admin_client("acm", endpoint, region).request_certificate(DomainName="shop.example.com")[
        "CertificateArn"
    ]
    elb = admin_client("elbv2", endpoint, region)

    shop = elb.create_load_balancer(
        Name="shop-alb",
        Subnets=subnets,
        Type="application",
        Scheme="internet-facing",
        Tags=[{"Key": "team", "Value": "checkout"}],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=shop,
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "false"},
            {"Key": "idle_timeout.timeout_seconds", "Value": "60"},
        ],
    )
    web = elb.create_target_group(Name="shop-web", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=web, Targets=[{"Id": f"10.20.{i}.10", "Port": 8080} for i in (1, 2)])
    elb.create_listener(
        LoadBalancerArn=shop, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": web}]
    )
    elb.create_listener(
        LoadBalancerArn=shop,
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-2016-08",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": web}],
    )
    if lambda_target:
        functions = elb.create_target_group(
            Name="shop-api-fn", TargetType="lambda", HealthCheckEnabled=True, HealthCheckIntervalSeconds=35
        )["TargetGroups"][0]["TargetGroupArn"]
        fn_arn = f"arn:aws:lambda:{region}:{seeding_account_id()}:function:{lambda_target}"
        elb.register_targets(TargetGroupArn=functions, Targets=[{"Id": fn_arn}])
        elb.create_listener(
            LoadBalancerArn=shop,
            Protocol="HTTP",
            Port=8081,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": functions}],
        )

    internal = elb.create_load_balancer(Name="internal-alb", Subnets=subnets, Type="application", Scheme="internal")[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=internal,
        Attributes=[
            {"Key": "deletion_protection.enabled", "Value": "true"},
            {"Key": "access_logs.s3.enabled", "Value": "true"},
        ],
    )
    spare = elb.create_target_group(Name="internal-spare", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=internal,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[
            {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
        ],
    )
    elb.create_listener(
        LoadBalancerArn=internal,
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": spare}],
    )

    nlb = elb.create_load_balancer(Name="tcp-nlb", Subnets=subnets[:1], Type="network", Scheme="internal")[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    proxy = elb.create_target_group(Name="db-proxy", Protocol="TCP", Port=5432, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=proxy, Targets=[{"Id": "10.20.1.20", "Port": 5432}])
    elb.create_listener(
        LoadBalancerArn=nlb, Protocol="TCP", Port=5432, DefaultActions=[{"Type": "forward", "TargetGroupArn": proxy}]
    )


def create_graphql_apis(endpoint: str, region: str) -> None:
    """A public API on API keys alone, one expiring within days, without logs, tracing or a
    cache (its traffic: busy, slow, some 5XX); and an IAM-authorised API done right."""
    appsync = admin_client("appsync", endpoint, region)
    shop = appsync.create_graphql_api(name="shop-graphql", authenticationType="API_KEY", tags={"team": "checkout"})[
        "graphqlApi"
    ]["apiId"]
    appsync.create_api_key(apiId=shop, description="web storefront", expires=int(time.time()) + 5 * 86400)
    admin = appsync.create_graphql_api(
        name="admin-graphql",
        authenticationType="AWS_IAM",
        additionalAuthenticationProviders=[{"authenticationType": "AMAZON_COGNITO_USER_POOLS"}],
        logConfig={
            "fieldLogLevel": "ERROR",
            "cloudWatchLogsRoleArn": f"arn:aws:iam::{seeding_account_id()}:role/appsync-logs",
        },
        xrayEnabled=True,
    )["graphqlApi"]["apiId"]
    appsync.create_api_cache(apiId=admin, ttl=300, apiCachingBehavior="FULL_REQUEST_CACHING", type="SMALL")


def seed(*, endpoint: str, region: str, count: int, seed_value: int, external_id: str) -> SandboxState:
    specs = functions(count, seed_value)
    identity = create_identities(endpoint, region, external_id)
    create_resources(endpoint, region, specs)
    return SandboxState(
        endpoint=endpoint,
        region=region,
        account_id=SANDBOX_ACCOUNT_ID,
        role_arn=identity["role_arn"],
        external_id=external_id,
        platform_access_key_id=identity["access_key_id"],
        platform_secret_access_key=identity["secret_access_key"],
        platform_principal=identity["principal"],
        functions=[asdict(s) for s in specs],
    )
