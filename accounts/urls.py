from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("orgs/switch/", views.organization_switch, name="organization_switch"),
    path("settings/", views.settings_index, name="settings"),
    path("settings/members/<int:pk>/", views.member_detail, name="member_detail"),
]
