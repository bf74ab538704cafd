"""The Celery app. Configuration lives in settings (every `CELERY_*` name)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")

app = Celery("dashbird_clone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
