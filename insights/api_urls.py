from __future__ import annotations

from django.urls import path

from . import api

app_name = "insights_api"

urlpatterns = [
    path("anomalies", api.anomalies, name="anomalies"),
]
