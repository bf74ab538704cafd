from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organisations and access"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in

        from .sso import on_sign_in

        user_logged_in.connect(on_sign_in, dispatch_uid="accounts.sso.on_sign_in")
