from __future__ import annotations

from django.apps import AppConfig


class DashbirdConfig(AppConfig):
    name = "dashbird_clone"
    verbose_name = "Dashbird platform"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
