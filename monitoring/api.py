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
    invocations_for,
    resources_for,
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


def _page(qs: QuerySet[Any], request: HttpRequest, serialise: Callable[[Any], dict[str, Any]]) -> JsonResponse:
    """Newest first by id; `cursor` continues after the last item of the previous page."""
    after = _cursor(request)
    if after is not None:
        qs = qs.filter(id__lt=after)
    items = list(qs.order_by("-id")[: PAGE + 1])
    more = len(items) > PAGE
    items = items[:PAGE]
    return JsonResponse({"data": [serialise(i) for i in items], "next_cursor": _encode(items[-1].id) if more else None})


def _iso(value: Any) -> str | None:
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
        "first_seen": _iso(r.first_seen),
        "last_seen": _iso(r.last_seen),
        "gone_at": _iso(r.gone_at),
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
        "started_at": _iso(i.started_at),
        "ended_at": _iso(i.ended_at),
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
        "first_seen": _iso(g.first_seen),
        "last_seen": _iso(g.last_seen),
        "status": g.status,
        "regression": g.regression,
    }


@api_view
def accounts(request: HttpRequest, token: ApiToken) -> JsonResponse:
    return _page(AwsAccount.objects.filter(organization=token.organization), request, account_json)


@api_view
def resources(request: HttpRequest, token: ApiToken) -> JsonResponse:
    return _page(resources_for(token.organization, ResourceFilters.from_query(request.GET)), request, resource_json)


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


@api_view
def error_groups(request: HttpRequest, token: ApiToken) -> JsonResponse:
    return _page(error_groups_for(token.organization, request.GET), request, error_group_json)


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
            "period": {"start": _iso(period.start), "end": _iso(period.end)},
            "points": [{"t": _iso(p.ts), "value": p.value} for p in points],
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
            "period": {"start": _iso(period.start), "end": _iso(period.end)},
            "points": [{"t": _iso(ts), "value": value} for ts, value in points],
        }
    )


@api_view
def overview(request: HttpRequest, token: ApiToken) -> JsonResponse:
    period = dashboard.parse_period(request.GET, organization=token.organization)
    scope = dashboard.Scope.from_query(token.organization, request.GET)
    return JsonResponse(
        {
            "period": {"key": period.key, "start": _iso(period.start), "end": _iso(period.end)},
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


def _op(summary: str, params: list[Any]) -> dict[str, Any]:
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


def _q(name: str, kind: str = "string", required: bool = False, **schema: Any) -> dict[str, Any]:
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
            "/accounts": _op("AWS accounts and their connection health", ["cursor"]),
            "/resources": _op(
                "Discovered resources",
                [
                    "cursor",
                    "account",
                    "region",
                    _q("kind", enum=kinds.ids()),
                    _q("q", maxLength=200),
                    _q("gone", enum=["0", "1"]),
                    _q("project", "integer"),
                    _q("sort", enum=sorted({*SORTS, *(f"-{key}" for key in SORTS)})),
                ],
            ),
            "/resources/{id}": {
                "get": {
                    **_op("One resource", [])["get"],
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                }
            },
            "/invocations": _op(
                "A function's invocations, newest first",
                [
                    _q("resource", "integer", True),
                    "cursor",
                    "period",
                    "start",
                    "end",
                    _q("status", enum=list(InvocationStatus.values)),
                    _q("cold", enum=["0", "1"]),
                    _q("min_ms", "number", minimum=0, maximum=86_400_000),
                    _q("max_ms", "number", minimum=0, maximum=86_400_000),
                ],
            ),
            "/error-groups": _op(
                "Error groups",
                [
                    "cursor",
                    _q("status", enum=[*ErrorGroupStatus.values, "all"]),
                    _q("resource", "integer"),
                    _q("kind", enum=list(ERROR_KINDS)),
                ],
            ),
            "/metrics": _op(
                "A metric series of one resource, or (account and region instead of resource) one of the "
                "account's own series in a region",
                [
                    _q("resource", "integer", False),
                    "account",
                    "region",
                    _q("metric", required=True, maxLength=200),
                    _q("stat", required=True, maxLength=32),
                    "period",
                    "start",
                    "end",
                ],
            ),
            "/overview": _op(
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
