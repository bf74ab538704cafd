from __future__ import annotations

from django.urls import path

from . import views
from .ingest import account_views
from .ingest import views as ingest_views

app_name = "monitoring"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("resources/", views.resources, name="resources"),
    path("resources/<int:pk>/", views.resource_detail, name="resource_detail"),
    path("projects/", views.project_create, name="project_create"),
    path("projects/<int:pk>/delete/", views.project_delete, name="project_delete"),
    path("errors/", views.errors, name="errors"),
    path("errors/<int:pk>/", views.error_group_detail, name="error_group_detail"),
    path("errors/<int:pk>/status/", views.error_group_status, name="error_group_status"),
    path("invocations/<int:pk>/", views.invocation_detail, name="invocation_detail"),
    path("logs/", views.logs, name="logs"),
    path("logs/results/", views.logs_results, name="logs_results"),
    path("logs/cancel/", views.logs_cancel, name="logs_cancel"),
    path("ingest/firehose/<str:token>", ingest_views.firehose, name="ingest_firehose"),
    path("settings/aws/<int:pk>/push/mode/", account_views.ingestion, name="aws_account_ingestion"),
    path("settings/aws/<int:pk>/push/stack.yaml", account_views.stack_template, name="aws_account_push_stack"),
    path(
        "settings/aws/<int:pk>/push/subscriptions/", account_views.check_subscriptions, name="aws_account_subscriptions"
    ),
    path("service-map/", views.service_map, name="service_map"),
]
