from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("resources/", views.resources, name="resources"),
    path("resources/<int:pk>/", views.resource_detail, name="resource_detail"),
    path("errors/", views.errors, name="errors"),
    path("logs/", views.logs, name="logs"),
]
