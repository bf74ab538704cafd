from __future__ import annotations

from django.urls import path

from . import views, views_admin, views_aws

app_name = "accounts"

urlpatterns = [
    path("orgs/switch/", views.organization_switch, name="organization_switch"),
    path("settings/", views_admin.settings_index, name="settings"),
    path("settings/sso/", views.sso_settings, name="sso_settings"),
    path("profile/", views.profile, name="profile"),
    path("settings/organization/", views_admin.organization_edit, name="organization_edit"),
    path("settings/ownership/", views_admin.ownership, name="ownership_transfer"),
    path("settings/members/<int:pk>/role/", views_admin.member_role, name="member_role"),
    path("settings/members/<int:pk>/remove/", views_admin.member_delete, name="member_remove"),
    path("settings/invitations/", views_admin.invitation_new, name="invitation_create"),
    path("settings/invitations/<int:pk>/<str:action>/", views_admin.invitation_action, name="invitation_action"),
    path("settings/tokens/", views_admin.api_tokens, name="api_tokens"),
    path("settings/tokens/<int:pk>/revoke/", views_admin.api_token_delete, name="api_token_revoke"),
    path("settings/audit/", views_admin.audit_log, name="audit_log"),
    path("settings/audit.csv", views_admin.audit_log_csv, name="audit_log_csv"),
    path("invitations/<str:token>/", views_admin.invitation_landing, name="invitation"),
    path("settings/members/<int:pk>/", views.member_detail, name="member_detail"),
    path("settings/aws/", views_aws.aws_accounts, name="aws_accounts"),
    path("settings/aws/<int:pk>/", views_aws.aws_account_detail, name="aws_account_detail"),
    path("settings/aws/<int:pk>/setup/", views_aws.aws_account_setup, name="aws_account_setup"),
    path("settings/aws/<int:pk>/template.yaml", views_aws.aws_account_template, name="aws_account_template"),
    path("settings/aws/<int:pk>/intervals/", views_aws.aws_account_intervals, name="aws_account_intervals"),
    path("settings/aws/<int:pk>/filters/", views_aws.aws_account_filters, name="aws_account_filters"),
    path("settings/aws/<int:pk>/budget/", views_aws.aws_account_budget, name="aws_account_budget"),
    path(
        "settings/aws/<int:pk>/<str:action>/",
        views_aws.aws_account_action,
        name="aws_account_action",
    ),
]
