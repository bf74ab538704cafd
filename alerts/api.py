"""The configuration endpoints of the JSON API (/api/v1/alert-rules, /channels, /projects,
/suppressions): list and read with any token; create (POST), replace (PUT), change (PATCH)
and delete (DELETE) with a token of the `write` scope.

A body is one item of a configuration document (`manage.py config export`), and it goes
through the same section as `config apply` (alerts.config.sections): the same forms
validate it, the same services write it, and the audit log names the token. Tokens are
the only authentication here, never the session cookie, so there is no CSRF to forge.
Unlike `config apply`, `${VAR}` is never read from the server's environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.api_tokens import api_token_from_request
from accounts.models import ApiToken, Organization
from insights.selectors import active_suppressions
from monitoring.models import Project

from .config.apply import change_delete, change_write, current_by_key
from .config.fields import Problems
from .config.sections import BY_KEY, ChannelSection, RefusedDelete, Section
from .models import AlertRule, Channel

MAX_BODY = 256 * 1024
READ_METHODS = frozenset({"GET", "HEAD"})
# document key → (URL segment, model queryset of an organisation's objects by id)
ENDPOINTS: dict[str, tuple[str, Callable[[Organization], Any]]] = {
    "projects": ("projects", lambda org: Project.objects.filter(organization=org)),
    "channels": ("channels", lambda org: Channel.objects.filter(organization=org)),
    "alert_rules": ("alert-rules", lambda org: AlertRule.objects.filter(organization=org)),
    "suppressions": ("suppressions", active_suppressions),
}
IGNORED_KEYS = ("id", "secret_fields")  # what an answer adds: a client may send the answer back


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []


def _error(message: str, status: int, errors: list[dict[str, str]] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def token_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Token authentication (401), the write scope for changes (403), JSON errors."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = api_token_from_request(request)
        if token is None:
            response = _error("Send a valid API token: Authorization: Bearer dbt_…", 401)
            response["WWW-Authenticate"] = 'Bearer realm="dashbird"'
            return response
        if request.method not in READ_METHODS and token.scope != ApiToken.Scope.WRITE:
            return _error("This token is read-only. An admin can create a token with the write scope.", 403)
        try:
            return view(request, token, *args, **kwargs)
        except Http404:
            return _error("Not found", 404)
        except BadRequest as exc:
            return _error(str(exc), exc.status, exc.errors if exc.errors else None)

    return wrapper


def _body(request: HttpRequest) -> dict[str, Any]:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise BadRequest("Send the item as JSON (Content-Type: application/json).", 415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise BadRequest(f"The body is larger than {MAX_BODY} bytes.", 413)
    try:
        raw = request.body
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object: one item, its fields by name.")
    return {k: v for k, v in body.items() if k not in IGNORED_KEYS}


def _answer(section: Section, obj: Any) -> dict[str, Any]:
    state = section.public(obj) if isinstance(section, ChannelSection) else section.state(obj)
    return {"id": obj.pk, **state}


def _invalid(problems: Problems) -> BadRequest:
    errors = []
    for problem in problems.items:
        field, _, message = problem.partition(": ")
        errors.append({"field": "" if field == "document" else field, "message": message})
    return BadRequest("Invalid input: " + "; ".join(problems.items), 400, errors)


def _write(request: HttpRequest, token: ApiToken, section: Section, item: dict[str, Any], instance: Any) -> Any:
    """Validate and write one item (create when `instance` is None); the object."""
    organization = token.organization
    problems = Problems()
    key = section.item_key(item, "", problems)
    if key is None:
        raise _invalid(problems)
    current, _ = current_by_key(section, organization)
    old_key = section.key(section.state(instance)) if instance is not None else None
    if key != old_key and key in current:
        field = section.key_field if section.key_field in item else ""
        problems.add(field, f"a {section.label} {key!r} exists already (id {current[key].pk})")
        raise _invalid(problems)
    before = section.state(instance) if instance is not None else None
    prepared = section.prepare(organization, item, "", instance, problems, None)
    if prepared is None or problems:
        raise _invalid(problems)
    change = change_write(
        organization=organization,
        section=section,
        prepared=prepared,
        instance=instance,
        before=before,
        actor=token,
        request=request,
    )
    return change.obj if change is not None else instance


@token_view
def collection(request: HttpRequest, token: ApiToken, document_key: str) -> HttpResponse:
    section = BY_KEY[document_key]
    if request.method in READ_METHODS:
        return JsonResponse(
            {"data": [_answer(section, obj) for obj in section.objects(token.organization)], "next_cursor": None}
        )
    if request.method != "POST":
        return _error("Use GET or POST here.", 405)
    obj = _write(request, token, section, _body(request), None)
    return JsonResponse(_answer(section, obj), status=201)


@token_view
def item(request: HttpRequest, token: ApiToken, document_key: str, pk: int) -> HttpResponse:
    section = BY_KEY[document_key]
    obj = ENDPOINTS[document_key][1](token.organization).filter(pk=pk).first()
    if obj is None:
        raise Http404
    if request.method in READ_METHODS:
        return JsonResponse(_answer(section, obj))
    if request.method == "DELETE":
        try:
            change_delete(organization=token.organization, section=section, obj=obj, actor=token, request=request)
        except RefusedDelete as exc:
            raise BadRequest(f"Cannot delete: {exc}", 409) from None
        return HttpResponse(status=204)
    if request.method not in {"PUT", "PATCH"}:
        return _error("Use GET, PUT, PATCH or DELETE here.", 405)
    body = _body(request)
    if request.method == "PATCH":
        current = _answer(section, obj)
        current.pop("id", None)
        current.pop("secret_fields", None)
        if isinstance(current.get("config"), dict) and isinstance(body.get("config"), dict):
            body["config"] = {**current["config"], **body["config"]}
        body = {**current, **body}
    obj = _write(request, token, section, body, obj)
    obj.refresh_from_db()
    return JsonResponse(_answer(section, obj))


# --- the OpenAPI document -----------------------------------------------------------------------------

ERRORS = {
    "400": {"description": "Invalid input: `errors` names each field"},
    "401": {"description": "Missing or invalid token"},
    "403": {"description": "The token is read-only"},
    "404": {"description": "Not found in your organisation"},
}
SUMMARIES = {
    "projects": "Projects: saved groups of resources, by tag and/or name pattern",
    "channels": "Notification channels (secret settings are write-only)",
    "alert_rules": "Alert rules",
    "suppressions": "Insight suppressions in force (DELETE lifts one)",
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def openapi_paths() -> tuple[dict[str, Any], dict[str, Any]]:
    """The configuration endpoints' paths and schemas (registered in web.api_docs)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    security: list[dict[str, list[str]]] = [{"token": []}]
    for document_key, (segment, _) in ENDPOINTS.items():
        section = BY_KEY[document_key]
        name = "".join(part.title() for part in document_key.split("_"))
        schema = section.json_schema()
        schemas[name] = schema
        schemas[f"{name}Patch"] = {k: v for k, v in schema.items() if k != "required"}
        ref = {"$ref": f"#/components/schemas/{name}"}
        patch_ref = {"$ref": f"#/components/schemas/{name}Patch"}
        answer = {"type": "object"}
        path_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int64"}}
        summary = SUMMARIES[document_key]
        paths[f"/{segment}"] = {
            "get": {"summary": summary, "security": security, "responses": {"200": {"description": "OK"}, **ERRORS}},
            "post": {
                "summary": f"Create: {summary.lower()}",
                "security": security,
                "requestBody": {"required": True, **_json(ref)},
                "responses": {"201": {"description": "Created", **_json(answer)}, **ERRORS},
            },
        }
        paths[f"/{segment}/{{id}}"] = {
            "get": {
                "summary": f"One of: {summary.lower()}",
                "security": security,
                "parameters": [path_id],
                "responses": {"200": {"description": "OK", **_json(answer)}, **ERRORS},
            },
            "put": {
                "summary": "Replace (fields left out take their defaults; secrets left out stay)",
                "security": security,
                "parameters": [path_id],
                "requestBody": {"required": True, **_json(ref)},
                "responses": {"200": {"description": "OK", **_json(answer)}, **ERRORS},
            },
            "patch": {
                "summary": "Change the fields given",
                "security": security,
                "parameters": [path_id],
                "requestBody": {"required": True, **_json(patch_ref)},
                "responses": {"200": {"description": "OK", **_json(answer)}, **ERRORS},
            },
            "delete": {
                "summary": "Delete" if document_key != "suppressions" else "Lift (kept as history)",
                "security": security,
                "parameters": [path_id],
                "responses": {
                    "204": {"description": "Deleted"},
                    "409": {"description": "Still in use (a channel or project that rules name)"},
                    **ERRORS,
                },
            },
        }
    return paths, schemas
