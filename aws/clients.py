"""The one way to get an AWS client for a customer account (docs/architecture.md §4).

1. The platform's own identity comes from the standard chain (instance role,
   AWS_PROFILE, env vars); endpoints from botocore's standard configuration
   (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), so the same code talks to AWS or to
   the sandbox.
2. For a customer account we call sts:AssumeRole with its ExternalId, and cache the
   temporary credentials in Redis (encrypted) until shortly before they expire: one
   AssumeRole per account per ~50 minutes, whichever worker asks.
3. Clients share one botocore session (loaders, models) — a boto3.Session per customer
   costs ~13 MB — and use `standard` retries for transient errors.
4. Every HTTP attempt first takes a token from the Redis bucket of its account × region
   × API, and every API call is counted by the active CallRecorder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

import botocore.session
import redis
from botocore.client import BaseClient
from botocore.config import Config
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from . import ratelimit, usage
from .errors import ACCESS_DENIED
from .permissions import iam_action
from .quotas import pace_for

RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="dashbird-clone",
)
# Refresh this long before expiry, so a long collection never runs on dead credentials.
CREDENTIALS_MARGIN = timedelta(minutes=10)
SESSION_SECONDS = 3600


class AccountRef(Protocol):
    pk: Any
    role_arn: str
    external_id: str


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str
    expires_at: datetime


# --- shared botocore session ------------------------------------------------------------

_lock = threading.Lock()


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def platform_client(service: str, region: str) -> BaseClient:
    """A client with the platform's own identity (used for STS)."""
    with _lock:  # botocore sessions are not thread-safe while creating clients
        return _session().create_client(service, region_name=region, config=RETRY_CONFIG)


# --- call recording ----------------------------------------------------------------------


class CallRecorder:
    """Counts API calls by (service, operation) and the IAM actions they needed."""

    def __init__(self, on_call: Callable[[], None] | None = None) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.actions: set[str] = set()
        self.outcomes: Counter[str] = Counter()  # "ok" or the error code, per finished call
        self.on_call = on_call

    def record(self, service: str, operation: str, action: str) -> None:
        self.calls[(service, operation)] += 1
        self.actions.add(action)
        if self.on_call is not None:
            self.on_call()

    @property
    def all_denied(self) -> bool:
        """Calls were answered, and every one of them with access denied."""
        return bool(self.outcomes) and set(self.outcomes) <= ACCESS_DENIED

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (service, operation), n in sorted(self.calls.items()):
            out.setdefault(service, {})[operation] = n
        return out

    @property
    def total(self) -> int:
        return sum(self.calls.values())


_recorders: ContextVar[tuple[CallRecorder, ...]] = ContextVar("aws_call_recorders", default=())


@contextmanager
def recording(on_call: Callable[[], None] | None = None) -> Iterator[CallRecorder]:
    """Count the API calls made inside; `on_call` runs before each (a sign of progress)."""
    recorder = CallRecorder(on_call)
    token = _recorders.set((*_recorders.get(), recorder))
    try:
        yield recorder
    finally:
        _recorders.reset(token)


def _on_before_call(model: Any, **kwargs: Any) -> None:
    service_model = model.service_model
    action = iam_action(service_model.signing_name, model.name, model.http.get("method", "POST"))
    for recorder in _recorders.get():
        recorder.record(service_model.service_name, model.name, action)


def _on_after_call(http_response: Any, parsed: Any, **kwargs: Any) -> None:
    status = getattr(http_response, "status_code", 0) or 0
    outcome = "ok" if status < 300 else str((parsed or {}).get("Error", {}).get("Code") or status)
    for recorder in _recorders.get():
        recorder.outcomes[outcome] += 1


def _pacer(bucket_prefix: str, signing_name: str) -> Any:
    # The IAM prefix comes from the client's signing name ("logs"), not from the event
    # name, which carries the service id ("cloudwatch-logs") and so missed PACES.
    prefix = iam_action(signing_name, "", "GET").split(":")[0]

    def on_before_send(request: Any, **kwargs: Any) -> None:
        # event_name is "before-send.<service id>.<Operation>"; one token per HTTP attempt,
        # because retries spend the customer's quota too.
        operation = kwargs["event_name"].split(".", 2)[2]
        bucket, pace = pace_for(prefix, operation)
        ratelimit.take(f"{bucket_prefix}:{bucket}", pace.scaled(settings.AWS_CALL_RATE_SCALE))

    return on_before_send


def _counter(account_id: int, region: str, signing_name: str) -> tuple[Any, Any]:
    """Handlers counting our calls (each HTTP attempt: retries are calls too) and the
    metrics GetMetricData is billed for, per account × region × day (aws/usage.py)."""
    service = iam_action(signing_name, "", "GET").split(":")[0]

    def on_before_send(request: Any, **kwargs: Any) -> None:
        operation = kwargs["event_name"].split(".", 2)[2]
        usage.record_call(account_id=account_id, region=region, service=service, operation=operation)

    def on_metric_data(params: dict[str, Any], **kwargs: Any) -> None:
        usage.record_metrics(account_id=account_id, region=region, metrics=usage.metrics_requested(params))

    return on_before_send, on_metric_data


# --- assumed-role credentials --------------------------------------------------------------


def _fernet() -> Fernet:
    key = hashlib.sha256(f"aws-credentials:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _cache_key(account: AccountRef) -> str:
    digest = hashlib.sha256(f"{account.role_arn}|{account.external_id}".encode()).hexdigest()[:16]
    return f"dashbird:aws:creds:{account.pk}:{digest}"


@cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def assume_role(*, role_arn: str, external_id: str, session_name: str = "dashbird-monitoring") -> Credentials:
    """Call sts:AssumeRole; raises botocore's ClientError unchanged for the caller to explain."""
    sts = platform_client("sts", settings.AWS_STS_REGION)
    response = sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName=session_name,
        ExternalId=external_id,
        DurationSeconds=SESSION_SECONDS,
    )
    c = response["Credentials"]
    return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], c["Expiration"])


def account_credentials(account: AccountRef) -> Credentials:
    """Cached assumed-role credentials for the account (one AssumeRole per ~50 minutes)."""
    key = _cache_key(account)
    store = _redis(settings.REDIS_URL)
    raw = store.get(key)
    if raw is not None:
        try:
            data = json.loads(_fernet().decrypt(raw))
            return Credentials(
                data["access_key"], data["secret_key"], data["token"], datetime.fromisoformat(data["expires_at"])
            )
        except (InvalidToken, KeyError, ValueError):
            store.delete(key)  # SECRET_KEY rotated or garbage: assume again
    creds = assume_role(role_arn=account.role_arn, external_id=account.external_id)
    ttl = int((creds.expires_at - datetime.now(tz=UTC) - CREDENTIALS_MARGIN).total_seconds())
    if ttl > 0:
        payload = json.dumps({**creds.__dict__, "expires_at": creds.expires_at.isoformat()}).encode()
        store.set(key, _fernet().encrypt(payload), ex=ttl)
    return creds


def forget_credentials(account: AccountRef) -> None:
    _redis(settings.REDIS_URL).delete(_cache_key(account))


# --- the customer client -------------------------------------------------------------------

# The clients a worker process keeps, least recently used dropped first. A client costs
# ~0.4 MB and ~25 ms to create (measured on 2 shared cores), one account × region's
# discovery uses ~18: 128 keep the last few units whole (a log poll uses 3) in ~50 MB, where
# 512 made a worker that collects a hundred accounts peak at 312 MB (benchmarks/scale.py).
_clients: OrderedDict[tuple[Any, ...], BaseClient] = OrderedDict()
_MAX_CLIENTS = 128


def customer_client(account: AccountRef, region: str, service: str) -> BaseClient:
    """A client for `service` in `region` of the customer's account, through its role."""
    creds = account_credentials(account)
    key = (account.pk, region, service, creds.access_key)
    client = _clients.get(key)
    if client is not None:
        _clients.move_to_end(key)
        return client
    client = session_client(creds, service, region)
    signing_name = client.meta.service_model.signing_name
    client.meta.events.register("before-send", _pacer(f"{account.pk}:{region}", signing_name))
    count_call, count_metrics = _counter(account.pk, region, signing_name)
    client.meta.events.register("before-send", count_call)
    client.meta.events.register("before-parameter-build.cloudwatch.GetMetricData", count_metrics)
    while len(_clients) >= _MAX_CLIENTS:
        _clients.popitem(last=False)
    _clients[key] = client
    return client


def session_client(creds: Credentials, service: str, region: str) -> BaseClient:
    """A counted client from explicit temporary credentials (validation uses it directly)."""
    with _lock:  # botocore sessions are not thread-safe while creating clients
        client = _session().create_client(
            service,
            region_name=region,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.token,
            config=RETRY_CONFIG,
        )
    client.meta.events.register("before-call", _on_before_call)
    client.meta.events.register("after-call", _on_after_call)
    return client
