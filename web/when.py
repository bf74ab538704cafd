"""Times as the reader wants them: their time zone and their date format, everywhere.

The time zone is Django's current one (activated per request for the signed-in user, and
per recipient around a digest's rendering); the date format is activated the same way
here. Templates write `{{ value|when }}` (or `|when:"seconds"`, `"ms"`, `"date"`, `"time"`,
`"time_ms"`) and never spell a format themselves, so one preference changes every page.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from asgiref.local import Local
from django import template
from django.utils import timezone

ISO, DAY_MONTH, US = "iso", "dmy", "us"
FORMATS = (ISO, DAY_MONTH, US)
STYLES = ("", "seconds", "ms", "date", "time", "time_ms")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Per thread and per asyncio task, like Django's own active time zone.
_active = Local()


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The named zone; UTC for a name this machine's tz database does not know (a zone
    removed since it was chosen must not break every page)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def activate(date_format: str) -> None:
    _active.value = date_format if date_format in FORMATS else ISO


def deactivate() -> None:
    if hasattr(_active, "value"):
        del _active.value


def active() -> str:
    return getattr(_active, "value", ISO)


@contextmanager
def override(date_format: str) -> Iterator[None]:
    previous = getattr(_active, "value", None)
    activate(date_format)
    try:
        yield
    finally:
        if previous is None:
            deactivate()
        else:
            _active.value = previous


def _day(value: date, date_format: str) -> str:
    if date_format == US:
        return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"
    if date_format == DAY_MONTH:
        return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year:04d}"
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _clock(value: datetime, date_format: str, precision: str) -> str:
    hour = value.hour
    suffix = ""
    if date_format == US:
        hour, suffix = (hour % 12 or 12), (" PM" if value.hour >= 12 else " AM")
        text = f"{hour}:{value.minute:02d}"
    else:
        text = f"{hour:02d}:{value.minute:02d}"
    if precision in ("seconds", "ms"):
        text += f":{value.second:02d}"
    if precision == "ms":
        text += f".{value.microsecond // 1000:03d}"
    return text + suffix


def format_when(value: date | datetime, style: str = "", date_format: str = ISO) -> str:
    """`value` (already in the reader's time zone) in `date_format`, at `style` precision."""
    if not isinstance(value, datetime):
        return _day(value, date_format)
    if style == "date":
        return _day(value, date_format)
    if style in ("time", "time_ms"):
        return _clock(value, date_format, "ms" if style == "time_ms" else "seconds")
    return f"{_day(value, date_format)} {_clock(value, date_format, style)}"


register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def when(value: Any, style: str = "") -> str:
    """A date or time in the reader's zone and format; empty for None, so that
    `|when|default:"never"` reads naturally."""
    if not isinstance(value, date):
        return ""
    if style not in STYLES:
        raise template.TemplateSyntaxError(f"when: unknown style {style!r}; use one of {STYLES}")
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_when(value, style, active())


@register.simple_tag
def time_zone_label() -> str:
    """The reader's time zone, to write next to times (instead of a fixed "UTC")."""
    return timezone.get_current_timezone_name()
