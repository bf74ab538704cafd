"""The read-only JSON API, /api/v1/, authenticated by organisation API tokens.

Every endpoint uses the same selectors and filters as the pages, so the numbers match.
Lists are cursor-paginated (`next_cursor`, stable under new arrivals). Errors are JSON:
401 without a valid token, 404 for an object of another organisation, 400 for bad input.
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
from django.views.decorators.http import require_GET

from accounts.admin_services import api_token_authenticate
from accounts.models import ApiToken, AwsAccount
from accounts.selectors import get_scoped_or_404

from . import dashboard
from .models import ErrorGroup, Invocation, MetricPoint, Resource
from .selectors import InvocationFilters, ResourceFilters, error_groups_for, invocations_for, resources_for

PAGE = 100
View = Callable[..., JsonResponse]


class BadRequest(Exception):
    pass


def api_view(view: View) -> View:
    @wraps(view)
    @require_GET
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        token = api_token_authenticate(header[7:].strip()) if header.startswith("Bearer ") else None
        if token is None:
            response = JsonResponse({"error": "Send a valid API token: Authorization: Bearer dbt_…"}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="dashbird"'
            return response
        request.api_token = token  # type: ignore[attr-defined]
        try:
            return view(request, token, *args, **kwargs)
        except Http404:
            return JsonResponse({"error": "Not found"}, status=404)
        except BadRequest as exc:
            return JsonResponse({"error": str(exc)}, status=400)

    return wrapper


def _cursor(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(base64.urlsafe_b64decode(value.encode() + b"==").decode())
    except (ValueError, binascii.Error) as exc:
        raise BadRequest("Invalid cursor") from exc


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def _page(qs: QuerySet[Any], request: HttpRequest, serialise: Callable[[Any], dict[str, Any]]) -> JsonResponse:
    """Newest first by id; `cursor` continues after the last item of the previous page."""
    after = _cursor(request.GET.get("cursor"))
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
        "request_id", "attempt", "status", "duration_ms", "billed_duration_ms", "memory_size_mb", "max_memory_used_mb",
        "init_duration_ms", "restore_duration_ms", "billed_restore_duration_ms", "cold_start", "xray_trace_id",
        "error_type", "error_message", "log_stream", "complete", "cost_usd", "error_group_id",
    ]  # fmt: skip
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
    resource_id = request.GET.get("resource", "")
    if not resource_id.isdigit():
        raise BadRequest("resource=<id> is required (invocations are listed per function)")
    fn = get_scoped_or_404(Resource.objects.all(), organization=token.organization, pk=int(resource_id))
    period = dashboard.parse_period(request.GET)
    filters = InvocationFilters.from_query(request.GET)
    after = _cursor(request.GET.get("cursor"))
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
    resource_id, metric, stat = (
        request.GET.get("resource", ""),
        request.GET.get("metric", ""),
        request.GET.get("stat", ""),
    )
    if not (resource_id.isdigit() and metric and stat):
        raise BadRequest("resource=<id>, metric=<Namespace:Name> and stat=<Sum|Average|Maximum|p95…> are required")
    fn = get_scoped_or_404(Resource.objects.all(), organization=token.organization, pk=int(resource_id))
    period = dashboard.parse_period(request.GET)
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


@api_view
def overview(request: HttpRequest, token: ApiToken) -> JsonResponse:
    period = dashboard.parse_period(request.GET)
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
        "schema": {"type": "string"},
        "description": "next_cursor of the previous page",
    },
    "period": {
        "name": "period",
        "in": "query",
        "schema": {"type": "string", "enum": ["1h", "24h", "7d", "30d", "custom"]},
    },
    "start": {
        "name": "start",
        "in": "query",
        "schema": {"type": "string", "format": "date-time"},
        "description": "with period=custom",
    },
    "end": {
        "name": "end",
        "in": "query",
        "schema": {"type": "string", "format": "date-time"},
        "description": "with period=custom",
    },
    "account": {"name": "account", "in": "query", "schema": {"type": "integer"}},
    "region": {"name": "region", "in": "query", "schema": {"type": "string"}},
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


def _q(name: str, kind: str = "string", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": kind}, **({"required": True} if required else {})}


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    base = reverse("api_accounts").rsplit("/accounts", 1)[0]
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Dashbird clone API", "version": "1", "description": __doc__},
        "servers": [{"url": base}],
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/accounts": _op("AWS accounts and their connection health", ["cursor"]),
            "/resources": _op("Discovered resources", ["cursor", "account", "region", _q("kind"), _q("q"), _q("gone")]),
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
                    _q("status"),
                    _q("cold"),
                    _q("min_ms", "number"),
                    _q("max_ms", "number"),
                ],
            ),
            "/error-groups": _op("Error groups", ["cursor", _q("status"), _q("resource", "integer"), _q("kind")]),
            "/metrics": _op(
                "A metric series of one resource",
                [
                    _q("resource", "integer", True),
                    _q("metric", required=True),
                    _q("stat", required=True),
                    "period",
                    "start",
                    "end",
                ],
            ),
            "/overview": _op(
                "Overview KPIs with the change against the previous period",
                ["period", "start", "end", "account", "region"],
            ),
        },
    }
    return JsonResponse(doc)
