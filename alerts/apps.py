from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and digests"

    def ready(self) -> None:
        from accounts.signals import organization_created
        from monitoring.signals import collection_stored
        from web import api_docs

        from . import api, panels, receivers

        organization_created.connect(receivers.create_default_rules, dispatch_uid=__name__)
        collection_stored.connect(receivers.evaluate_after_collection, dispatch_uid=__name__)
        panels.register()
        api_docs.register("alerts.configuration", api.openapi_paths)
