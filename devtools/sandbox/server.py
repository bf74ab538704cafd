"""The sandbox AWS: a moto server that behaves like AWS where onboarding can tell.

moto accepts any AssumeRole and lets assumed roles call anything. Real AWS does not, and
the onboarding wizard's messages depend on the difference, so a small WSGI layer in front
of moto enforces, for requests signed with assumed-role credentials only:

- sts:AssumeRole: the role must exist, trust the caller (its IAM user, or the account
  root), and the trust policy's `sts:ExternalId` condition must equal the ExternalId sent;
  otherwise AccessDenied, worded as AWS words it.
- every other call: the role's policies must allow the IAM action; otherwise AccessDenied
  in the protocol's own error shape (query XML, JSON, REST-JSON).

Requests signed with other keys (the seeding and traffic generator) pass untouched.
"""

from __future__ import annotations

import fnmatch
import io
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from aws.permissions import iam_action

from . import fast_reads, faults

SANDBOX_ACCOUNT_ID = "123456789012"
CREDENTIAL_RE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")

StartResponse = Callable[..., Any]


# --- moto's state ---------------------------------------------------------------------------


# Besides its own account, the sandbox serves others (moto switches account on an assumed
# role's ARN): the scale benchmark's hundred customer accounts. The sandbox's own identity
# (ADMIN_ACCESS_KEY_ID) may assume any role of any account, existing or not, to seed it:
# such sessions are named SEED_SESSION and pass unchecked like the identity itself.
ADMIN_ACCESS_KEY_ID = "AKIASANDBOXADMIN0000"
SEED_SESSION = "sandbox-seed"


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else SANDBOX_ACCOUNT_ID


def _iam(account_id: str = SANDBOX_ACCOUNT_ID) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["global"]


def _assumed_role(access_key_id: str) -> Any | None:
    from moto.sts.models import sts_backends

    for account_id in list(sts_backends.keys()):
        for role in sts_backends[account_id]["aws"].assumed_roles:
            if role.access_key_id == access_key_id:
                return role
    return None


def _assumed_role_arn(access_key_id: str) -> str | None:
    role = _assumed_role(access_key_id)
    return str(role.role_arn) if role is not None else None


def _user_arn(access_key_id: str) -> str | None:
    for user in _iam().users.values():
        if any(key.access_key_id == access_key_id for key in user.access_keys):
            return str(user.arn)
    return None


def _role(role_arn: str) -> Any | None:
    return next((r for r in _iam(_account_of(role_arn)).roles.values() if r.arn == role_arn), None)


def _role_documents(role: Any) -> list[dict[str, Any]]:
    docs = [json.loads(doc) if isinstance(doc, str) else doc for doc in role.policies.values()]
    for policy in role.managed_policies.values():
        version = next((v for v in policy.versions if v.is_default), None)
        if version is not None:
            doc = version.document
            docs.append(json.loads(doc) if isinstance(doc, str) else doc)
    return docs


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(doc: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return _as_list(doc.get("Statement", []))


def policy_allows(documents: list[dict[str, Any]], action: str) -> bool:
    """Allow-list evaluation with explicit Deny winning (resources are all `*` here)."""
    allowed = False
    for doc in documents:
        for st in _statements(doc):
            matches = any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _as_list(st.get("Action", [])))
            if matches and st.get("Effect") == "Deny":
                return False
            if matches and st.get("Effect") == "Allow":
                allowed = True
    return allowed


def trust_allows(role: Any, caller_arn: str, external_id: str | None) -> bool:
    doc = role.assume_role_policy_document
    doc = json.loads(unquote(doc)) if isinstance(doc, str) else doc
    for st in _statements(doc):
        if st.get("Effect") != "Allow" or "sts:AssumeRole" not in _as_list(st.get("Action", [])):
            continue
        principals = _as_list((st.get("Principal") or {}).get("AWS", []))
        caller_ok = any(
            p in {caller_arn, f"arn:aws:iam::{SANDBOX_ACCOUNT_ID}:root", SANDBOX_ACCOUNT_ID} for p in principals
        )
        condition = (st.get("Condition") or {}).get("StringEquals", {}).get("sts:ExternalId")
        if caller_ok and (condition is None or external_id in _as_list(condition)):
            return True
    return False


# --- knowing the operation of a request -----------------------------------------------------


Route = tuple[str, re.Pattern[str], frozenset[str], str, str]


@cache
def _rest_routes(signing_name: str) -> list[Route]:
    """(method, path regex, required query keys, operation, service) of the REST services signed as
    `signing_name`. Some operations differ only by a literal query key (`?List=ALL`)."""
    services = {"apigateway": ["apigateway", "apigatewayv2"], "lambda": ["lambda"]}.get(signing_name, [signing_name])
    session = botocore.session.get_session()
    routes = []
    for service in services:
        model = session.get_service_model(service)
        for name in model.operation_names:
            http = model.operation_model(name).http
            path, _, query = http["requestUri"].partition("?")
            keys = frozenset(part.split("=")[0] for part in query.split("&") if part)
            routes.append((http["method"], _uri_regex(path), keys, name, service))
    # Query-constrained first, then the most literal path (/functions/{n}/concurrency
    # before /functions/{n}).
    routes.sort(key=lambda r: (-len(r[2]), -len(re.sub(r"\[\^/\]\+|\.\+", "", r[1].pattern))))
    return routes


def _uri_regex(uri: str) -> re.Pattern[str]:
    out = "^"
    for part in re.split(r"(\{[^}]+\})", uri):
        if part.startswith("{"):
            out += ".+" if part.endswith("+}") else "[^/]+"
        else:
            out += re.escape(part)
    return re.compile(out + "/?$")


def _operation(environ: dict[str, Any], body: bytes, signing_name: str) -> tuple[str, str, str] | None:
    """(operation, protocol, service) of a request; protocol is json, query or rest."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1], "json", signing_name
    content_type = environ.get("CONTENT_TYPE", "")
    if "x-www-form-urlencoded" in content_type:
        action = parse_qs(body.decode(errors="replace")).get("Action")
        if action:
            return action[0], "query", signing_name
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    query = set(parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    for route_method, pattern, keys, name, service in _rest_routes(signing_name):
        if route_method == method and keys <= query and pattern.match(path):
            return name, "rest", service
    return None


# Reads moto does not implement, answered as an account without any would answer.
EMPTY_ANSWERS: dict[tuple[str, str], dict[str, Any]] = {
    ("lambda", "ListProvisionedConcurrencyConfigs"): {"ProvisionedConcurrencyConfigs": []},
    ("apigatewayv2", "GetAuthorizers"): {"Items": []},
    ("appsync", "ListDataSources"): {"dataSources": []},
}


# lambda:GetAccountSettings, which moto does not implement: the account's concurrency quota
# per region (AWS's default 1,000 unless a test lowers it) less the functions' reservations.
LAMBDA_CONCURRENCY_LIMITS: dict[str, int] = {}
DEFAULT_CONCURRENCY_LIMIT = 1000


def lambda_account_settings(region: str, account_id: str = SANDBOX_ACCOUNT_ID) -> dict[str, Any]:
    from moto.awslambda.models import lambda_backends

    limit = LAMBDA_CONCURRENCY_LIMITS.get(region, DEFAULT_CONCURRENCY_LIMIT)
    backend = lambda_backends[account_id][region]
    functions = list(backend.list_functions())
    reserved = sum(int(fn.reserved_concurrency or 0) for fn in functions)
    return {
        "AccountLimit": {
            "TotalCodeSize": 80530636800,
            "CodeSizeUnzipped": 262144000,
            "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": max(limit - reserved, 0),
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": len(functions)},
    }


def _json_answer(answer: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    body = json.dumps(answer).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _denied(protocol: str, message: str, start_response: StartResponse) -> list[bytes]:
    if protocol == "query":
        return _error(protocol, "AccessDenied", message, 403, start_response)
    return _error(protocol, "AccessDeniedException", message, 400 if protocol == "json" else 403, start_response)


def _error(protocol: str, code: str, message: str, status: int, start_response: StartResponse) -> list[bytes]:
    """An AWS error in the protocol's own shape."""
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>sandbox</RequestId></ErrorResponse>"
        ).encode()
        start_response(f"{status} {reason}", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]
    body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    start_response(
        f"{status} {reason}",
        [
            ("Content-Type", "application/x-amz-json-1.1" if protocol == "json" else "application/json"),
            ("x-amzn-ErrorType", code),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


def _control(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """The fault-injection control endpoint (see devtools.sandbox.faults)."""
    method = environ["REQUEST_METHOD"]
    if method == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        faults.inject(**json.loads(environ["wsgi.input"].read(length) or b"{}"))
    elif method == "DELETE":
        faults.clear()
    body = json.dumps(faults.active()).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class EnforcingApp:
    """WSGI middleware: enforce trust policies and role permissions, then hand to moto."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        if environ.get("PATH_INFO") == faults.CONTROL_PATH:
            return _control(environ, start_response)
        match = CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not match:
            return self.app(environ, start_response)
        access_key, region, signing_name = match.groups()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)

        if signing_name == "sts":
            params = parse_qs(body.decode(errors="replace"))
            if params.get("Action") == ["AssumeRole"]:
                denial = self._check_assume_role(access_key, params)
                if denial:
                    return _denied("query", denial, start_response)
            return self.app(environ, start_response)

        found = _operation(environ, body, signing_name)
        if found is None:
            return self.app(environ, start_response)
        operation, protocol, service = found
        assumed = _assumed_role(access_key)
        if assumed is not None and assumed.session_name == SEED_SESSION:
            return self.app(environ, start_response)  # the sandbox's own identity, seeding an account
        role_arn = str(assumed.role_arn) if assumed is not None else None
        action = iam_action(signing_name, operation, environ["REQUEST_METHOD"])
        role = _role(role_arn) if role_arn else None
        if role_arn is not None and (role is None or not policy_allows(_role_documents(role), action)):
            session = role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/dashbird-monitoring"
            return _denied(
                protocol,
                f"User: {session} is not authorized to perform: {action} because no identity-based policy "
                "allows the action",
                start_response,
            )
        fault = faults.take(operation, region, body) if role_arn is not None else None
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.code:
                return _error(protocol, fault.code, fault.message, fault.status, start_response)
        if (service, operation) == ("lambda", "GetAccountSettings"):
            account_id = _account_of(role_arn) if role_arn else SANDBOX_ACCOUNT_ID
            return _json_answer(lambda_account_settings(region, account_id), start_response)
        if (service, operation) in EMPTY_ANSWERS:
            return _json_answer(EMPTY_ANSWERS[(service, operation)], start_response)
        return self.app(environ, start_response)

    @staticmethod
    def _check_assume_role(access_key: str, params: dict[str, list[str]]) -> str | None:
        if access_key == ADMIN_ACCESS_KEY_ID and params.get("RoleSessionName") == [SEED_SESSION]:
            return None
        role_arn = params.get("RoleArn", [""])[0]
        external_id = params.get("ExternalId", [None])[0]
        caller = (
            _user_arn(access_key) or _assumed_role_arn(access_key) or f"arn:aws:iam::{SANDBOX_ACCOUNT_ID}:user/unknown"
        )
        role = _role(role_arn)
        if role is None or not trust_allows(role, caller, external_id):
            return f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        return None


def _teach_moto_function_updates() -> None:
    """moto leaves a function's LastModified at its creation when its configuration or code
    is updated; AWS moves it (and incremental discovery reads a function's details again
    when it moves)."""
    from moto.awslambda.models import LambdaFunction
    from moto.core.utils import iso_8601_datetime_with_nanoseconds

    for name in ("update_configuration", "update_function_code"):
        original = getattr(LambdaFunction, name)
        if getattr(original, "_sandbox", False):
            continue

        def updated(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            self.last_modified = iso_8601_datetime_with_nanoseconds()
            return _original(self, *args, **kwargs)

        updated._sandbox = True  # type: ignore[attr-defined]
        setattr(LambdaFunction, name, updated)


def _teach_moto_percentiles() -> None:
    """moto answers GetMetricData percentiles (p95, p99.9…) with a crash: compute them from
    the raw values put (Values/Counts), nearest-rank like CloudWatch; aggregated-only data
    (StatisticValues) has no distribution, so its maximum stands in."""
    from moto.cloudwatch.models import Statistics

    original = Statistics.get_statistics_for_type
    if getattr(original, "_sandbox", False):
        return

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        match = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
        if not match:
            return original(self, stat)
        values = sorted(self.metric_single_values_list)
        if not values:
            return original(self, "Maximum")
        rank = max(1, math.ceil(float(match.group(1)) / 100 * len(values)))
        return values[rank - 1]

    get_statistics_for_type._sandbox = True  # type: ignore[attr-defined]
    Statistics.get_statistics_for_type = get_statistics_for_type  # type: ignore[method-assign]


def _teach_moto_log_group_identifiers() -> None:
    """moto ignores DescribeLogGroups' `logGroupIdentifiers` (up to 50 names or ARNs) and
    answers its first page of every group; AWS answers exactly the named groups that exist."""
    from moto.logs.responses import LogsResponse

    original = LogsResponse.describe_log_groups
    if getattr(original, "_sandbox", False):
        return

    def describe_log_groups(self: Any) -> str:
        identifiers = self._get_param("logGroupIdentifiers")
        if not identifiers:
            return original(self)
        names = {str(i).split(":log-group:", 1)[-1].removesuffix(":*") for i in identifiers}
        groups = [g for name, g in sorted(self.logs_backend.groups.items()) if name in names]
        return json.dumps({"logGroups": [g.to_describe_dict() for g in groups]})

    describe_log_groups._sandbox = True  # type: ignore[attr-defined]
    LogsResponse.describe_log_groups = describe_log_groups  # type: ignore[method-assign]


class SandboxServer:
    """moto behind the enforcing layer, in a thread of this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5000) -> None:
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        _teach_moto_percentiles()
        _teach_moto_function_updates()
        _teach_moto_log_group_identifiers()
        fast_reads.install()
        app = EnforcingApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-aws", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
