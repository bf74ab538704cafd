"""The one way the product sends outbound HTTP (alert notifications to customer endpoints).

Every URL here is typed in by a customer, so every request is a potential SSRF:

1. Only http/https, no userinfo (`https://user:pw@host` would both leak and smuggle
   credentials), and every address the host resolves to must be public — not private,
   loopback, link-local (169.254.169.254 is the cloud metadata service), multicast,
   reserved, unspecified or otherwise non-global, IPv4 embedded in IPv6 included.
   `ALERTS_ALLOW_PRIVATE_TARGETS = True` (or `allow_private=True`) lifts the address
   check only, for on-premises receivers and for tests.
2. The host is resolved once and the connection goes to the address that was checked
   (`_PinnedAdapter`), while the Host header, TLS SNI and certificate verification keep
   using the hostname. A second resolution by the HTTP library — which a DNS-rebinding
   attacker could answer with 127.0.0.1 — never happens.
3. Redirects are not followed (the target of a redirect was never checked), and the
   environment's proxies and ~/.netrc are ignored (`trust_env = False`): a proxy would
   resolve the host again by itself, and netrc would attach our credentials to a
   customer's host. Deployments that must egress through a proxy are not supported yet.

Webhook URLs of Slack, Teams and PagerDuty are bearer secrets: only `redact_url()` forms
(scheme, host and port) appear in logs and in exception messages, and error texts are
built from exception types and errno values, never from `str()` of an exception that
embeds the URL.

Residual risk: `socket.getaddrinfo` has no timeout of its own; a slow resolver is bounded
only by the system resolver's settings (resolv.conf `timeout`/`attempts`).
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import os
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

USER_AGENT = "dashbird-clone-notifier/1"
CONNECT_TIMEOUT = 5.0
MAX_RETRY_AFTER = 30.0
MAX_BACKOFF = 30.0
EXCERPT_CHARS = 500
# We only keep an excerpt; reading more would let a hostile endpoint make us buffer megabytes.
MAX_BODY_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({408, 429})
TRUE_STRINGS = frozenset({"1", "true", "yes", "on"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Set while this thread is inside post_json, so that urllib3's own DEBUG lines
# ('http://host:443 "POST /services/T0/B0/secret HTTP/1.1" 200 2') are redacted for our
# requests only (LOG_LEVEL=DEBUG must not print webhook secrets).
_sending = threading.local()


class _RedactPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(_sending, "active", False) and isinstance(record.args, tuple):
            record.args = tuple("/…" if isinstance(arg, str) and arg.startswith("/") else arg for arg in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactPaths())


class OutboundError(Exception):
    """A request that did not succeed. `permanent` means retrying cannot help."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        status: int | None = None,
        attempts: list[Attempt] | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.attempts: list[Attempt] = attempts if attempts is not None else []


class RefusedTarget(OutboundError):
    """The SSRF guard refused the URL; no request was made."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass
class Attempt:
    status: int | None
    error: str
    duration_ms: float
    response_excerpt: str


@dataclass
class HttpResult:
    status: int
    body: str
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class _Target:
    scheme: str
    hostname: str  # IDNA (ASCII) form, without brackets
    port: int
    host_header: str
    addresses: tuple[str, ...]


# --- helpers shared with the channels ------------------------------------------------------


def encode_json(payload: Any) -> bytes:
    """The exact bytes `post_json` sends for `payload` (signers must sign these)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def allow_private_default() -> bool:
    """`ALERTS_ALLOW_PRIVATE_TARGETS`; a string from the environment counts only when truthy,
    so that "false" or "0" never opens the guard by accident."""
    value = getattr(settings, "ALERTS_ALLOW_PRIVATE_TARGETS", False)
    if isinstance(value, str):
        return value.strip().lower() in TRUE_STRINGS
    return value is True


def redact_url(url: str) -> str:
    """`https://hooks.slack.com/…`: what may be logged of a URL whose path or query is a secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    rest = "/…" if (parts.path not in ("", "/") or parts.query or parts.fragment) else "/"
    return f"{parts.scheme}://{netloc}{rest}"


def validate_url(url: str, *, require_https: bool) -> str:
    """Shape-only checks for a configuration form (no DNS, so forms work offline).

    Raises ValueError with a human message; returns the stripped URL. Hosts given as an
    IP literal are checked against the address rules right away.
    """
    url = (url or "").strip()
    if not url:
        raise ValueError("is required")
    try:
        parts = _split(url)
    except RefusedTarget as exc:
        raise ValueError(str(exc)) from None
    if require_https and parts.scheme != "https":
        raise ValueError("must start with https://")
    host = (parts.hostname or "").rstrip(".")
    if not allow_private_default():
        literal = _ip_literal(host)
        if literal is not None and _forbidden(literal):
            raise ValueError(f"points to a non-public address ({literal})")
        if host == "localhost" or host.endswith(".localhost"):
            raise ValueError("points to this server (localhost)")
    return url


# --- the SSRF guard ---------------------------------------------------------------------------


def check_target(url: str, *, allow_private: bool | None = None) -> None:
    """Raise RefusedTarget unless `url` may be requested. Resolves the host (DNS)."""
    _resolve_target(url, allow_private)


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError:
        raise RefusedTarget("refused: the URL is malformed") from None
    if parts.scheme not in ("http", "https"):
        raise RefusedTarget("refused: only http:// and https:// URLs are allowed")
    if "@" in parts.netloc:
        raise RefusedTarget("refused: credentials in the URL (user:password@) are not allowed")
    if not parts.hostname:
        raise RefusedTarget("refused: the URL has no host")
    return parts


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _forbidden(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address carried inside IPv6 reaches that IPv4 host: judge the IPv4 one too.
        teredo = ip.teredo
        embedded = [ip.ipv4_mapped, ip.sixtofour, teredo[1] if teredo else None]
        if any(inner is not None and _forbidden(inner) for inner in embedded):
            return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        # Catches what the flags above miss, e.g. 100.64.0.0/10 (carrier-grade NAT).
        or not ip.is_global
    )


def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a seam the tests use to play a DNS server)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]))
    return list(seen)


def _resolve_target(url: str, allow_private: bool | None) -> _Target:
    parts = _split(url)
    if allow_private is None:
        allow_private = allow_private_default()
    try:
        hostname = (parts.hostname or "").encode("idna").decode("ascii")
    except UnicodeError:
        raise RefusedTarget("refused: the host name is not valid") from None
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    try:
        addresses = _resolve(hostname, port)
    except (socket.gaierror, UnicodeError) as exc:
        # "No such host" will not fix itself; a resolver failure (EAI_AGAIN) may.
        code = exc.errno if isinstance(exc, socket.gaierror) else None
        raise OutboundError(
            f"could not resolve {hostname}", permanent=code in (socket.EAI_NONAME, socket.EAI_NODATA)
        ) from None
    if not addresses:
        raise OutboundError(f"could not resolve {hostname}")
    if not allow_private:
        for address in addresses:
            ip = _ip_literal(address)
            if ip is None or _forbidden(ip):
                raise RefusedTarget(f"refused: {hostname} resolves to a non-public address ({address})")
    bracketed = f"[{hostname}]" if ":" in hostname else hostname
    host_header = bracketed if port == default_port else f"{bracketed}:{port}"
    return _Target(parts.scheme, hostname, port, host_header, tuple(addresses))


class _PinnedAdapter(HTTPAdapter):
    """Connects to `address` (already checked) whatever the URL's host resolves to now.

    The URL keeps its hostname, so requests builds the path and headers as usual; only the
    connection pool key is changed: host → the pinned IP, and for https the SNI name and
    the name the certificate must match → the hostname.
    """

    def __init__(self, hostname: str, address: str) -> None:
        super().__init__(max_retries=0)  # retries are ours, with backoff and a record per attempt
        self.hostname = hostname
        self.address = address

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[Any, Any]:  # the stubs' TypedDicts do not list the TLS keys urllib3 accepts
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        params: dict[str, Any] = {**host_params, "host": self.address}
        kwargs: dict[str, Any] = dict(pool_kwargs)
        if params["scheme"] == "https":
            kwargs["server_hostname"] = self.hostname
            kwargs["assert_hostname"] = self.hostname
        return params, kwargs


def _pinned_session(hostname: str, address: str) -> tuple[requests.Session, _PinnedAdapter]:
    session = requests.Session()
    session.trust_env = False  # no proxies (they would resolve again) and no ~/.netrc credentials
    adapter = _PinnedAdapter(hostname, address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session, adapter


# --- sending ------------------------------------------------------------------------------------


def post_json(
    url: str,
    payload: dict[str, Any] | list[Any],
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 0.5,
    allow_private: bool | None = None,
) -> HttpResult:
    """POST `payload` as compact JSON; retry connection errors, timeouts, 408, 429 and 5xx.

    Returns on any 2xx. Raises RefusedTarget before any request if the guard says no, and
    OutboundError (with `.attempts`) when the last attempt failed or the failure is permanent.
    """
    target = _resolve_target(url, allow_private)
    retries = max(retries, 0)
    body = encode_json(payload)
    send_headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/plain;q=0.9, */*;q=0.5",
        "User-Agent": USER_AGENT,
        **(headers or {}),
        # Set explicitly: the connection is to an IP, and the Host must stay the hostname.
        "Host": target.host_header,
    }
    shown = redact_url(url)
    attempts: list[Attempt] = []
    session, adapter = _pinned_session(target.hostname, target.addresses[0])
    _sending.active = True
    try:
        for number in range(retries + 1):
            # Rotate through the checked addresses, so one dead address does not eat every retry.
            adapter.address = target.addresses[number % len(target.addresses)]
            attempt, text, retry_after, retryable = _attempt(session, url, body, send_headers, timeout)
            attempts.append(attempt)
            if attempt.status is not None and 200 <= attempt.status < 300:
                logger.info("POST %s → %s after %d attempt(s)", shown, attempt.status, len(attempts))
                return HttpResult(attempt.status, text, attempts)
            logger.warning("POST %s attempt %d failed: %s", shown, number + 1, attempt.error)
            if not retryable:
                raise OutboundError(
                    f"POST {shown} failed: {attempt.error}", permanent=True, status=attempt.status, attempts=attempts
                )
            if number < retries:
                time.sleep(_delay(number, backoff, retry_after))
    finally:
        _sending.active = False
        session.close()
    last = attempts[-1]
    raise OutboundError(
        f"POST {shown} failed after {len(attempts)} attempt(s): {last.error}", status=last.status, attempts=attempts
    )


def _attempt(
    session: requests.Session, url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[Attempt, str, float | None, bool]:
    """One request: (its record, the response text, Retry-After seconds if any, whether a retry may help)."""
    started = time.monotonic()
    try:
        response = session.post(
            url,
            data=body,
            headers=headers,
            timeout=(min(timeout, CONNECT_TIMEOUT), timeout),
            allow_redirects=False,
            stream=True,
        )
    except requests.RequestException as exc:
        # Connection failures and timeouts are worth retrying; a malformed request is not.
        retryable = isinstance(exc, requests.ConnectionError | requests.Timeout)
        return Attempt(None, describe_error(exc), _ms(started), ""), "", None, retryable
    with response:
        # A body trickled byte by byte never trips the per-read timeout: cap the total time too.
        text, read_error = _read_text(response, deadline=started + 2 * timeout)
    status = response.status_code
    duration = _ms(started)
    excerpt = text[:EXCERPT_CHARS]
    if 200 <= status < 300:
        # Delivered, even if the body could not be read to its end.
        return Attempt(status, "", duration, excerpt), text, None, False
    if 300 <= status < 400:
        # The redirect target was never checked by the guard, and webhooks have no reason to move.
        return Attempt(status, f"HTTP {status}: redirects are not followed", duration, excerpt), text, None, False
    error = f"HTTP {status}" + (f" ({read_error})" if read_error else "")
    retryable = status in RETRYABLE_STATUSES or status >= 500
    retry_after = _retry_after(response.headers.get("Retry-After")) if status in (429, 503) else None
    return Attempt(status, error, duration, excerpt), text, retry_after, retryable


def _read_text(response: requests.Response, *, deadline: float) -> tuple[str, str]:
    """The body (its first MAX_BODY_BYTES) as text, and why reading stopped early if it did."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(8192):
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_BODY_BYTES:
                break
            if time.monotonic() > deadline:
                return _decode(b"".join(chunks), response.encoding), "response body too slow"
    except requests.RequestException as exc:
        return _decode(b"".join(chunks), response.encoding), f"response body unreadable: {describe_error(exc)}"
    return _decode(b"".join(chunks)[:MAX_BODY_BYTES], response.encoding), ""


def _decode(raw: bytes, encoding: str | None) -> str:
    try:
        return raw.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), at most 30."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _delay(number: int, backoff: float, retry_after: float | None) -> float:
    if retry_after is not None:
        return retry_after
    # Exponential backoff with jitter, so that many workers retrying one endpoint spread out.
    return min(backoff * (2**number) * random.uniform(0.5, 1.5), MAX_BACKOFF)


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def describe_error(exc: BaseException) -> str:
    """A short description of a transport error that never contains the URL.

    `str()` of requests/urllib3 exceptions embeds the request path (the secret part of a
    webhook URL), so the text is built from the exception types and the errno instead.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout"
    chain = _chain(exc)
    for inner in chain:
        if isinstance(inner, ssl.SSLCertVerificationError):
            return f"TLS error: {inner.verify_message or inner.reason}"
        if isinstance(inner, ssl.SSLError):
            return f"TLS error: {inner.reason or type(inner).__name__}"
        if type(inner).__name__ == "CertificateError":
            # urllib3's own hostname check ("hostname 'a' doesn't match 'b'"): names, no path.
            return f"TLS error: {inner}"
    if isinstance(exc, requests.ConnectionError):
        for inner in chain:
            if isinstance(inner, OSError) and inner.errno:
                return f"connection failed: {os.strerror(inner.errno)}"
        return f"connection failed: {type(chain[-1]).__name__}"
    return type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and exceptions carried in args or `.reason`."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if any(current is known for known in seen):
            continue
        seen.append(current)
        related = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(item for item in related if isinstance(item, BaseException))
    return seen
