from __future__ import annotations

from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Installed only so that `manage.py sandbox` is a command; it has no models."""

    name = "devtools"
    verbose_name = "Development tooling"
