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
