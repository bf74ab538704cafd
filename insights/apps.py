from __future__ import annotations

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Well-Architected insights"

    def ready(self) -> None:
        from monitoring.signals import collection_stored
        from web import api_docs

        from . import api, panels, receivers
        from .anomalies import marks

        collection_stored.connect(receivers.evaluate_after_collection, dispatch_uid=__name__)
        panels.register()
        marks.register()
        api_docs.register("insights.anomalies", api.openapi_paths)
