"""The JSON API, /api/v1/, authenticated by organisation API tokens.

Every endpoint uses the same selectors and filters as the pages, so the numbers match.
Lists are cursor-paginated (`next_cursor`, stable under new arrivals). Errors are JSON:
401 without a valid token, 403 for a change with a read-only token, 404 for an object of
another organisation, 400 for bad input (naming the field).

Configuration (projects, alert rules, channels, suppressions) is also written here, by
tokens with the `write` scope: POST to a collection creates, PUT replaces, PATCH changes
the fields it names, DELETE removes. Bodies are the items of `manage.py config export`,
with natural keys (names, ARNs) where they name other objects; channel secrets are
write-only (left out of answers; left out of a PUT or PATCH, the stored one stays).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

import kinds
from accounts.api_tokens import api_token_from_request
from accounts.models import ApiToken, AwsAccount
from accounts.selectors import get_scoped_or_404
from web import api_docs, params

from . import dashboard
from .collection.traces import Span
from .models import (
    INVOCATION_MEASURES,
    ErrorGroup,
    ErrorGroupStatus,
    Invocation,
    InvocationStatus,
    MetricPoint,
    Resource,
)
from .selectors import (
    ERROR_KINDS,
    SORTS,
    InvocationFilters,
    ResourceFilters,
    account_metric_points,
    error_groups_for,
    get_invocation_for_user,
    invocations_for,
    no_trace_reason,
    resources_for,
    trace_of,
    trace_spans,
)

PAGE = 100
View = Callable[..., JsonResponse]


def api_view(view: View) -> View:
    """A read endpoint: token auth only (so no CSRF cookie is involved), GET only, every
    answer JSON — a wrong method is a JSON 405, not Django's HTML CSRF page."""

    @wraps(view)
    @csrf_exempt
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse({"error": "This endpoint is read-only: use GET."}, status=405)
            response["Allow"] = "GET, HEAD"
            return response
        token = api_token_from_request(request)
        if token is None:
            response = JsonResponse({"error": "Send a valid API token: Authorization: Bearer dbt_…"}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="dashbird"'
            return response
        try:
            return view(request, token, *args, **kwargs)
        except Http404:
            return JsonResponse({"error": "Not found"}, status=404)
        except params.InvalidInput as exc:
            return JsonResponse({"error": exc.message}, status=400)

    return wrapper


def _cursor(request: HttpRequest) -> int | None:
    value = params.text(request.GET, "cursor", max_length=64)
    if not value:
        return None
    try:
        last_id = int(base64.urlsafe_b64decode(value.encode() + b"==").decode())
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise params.InvalidInput("Invalid cursor: pass next_cursor of the previous page.") from exc
    if not 0 < last_id <= params.MAX_ID:
        raise params.InvalidInput("Invalid cursor: pass next_cursor of the previous page.")
    return last_id


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def paginate(qs: QuerySet[Any], request: HttpRequest, serialise: Callable[[Any], dict[str, Any]]) -> JsonResponse:
    """Newest first by id; `cursor` continues after the last item of the previous page."""
    after = _cursor(request)
    if after is not None:
        qs = qs.filter(id__lt=after)
    items = list(qs.order_by("-id")[: PAGE + 1])
    more = len(items) > PAGE
    items = items[:PAGE]
    return JsonResponse({"data": [serialise(i) for i in items], "next_cursor": _encode(items[-1].id) if more else None})


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def account_json(a: AwsAccount) -> dict[str, Any]:
    return {
        "id": a.pk,
        "name": a.name,
        "aws_account_id": a.aws_account_id,
        "regions": a.regions,
        "status": a.status,
        "last_error": a.last_error or None,
        "problems": a.problems,
        "last_collected": a.last_collected,
    }


def resource_json(r: Resource) -> dict[str, Any]:
    return {
        "id": r.pk,
        "account_id": r.account_id,
        "region": r.region,
        "kind": r.kind,
        "name": r.name,
        "arn": r.arn,
        "config": r.config,
        "tags": r.tags,
        "first_seen": iso(r.first_seen),
        "last_seen": iso(r.last_seen),
        "gone_at": iso(r.gone_at),
    }


def invocation_json(i: Invocation) -> dict[str, Any]:
    fields = [
        "request_id",
        "attempt",
        "status",
        *INVOCATION_MEASURES,
        "log_stream",
        "complete",
        "cost_usd",
        "error_group_id",
    ]
    return {
        "id": i.pk,
        "resource_id": i.resource_id,
        **{f: getattr(i, f) for f in fields},
        "started_at": iso(i.started_at),
        "ended_at": iso(i.ended_at),
    }


def error_group_json(g: ErrorGroup) -> dict[str, Any]:
    return {
        "id": g.pk,
        "resource_id": g.resource_id,
        "kind": g.kind,
        "error_type": g.error_type,
        "message": g.message,
        "sample_message": g.sample_message,
        "count": g.count,
        "first_seen": iso(g.first_seen),
        "last_seen": iso(g.last_seen),
        "status": g.status,
        "regression": g.regression,
    }


@api_view
def accounts(request: HttpRequest, token: ApiToken) -> JsonResponse:
    return paginate(AwsAccount.objects.filter(organization=token.organization), request, account_json)


@api_view
def resources(request: HttpRequest, token: ApiToken) -> JsonResponse:
    return paginate(resources_for(token.organization, ResourceFilters.from_query(request.GET)), request, resource_json)


@api_view
def resource(request: HttpRequest, token: ApiToken, pk: int) -> JsonResponse:
    return JsonResponse(
        resource_json(get_scoped_or_404(Resource.objects.all(), organization=token.organization, pk=pk))
    )


@api_view
def invocations(request: HttpRequest, token: ApiToken) -> JsonResponse:
    resource_id = params.integer(request.GET, "resource")
    if resource_id is None:
        raise params.InvalidInput("resource=<id> is required (invocations are listed per function)")
    fn = get_scoped_or_404(Resource.objects.all(), organization=token.organization, pk=resource_id)
    period = dashboard.parse_period(request.GET, organization=token.organization)
    filters = InvocationFilters.from_query(request.GET)
    after = _cursor(request)
    items = invocations_for(
        fn, InvocationFilters(**{**filters.__dict__, "before": after}), period.start, limit=PAGE + 1
    )
    more = len(items) > PAGE
    items = [i for i in items[:PAGE] if i.started_at < period.end]
    return JsonResponse(
        {"data": [invocation_json(i) for i in items], "next_cursor": _encode(items[-1].pk) if more and items else None}
    )


def _epoch(seconds: float | None) -> str | None:
    """An X-Ray time (epoch seconds) as ISO 8601; None for one no calendar holds."""
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return None


def span_json(index: int, span: Span, root_start: float) -> dict[str, Any]:
    return {
        "index": index,
        "parent": span.parent,
        "name": span.name,
        "namespace": span.namespace or None,
        "origin": span.origin or None,
        "target": span.target if span.namespace else None,
        "operation": span.operation or None,
        "resource": span.resource or None,
        "start": _epoch(span.start),
        "end": _epoch(span.end),
        "offset_ms": round((span.start - root_start) * 1000, 3),
        "duration_ms": round(span.duration_ms, 3) if span.duration_ms is not None else None,
        "http_status": span.status,
        "error": span.error,
        "fault": span.fault,
        "throttle": span.throttle,
        "retries": span.retries,
    }


@api_view
def invocation_trace(request: HttpRequest, token: ApiToken, pk: int) -> JsonResponse:
    """The X-Ray segment tree of one invocation, as stored (docs/traces.md): its spans depth
    first, each naming its parent's index. Without one, a 404 whose `reason` says why, in
    the words of the execution page (tracing off, not sampled, not fetched yet…)."""
    invocation = get_invocation_for_user(None, token.organization, pk)
    trace = trace_of(invocation)
    tree = trace_spans(trace) if trace is not None and trace.found else []
    if trace is None or not tree:
        return JsonResponse(
            {"error": "This invocation has no trace.", "reason": no_trace_reason(invocation, trace)}, status=404
        )
    root = min(span.start for span in tree)
    return JsonResponse(
        {
            "invocation_id": invocation.pk,
            "resource_id": invocation.resource_id,
            "trace_id": trace.trace_id,
            "fetched_at": iso(trace.fetched_at),
            "fetched_because": trace.reason,
            "spans": [span_json(n, span, root) for n, span in enumerate(tree)],
        }
    )


@api_view
def error_groups(request: HttpRequest, token: ApiToken) -> JsonResponse:
    return paginate(error_groups_for(token.organization, request.GET), request, error_group_json)


@api_view
def metrics(request: HttpRequest, token: ApiToken) -> JsonResponse:
    resource_id = params.integer(request.GET, "resource")
    account_id = params.integer(request.GET, "account")
    metric = params.text(request.GET, "metric", max_length=200)
    stat = params.text(request.GET, "stat", max_length=32)
    if not ((resource_id is not None or account_id is not None) and metric and stat):
        raise params.InvalidInput(
            "resource=<id> (or account=<id>&region=<name> for the account's own series), "
            "metric=<Namespace:Name> and stat=<Sum|Average|Maximum|p95…> are required"
        )
    if resource_id is None:
        return _account_metric(request, token, account_id or 0, metric, stat)
    fn = get_scoped_or_404(Resource.objects.all(), organization=token.organization, pk=resource_id)
    period = dashboard.parse_period(request.GET, organization=token.organization)
    points = MetricPoint.objects.filter(
        account_id=fn.account_id, resource_id=fn.pk, metric=metric, stat=stat, ts__gte=period.start, ts__lt=period.end
    ).order_by("ts")
    return JsonResponse(
        {
            "resource_id": fn.pk,
            "metric": metric,
            "stat": stat,
            "period": {"start": iso(period.start), "end": iso(period.end)},
            "points": [{"t": iso(p.ts), "value": p.value} for p in points],
        }
    )


def _account_metric(request: HttpRequest, token: ApiToken, account_id: int, metric: str, stat: str) -> JsonResponse:
    """An account-level series (no resource dimension: Lambda's ConcurrentExecutions and
    UnreservedConcurrentExecutions…), which is one per region."""
    account = get_scoped_or_404(AwsAccount.objects.all(), organization=token.organization, pk=account_id)
    region = params.text(request.GET, "region", max_length=32)
    if not region:
        raise params.InvalidInput("region=<name> is required with account=<id>: account-level series are per region")
    period = dashboard.parse_period(request.GET, organization=token.organization)
    points = account_metric_points(
        account_id=account.pk, region=region, metric=metric, stat=stat, start=period.start, end=period.end
    )
    return JsonResponse(
        {
            "account_id": account.pk,
            "region": region,
            "metric": metric,
            "stat": stat,
            "period": {"start": iso(period.start), "end": iso(period.end)},
            "points": [{"t": iso(ts), "value": value} for ts, value in points],
        }
    )


@api_view
def overview(request: HttpRequest, token: ApiToken) -> JsonResponse:
    period = dashboard.parse_period(request.GET, organization=token.organization)
    scope = dashboard.Scope.from_query(token.organization, request.GET)
    return JsonResponse(
        {
            "period": {"key": period.key, "start": iso(period.start), "end": iso(period.end)},
            "filters": {"account": scope.account, "region": scope.region or None},
            "kpis": dashboard.kpis_with_change(scope, period),
        }
    )


PARAMS = {
    "cursor": {
        "name": "cursor",
        "in": "query",
        "schema": {"type": "string", "maxLength": 64},
        "description": "next_cursor of the previous page",
    },
    "period": {
        "name": "period",
        "in": "query",
        "schema": {"type": "string", "enum": ["1h", "24h", "7d", "30d", "custom"]},
        "description": "the last hour, 24 hours, 7 or 30 days up to now (default 24h), or custom",
    },
    "start": {
        "name": "start",
        "in": "query",
        "schema": {"type": "string", "format": "date-time"},
        "description": "with period=custom: within the organisation's rollup retention",
    },
    "end": {
        "name": "end",
        "in": "query",
        "schema": {"type": "string", "format": "date-time"},
        "description": "with period=custom",
    },
    "account": {"name": "account", "in": "query", "schema": {"type": "integer", "minimum": 0, "format": "int64"}},
    "region": {"name": "region", "in": "query", "schema": {"type": "string", "maxLength": 32}},
}


PATH_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def get_operation(summary: str, params: list[Any]) -> dict[str, Any]:
    parameters = [PARAMS[p] if isinstance(p, str) else p for p in params]
    return {
        "get": {
            "summary": summary,
            "security": [{"token": []}],
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": {"description": "Bad input"},
                "401": {"description": "Missing or invalid token"},
                "404": {"description": "Not found in your organisation"},
            },
        }
    }


def query_param(name: str, kind: str = "string", required: bool = False, **schema: Any) -> dict[str, Any]:
    if kind == "integer":
        schema = {"minimum": 0, "format": "int64", **schema}
    return {
        "name": name,
        "in": "query",
        "schema": {"type": kind, **schema},
        **({"required": True} if required else {}),
    }


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    base = reverse("api:accounts").rsplit("/accounts", 1)[0]
    more_paths, schemas = api_docs.registered()
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Dashbird clone API", "version": "1", "description": __doc__},
        "servers": [{"url": base}],
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
        "paths": {
            "/accounts": get_operation("AWS accounts and their connection health", ["cursor"]),
            "/resources": get_operation(
                "Discovered resources",
                [
                    "cursor",
                    "account",
                    "region",
                    query_param("kind", enum=kinds.ids()),
                    query_param("q", maxLength=200),
                    query_param("gone", enum=["0", "1"]),
                    query_param("project", "integer"),
                    query_param("sort", enum=sorted({*SORTS, *(f"-{key}" for key in SORTS)})),
                ],
            ),
            "/resources/{id}": {"get": {**get_operation("One resource", [])["get"], "parameters": [PATH_ID]}},
            "/invocations": get_operation(
                "A function's invocations, newest first",
                [
                    query_param("resource", "integer", True),
                    "cursor",
                    "period",
                    "start",
                    "end",
                    query_param("status", enum=list(InvocationStatus.values)),
                    query_param("cold", enum=["0", "1"]),
                    query_param("min_ms", "number", minimum=0, maximum=86_400_000),
                    query_param("max_ms", "number", minimum=0, maximum=86_400_000),
                ],
            ),
            "/invocations/{id}/trace": {
                "get": {
                    **get_operation("An invocation's X-Ray trace: its spans (segments and calls), depth first", [])[
                        "get"
                    ],
                    "parameters": [PATH_ID],
                    "responses": {
                        **get_operation("", [])["get"]["responses"],
                        "404": {
                            "description": "Not an invocation of your organisation, or it has no trace: `reason` says "
                            "why (tracing off, not sampled, not fetched yet, outside the sampling budget)"
                        },
                    },
                }
            },
            "/error-groups": get_operation(
                "Error groups",
                [
                    "cursor",
                    query_param("status", enum=[*ErrorGroupStatus.values, "all"]),
                    query_param("resource", "integer"),
                    query_param("kind", enum=list(ERROR_KINDS)),
                ],
            ),
            "/metrics": get_operation(
                "A metric series of one resource, or (account and region instead of resource) one of the "
                "account's own series in a region",
                [
                    query_param("resource", "integer", False),
                    "account",
                    "region",
                    query_param("metric", required=True, maxLength=200),
                    query_param("stat", required=True, maxLength=32),
                    "period",
                    "start",
                    "end",
                ],
            ),
            "/overview": get_operation(
                "Overview KPIs with the change against the previous period",
                ["period", "start", "end", "account", "region"],
            ),
            **more_paths,
        },
    }
    return JsonResponse(doc)


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /api/v1/: a JSON 404 naming the document that lists the paths."""
    return JsonResponse({"error": "No such endpoint; the paths are listed in /api/v1/openapi.json"}, status=404)
