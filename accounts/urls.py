from __future__ import annotations

from django.urls import path

from . import views, views_aws

urlpatterns = [
    path("orgs/switch/", views.organization_switch, name="organization_switch"),
    path("settings/", views.settings_index, name="settings"),
    path("settings/members/<int:pk>/", views.member_detail, name="member_detail"),
    path("settings/aws/", views_aws.aws_accounts, name="aws_accounts"),
    path("settings/aws/<int:pk>/", views_aws.aws_account_detail, name="aws_account_detail"),
    path("settings/aws/<int:pk>/setup/", views_aws.aws_account_setup, name="aws_account_setup"),
    path("settings/aws/<int:pk>/template.yaml", views_aws.aws_account_template, name="aws_account_template"),
    path("settings/aws/<int:pk>/intervals/", views_aws.aws_account_intervals, name="aws_account_intervals"),
    path(
        "settings/aws/<int:pk>/<str:action>/",
        views_aws.aws_account_action,
        name="aws_account_action",
    ),
]
