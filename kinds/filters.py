"""An account's include/exclude filters: which discovered resources are collected (pure).

A filter is a shell-style glob on the resource's name (`orders-*`, `*-dev`) or a tag filter
`key=value` whose value may be a glob too (`env=prod`, `team=*`). A resource is collected
when no include filter is set or one of them matches, and no exclude filter matches.

Where it applies (docs/collection.md, "Filters"): describers ask `Context.wanted` right
after their listing, before any detail read; name filters decide there. Most listings do
not carry tags (API Gateway's do), so a tag filter on such a kind is decided after the
describer has read the resource, before it is stored: an excluded resource costs its
discovery reads but never a metric or log call.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_FILTERS = 50
MAX_LENGTH = 256
# Tag keys: letters, digits, spaces and + - = . _ : / @ (AWS's own rule), at most 128.
_TAG_KEY = re.compile(r"^[\w .:/+\-@]{1,128}$")
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")


@dataclass(frozen=True)
class Filter:
    text: str
    pattern: str
    tag_key: str | None = None  # None: a name glob

    def matches(self, name: str, tags: Mapping[str, str] | None) -> bool | None:
        """Whether it matches; None when it is a tag filter and the tags are not known."""
        if self.tag_key is None:
            return fnmatch.fnmatchcase(name, self.pattern)
        if tags is None:
            return None
        value = tags.get(self.tag_key)
        return value is not None and fnmatch.fnmatchcase(str(value), self.pattern)


def parse_filter(text: str) -> Filter:
    """One filter as typed; ValueError with a message for people."""
    text = text.strip()
    if not text:
        raise ValueError("A filter cannot be empty.")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"“{text[:40]}…” is longer than {MAX_LENGTH} characters.")
    if not _PRINTABLE.match(text):
        raise ValueError("A filter cannot contain control characters.")
    if "=" not in text:
        return Filter(text=text, pattern=text)
    key, _, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not key:
        raise ValueError(f"“{text}” has no tag key before “=” (expected key=value, e.g. env=prod).")
    if not _TAG_KEY.match(key):
        raise ValueError(
            f"“{key}” is not a tag key (up to 128 letters, digits, spaces and + - = . _ : / @ characters)."
        )
    if not value:
        raise ValueError(f"“{text}” has no value after “=” (use {key}=* for any value).")
    return Filter(text=f"{key}={value}", pattern=value, tag_key=key)


def parse_filters(lines: Iterable[str]) -> list[Filter]:
    """Filters one per line (blank lines ignored, duplicates dropped); ValueError naming each bad one."""
    out: dict[str, Filter] = {}
    errors = []
    for line in lines:
        if not line.strip():
            continue
        try:
            parsed = parse_filter(line)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        out.setdefault(parsed.text, parsed)
    if errors:
        raise ValueError(" ".join(errors))
    if len(out) > MAX_FILTERS:
        raise ValueError(f"At most {MAX_FILTERS} filters (there are {len(out)}).")
    return list(out.values())


@dataclass(frozen=True)
class ResourceFilters:
    include: tuple[Filter, ...] = ()
    exclude: tuple[Filter, ...] = ()

    @classmethod
    def from_lists(cls, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> ResourceFilters:
        """From stored lists (already validated when saved; a bad entry read back is ignored)."""

        def parsed(items: Iterable[str]) -> tuple[Filter, ...]:
            out = []
            for item in items:
                try:
                    out.append(parse_filter(str(item)))
                except ValueError:
                    continue
            return tuple(out)

        return cls(parsed(include), parsed(exclude))

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def keeps(self, name: str, tags: Mapping[str, str] | None = None) -> bool | None:
        """True: collect it; False: excluded; None: cannot tell until its tags are known."""
        unknown = False
        for f in self.exclude:
            hit = f.matches(name, tags)
            if hit:
                return False
            unknown = unknown or hit is None
        if self.include:
            hits = [f.matches(name, tags) for f in self.include]
            if not any(hits):
                if None not in hits:
                    return False
                unknown = True
        return None if unknown else True
