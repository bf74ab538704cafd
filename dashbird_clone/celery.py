"""The Celery app. Configuration lives in settings (every `CELERY_*` name)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")

app = Celery("dashbird_clone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _record_heartbeat_on_start(**kwargs: object) -> None:
    # Beat's first interval tick comes a full period after it starts; say "alive" at once.
    from .health import heartbeat_record

    heartbeat_record()
