"""What the sandbox account contains: functions across every runtime family, and the other
resource kinds, some well configured and some deliberately not (for the insights)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# (family, runtime, handler). Families decide how errors are printed.
RUNTIMES: list[tuple[str, str, str]] = [
    ("python", "python3.12", "app.handler"),
    ("nodejs", "nodejs20.x", "index.handler"),
    ("java", "java21", "com.example.Handler::handleRequest"),
    ("go", "provided.al2023", "bootstrap"),
    ("dotnet", "dotnet8", "Orders::Orders.Function::Handler"),
    ("ruby", "ruby3.3", "function.handler"),
    ("python", "python3.13", "app.handler"),
    ("nodejs", "nodejs22.x", "index.handler"),
    ("python", "python3.9", "app.handler"),  # deprecated runtime, on purpose
    ("nodejs", "nodejs16.x", "index.handler"),  # deprecated runtime, on purpose
    ("java", "java17", "com.example.Handler::handleRequest"),
    ("ruby", "ruby3.2", "function.handler"),
]

NAMES = [
    "orders-create",
    "payments-webhook",
    "email-sender",
    "image-resizer",
    "report-nightly",
    "user-signup",
    "inventory-sync",
    "search-indexer",
    "api-authorizer",
    "cart-service",
    "checkout-flow",
    "push-notifier",
    "audit-logger",
    "pdf-generator",
    "data-export",
    "stream-processor",
    "queue-consumer",
    "graphql-resolver",
    "thumbnailer",
    "geo-lookup",
    "fraud-check",
    "invoice-mailer",
    "session-cleaner",
    "metrics-rollup",
    "slack-notifier",
]


@dataclass
class FunctionSpec:
    name: str
    family: str
    runtime: str
    handler: str
    architecture: str
    memory_mb: int
    timeout_s: int
    log_format: str  # Text | JSON
    weight: float  # share of traffic
    error_rate: float
    timeout_rate: float
    oom_rate: float
    cold_start_rate: float
    typical_ms: float
    tracing: bool
    env_vars: dict[str, str] = field(default_factory=dict)
    function_url_auth: str | None = None
    dead_letter: bool = False
    reserved_concurrency: int | None = None
    sqs_source: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def functions(count: int, seed: int) -> list[FunctionSpec]:
    rng = random.Random(seed)
    specs = []
    for i in range(count):
        family, runtime, handler = RUNTIMES[i % len(RUNTIMES)]
        base = NAMES[i % len(NAMES)]
        name = base if i < len(NAMES) else f"{base}-{i // len(NAMES) + 1}"
        memory = (
            rng.choice([128, 256, 512, 1024, 1769]) if family not in {"java", "dotnet"} else rng.choice([512, 1024])
        )
        spec = FunctionSpec(
            name=name,
            family=family,
            runtime=runtime,
            handler=handler,
            architecture="arm64" if i % 3 == 0 else "x86_64",
            memory_mb=memory,
            timeout_s=rng.choice([3, 6, 10, 30, 60]),
            log_format="JSON" if i % 4 == 1 else "Text",
            weight=rng.uniform(0.3, 3.0),
            error_rate=rng.choice([0.0, 0.005, 0.02, 0.08]),
            timeout_rate=0.01 if i % 5 == 2 else 0.0,
            oom_rate=0.01 if i % 7 == 3 else 0.0,
            cold_start_rate=0.12 if family in {"java", "dotnet"} else 0.05,
            typical_ms=rng.uniform(8, 400) * (2 if family == "java" else 1),
            tracing=i % 2 == 0,
            env_vars={"LOG_LEVEL": "info", "TABLE_NAME": "users"},
            tags={"team": rng.choice(["checkout", "platform", "growth"]), "env": "prod"},
        )
        specs.append(spec)
    # Deliberate misconfigurations and features, each on a known function.
    if specs:
        specs[0].dead_letter = True
        specs[0].reserved_concurrency = 50
    if len(specs) > 1:
        specs[1].function_url_auth = "NONE"  # public function URL
        specs[1].env_vars["STRIPE_SECRET_KEY"] = "sk_test_sandbox"  # secret-looking name
    if len(specs) > 2:
        specs[2].memory_mb = 3008  # over-provisioned: uses < 10 %
        specs[2].timeout_s = 900  # far above its p99
        specs[2].timeout_rate = 0.0
    if len(specs) > 16:
        specs[16].sqs_source = "orders"
    return specs


@dataclass(frozen=True)
class ServiceSpec:
    """An ECS service of the sandbox, and the utilisation its traffic reports."""

    cluster: str
    name: str
    launch_type: str
    desired: int
    running: int  # below desired: tasks keep failing to start
    cpu_percent: float  # typical utilisation; nothing is reported while no task runs
    memory_percent: float
    platform_version: str | None = None
    public_ip: bool = False
    logging: bool = True
    scaling: tuple[int, int] | None = None  # (min, max) tasks


# Cluster -> Container Insights on.
ECS_CLUSTERS = {"shop": True, "batch": False}
ECS_SERVICES = [
    ServiceSpec("shop", "web", "FARGATE", desired=2, running=2, cpu_percent=35, memory_percent=55, scaling=(2, 6)),
    ServiceSpec("shop", "api", "FARGATE", desired=2, running=2, cpu_percent=88, memory_percent=70),  # running hot
    # Tasks fail to start; an old pinned platform, a public IP and no log driver, on purpose.
    ServiceSpec(
        "batch",
        "worker",
        "FARGATE",
        desired=3,
        running=0,
        cpu_percent=0,
        memory_percent=0,
        platform_version="1.3.0",
        public_ip=True,
        logging=False,
    ),
    ServiceSpec("batch", "reports", "EC2", desired=1, running=1, cpu_percent=3, memory_percent=7),  # oversized
]


@dataclass(frozen=True)
class DeliveryStreamSpec:
    """A Firehose delivery stream of the sandbox and how its deliveries go."""

    name: str
    records_per_minute: float
    record_bytes: int
    success: float  # share of S3 deliveries that succeed
    freshness_s: float  # age of the oldest record not yet delivered
    throttled_share: float = 0.0
    source_stream: str | None = None  # a Kinesis stream; else Direct PUT
    well_configured: bool = True  # encryption, error logging, error prefix, 64 MB / 300 s buffers


DELIVERY_STREAMS = [
    DeliveryStreamSpec("clickstream-archive", 600, 700, success=1.0, freshness_s=240, source_stream="clickstream"),
    # Deliveries failing and late, producers throttled, and set up without encryption or error logging.
    DeliveryStreamSpec(
        "app-logs", 900, 400, success=0.72, freshness_s=2400, throttled_share=0.04, well_configured=False
    ),
]
