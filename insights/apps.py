from __future__ import annotations

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Well-Architected insights"

    def ready(self) -> None:
        from monitoring.signals import collection_stored

        from . import panels, receivers
        from .anomalies import marks

        collection_stored.connect(receivers.evaluate_after_collection, dispatch_uid=__name__)
        panels.register()
        marks.register()
