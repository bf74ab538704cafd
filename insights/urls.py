from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="insights"),
    path("checks/", views.catalogue, name="insights_catalogue"),
    path("findings/<int:pk>/suppress/", views.suppress, name="finding_suppress"),
]
