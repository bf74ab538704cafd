"""The one validation layer for what a request brings: query parameters, raw form fields
and the `next` address of a redirect.

Views never call `int()`, `float()` or `fromisoformat()` on request data themselves, and
never pass a raw string to a query: they ask this module, which either returns a clean,
bounded value or raises `InvalidInput`. `InvalidInputMiddleware` turns that exception into
a 400 — JSON `{"error": …}` under /api/, a page with the message elsewhere — so a bad
value is never a server error, and (with ATOMIC_REQUESTS) nothing the view wrote stays.

Rules, and why:
- Integers go through `int()` in try/except, then a range check: `str.isdigit()` accepts
  "²" (which `int()` refuses) and an unbounded id overflows PostgreSQL's bigint.
- Text loses its NUL characters (PostgreSQL text cannot store them: the query fails) and
  has a length limit; names that end up in mail headers also refuse line breaks.
- Floats must be finite: "nan" and "1e999" parse, but mean nothing as a threshold.
- Date-times are aware (UTC when no offset is given); a year 1 or 9999 value whose UTC
  conversion overflows is refused instead of raising OverflowError.
- Enumerations are checked against their choices.
Empty means "not given" everywhere, because an HTML form submits empty selects.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime
from typing import Any, overload

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

# The largest id PostgreSQL's bigint holds: anything larger cannot name a row of ours.
MAX_ID = 2**63 - 1
TEXT_MAX = 200


class InvalidInput(BadRequest):
    """A request value that cannot be used; the message says which and what is expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def raw(params: Any, name: str) -> str:
    """The value of `name` as text ("" when absent). Repeated parameters: the last wins,
    as with QueryDict.get; a plain dict holding a list (tests, JSON) is treated alike."""
    value = params.get(name, "") if params is not None else ""
    if isinstance(value, list | tuple):
        value = value[-1] if value else ""
    return "" if value is None else str(value)


def clean_text(value: str) -> str:
    return value.replace("\x00", "").strip()


def text(params: Any, name: str, *, default: str = "", max_length: int = TEXT_MAX) -> str:
    value = clean_text(raw(params, name))
    if not value:
        return default
    if len(value) > max_length:
        raise InvalidInput(f"{name} is too long: at most {max_length} characters.")
    return value


@overload
def integer(params: Any, name: str, *, default: int, min_value: int = ..., max_value: int = ...) -> int: ...
@overload
def integer(
    params: Any, name: str, *, default: None = None, min_value: int = ..., max_value: int = ...
) -> int | None: ...
def integer(
    params: Any, name: str, *, default: int | None = None, min_value: int = 0, max_value: int = MAX_ID
) -> int | None:
    value = clean_text(raw(params, name))
    if not value:
        return default
    if len(value) > 40:  # int() of a 100,000-digit string takes long and is never an id
        raise InvalidInput(f"{name} must be a whole number from {min_value} to {max_value}.")
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a whole number from {min_value} to {max_value}.") from exc
    if not min_value <= number <= max_value:
        raise InvalidInput(f"{name} must be a whole number from {min_value} to {max_value}.")
    return number


def number(
    params: Any, name: str, *, default: float | None = None, min_value: float = 0.0, max_value: float = 1e12
) -> float | None:
    value = clean_text(raw(params, name))
    if not value:
        return default
    try:
        parsed = float(value[:64])
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a number from {min_value:g} to {max_value:g}.") from exc
    if not math.isfinite(parsed) or not min_value <= parsed <= max_value:
        raise InvalidInput(f"{name} must be a number from {min_value:g} to {max_value:g}.")
    return parsed


def choice(params: Any, name: str, choices: Collection[str], *, default: str = "") -> str:
    value = clean_text(raw(params, name))
    if not value:
        return default
    if value not in choices:
        shown = ", ".join(sorted(choices)[:12]) + (", …" if len(choices) > 12 else "")
        raise InvalidInput(f"{name} must be one of: {shown}.")
    return value


def page(params: Any) -> int:
    """?page= of a paginated list (1 when absent); Paginator.get_page clamps a page past the end."""
    return integer(params, "page", default=1, min_value=1, max_value=1_000_000)


def flag(params: Any, name: str) -> bool:
    """Checkbox-style: "1" (or on/true/yes) is True, empty or "0" is False."""
    value = clean_text(raw(params, name)).lower()
    if value in {"", "0", "false", "off", "no"}:
        return False
    if value in {"1", "true", "on", "yes"}:
        return True
    raise InvalidInput(f"{name} must be 1 or 0.")


def day(params: Any, name: str) -> date | None:
    value = clean_text(raw(params, name))
    if not value:
        return None
    try:
        return date.fromisoformat(value[:32])
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a date, YYYY-MM-DD.") from exc


def parse_moment(value: str) -> datetime:
    """An ISO date or date-time as an aware UTC datetime; ValueError when it is not one
    (including one whose conversion to UTC leaves the calendar, such as year 1 at +14:00)."""
    try:
        parsed = datetime.fromisoformat(value.strip()[:64])
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except OverflowError as exc:
        raise ValueError(str(exc)) from exc


def moment(params: Any, name: str) -> datetime | None:
    value = clean_text(raw(params, name))
    if not value:
        return None
    try:
        return parse_moment(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be an ISO date or time, e.g. 2025-01-31 or 2025-01-31T14:00.") from exc


# --- names shown in mail headers and lists --------------------------------------------------


def reject_control_characters(value: str) -> None:
    """A name is one line: a CR or LF in it would break the e-mail subject it ends up in."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValidationError("Use one line of text, without control characters.", code="control_characters")


class LineField(forms.CharField):
    """A single-line name: stripped, NUL-free (CharField refuses NUL), no line breaks."""

    default_validators = [reject_control_characters]


def one_line(value: str) -> str:
    """Any text, made safe for an e-mail header (names stored before the rule existed)."""
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in value).split())


# --- redirects ------------------------------------------------------------------------------------


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` address of the request (POST, else GET) when it stays on this site, else `fallback`."""
    candidate = clean_text(raw(request.POST, "next")) if request.method == "POST" else ""
    candidate = candidate or clean_text(raw(request.GET, "next"))
    # Only a path on this site: "/settings/". Not "//evil.example" or "https://evil.example"
    # (an open redirect), not a bare word (which redirect() would try as a view name).
    if (
        candidate.startswith("/")
        and len(candidate) <= 2000
        and not any(unicodedata.category(c) == "Cc" for c in candidate)
        and url_has_allowed_host_and_scheme(candidate, allowed_hosts=None, require_https=request.is_secure())
    ):
        return candidate
    return fallback


# --- turning InvalidInput into a 400 ----------------------------------------------------------------


def bad_request_response(request: HttpRequest, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message}, status=400)
    return render(request, "400.html", {"message": message}, status=400)


class InvalidInputMiddleware:
    """Renders `InvalidInput` raised by a view as a 400, in DEBUG too (the message is the point).

    It also refuses, before anything reads them, a path or header holding a NUL: no HTTP
    client sends one (header values may not hold it), and allauth stores the User-Agent
    as it comes, which PostgreSQL refuses with a server error.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info or any(
            "\x00" in value for key, value in request.META.items() if key.startswith("HTTP_") and isinstance(value, str)
        ):
            return bad_request_response(request, "The request has a NUL character in its path or a header.")
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, InvalidInput):
            return bad_request_response(request, exception.message)
        return None


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's own 400s (a malformed body, too many fields) get the same page."""
    message = str(exception) if isinstance(exception, InvalidInput) else "The request could not be understood."
    return bad_request_response(request, message)


def form_errors(form: forms.Form) -> str:
    """A form's errors as one sentence for a flash message: "name: This field is required."."""
    parts = []
    for field, errors in form.errors.items():
        label = "" if field == "__all__" else f"{form.fields[field].label or field}: " if field in form.fields else ""
        parts.append(label + " ".join(str(e) for e in errors))
    return " ".join(parts)
