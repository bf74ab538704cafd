"""alerts.http against a real server on loopback: body and headers, retries, the SSRF guard,
address pinning (plain and TLS) and the redaction of secret URLs."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alerts import http
from alerts.http import Attempt, HttpResult, OutboundError, RefusedTarget, encode_json, post_json, redact_url

from .receiver import Receiver, Reply

SECRET_PATH = "/services/T0001/B0002/s3cr3tT0k3n"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def statuses(attempts: list[Attempt]) -> list[int | None]:
    return [a.status for a in attempts]


# --- a successful request ---------------------------------------------------------------------


def test_post_json_sends_compact_json_with_headers(receiver: Receiver) -> None:
    receiver.script("/hook", Reply(200, "thanks"))
    payload = {"text": "héllo", "n": [1, 2]}

    result = post_json(receiver.url("/hook"), payload, headers={"X-Extra": "1"}, allow_private=True)

    assert isinstance(result, HttpResult)
    assert (result.status, result.body) == (200, "thanks")
    assert len(result.attempts) == 1
    assert result.attempts[0].error == ""
    assert result.attempts[0].response_excerpt == "thanks"
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.body == b'{"text":"h\\u00e9llo","n":[1,2]}' == encode_json(payload)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "dashbird-clone-notifier/1"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["x-extra"] == "1"


def test_attempts_keep_500_characters_of_the_response(receiver: Receiver) -> None:
    receiver.script("/big", Reply(200, "x" * 5000))
    result = post_json(receiver.url("/big"), {}, allow_private=True)
    assert result.attempts[0].response_excerpt == "x" * 500
    assert result.body == "x" * 5000


# --- retries --------------------------------------------------------------------------------------


def test_two_500s_then_200_succeeds_on_the_third_attempt(receiver: Receiver) -> None:
    receiver.script("/flaky", Reply(500, "boom"), Reply(500, "boom"), Reply(200, "ok"))

    result = post_json(receiver.url("/flaky"), {"a": 1}, backoff=0, allow_private=True)

    assert result.status == 200
    assert statuses(result.attempts) == [500, 500, 200]
    assert [a.error for a in result.attempts] == ["HTTP 500", "HTTP 500", ""]
    assert [a.response_excerpt for a in result.attempts] == ["boom", "boom", "ok"]
    assert all(a.duration_ms >= 0 for a in result.attempts)
    assert len(receiver.to("/flaky")) == 3


def test_always_500_fails_after_one_plus_retries_attempts(receiver: Receiver) -> None:
    receiver.script("/down", Reply(503, "unavailable"))

    with pytest.raises(OutboundError) as caught:
        post_json(receiver.url("/down"), {"a": 1}, retries=2, backoff=0, allow_private=True)

    assert caught.value.permanent is False
    assert caught.value.status == 503
    assert statuses(caught.value.attempts) == [503, 503, 503]
    assert len(receiver.to("/down")) == 3


def test_404_is_permanent_and_not_retried(receiver: Receiver) -> None:
    receiver.script("/gone", Reply(404, "no_service"))

    with pytest.raises(OutboundError) as caught:
        post_json(receiver.url("/gone"), {"a": 1}, backoff=0, allow_private=True)

    assert caught.value.permanent is True
    assert caught.value.status == 404
    assert statuses(caught.value.attempts) == [404]
    assert caught.value.attempts[0].response_excerpt == "no_service"
    assert len(receiver.to("/gone")) == 1


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_are_retried(receiver: Receiver, status: int) -> None:
    receiver.script("/busy", Reply(status, "slow down", {"Retry-After": "0"}), Reply(200))

    result = post_json(receiver.url("/busy"), {}, backoff=0, allow_private=True)

    assert statuses(result.attempts) == [status, 200]


def test_429_retry_after_is_honoured(receiver: Receiver) -> None:
    # backoff=0 would retry at once: the pause between the two requests comes from Retry-After.
    receiver.script("/limited", Reply(429, "", {"Retry-After": "1"}), Reply(200))

    result = post_json(receiver.url("/limited"), {}, backoff=0, allow_private=True)

    assert statuses(result.attempts) == [429, 200]
    assert result.attempts[0].duration_ms < 900


def test_retry_after_parsing_is_capped_at_30_seconds() -> None:
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10), usegmt=True)
    assert http._retry_after("0") == 0
    assert http._retry_after("2.5") == 2.5
    assert http._retry_after("3600") == 30
    assert 8 <= (http._retry_after(later) or 0) <= 10
    assert http._retry_after("soon") is None
    assert http._retry_after(None) is None


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    receiver.script("/moved", Reply(302, "", {"Location": receiver.url("/elsewhere")}))

    with pytest.raises(OutboundError) as caught:
        post_json(receiver.url("/moved"), {}, backoff=0, allow_private=True)

    assert caught.value.permanent is True
    assert statuses(caught.value.attempts) == [302]
    assert receiver.to("/elsewhere") == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_retried_and_described_without_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}{SECRET_PATH}"

    with pytest.raises(OutboundError) as caught:
        post_json(url, {}, retries=1, backoff=0, allow_private=True)

    assert caught.value.permanent is False
    assert statuses(caught.value.attempts) == [None, None]
    assert caught.value.attempts[0].error == "connection failed: Connection refused"
    assert "s3cr3t" not in str(caught.value)


def test_read_timeout_is_recorded_and_retried(receiver: Receiver) -> None:
    receiver.script(SECRET_PATH, Reply(200, delay=1.0))

    with pytest.raises(OutboundError) as caught:
        post_json(receiver.url(SECRET_PATH), {}, timeout=0.2, retries=1, backoff=0, allow_private=True)

    assert [a.error for a in caught.value.attempts] == ["read timeout", "read timeout"]
    assert len(receiver.to(SECRET_PATH)) == 2


def test_secret_paths_stay_out_of_errors_and_logs(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.script(SECRET_PATH, Reply(500, "internal"))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(OutboundError) as caught:
        post_json(receiver.url(SECRET_PATH), {}, retries=1, backoff=0, allow_private=True)

    assert str(caught.value) == f"POST http://127.0.0.1:{receiver.port}/… failed after 2 attempt(s): HTTP 500"
    assert "s3cr3t" not in caplog.text
    assert all("s3cr3t" not in a.error for a in caught.value.attempts)


def test_redact_url() -> None:
    assert redact_url("https://hooks.slack.com/services/T0/B0/xyz") == "https://hooks.slack.com/…"
    assert redact_url("https://x.logic.azure.com:443/workflows/1?sig=abc") == "https://x.logic.azure.com:443/…"
    assert redact_url("https://user:pw@example.com/") == "https://example.com/"
    assert redact_url("http://[::1]:8080/a") == "http://[::1]:8080/…"


# --- the SSRF guard ---------------------------------------------------------------------------


REFUSED = [
    "http://127.0.0.1:{port}/hook",
    "http://localhost:{port}/hook",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://10.0.0.1/hook",
    "http://192.168.1.10/hook",
    "http://[::1]:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped IPv6
    "http://[2002:a00:1::]/hook",  # 6to4 wrapping 10.0.0.1
    "http://[fe80::1]/hook",
    "http://0.0.0.0:{port}/hook",
    "http://2130706433:{port}/hook",  # 127.0.0.1 written as one number
    "http://100.64.0.1/hook",  # carrier-grade NAT, not global
    "http://224.0.0.1/hook",
    "http://user:pw@example.com/hook",
    "https://token@example.com/hook",
    "ftp://example.com/file",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/",
    "http:///no-host",
    "http://example.com:99999/",
]


@pytest.mark.parametrize("template", REFUSED)
def test_guard_refuses_by_default_and_sends_nothing(receiver: Receiver, template: str) -> None:
    url = template.format(port=receiver.port)

    with pytest.raises(RefusedTarget) as caught:
        post_json(url, {"a": 1})

    assert caught.value.permanent is True
    assert caught.value.attempts == []
    with pytest.raises(RefusedTarget):
        http.check_target(url)
    assert receiver.requests == []


def test_the_setting_allows_private_targets(receiver: Receiver, settings: Any) -> None:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
    assert post_json(receiver.url("/hook"), {}).status == 200
    # An explicit argument wins over the setting.
    with pytest.raises(RefusedTarget):
        post_json(receiver.url("/hook"), {}, allow_private=False)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("value", ["false", "0", "", False, None])
def test_falsy_setting_values_keep_the_guard_closed(receiver: Receiver, settings: Any, value: Any) -> None:
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = value
    with pytest.raises(RefusedTarget):
        post_json(receiver.url("/hook"), {})


def test_allow_private_still_refuses_credentials_and_other_schemes(receiver: Receiver) -> None:
    for url in (f"http://u:p@127.0.0.1:{receiver.port}/", f"ftp://127.0.0.1:{receiver.port}/"):
        with pytest.raises(RefusedTarget):
            post_json(url, {}, allow_private=True)
    assert receiver.requests == []


def test_any_private_address_among_the_answers_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    # A DNS name answering with a public and a private address is refused as a whole.
    monkeypatch.setattr(http, "_resolve", lambda host, port: ["93.184.215.14", "10.1.2.3"])
    with pytest.raises(RefusedTarget, match=r"10\.1\.2\.3"):
        http.check_target("https://mixed.example/")


def test_public_addresses_pass_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        http, "_resolve", lambda host, port: ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    )
    http.check_target("https://public.example/")


@pytest.mark.parametrize(("code", "permanent"), [(socket.EAI_NONAME, True), (socket.EAI_AGAIN, False)])
def test_dns_failures_raise_before_any_request(monkeypatch: pytest.MonkeyPatch, code: int, permanent: bool) -> None:
    def resolve(host: str, port: int) -> list[str]:
        raise socket.gaierror(code, "lookup failed")

    # "No such host" stays so; a resolver that could not answer (EAI_AGAIN) may answer later.
    monkeypatch.setattr(http, "_resolve", resolve)
    with pytest.raises(OutboundError) as caught:
        post_json("https://hooks.example.invalid/hook", {})
    assert not isinstance(caught.value, RefusedTarget)
    assert caught.value.permanent is permanent
    assert str(caught.value) == "could not resolve hooks.example.invalid"


def test_a_real_lookup_of_an_unknown_host_fails_cleanly() -> None:
    with pytest.raises(OutboundError, match="could not resolve"):
        post_json("https://no-such-host.invalid/hook", {})


# --- pinning: the connection goes to the address that was checked -------------------------


def test_connection_goes_to_the_checked_address_with_the_hostname_in_host(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        # A rebinding DNS server: the first answer is the one checked; later ones must not be used.
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.9.9.9"]

    monkeypatch.setattr(http, "_resolve", resolve)
    receiver.script("/hook", Reply(500), Reply(200))

    result = post_json(f"http://rebind.test:{receiver.port}/hook", {}, backoff=0, allow_private=True)

    assert statuses(result.attempts) == [500, 200]
    assert lookups == ["rebind.test"]
    assert [r.headers["host"] for r in receiver.requests] == [f"rebind.test:{receiver.port}"] * 2


def make_certificate(tmp_path: Path, hostname: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[Receiver, Path, list[str | None]]]:
    cert, key = make_certificate(tmp_path, "pinned.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    sni: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: sni.append(name)
    with Receiver(context) as running:
        yield running, cert, sni


def test_tls_to_a_pinned_address_keeps_sni_and_certificate_checks(
    tls_receiver: tuple[Receiver, Path, list[str | None]],
) -> None:
    receiver, ca, sni = tls_receiver
    session, _ = http._pinned_session("pinned.test", "127.0.0.1")
    session.verify = str(ca)

    # pinned.test resolves nowhere: the request can only reach the server through the pin.
    response = session.post(receiver.url("/hook", host="pinned.test"), data=b"{}", timeout=5)

    assert response.status_code == 200
    assert sni == ["pinned.test"]


def test_tls_certificate_for_another_name_is_rejected(tls_receiver: tuple[Receiver, Path, list[str | None]]) -> None:
    receiver, ca, _ = tls_receiver
    session, _ = http._pinned_session("other.test", "127.0.0.1")
    session.verify = str(ca)

    with pytest.raises(requests.exceptions.SSLError) as caught:
        session.post(receiver.url("/hook", host="other.test"), data=b"{}", timeout=5)

    assert http.describe_error(caught.value).startswith("TLS error: ")
    assert receiver.requests == []
