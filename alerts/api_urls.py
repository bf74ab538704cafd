from __future__ import annotations

from django.urls import path

from . import api

app_name = "config_api"

urlpatterns = [
    route
    for document_key, (segment, _) in api.ENDPOINTS.items()
    for route in (
        path(segment, api.collection, {"document_key": document_key}, name=document_key),
        path(f"{segment}/<int:pk>", api.item, {"document_key": document_key}, name=f"{document_key}_item"),
    )
]
