"""The anomalies of the JSON API (/api/v1/anomalies), served by insights, which owns them.

It works like the rest of /api/v1/ (`monitoring.api`): token authentication, JSON errors
(401, 400 naming the field, 405 for a change), cursor pagination with `next_cursor`, and
only the token's organisation's rows. Anomalies are listed newest hour first; the cursor
continues after the last item of the previous page, so new hours do not shift a client
that is paging back. The OpenAPI paths are registered in `web.api_docs` from `ready()`.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, JsonResponse

from accounts.models import ApiToken
from monitoring.api import PAGE, api_view, get_operation, iso, query_param
from web import params

from .models import Anomaly
from .selectors import AnomalyFilters, anomalies_for


def anomaly_json(a: Anomaly) -> dict[str, Any]:
    return {
        "id": a.pk,
        "account_id": a.account_id,
        "resource_id": a.resource_id,
        "metric": a.metric,
        "label": a.label,
        "hour": iso(a.hour),
        "observed": a.observed,
        "expected": a.expected,
        "low": a.low,
        "high": a.high,
        "score": round(a.score, 3),
        "direction": a.direction,
        "detected_at": iso(a.detected_at),
    }


def _cursor(request: HttpRequest) -> tuple[datetime, int] | None:
    """(hour, id) of the last item of the previous page, from `cursor`."""
    value = params.text(request.GET, "cursor", max_length=64)
    if not value:
        return None
    try:
        hour_text, id_text = base64.urlsafe_b64decode(value.encode() + b"==").decode().split(":")
        last = (datetime.fromtimestamp(int(hour_text), UTC), int(id_text))
    except (ValueError, UnicodeError, binascii.Error, OverflowError, OSError) as exc:
        raise params.InvalidInput("Invalid cursor: pass next_cursor of the previous page.") from exc
    if not 0 < last[1] <= params.MAX_ID:
        raise params.InvalidInput("Invalid cursor: pass next_cursor of the previous page.")
    return last


def _encode(a: Anomaly) -> str:
    return base64.urlsafe_b64encode(f"{int(a.hour.timestamp())}:{a.pk}".encode()).decode().rstrip("=")


@api_view
def anomalies(request: HttpRequest, token: ApiToken) -> JsonResponse:
    filters = AnomalyFilters.from_query(request.GET)
    qs = anomalies_for(token.organization, filters)
    after = _cursor(request)
    if after is not None:
        qs = qs.filter(Q(hour__lt=after[0]) | Q(hour=after[0], id__lt=after[1]))
    items = list(qs.order_by("-hour", "-id")[: PAGE + 1])
    more = len(items) > PAGE
    items = items[:PAGE]
    return JsonResponse({"data": [anomaly_json(a) for a in items], "next_cursor": _encode(items[-1]) if more else None})


def openapi_paths() -> tuple[dict[str, Any], dict[str, Any]]:
    """The anomalies endpoint's path (registered in web.api_docs)."""
    moment = {"type": "string", "format": "date-time"}
    return {
        "/anomalies": get_operation(
            "Anomalous hours: a resource's figure outside its normal band (docs/anomalies.md), newest hour first",
            [
                "cursor",
                "account",
                query_param("resource", "integer"),
                query_param("metric", maxLength=200),
                {"name": "since", "in": "query", "schema": moment, "description": "hours from this one on"},
                {"name": "until", "in": "query", "schema": moment, "description": "hours before this one"},
            ],
        )
    }, {}
