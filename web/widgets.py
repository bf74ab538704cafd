"""Form widgets for long lists of choices. Imports no app.

Django renders each option of a select through a template of its own: some 100 µs an
option, so a second for ten thousand functions. `LongSelectMultiple` writes the same HTML
directly (the select's attributes, then each option's value, label and selected state,
escaped), in a few milliseconds.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import SafeData, SafeString, mark_safe


def _escape(value: Any) -> str:
    """django.utils.html.conditional_escape (the same five characters), without its lazy
    wrapper, which costs more than the escaping for ten thousand labels."""
    return str(value) if isinstance(value, SafeData) else html.escape(str(value), quote=True)


def options_html(choices: Any, selected: set[str]) -> SafeString:
    """`<option>`s of (value, label) pairs, those whose value (as text) is in `selected`
    marked selected; optgroups (a label with a list of pairs) as Django writes them."""
    parts = []
    for value, label in choices:
        if isinstance(label, (list, tuple)):
            parts.append(f'<optgroup label="{_escape(value)}">{options_html(label, selected)}</optgroup>')
            continue
        text = "" if value is None else str(value)
        mark = " selected" if text in selected else ""
        parts.append(f'<option value="{_escape(text)}"{mark}>{_escape(label)}</option>')
    return mark_safe("\n".join(parts))  # noqa: S308 (every value and label escaped)


class LongSelectMultiple(forms.SelectMultiple):
    """A `SelectMultiple` rendered without a template per option."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["multiple"] = True
        selected = {str(v) for v in self.format_value(value)}
        options = options_html(self.choices, selected)
        return mark_safe(f'<select name="{_escape(name)}"{flatatt(final)}>\n{options}\n</select>')  # noqa: S308 (escaped above)


class LazyChoices:
    """Choices computed when a widget renders them, e.g. from `values_list` rather than
    from model instances (a ModelChoiceField builds one per option: half a second for ten
    thousand). The field keeps its queryset for validation."""

    def __init__(self, build: Callable[[], Iterable[tuple[Any, Any]]]) -> None:
        self.build = build

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(list(self.build()))
