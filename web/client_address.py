"""The client's IP address: the one helper that audit records and allauth's rate limits use.

`X-Forwarded-For` is a list that every proxy appends to ("client, proxy1, proxy2"), and
anything left of what our own proxies wrote is whatever the client chose to send. So it is
read only when `TRUSTED_PROXY_COUNT` says proxies stand in front of us, and then only the
address the outermost trusted proxy wrote: the Nth from the right. Every candidate must
parse as an IP address; otherwise the socket's peer address is used.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _ip(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, normalised ("2001:db8::1"), or None when nothing valid is known."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            # Fewer hops than proxies: the request came through fewer of them, and the
            # leftmost entry was still written by one of ours.
            forwarded = _ip(hops[-min(proxies, len(hops))])
            if forwarded is not None:
                return forwarded
    return _ip(str(request.META.get("REMOTE_ADDR") or ""))
