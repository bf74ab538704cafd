"""Email: the exact message, Django's locmem outbox, and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller

from alerts.channels import ChannelError, ConfigError, get_kind

from .receiver import sample_notice

mail = get_kind("email")
CONFIG = {"recipients": ["ops@acme.test", "oncall@acme.test"]}


def test_payload_is_subject_text_html_and_recipients() -> None:
    notice = sample_notice(summary="a <b> & c", fields={"value": "12.5 %"})
    assert mail.payload(notice, CONFIG) == {
        "subject": "[Dashbird] Incident opened: Error rate 12.5 % on orders-create",
        "text": (
            "Incident opened — critical\n"
            "\n"
            "Error rate 12.5 % on orders-create\n"
            "a <b> & c\n"
            "\n"
            "Resource: orders-create\n"
            "Rule: Errors above 5 %\n"
            "value: 12.5 %\n"
            "\n"
            "Open in Dashbird: https://dashbird.example.com/alerts/incidents/42/\n"
            "\n"
            "Acme · 2026-01-02T03:04:05Z\n"
        ),
        "html": (
            '<!doctype html><html><body style="font-family:sans-serif">'
            '<p style="color:#d92d20;font-weight:bold">Incident opened — critical</p>'
            "<h2>Error rate 12.5 % on orders-create</h2>"
            "<p>a &lt;b&gt; &amp; c</p>"
            "<table>"
            '<tr><th align="left" style="padding:2px 12px 2px 0">Resource</th><td>orders-create</td></tr>'
            '<tr><th align="left" style="padding:2px 12px 2px 0">Rule</th><td>Errors above 5 %</td></tr>'
            '<tr><th align="left" style="padding:2px 12px 2px 0">value</th><td>12.5 %</td></tr>'
            "</table>"
            '<p><a href="https://dashbird.example.com/alerts/incidents/42/">Open in Dashbird</a></p>'
            '<p style="color:#667085;font-size:12px">Acme · 2026-01-02T03:04:05Z</p>'
            "</body></html>"
        ),
        "to": ["ops@acme.test", "oncall@acme.test"],
    }


def test_html_escapes_everything_from_the_notice() -> None:
    notice = sample_notice(
        title="<script>alert(1)</script>",
        organization="O'Brien & Co",
        resource='"><img src=x>',
        fields={"<k>": "<v>"},
    )
    html = mail.payload(notice, CONFIG)["html"]
    assert "<script>" not in html and "<img" not in html and "<k>" not in html
    assert "&lt;script&gt;" in html and "O&#x27;Brien &amp; Co" in html


def test_subject_is_one_line() -> None:
    subject = mail.payload(sample_notice(title="line one\nBcc: victim@example.com"), CONFIG)["subject"]
    assert subject == "[Dashbird] Incident opened: line one Bcc: victim@example.com"


def test_resolved_is_green() -> None:
    assert "#12b76a" in mail.payload(sample_notice(kind="resolved"), CONFIG)["html"]


def test_recipients_validation() -> None:
    assert mail.validate_config({"recipients": "a@x.test;b@x.test\n A@X.test "}) == {
        "recipients": ["a@x.test", "b@x.test"]
    }
    with pytest.raises(ConfigError, match=r"^Recipients: 'not-an-address' is not a valid email address$"):
        mail.validate_config({"recipients": ["ok@x.test", "not-an-address"]})
    with pytest.raises(ConfigError, match=r"^Recipients: at least one email address is required$"):
        mail.validate_config({"recipients": []})
    with pytest.raises(ConfigError, match="at most 50"):
        mail.validate_config({"recipients": [f"u{i}@x.test" for i in range(51)]})


def test_send_through_the_locmem_outbox(mailoutbox: list[Any], settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "Dashbird <alerts@dashbird.test>"
    notice = sample_notice()

    attempts = mail.send(notice, CONFIG)

    assert [(a.status, a.error) for a in attempts] == [(None, "")]
    [message] = mailoutbox
    body = mail.payload(notice, CONFIG)
    assert message.subject == body["subject"]
    assert message.body == body["text"]
    assert message.alternatives == [(body["html"], "text/html")]
    assert message.to == CONFIG["recipients"]
    assert message.from_email == "Dashbird <alerts@dashbird.test>"
    assert message.extra_headers["X-Dashbird-Dedup-Key"] == "dashbird-incident-42"


# --- a real SMTP server -------------------------------------------------------------------------


@dataclass
class Handler:
    """Records messages; `refuse_rcpt` answers RCPT TO with that SMTP reply instead."""

    refuse_rcpt: str | None = None
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class EphemeralController(Controller):
    """aiosmtpd on port 0: learns the port the OS picked before its readiness probe connects."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = cast(asyncio.Server, self.server).sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp(settings: Any) -> Iterator[Handler]:
    handler = Handler()
    controller = EphemeralController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Dashbird <alerts@dashbird.test>"
    try:
        yield handler
    finally:
        controller.stop()


def test_send_through_a_real_smtp_server(smtp: Handler) -> None:
    notice = sample_notice(kind="resolved")

    attempts = mail.send(notice, CONFIG)

    assert [a.error for a in attempts] == [""]
    [(sender, recipients, raw)] = smtp.messages
    assert sender == "alerts@dashbird.test"
    assert recipients == CONFIG["recipients"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = mail.payload(notice, CONFIG)
    assert message["Subject"] == body["subject"]
    assert message["To"] == "ops@acme.test, oncall@acme.test"
    assert message["X-Dashbird-Dedup-Key"] == "dashbird-incident-42"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == body["text"]
    assert html.get_content().rstrip("\n") == body["html"]


def test_smtp_5xx_refusal_is_permanent(smtp: Handler) -> None:
    smtp.refuse_rcpt = "550 5.1.1 No such user"

    with pytest.raises(ChannelError) as caught:
        mail.send(sample_notice(), CONFIG)

    assert caught.value.permanent is True
    [attempt] = caught.value.attempts
    assert (attempt.status, attempt.error) == (550, "SMTP refused every recipient (2)")
    assert smtp.messages == []


def test_smtp_4xx_refusal_is_transient(smtp: Handler) -> None:
    smtp.refuse_rcpt = "451 4.3.0 Try again later"

    with pytest.raises(ChannelError) as caught:
        mail.send(sample_notice(), CONFIG)

    assert caught.value.permanent is False
    assert caught.value.attempts[0].status == 451


def test_unreachable_smtp_server_is_transient(settings: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5

    with pytest.raises(ChannelError) as caught:
        mail.send(sample_notice(), CONFIG)

    assert caught.value.permanent is False
    assert [(a.status, a.error) for a in caught.value.attempts] == [(None, "connection failed: Connection refused")]
