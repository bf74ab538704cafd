from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health_report


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
