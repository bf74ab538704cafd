"""System checks for dangerous configuration (run by `manage.py check --deploy` and at start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_site_url(app_configs: Any, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    if settings.DEBUG:
        problems.append(Error("DEBUG is on in a deployment.", hint="Set DEBUG=false.", id="dashbird.E001"))
    if not settings.SITE_URL.startswith("https://"):
        problems.append(
            Warning(
                "SITE_URL is not HTTPS: session cookies are sent in clear text.",
                hint="Serve the dashboard over HTTPS and set SITE_URL=https://….",
                id="dashbird.W001",
            )
        )
    if settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        problems.append(
            Warning(
                "EMAIL_URL is not set: verification and digest emails are only printed to the log.",
                hint="Set EMAIL_URL=smtp://user:password@host:587?tls=True.",
                id="dashbird.W002",
            )
        )
    return problems
