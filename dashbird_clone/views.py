from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health_report


# Not inside a request transaction: opening one needs the database, and a database that is
# down must be reported as a 503 here, not fail the request before the check runs.
@transaction.non_atomic_requests
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report database, Redis and worker heartbeat; 503 when any is down."""
    report = health_report()
    healthy = all(check.ok for check in report.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in report.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)
