from __future__ import annotations

from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("", views.index, name="index"),
    path("checks/", views.catalogue, name="catalogue"),
    path("findings/<int:pk>/suppress/", views.suppress, name="finding_suppress"),
]
