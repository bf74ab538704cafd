from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("openapi.json", api.openapi, name="api_openapi"),
    path("accounts", api.accounts, name="api_accounts"),
    path("resources", api.resources, name="api_resources"),
    path("resources/<int:pk>", api.resource, name="api_resource"),
    path("invocations", api.invocations, name="api_invocations"),
    path("error-groups", api.error_groups, name="api_error_groups"),
    path("metrics", api.metrics, name="api_metrics"),
    path("overview", api.overview, name="api_overview"),
]
