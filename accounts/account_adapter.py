"""allauth's account adapter, with the project's own idea of the client address."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from web.client_address import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        """Rate limits (sign-in, sign-up, password reset) and session records key on the
        same address as the audit log, so a forged X-Forwarded-For buys no fresh quota."""
        ip = client_ip(request)
        if ip is None:
            raise PermissionDenied("Unable to determine the client's IP address")
        return ip
