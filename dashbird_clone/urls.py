from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("monitoring.api_urls")),
    path("api/v1/", include("alerts.api_urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("monitoring.urls")),
    path("insights/", include("insights.urls")),
    path("alerts/", include("alerts.urls")),
]

handler400 = "web.params.handler400"
