"""Forms of the monitoring pages."""

from __future__ import annotations

from typing import Any

from django import forms

from web.params import LineField


class ProjectForm(forms.Form):
    """A saved group of resources: by tag (key=value, or key alone) and/or a name pattern."""

    name = LineField(max_length=120)
    tag = LineField(max_length=385, required=False, help_text="key=value, e.g. team=checkout")
    name_pattern = LineField(max_length=200, required=False, help_text="Shell-style, e.g. checkout-*")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        key, _, value = str(data.get("tag") or "").partition("=")
        key, value = key.strip(), value.strip()
        if len(key) > 128 or len(value) > 256:
            self.add_error("tag", "A tag key has at most 128 characters, its value at most 256.")
        elif "name" in data and not (key or data.get("name_pattern")):
            self.add_error("name_pattern", "A project needs a tag (key=value) or a name pattern (e.g. checkout-*).")
        data["tag_key"], data["tag_value"] = key, value
        data.setdefault("name_pattern", "")
        return data
