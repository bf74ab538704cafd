"""Hostile input to every URL of the project, as the owner and as a viewer: nothing is a 5xx.

1. Every URL pattern comes from the resolver, so a new view is covered without editing
   this file. Path parameters get the tenant's own object ids, the other tenant's, and
   hostile values.
2. Which query parameters and form fields a view reads is learnt, not listed: a request
   records every key the view asks `request.GET` / `request.POST` for. Three rounds, each
   sending plausible values for the keys learnt so far, reveal keys read only on a branch
   (period=custom reveals start and end).
3. Hypothesis then sends hostile values for those keys — Unicode digits, NUL, huge and
   negative numbers, floats, overlong text, CR/LF, SQL- and HTML-looking text, dates out of
   range, repeated parameters — by GET and POST, with a forged X-Forwarded-For and
   User-Agent, behind one trusted proxy so that the forwarded address is parsed.
4. Each request runs in a savepoint that is rolled back and the client's cookies are
   restored after it, so one example (a sign-out, a removed member) cannot change the next.

The API is also driven by schemathesis from its own OpenAPI document. Each run prints how
many requests it made.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from dashbird_clone.health import heartbeat_record

from .world import World, build_world

pytestmark = pytest.mark.django_db

# --- what hostile means ---------------------------------------------------------------------------

NASTY = [
    "²", "³", "٣", "१२", "½", "Ⅻ", "\x00", "1\x00", "a\x00b", "%00", "-1", "0", "-0", "+5", " 7 ", "1_000",
    "99999999999999999999999999", "9" * 400, "-9223372036854775809", "9223372036854775808", "1e309", "-1e309",
    "nan", "NaN", "inf", "-inf", "1.5", "0x10", "1e3", "", " ", "\t", "true", "null", "[]", "{}",
    "\r\nBcc: victim@example.com", "a\nb", "\u2028", "<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>",
    "' OR 1=1 --", "1; DROP TABLE accounts_organization; --", "%", "_", "\\", "%' --",
    "0001-01-01", "0001-01-01T00:00+14:00", "9999-12-31", "9999-12-31T23:00", "9999-12-31T23:59:59-14:00",
    "2025-02-30", "2025-13-01", "1970-01-01T00:00:00Z", "garbage", "T", ":", "::", "2025-01-01:1", "x:99999999999999999999",
    "//evil.example/", "https://evil.example/", "javascript:alert(1)", "\\\\evil.example", "/\\evil.example",
    "../../etc/passwd", "😀" * 30, "x" * 5000, "=HYPERLINK(\"http://evil.example\")", "@SUM(1)",
    "custom", "open", "owner", "all", "1", "2", "60",
]  # fmt: skip

text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)  # no lone surrogates: not UTF-8
hostile_scalar = st.one_of(
    st.sampled_from(NASTY),
    text,
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(datetime.isoformat),
)

# Plausible values, so that one hostile value meets otherwise valid input and reaches
# deeper code (the custom-period branch, a valid form with one bad field). The other
# keys a view reads get "1" in discovery.
PLAUSIBLE = {
    "period": "custom", "start": "{yesterday}", "end": "{now}", "status": "open", "kind": "lambda.function",
    "account": "{account}", "resource": "{resource}", "function": "{resource}", "project": "{project}",
    "region": "us-east-1", "q": "error", "sort": "-name", "gone": "1", "cold": "1", "min_ms": "1", "max_ms": "900",
    "frequency": "daily", "hour": "8", "minutes": "60", "role": "member", "member": "{viewer_member}",
    "scope": "finding", "reason": "known", "days": "7", "name": "Team", "tag": "team=checkout",
    "name_pattern": "checkout-*", "confirm": "Prod", "email": "x@acme.test", "time_zone": "UTC",
    "raw_retention_days": "14", "rollup_retention_days": "400", "organization": "{organization}",
    "role_arn": "not-an-arn", "regions": "us-east-1", "condition": "threshold", "metric": "errors",
    "operator": ">", "threshold": "5", "window_minutes": "5", "evaluation_periods": "1", "breaching_periods": "1",
    "target": "all", "min_interval_minutes": "30", "since": "2025-01-01", "until": "2030-01-01", "actor": "owner",
    "action": "member", "recipients": "ops@acme.test", "channel_name": "ops", "severity": "info", "pillar": "security", "service": "lambda", "next": "/settings/",
}  # fmt: skip

# Path segments naming the object the following id is of; an unknown one gets every id.
ID_KINDS = {
    "members": ["viewer_member", "member_member", "admin_member", "member"], "invitations": ["invitation"],
    "tokens": ["token"], "aws": ["account"], "resources": ["resource"], "projects": ["project"],
    "errors": ["error_group"], "invocations": ["invocation"], "findings": ["finding"], "incidents": ["incident"],
    "rules": ["rule"], "channels": ["channel"], "alert-rules": ["rule"],
}  # fmt: skip
PATH_WORDS = [
    "resend", "revoke", "validate", "pause", "resume", "remove", "enabled", "muted",
    "email", "slack", "webhook", "pagerduty", "teams", "sns",
]  # fmt: skip
HOSTILE_PATH = [
    "0", "18446744073709551616", "9" * 30, "²", "%00", "%0d%0a", "%3Cscript%3E", "..", "x" * 300, "%27%20OR%201%3D1",
]  # fmt: skip


# --- every URL of the project ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    route: str  # "settings/members/{pk}/role/"
    params: tuple[tuple[str, str], ...]  # (name, converter) per path parameter
    module: str

    @property
    def third_party(self) -> bool:
        return self.module.split(".")[0] in {"django", "allauth"}

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")


def _route(pattern: Any) -> tuple[str, list[tuple[str, str]]]:
    raw = str(pattern.pattern)
    params: list[tuple[str, str]] = []

    def route_param(match: re.Match[str]) -> str:
        params.append((match.group(2), match.group(1) or "str"))
        return "{" + match.group(2) + "}"

    def regex_param(match: re.Match[str]) -> str:
        params.append((match.group(1), "regex"))
        return "{" + match.group(1) + "}"

    if isinstance(pattern.pattern, RegexPattern):
        raw = re.sub(r"\(\?P<(\w+)>[^)]*\)", regex_param, raw)
    else:
        raw = re.sub(r"<(?:(\w+):)?(\w+)>", route_param, raw)
    return raw.replace("^", "").replace("$", "").replace("\\", ""), params


def endpoints() -> list[Endpoint]:
    found: list[Endpoint] = []

    def walk(resolver: URLResolver, prefix: str, prefix_params: list[tuple[str, str]]) -> None:
        for item in resolver.url_patterns:
            route, params = _route(item)
            if isinstance(item, URLResolver):
                walk(item, prefix + route, prefix_params + params)
            elif isinstance(item, URLPattern):
                found.append(Endpoint(prefix + route, tuple(prefix_params + params), item.callback.__module__))

    walk(get_resolver(), "", [])
    return found


def _path_candidates(world: World, endpoint: Endpoint, name: str, converter: str) -> list[str]:
    segments = endpoint.route.split("{" + name + "}")[0].strip("/").split("/")
    if converter == "int":
        kinds = ID_KINDS.get(segments[-1] if segments else "", list(world.ids))
        own = [str(world.ids[k]) for k in kinds if k in world.ids]
        theirs = [str(world.foreign_ids[k]) for k in kinds if k in world.foreign_ids]
        return own + theirs + HOSTILE_PATH[:3]
    return [*world.tokens.values(), *PATH_WORDS, *HOSTILE_PATH]


# A value that works for discovery, by parameter name.
PATH_PLAUSIBLE = {"action": "remove", "field": "muted", "kind": "email", "token": "{digest}"}


def _real_path(world: World, endpoint: Endpoint) -> str:
    values = {
        name: PATH_PLAUSIBLE[name].format(**world.tokens)
        if name in PATH_PLAUSIBLE and conv != "regex"
        else "1a"
        if conv == "regex"
        else _path_candidates(world, endpoint, name, conv)[0]
        for name, conv in endpoint.params
    }
    return "/" + endpoint.route.format(**values)


# --- learning what each view reads ----------------------------------------------------------------


@contextmanager
def recording_reads() -> Iterator[set[str]]:
    """Record every key asked of any QueryDict (request.GET, request.POST) meanwhile."""
    keys: set[str] = set()
    originals = {name: getattr(QueryDict, name) for name in ("get", "__getitem__", "getlist", "__contains__")}

    def wrap(name: str) -> Callable[..., Any]:
        original = originals[name]

        def recorder(self: QueryDict, key: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(key, str):
                keys.add(key)
            return original(self, key, *args, **kwargs)

        return recorder

    for name in originals:
        setattr(QueryDict, name, wrap(name))
    try:
        yield keys
    finally:
        for name, original in originals.items():
            setattr(QueryDict, name, original)


IGNORED_KEYS = {"csrfmiddlewaretoken", "probe"}


def _plausible(world: World, key: str) -> str:
    now = timezone.now()
    values = {
        "yesterday": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:00"),
        "now": now.strftime("%Y-%m-%dT%H:00"),
        "organization": str(world.organization.pk),
        **{k: str(v) for k, v in world.ids.items()},
    }
    return PLAUSIBLE.get(key, "1").format(**values)


@contextmanager
def isolated(client: Client) -> Iterator[None]:
    """Whatever the request changes in the database or the session cookie is undone."""
    cookies = copy.deepcopy(client.cookies)
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)
        client.cookies = cookies


class Sender:
    """Sends and counts requests; an exception a view raised fails the test with its traceback."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.count = 0

    def send(
        self,
        client: Client,
        method: str,
        path: str,
        data: dict[str, Any],
        *,
        api: bool = False,
        headers: dict[str, str] | None = None,
        urlencoded: bool = False,
    ) -> int:
        headers = dict(headers or {})
        if api:
            headers["Authorization"] = f"Bearer {self.world.api_secret}"
        self.count += 1
        with isolated(client):
            if method == "get":
                response = client.get(path, data, headers=headers)
            elif urlencoded:
                body = urlencode(data, doseq=True)
                response = client.post(path, body, content_type="application/x-www-form-urlencoded", headers=headers)
            else:
                response = client.post(path, data, headers=headers)
        return response.status_code


@dataclass
class Reads:
    keys: set[str]
    method_allowed: bool


DISCOVERED: dict[tuple[str, str], Reads] = {}


def discover(world: World, sender: Sender, endpoint: Endpoint, method: str) -> Reads:
    """The keys the view reads, as the owner with plausible values (up to three rounds),
    and whether it answers this method at all."""
    cache_key = (endpoint.route, method)
    if cache_key in DISCOVERED:
        return DISCOVERED[cache_key]
    path = _real_path(world, endpoint)
    keys: set[str] = set()
    status = 0
    for _ in range(3):
        with recording_reads() as read:
            # Never an empty body: `Form(request.POST or None)` reads no field of an empty one.
            data = {k: _plausible(world, k) for k in keys} or {"probe": "1"}
            status = sender.send(world.clients["owner"], method, path, data, api=endpoint.is_api)
        new = read - IGNORED_KEYS - keys
        keys |= new
        if not new:
            break
    DISCOVERED[cache_key] = Reads(keys, status != 405)
    return DISCOVERED[cache_key]


# --- the property ---------------------------------------------------------------------------------------


def hostile_request(world: World, endpoint: Endpoint, keys: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    def value_for(key: str) -> st.SearchStrategy[Any]:
        one = st.one_of(st.just(_plausible(world, key)), hostile_scalar)
        return st.one_of(one, st.lists(one, min_size=2, max_size=3))

    path_values = {
        name: st.one_of(st.sampled_from(_path_candidates(world, endpoint, name, conv)), text.filter(lambda s: s != ""))
        for name, conv in endpoint.params
    }
    return st.fixed_dictionaries(
        {
            "path": st.fixed_dictionaries(path_values),
            "data": st.fixed_dictionaries({}, optional={key: value_for(key) for key in sorted(keys)}),
            "forwarded_for": st.one_of(st.none(), st.sampled_from(["203.0.113.7", "::1, 10.0.0.1"]), hostile_scalar),
            "user_agent": st.one_of(st.none(), hostile_scalar),
            "urlencoded": st.booleans(),
        }
    )


def _path(endpoint: Endpoint, values: dict[str, str]) -> str:
    # Candidates from the list are URL-ready; generated text is quoted like any client would.
    quoted = {k: v if re.fullmatch(r"[\w%.:-]*", v) else quote(v, safe="") for k, v in values.items()}
    return "/" + endpoint.route.format(**quoted)


def run_hostile(world: World, role: str, examples: int, third_party_examples: int) -> tuple[int, int, float]:
    """Hostile requests to every pattern × method; `examples` each for the project's own
    views (one where the view refuses the method), `third_party_examples` for allauth's and
    the admin's (0: skipped, since their answers do not depend on the organisation role)."""
    sender = Sender(world)
    client = world.clients[role]
    started = time.perf_counter()
    covered = 0
    for endpoint in endpoints():
        if (endpoint.is_api and role != "owner") or (endpoint.third_party and not third_party_examples):
            continue  # the API authenticates by token, not by the session's role
        methods = ["get"] if endpoint.is_api else ["get", "post"]
        for method in methods:
            reads = discover(world, sender, endpoint, method)
            strategy = hostile_request(world, endpoint, reads.keys)
            budget = third_party_examples if endpoint.third_party else examples

            @settings(
                max_examples=budget if reads.method_allowed else 1,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
            )
            @given(request=strategy)
            def no_server_error(request: dict[str, Any]) -> None:
                headers = {}
                if request["forwarded_for"] is not None:
                    headers["X-Forwarded-For"] = request["forwarded_for"]
                if request["user_agent"] is not None:
                    headers["User-Agent"] = request["user_agent"]
                path = _path(endpoint, request["path"])  # noqa: B023 (run before the loop moves on)
                status = sender.send(
                    client,
                    method,  # noqa: B023
                    path,
                    request["data"],
                    api=endpoint.is_api,  # noqa: B023
                    headers=headers,
                    urlencoded=request["urlencoded"],
                )
                assert status < 500, f"{method.upper()} {path} {request['data']!r}: {status}"  # noqa: B023

            no_server_error()
            covered += 1
    return sender.count, covered, time.perf_counter() - started


@pytest.fixture
def world(settings: Any) -> World:
    # Behind one proxy the forwarded address is parsed: forged ones must not break anything.
    settings.TRUSTED_PROXY_COUNT = 1
    heartbeat_record()  # /healthz answers 503 without a worker, truthfully: give it one
    return build_world()


def test_every_url_pattern_is_reached_with_real_ids(world: World) -> None:
    """The enumeration builds a URL that resolves to each pattern, so none is silently skipped."""
    found = endpoints()
    assert len(found) > 100
    for endpoint in found:
        path = _real_path(world, endpoint)
        assert resolve(path).func.__module__ == endpoint.module, path


def test_no_hostile_value_gets_a_server_error_as_owner(world: World, capsys: Any) -> None:
    requests, runs, seconds = run_hostile(world, "owner", examples=4, third_party_examples=1)
    with capsys.disabled():
        print(f"\nhostile requests as owner: {requests} over {runs} URL pattern × method runs in {seconds:.1f} s")
    assert runs == 2 * len(endpoints()) - sum(e.is_api for e in endpoints())


def test_no_hostile_value_gets_a_server_error_as_viewer(world: World, capsys: Any) -> None:
    requests, runs, seconds = run_hostile(world, "viewer", examples=2, third_party_examples=0)
    with capsys.disabled():
        print(f"\nhostile requests as viewer: {requests} over {runs} URL pattern × method runs in {seconds:.1f} s")
    assert runs == 2 * sum(not e.third_party and not e.is_api for e in endpoints())


# --- the API, from its own OpenAPI document -------------------------------------------------------


def test_the_api_gives_schemathesis_no_server_error(world: World, capsys: Any) -> None:
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    # The WSGI handler closes the database connection after each request, which would end
    # the test's transaction; Django's own test client disconnects that handler the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        sent, operations, paths, seconds = _run_schemathesis(world, get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    with capsys.disabled():
        print(f"\nschemathesis: {sent} requests over {operations} API operations in {seconds:.1f} s")
    # Every API pattern but the document itself and the JSON 404 for any other path is a path
    # of the document.
    documented = [e for e in endpoints() if e.is_api and not e.route.endswith(("openapi.json", "{rest}"))]
    assert paths == len(documented)
    assert sent > 6 * operations


def _run_schemathesis(world: World, app: Any) -> tuple[int, int, int, float]:
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.result import Ok
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    auth = {"Authorization": f"Bearer {world.api_secret}"}
    sent = 0
    started = time.perf_counter()
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            kind = ID_KINDS.get(operation.path.split("/")[1], ["resource"])[0]
            fixed = {"id": world.ids[kind]} if mode.is_positive and "{id}" in operation.path else None
            strategy = operation.as_strategy(generation_mode=mode, headers=auth, path_parameters=fixed)

            @settings(
                max_examples=5,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
            )
            @given(case=strategy)
            def no_server_error(case: Any) -> None:
                nonlocal sent
                sent += 1
                savepoint = transaction.savepoint()
                try:
                    response = case.call()
                finally:
                    transaction.savepoint_rollback(savepoint)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                no_server_error()
            except Unsatisfiable:
                assert not mode.is_positive  # a GET of a whole collection has nothing to break
    paths = len({operation.path for operation in operations})
    return sent, len(operations), paths, time.perf_counter() - started
