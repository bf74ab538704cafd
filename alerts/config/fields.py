"""Document values ⇄ form data, driven by the form's own fields.

A section's document item holds plain values: text, numbers, booleans, lists, and the
natural key (a name, an ARN, an AWS account id) where the model holds a foreign key.
`form_data` checks each value's type against the form field that will validate it and
turns natural keys into primary keys, so the form, the one home of the validation, sees
what a browser would have posted. `encode` turns what a model or a form's `cleaned_data`
holds back into document values, so the current state and the desired state compare as
equals when nothing changes.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import Model, QuerySet

from accounts.models import AwsAccount
from monitoring.models import Project, Resource

from ..models import Channel

MISSING: Any = object()
MAX_LIST = 1000
MAX_TEXT = 10_000

# The attribute a document names a related object by (unique within an organisation).
NATURAL_KEYS: dict[type[Model], str] = {
    Channel: "name",
    Project: "name",
    AwsAccount: "aws_account_id",
    Resource: "arn",
    User: "email",
}


def natural_key(model: type[Model]) -> str:
    """The attribute naming `model`'s objects in a document (the id for a model without one)."""
    return NATURAL_KEYS.get(model, "pk")


@dataclass
class Problems:
    """Validation errors, each naming the field's path in the document."""

    items: list[str] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path or 'document'}: {message}")

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)


def join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def encode(value: Any) -> Any:
    """A model's or a form's value as the document writes it."""
    if isinstance(value, Model):
        return getattr(value, natural_key(type(value)))
    if hasattr(value, "all") and callable(value.all):  # a related manager
        value = value.all()
    if isinstance(value, QuerySet | list | tuple | set):
        return sorted((encode(v) for v in value), key=lambda v: (str(type(v)), v))
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any, path: str, problems: Problems) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            problems.add(path, f"at most {MAX_TEXT} characters")
            return MISSING
        if "\x00" in value:
            problems.add(path, "must not contain the NUL character")
            return MISSING
        return value
    problems.add(path, "must be text")
    return MISSING


def _keys(value: Any, path: str, problems: Problems) -> list[str] | Any:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, "must be a list")
        return MISSING
    if len(value) > MAX_LIST:
        problems.add(path, f"at most {MAX_LIST} items")
        return MISSING
    keys: list[str] = []
    for i, item in enumerate(value):
        if (isinstance(item, str) and "\x00" not in item and len(item) <= MAX_TEXT) or (
            isinstance(item, int) and not isinstance(item, bool)
        ):
            keys.append(str(item))
        else:
            problems.add(join(path, i), "must be text (one line, no NUL)")
            return MISSING
    return keys


def resolve(queryset: QuerySet[Any], keys: Iterable[str], path: str, problems: Problems) -> list[int] | Any:
    """Primary keys of the objects named by `keys` in `queryset` (already scoped to one
    organisation): by natural key (name, ARN, AWS account id), else by the id the API shows."""
    model = queryset.model
    attribute = natural_key(model)
    wanted = list(keys)
    rows = list(queryset.filter(**{f"{attribute}__in": wanted}).values_list(attribute, "pk"))
    counts = Counter(key for key, _ in rows)
    found = dict(rows)
    by_id = [int(k) for k in wanted if k not in found and k.isascii() and k.isdigit() and len(k) <= 18]
    for pk in queryset.filter(pk__in=by_id).values_list("pk", flat=True):
        found[str(pk)], counts[str(pk)] = pk, 1
    label = model._meta.verbose_name
    pks: list[int] = []
    for i, key in enumerate(wanted):
        where = join(path, i) if len(wanted) > 1 or path.endswith("s") else path
        if key not in found:
            problems.add(where, f"no {label} {key!r} in this organisation")
            return MISSING
        if counts[key] > 1 and model is not Resource:
            problems.add(
                where, f"{counts[key]} {model._meta.verbose_name_plural} are named {key!r}; rename all but one"
            )
            return MISSING
        pks.append(found[key])
    return pks


def form_value(form_field: forms.Field, value: Any, path: str, problems: Problems) -> Any:
    """What a browser would post for `value`, or MISSING after adding the problem."""
    if isinstance(form_field, forms.JSONField):
        try:
            return json.dumps(value, allow_nan=False)
        except ValueError:
            problems.add(path, "must be plain data (no NaN or infinity)")
            return MISSING
    if isinstance(form_field, forms.ModelMultipleChoiceField):
        keys = _keys(value, path, problems)
        return keys if keys is MISSING else resolve(form_field.queryset, keys, path, problems)  # type: ignore[arg-type]
    if isinstance(form_field, forms.ModelChoiceField):
        if value is None or value == "":
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # an unquoted AWS account id
        if not isinstance(value, str) or "\x00" in value or len(value) > MAX_TEXT:
            problems.add(path, "must be text (a name)")
            return MISSING
        pks = resolve(form_field.queryset, [value], path, problems)  # type: ignore[arg-type]
        return pks if pks is MISSING else pks[0]
    if isinstance(form_field, forms.MultipleChoiceField):
        return _keys(value, path, problems)
    if isinstance(form_field, forms.BooleanField):
        if not isinstance(value, bool):
            problems.add(path, "must be true or false")
            return MISSING
        return value
    # FloatField and DecimalField are IntegerFields to Django: test them first.
    if isinstance(form_field, forms.FloatField | forms.DecimalField):
        if value is None:
            return ""
        if not _is_number(value) or not math.isfinite(value):
            problems.add(path, "must be a number")
            return MISSING
        return value
    if isinstance(form_field, forms.IntegerField):
        if value is None:
            return ""
        if not (_is_number(value) and float(value).is_integer()):
            problems.add(path, "must be a whole number")
            return MISSING
        return int(value)
    if isinstance(form_field, forms.DateTimeField):
        if value is None or value == "":
            return ""
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if not isinstance(value, str):
            problems.add(path, "must be a date and time (ISO 8601, e.g. 2026-01-31T12:00:00Z)")
            return MISSING
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            problems.add(path, "must be a date and time (ISO 8601, e.g. 2026-01-31T12:00:00Z)")
            return MISSING
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return _text(value, path, problems)


def choices_of(form_field: forms.ChoiceField) -> list[tuple[Any, Any]]:
    """The field's (value, label) pairs, option groups flattened."""
    flat: list[tuple[Any, Any]] = []
    for value, label in form_field.choices:  # type: ignore[misc, union-attr]
        if isinstance(label, list | tuple):
            flat.extend(label)
        else:
            flat.append((value, label))
    return flat


def form_problems(form: forms.BaseForm, path: str, problems: Problems, names: dict[str, str] | None = None) -> None:
    """A bound form's errors as problems at `path.<field>` (`names` renames form fields)."""
    for name, errors in form.errors.as_data().items():
        where = path if name == "__all__" else join(path, (names or {}).get(name, name))
        form_field = form.fields.get(name)
        for error in errors:
            message = " ".join(str(m) for m in error.messages)
            if error.code == "invalid_choice" and isinstance(form_field, forms.ChoiceField):
                allowed = [str(k) for k, _ in choices_of(form_field) if k != ""]
                if 0 < len(allowed) <= 40:
                    message = f"{message} Expected one of: {', '.join(allowed)}."
            problems.add(where, message)


def unknown_keys(item: dict[Any, Any], allowed: Iterable[str], path: str, problems: Problems) -> None:
    known = list(allowed)
    for key in item:
        if key not in known:
            problems.add(join(path, str(key)), f"unknown field (expected one of: {', '.join(known)})")
