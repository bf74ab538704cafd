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


@register(Tags.security)
def check_field_encryption_keys(app_configs: Any, **kwargs: Any) -> list[Error | Warning]:
    """Runs with every command (migrate, runserver), not only `check --deploy`: without a key,
    saving a channel or enrolling two-factor authentication fails."""
    if settings.FIELD_ENCRYPTION_KEYS:
        return []
    hint = (
        "Set FIELD_ENCRYPTION_KEYS to a Fernet key, made with "
        '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`, '
        "and keep it as safe as the database backups: without it the stored secrets are lost."
    )
    message = "FIELD_ENCRYPTION_KEYS is not set: channel secrets and two-factor seeds cannot be encrypted."
    if settings.DEBUG:
        return [Warning(message, hint=hint + " `make demo` creates a local one.", id="dashbird.W003")]
    return [Error(message, hint=hint, id="dashbird.E002")]


@register()
def check_compiled_ingestion(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """Without the compiled parts of ingestion the same rows are stored, more slowly."""
    from monitoring.logsearch.keys import COMPILED as KEYS_COMPILED
    from monitoring.store.loglines import COMPILED as LINES_COMPILED

    if KEYS_COMPILED and LINES_COMPILED:
        return []
    return [
        Warning(
            "The compiled parts of log ingestion are not built: logs are stored the same, with about "
            "a third more CPU time per event.",
            hint="Run `make venv` (it needs a C compiler and Python's headers), or "
            "`python setup.py build_ext --inplace` in the installed tree.",
            id="dashbird.W004",
        )
    ]
