from __future__ import annotations

from django.urls import path

from . import api

app_name = "api"

urlpatterns = [
    path("openapi.json", api.openapi, name="openapi"),
    path("accounts", api.accounts, name="accounts"),
    path("resources", api.resources, name="resources"),
    path("resources/<int:pk>", api.resource, name="resource"),
    path("invocations", api.invocations, name="invocations"),
    path("invocations/<int:pk>/trace", api.invocation_trace, name="invocation_trace"),
    path("error-groups", api.error_groups, name="error_groups"),
    path("metrics", api.metrics, name="metrics"),
    path("overview", api.overview, name="overview"),
]
