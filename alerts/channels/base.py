"""What every notification channel shares: the Notice it formats, its errors, its base class."""

from __future__ import annotations

import abc
import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.conf import settings

from alerts.http import Attempt, OutboundError, allow_private_default, post_json

NOTICE_KINDS = ("opened", "resolved", "reopened", "occurred", "test")
SEVERITIES = ("critical", "warning", "info")
FALSE_STRINGS = frozenset({"false", "0", "no", "off"})

KIND_LABELS = {
    "opened": "Incident opened",
    "reopened": "Incident reopened",
    "resolved": "Incident resolved",
    "occurred": "Error occurred again",
    "test": "Test notification",
}


@dataclass(frozen=True)
class Notice:
    """What every channel formats: one event of one incident, already worded."""

    kind: str  # "opened" | "resolved" | "reopened" | "occurred" (every-occurrence rules) | "test"
    title: str
    summary: str
    severity: str  # "critical" | "warning" | "info"
    organization: str
    url: str  # the incident page in the dashboard
    incident_id: int | None
    dedup_key: str  # stable per (rule, resource) incident, e.g. "dashbird-incident-42"
    resource: str | None
    rule: str | None
    fields: dict[str, str]  # value, threshold, window, account, region…
    occurred_at: str  # ISO 8601 UTC

    def __post_init__(self) -> None:
        # Fail where the Notice is built, not in the middle of a channel's formatting.
        if self.kind not in NOTICE_KINDS:
            raise ValueError(f"Notice.kind must be one of {', '.join(NOTICE_KINDS)}, not {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"Notice.severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def facts(self) -> list[tuple[str, str]]:
        """Resource and rule first, then the extra fields, as (name, value) pairs."""
        facts = [("Resource", self.resource), ("Rule", self.rule)]
        return [(name, value) for name, value in facts if value] + [(k, str(v)) for k, v in self.fields.items()]


@dataclass(frozen=True)
class Delivery:
    """How one send runs. The dispatcher uses each kind's defaults (`ChannelKind.delivery()`);
    a channel test runs one short attempt. `aws_credentials` are the temporary credentials
    of the customer role an SNS channel publishes through (aws.clients.Credentials)."""

    timeout: float  # seconds per attempt (HTTP read, SMTP socket, SNS read)
    retries: int  # further attempts after the first
    backoff: float  # base of the exponential pause between attempts
    aws_credentials: Any = None


class ChannelError(Exception):
    """A delivery that failed. `permanent`: retrying the same config cannot succeed."""

    def __init__(self, message: str, *, permanent: bool = False, attempts: list[Attempt] | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.attempts: list[Attempt] = attempts if attempts is not None else []


class ConfigError(ChannelError, ValueError):
    """An invalid channel configuration: a ValueError for forms, a permanent ChannelError for
    the dispatcher. The message starts with the field's label; `field` names the form field."""

    def __init__(self, field_name: str, message: str, *, label: str | None = None) -> None:
        super().__init__(f"{label or field_name}: {message}", permanent=True)
        self.field = field_name
        self.detail = message


class ChannelForm(forms.Form):
    """Base of every kind's configuration form: `clean()` runs the kind's `validate_config`,
    and the cleaned configuration (what to store) is `form.config`."""

    channel_kind: ClassVar[str]

    def __init__(self, *args: Any, stored: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """`stored`: the configuration being edited. Its secrets are write-only: never sent
        back to the browser, shown masked, kept when their field is left empty."""
        if stored is not None and "initial" not in kwargs:
            secrets = get_registered(self.channel_kind).secret_fields
            kwargs["initial"] = {k: v for k, v in self.initial_from_config(stored).items() if k not in secrets}
        super().__init__(*args, **kwargs)
        self.config: dict[str, Any] = {}
        self.stored = stored
        if stored is None:
            return
        for name in get_registered(self.channel_kind).secret_fields:
            field = self.fields.get(name)
            if field is None:
                continue
            field.required = False
            field.widget = forms.PasswordInput(
                render_value=False, attrs={"placeholder": mask(stored.get(name)), "autocomplete": "off"}
            )
            field.help_text = f"Stored as {mask(stored.get(name))}: leave empty to keep it. {field.help_text}".strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        if self.stored is not None:
            for name in get_registered(self.channel_kind).secret_fields:
                if not cleaned.get(name) and name in self.stored:
                    cleaned[name] = self.stored[name]
        try:
            self.config = get_registered(self.channel_kind).validate_config(cleaned)
        except ConfigError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.detail)
        except ValueError as exc:
            self.add_error(None, str(exc))
        return cleaned

    @classmethod
    def initial_from_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Initial form data for editing a stored configuration."""
        return dict(config)


class ChannelKind(abc.ABC):
    """One kind of channel. Instances are stateless; `config` is what `validate_config` returned."""

    kind: ClassVar[str]
    label: ClassVar[str]
    env_flag: ClassVar[str]
    form_class: ClassVar[type[ChannelForm]]
    # Config keys the UI must not echo back in full (webhook URLs, keys, signing secrets).
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # Passed to post_json by the HTTP kinds: worst case ~4 × 10 s plus the pauses between.
    http_timeout: float = 10.0
    http_retries: int = 3
    http_backoff: float = 0.5

    def enabled(self) -> bool:
        """Enabled unless the Django setting (or else the environment variable) says false."""
        value = getattr(settings, self.env_flag, None)
        if value is None:
            value = os.environ.get(self.env_flag)
        if value is None:
            return True
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() not in FALSE_STRINGS

    @abc.abstractmethod
    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The cleaned configuration, or ConfigError naming the field."""

    @abc.abstractmethod
    def payload(self, notice: Notice, config: dict[str, Any]) -> Any:
        """Exactly what `send` delivers (pure, so tests can compare it)."""

    @abc.abstractmethod
    def send(self, notice: Notice, config: dict[str, Any], delivery: Delivery | None = None) -> list[Attempt]:
        """Deliver (with `delivery`, else `self.delivery()`); the attempts on success,
        ChannelError on failure."""

    def delivery(self, **changes: Any) -> Delivery:
        """This kind's default timeout and retries, with `changes` applied."""
        return dataclasses.replace(Delivery(self.http_timeout, self.http_retries, self.http_backoff), **changes)

    def describe(self, config: dict[str, Any]) -> str:
        """A one-line description of a configuration that is safe to show and log."""
        return self.label

    # --- helpers for the kinds -----------------------------------------------------------------

    def _field(self, config: dict[str, Any], name: str, check: Callable[[Any], Any]) -> Any:
        """`check(config[name])`, its ValueError turned into a ConfigError naming the field."""
        form_field = self.form_class.base_fields.get(name)
        label = str(form_field.label) if form_field is not None and form_field.label else name
        try:
            return check(config.get(name))
        except ConfigError:
            raise
        except ValueError as exc:
            raise ConfigError(name, str(exc), label=label) from None

    def _post(
        self,
        url: str,
        body: Any,
        *,
        delivery: Delivery | None = None,
        headers: dict[str, str] | None = None,
        what: str | None = None,
    ) -> list[Attempt]:
        delivery = delivery or self.delivery()
        try:
            result = post_json(
                url,
                body,
                headers=headers,
                timeout=delivery.timeout,
                retries=delivery.retries,
                backoff=delivery.backoff,
            )
        except OutboundError as exc:
            # OutboundError messages are already redacted (no webhook paths).
            raise ChannelError(f"{what or self.label}: {exc}", permanent=exc.permanent, attempts=exc.attempts) from exc
        return result.attempts


def require_https() -> bool:
    """https is required for webhook URLs, except where private targets are allowed
    (ALERTS_ALLOW_PRIVATE_TARGETS = True: on-premises receivers and the test receiver)."""
    return not allow_private_default()


def required_text(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValueError("is required")
    return text


_registry: dict[str, ChannelKind] = {}


def register(cls: type[ChannelKind]) -> type[ChannelKind]:
    """Class decorator: adds one instance of the kind to the registry under `cls.kind`."""
    if cls.kind in _registry:
        raise RuntimeError(f"channel kind {cls.kind!r} registered twice")
    _registry[cls.kind] = cls()
    return cls


def get_registered(kind: str) -> ChannelKind:
    return _registry[kind]


def mask(value: Any) -> str:
    """A stored secret as the UI may show it: dots and, for a long one, its last four characters."""
    text = str(value or "")
    if not text:
        return "(not set)"
    return "••••••••" + (text[-4:] if len(text) >= 16 else "")


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def emoji(notice: Notice) -> str:
    if notice.kind == "resolved":
        return "✅"
    return {"critical": "🔴", "warning": "🟠", "info": "🔵"}[notice.severity]
