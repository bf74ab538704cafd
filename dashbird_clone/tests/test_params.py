"""The validation layer's rules, value by value, and the client address."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django import forms
from django.test import RequestFactory

from web import params
from web.client_address import client_ip


@pytest.mark.parametrize(
    ("raw", "expected"), [("7", 7), (" 7 ", 7), ("0", 0), ("", None), ("\x007", 7), (["3", "4"], 4)]
)
def test_integers_parse_with_int(raw: Any, expected: int | None) -> None:
    assert params.integer({"n": raw}, "n") == expected


@pytest.mark.parametrize("raw", ["²", "½", "1.5", "0x10", "-1", "9" * 50, str(2**63), "1e3", "one"])
def test_anything_else_is_not_an_integer(raw: str) -> None:
    with pytest.raises(params.InvalidInput, match="n must be a whole number"):
        params.integer({"n": raw}, "n")


def test_integer_bounds_and_defaults() -> None:
    assert params.integer({}, "hour", default=8, min_value=0, max_value=23) == 8
    with pytest.raises(params.InvalidInput, match="from 0 to 23"):
        params.integer({"hour": "24"}, "hour", default=8, min_value=0, max_value=23)


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1e309", "abc", "-1"])
def test_numbers_are_finite_and_in_range(raw: str) -> None:
    with pytest.raises(params.InvalidInput):
        params.number({"x": raw}, "x")
    assert params.number({"x": "1.5"}, "x") == 1.5


def test_text_loses_nul_and_has_a_limit() -> None:
    assert params.text({"q": " a\x00b "}, "q") == "ab"
    assert params.text({"q": "\x00"}, "q", default="d") == "d"
    with pytest.raises(params.InvalidInput, match="at most 5"):
        params.text({"q": "x" * 6}, "q", max_length=5)


def test_choices_are_checked() -> None:
    assert params.choice({"s": "open"}, "s", ["open", "resolved"]) == "open"
    assert params.choice({}, "s", ["open"], default="open") == "open"
    with pytest.raises(params.InvalidInput, match="s must be one of: open, resolved"):
        params.choice({"s": "Open"}, "s", ["open", "resolved"])


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("on", True), ("", False), ("0", False)])
def test_flags(raw: str, expected: bool) -> None:
    assert params.flag({"f": raw}, "f") is expected


def test_a_flag_is_not_any_text() -> None:
    with pytest.raises(params.InvalidInput):
        params.flag({"f": "maybe"}, "f")


def test_moments_are_aware_utc_and_never_overflow() -> None:
    assert params.moment({"t": "2025-01-31"}, "t") == datetime(2025, 1, 31, tzinfo=UTC)
    assert params.moment({"t": "2025-01-31T14:00+02:00"}, "t") == datetime(2025, 1, 31, 12, tzinfo=UTC)
    for raw in ("0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "2025-02-30", "garbage"):
        with pytest.raises(params.InvalidInput, match="ISO date"):
            params.moment({"t": raw}, "t")


def test_days() -> None:
    assert params.day({"d": "2025-01-31"}, "d") == date(2025, 1, 31)
    with pytest.raises(params.InvalidInput, match="YYYY-MM-DD"):
        params.day({"d": "31/01/2025"}, "d")


def test_names_are_one_line() -> None:
    class NameForm(forms.Form):
        name = params.LineField(max_length=20)

    assert NameForm({"name": " Acme "}).is_valid()
    assert not NameForm({"name": "Acme\r\nBcc: x@example.com"}).is_valid()
    assert not NameForm({"name": "Ac\x00me"}).is_valid()
    assert params.one_line("Acme\r\nBcc:\tx") == "Acme Bcc: x"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/settings/?tab=1", "/settings/?tab=1"),
        ("https://evil.example/", "/home/"),
        ("//evil.example/", "/home/"),
        ("/\\evil.example", "/home/"),
        ("settings", "/home/"),
        ("/ok\r\nLocation: x", "/home/"),
        ("javascript:alert(1)", "/home/"),
    ],
)
def test_next_stays_on_the_site(rf: RequestFactory, target: str, expected: str) -> None:
    assert params.safe_next(rf.post("/", {"next": target}), "/home/") == expected
    assert params.safe_next(rf.get("/", {"next": target}), "/home/") == expected


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "expected"),
    [
        (0, "198.51.100.1", "127.0.0.1", "127.0.0.1"),
        (1, "10.0.0.9, 198.51.100.1", "127.0.0.1", "198.51.100.1"),
        (2, "10.0.0.9, 198.51.100.1", "127.0.0.1", "10.0.0.9"),
        (1, "garbage", "127.0.0.1", "127.0.0.1"),
        (1, "", "192.0.2.1", "192.0.2.1"),
        (1, "2001:DB8::1", "127.0.0.1", "2001:db8::1"),
        (0, "", "", None),
        (0, "", "not-an-ip", None),
    ],
)
def test_the_client_address(
    rf: RequestFactory, settings: Any, proxies: int, forwarded: str, remote: str, expected: str | None
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    assert client_ip(request) == expected
