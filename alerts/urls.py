from __future__ import annotations

from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.index, name="index"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/snooze/", views.incident_snooze_view, name="incident_snooze"),
    path("incidents/<int:pk>/acknowledge/", views.incident_acknowledge_view, name="incident_acknowledge"),
    path("incidents/<int:pk>/assign/", views.incident_assign_view, name="incident_assign"),
    path("incidents/<int:pk>/resolve/", views.incident_resolve_view, name="incident_resolve"),
    path("rules/new/", views.rule_new, name="rule_new"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/duplicate/", views.rule_duplicate_view, name="rule_duplicate"),
    path("rules/<int:pk>/delete/", views.rule_delete_view, name="rule_delete"),
    path("rules/<int:pk>/mute/", views.rule_mute_view, name="rule_mute"),
    path("rules/<int:pk>/<str:field>/", views.rule_toggle, name="rule_toggle"),
    path("channels/new/<str:kind>/", views.channel_new, name="channel_new"),
    path("channels/<int:pk>/", views.channel_detail, name="channel_detail"),
    path("channels/<int:pk>/edit/", views.channel_edit, name="channel_edit"),
    path("channels/<int:pk>/delete/", views.channel_delete_view, name="channel_delete"),
    path("channels/<int:pk>/test/", views.channel_test, name="channel_test"),
    path("channels/<int:pk>/recipients/invite/", views.recipient_invite, name="channel_recipients_invite"),
    path("channels/<int:pk>/recipients/<int:recipient>/link/", views.recipient_link, name="channel_recipient_link"),
    path("recipients/<str:token>/", views.recipient_confirm, name="recipient_confirm"),
    path("channels/<int:pk>/enable/", views.channel_enable_view, name="channel_enable"),
    path("digests/", views.digest_preferences, name="digest_preferences"),
    path("digests/unsubscribe/<str:token>/", views.digest_unsubscribe, name="digest_unsubscribe"),
]
