"""Email: one message with a plain-text and an HTML part, through Django's email backend
(EMAIL_URL / EMAIL_BACKEND). One SMTP attempt per send; the dispatcher retries.

Recipients who are not members of the organisation receive nothing until they confirm
their address (alerts.services filters the configuration before `send`)."""

from __future__ import annotations

import os
import re
import smtplib
import time
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.utils.html import escape

from alerts.http import Attempt

from .base import ChannelError, ChannelForm, ChannelKind, Delivery, Notice, register

MAX_RECIPIENTS = 50
SUBJECT_PREFIX = "[Dashbird]"
SEVERITY_COLORS = {"critical": "#d92d20", "warning": "#f79009", "info": "#2e90fa"}
RESOLVED_COLOR = "#12b76a"


class EmailForm(ChannelForm):
    channel_kind = "email"
    recipients = forms.CharField(
        label="Recipients",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Email addresses, one per line or separated by commas (at most {MAX_RECIPIENTS}).",
    )

    @classmethod
    def initial_from_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {"recipients": "\n".join(config.get("recipients", []))}


def _recipients(value: Any) -> list[str]:
    # The form gives one string; a stored config gives a list. Both end as a list.
    items = re.split(r"[,;\s]+", value) if isinstance(value, str) else list(value or [])
    addresses: list[str] = []
    seen: set[str] = set()
    for item in items:
        address = str(item).strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            raise ValueError(f"{address!r} is not a valid email address") from None
        if address.lower() not in seen:
            seen.add(address.lower())
            addresses.append(address)
    if not addresses:
        raise ValueError("at least one email address is required")
    if len(addresses) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} addresses")
    return addresses


def _one_line(text: str) -> str:
    # Newlines in a Subject header are header injection; Django would refuse the message.
    return " ".join(text.split())


@register
class EmailChannel(ChannelKind):
    kind = "email"
    label = "Email"
    env_flag = "ALERTS_CHANNEL_EMAIL"
    form_class = EmailForm

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"recipients": self._field(config, "recipients", _recipients)}

    def describe(self, config: dict[str, Any]) -> str:
        return f"Email to {', '.join(config.get('recipients', []))}"

    def payload(self, notice: Notice, config: dict[str, Any]) -> dict[str, Any]:
        subject = _one_line(f"{SUBJECT_PREFIX} {notice.label}: {notice.title}")
        facts = notice.facts()
        text_lines = [
            f"{notice.label} — {notice.severity}",
            "",
            notice.title,
            notice.summary,
            "",
            *(f"{name}: {value}" for name, value in facts),
            *([""] if facts else []),
            f"Open in Dashbird: {notice.url}",
            "",
            f"{notice.organization} · {notice.occurred_at}",
        ]
        color = RESOLVED_COLOR if notice.kind == "resolved" else SEVERITY_COLORS[notice.severity]
        rows = "".join(
            f'<tr><th align="left" style="padding:2px 12px 2px 0">{escape(name)}</th><td>{escape(value)}</td></tr>'
            for name, value in facts
        )
        html = (
            '<!doctype html><html><body style="font-family:sans-serif">'
            f'<p style="color:{color};font-weight:bold">{escape(notice.label)} — {escape(notice.severity)}</p>'
            f"<h2>{escape(notice.title)}</h2>"
            f"<p>{escape(notice.summary)}</p>"
            + (f"<table>{rows}</table>" if rows else "")
            + f'<p><a href="{escape(notice.url)}">Open in Dashbird</a></p>'
            f'<p style="color:#667085;font-size:12px">{escape(notice.organization)} · {escape(notice.occurred_at)}</p>'
            "</body></html>"
        )
        return {"subject": subject, "text": "\n".join(text_lines) + "\n", "html": html, "to": config["recipients"]}

    def send(self, notice: Notice, config: dict[str, Any], delivery: Delivery | None = None) -> list[Attempt]:
        config = self.validate_config(config)
        delivery = delivery or self.delivery()
        body = self.payload(notice, config)
        message = EmailMultiAlternatives(
            # One SMTP attempt, bounded: a mail server that never answers must not hold a worker.
            connection=get_connection(timeout=delivery.timeout),
            subject=body["subject"],
            body=body["text"],
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=body["to"],
            # Opened, reopened and resolved messages of one incident carry the same key, so
            # mail filters and ticket systems can group them.
            headers={"X-Dashbird-Dedup-Key": notice.dedup_key},
        )
        message.attach_alternative(body["html"], "text/html")
        started = time.monotonic()
        try:
            sent = message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            attempt = Attempt(_smtp_code(exc), _smtp_error(exc), _ms(started), "")
            raise ChannelError(f"Email: {attempt.error}", permanent=_permanent(exc), attempts=[attempt]) from exc
        attempt = Attempt(None, "", _ms(started), f"accepted for {len(body['to'])} recipient(s)" if sent else "")
        if not sent:
            attempt.error = "the email backend sent nothing"
            raise ChannelError("Email: the email backend sent nothing", attempts=[attempt])
        return [attempt]


def _smtp_code(exc: BaseException) -> int | None:
    if isinstance(exc, smtplib.SMTPResponseException):
        return int(exc.smtp_code)
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        return int(next(iter(exc.recipients.values()))[0])
    return None


def _smtp_error(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"SMTP refused every recipient ({len(exc.recipients)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code}: {_one_line(message)[:200]}"
    if isinstance(exc, smtplib.SMTPException):
        return f"SMTP error: {type(exc).__name__}"
    if isinstance(exc, OSError) and exc.errno:
        return f"connection failed: {os.strerror(exc.errno)}"
    return f"connection failed: {type(exc).__name__}"


def _permanent(exc: BaseException) -> bool:
    # SMTP 5xx replies (bad recipient, authentication refused) stay so; 4xx and network errors pass.
    code = _smtp_code(exc)
    return code is not None and code >= 500


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
