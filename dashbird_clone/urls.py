from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from monitoring import api as monitoring_api

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("monitoring.api_urls")),
    path("api/v1/", include("insights.api_urls")),
    path("api/v1/", include("alerts.api_urls")),
    re_path(r"^api/v1/(?P<rest>.*)$", monitoring_api.not_found),  # JSON, never the HTML 404 page
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("monitoring.urls")),
    path("insights/", include("insights.urls")),
    path("alerts/", include("alerts.urls")),
]

handler400 = "web.params.handler400"
