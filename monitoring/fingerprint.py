"""Error grouping (pure): one bug is one fingerprint, whatever ids and numbers it prints.

Fingerprint = function + kind + error type + normalised message + normalised top frames.
Normalising removes what changes between occurrences of the same bug: UUIDs, hex, numbers,
quoted values, e-mail addresses, URLs and paths' variable parts, and line numbers in frames.
"""

from __future__ import annotations

import hashlib
import re

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>"),
    (re.compile(r"\b1-[0-9a-f]{8}-[0-9a-f]{24}\b"), "<trace>"),
    (re.compile(r"arn:aws[\w-]*:[\w-]+:[\w-]*:\d*:[^\s'\"]+"), "<arn>"),
    (re.compile(r"https?://[^\s'\"]+"), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*'"), "<str>"),
    (re.compile(r"(?:/[\w.@+-]+){2,}"), "<path>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}\b"), "<hex>"),
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "<n>"),
    (re.compile(r"\s+"), " "),
]
_FRAME_LINE = re.compile(r"(:\d+(?::\d+)?\)?|line \d+|\+0x[0-9a-f]+)")


def normalise_message(message: str | None) -> str:
    text = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.strip()[:500]


def normalise_frame(frame: str) -> str:
    return _FRAME_LINE.sub("", frame.strip())[:300]


def error_key(*, error_type: str | None, message: str | None, frames: list[str]) -> tuple[str, ...]:
    """What makes two failures of one function the same bug: the error type, the normalised
    message and the normalised top three frames. The one definition of an error group."""
    return (error_type or "", normalise_message(message), *(normalise_frame(f) for f in frames[:3]))


def fingerprint(*, resource_id: int, kind: str, error_type: str | None, message: str | None, frames: list[str]) -> str:
    parts = [str(resource_id), kind, *error_key(error_type=error_type, message=message, frames=frames)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
