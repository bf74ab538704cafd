"""Configuration as code: export an organisation's configuration as one document, and
apply a document to an organisation (README, "Configuration as code").

`config_apply`:
1. Checks the document's shape (known sections, each a list of mappings, no key twice).
2. In one transaction, section by section in dependency order (projects and channels
   before the rules that name them), validates each item through the form or service that
   validates that kind in the pages, compares it with the object of the same natural key,
   and writes what differs, so that later sections see the objects earlier ones created.
3. With `prune`, removes the objects of each section the document lists that it does not
   name (rules first: a channel or a project is removed only when no rule uses it).
4. Any problem rolls everything back and raises ConfigInvalid with every problem, each
   naming its field's path (`alert_rules[2].threshold: must be a number`); so does a dry run,
   after computing the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from accounts.audit import audit_record
from accounts.models import Organization

from .fields import Problems, join
from .sections import BY_KEY, SECTIONS, Prepared, RefusedDelete, Section

VERSION = 1
TOP_LEVEL = ["version", *BY_KEY]
MAX_ITEMS = 5000


class ConfigInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Change:
    op: str  # "+" create, "~" update, "-" delete
    section: Section
    key: str
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)  # (path, old, new), secrets masked
    obj: Any = None  # what was written

    def lines(self) -> list[str]:
        head = f"{self.op} {self.section.label} {self.key!r}"
        if self.op != "~":
            return [head]
        return [head] + [f"    {name}: {_show(old)} → {_show(new)}" for name, old, new in self.fields]

    def audit_changes(self) -> dict[str, Any]:
        return {name: [old, new] for name, old, new in self.fields}


class Masked(str):
    """A secret's stand-in in plans and the audit log."""


def _show(value: Any) -> str:
    if isinstance(value, Masked):
        return str(value)
    if value is None or value == "":
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def _flatten(state: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in state.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def state_diff(section: Section, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Each field that differs, in the section's order; secrets as "(secret)"."""
    before, after = _flatten(old), _flatten(new)
    names = list(dict.fromkeys([*before, *after]))
    changes = []
    for name in names:
        a, b = before.get(name), after.get(name)
        if a == b or (a in (None, "", []) and b in (None, "", [])):
            continue
        if section.is_secret(new, name) or section.is_secret(old, name):
            a, b = (Masked("(secret)") if a else None), (Masked("(secret, changed)") if b else None)
        changes.append((name, a, b))
    return changes


def export_document(organization: Organization) -> dict[str, Any]:
    """The organisation's configuration as document values, in a stable order."""
    document: dict[str, Any] = {"version": VERSION}
    for section in SECTIONS:
        document[section.document_key] = [section.export(obj) for obj in section.objects(organization)]
    return document


def secret_variables(document: Mapping[str, Any]) -> list[str]:
    """The environment variables an exported document refers to."""
    found: list[str] = []
    for channel in document.get("channels", []):
        for value in channel.get("config", {}).values():
            if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
                found.append(value[2:-1])
    return found


def current_by_key(section: Section, organization: Organization) -> tuple[dict[str, Any], dict[str, int]]:
    """The section's objects by natural key, and how many objects share each key."""
    objects: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for obj in section.objects(organization):
        key = section.key(section.state(obj))
        counts[key] = counts.get(key, 0) + 1
        objects.setdefault(key, obj)
    return objects, counts


def change_write(
    *,
    organization: Organization,
    section: Section,
    prepared: Prepared,
    instance: Any,
    before: Mapping[str, Any] | None,
    actor: Any,
    request: Any = None,
) -> Change | None:
    """Write a prepared item if it differs from `before` (the state of `instance` taken
    before preparing it); the change (audited), or None."""
    if instance is None:
        obj = prepared.save()
        change = Change("+", section, prepared.key, obj=obj)
        audit_record(
            organization=organization,
            action=f"{section.audit_name}.created",
            obj=obj,
            actor=actor,
            request=request,
            object_repr=f"{section.label} {prepared.key}",
        )
        return change
    fields = state_diff(section, before or {}, prepared.state)
    if not fields:
        return None
    obj = prepared.save()
    change = Change("~", section, prepared.key, fields, obj=obj)
    audit_record(
        organization=organization,
        action=f"{section.audit_name}.changed",
        obj=obj,
        actor=actor,
        request=request,
        changes=change.audit_changes(),
        object_repr=f"{section.label} {prepared.key}",
    )
    return change


def change_delete(*, organization: Organization, section: Section, obj: Any, actor: Any, request: Any = None) -> Change:
    """Remove one object (RefusedDelete says why not), audited."""
    key = section.key(section.state(obj))
    pk = obj.pk
    section.delete(obj)
    obj.pk = pk  # the audit names the id it had
    action = "lifted" if section.document_key == "suppressions" else "deleted"
    audit_record(
        organization=organization,
        action=f"{section.audit_name}.{action}",
        obj=obj,
        actor=actor,
        request=request,
        object_repr=f"{section.label} {key}",
    )
    return Change("-", section, key)


def _shape(document: Mapping[str, Any], problems: Problems) -> None:
    for key in document:
        if key not in TOP_LEVEL:
            problems.add(str(key), f"unknown section (expected: {', '.join(TOP_LEVEL)})")
    version = document.get("version", VERSION)
    if version != VERSION or isinstance(version, bool):
        problems.add("version", f"must be {VERSION}")
    for key in BY_KEY:
        items = document.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            problems.add(key, "must be a list")
        elif len(items) > MAX_ITEMS:
            problems.add(key, f"at most {MAX_ITEMS} items")
        else:
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    problems.add(join(key, i), "must be a mapping")


def config_apply(
    *,
    organization: Organization,
    document: Mapping[str, Any],
    prune: bool = False,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
    actor: Any = "config apply",
) -> list[Change]:
    """Make the organisation's configuration match `document`; returns the plan (the
    changes made, or with `dry_run` the changes it would make). A section the document
    leaves out is left alone, even with `prune`; an empty list with `prune` empties it.
    `${VAR}` in a channel's settings reads VAR from `env` (a missing one is a problem)."""
    problems = Problems()
    _shape(document, problems)  # and go on: every item that can be checked is
    env = env if env is not None else {}
    plan: list[Change] = []
    with transaction.atomic():
        listed: dict[str, set[str]] = {}
        for section in SECTIONS:
            items = document.get(section.document_key)
            if not isinstance(items, list) or len(items) > MAX_ITEMS:
                continue
            current, counts = current_by_key(section, organization)
            seen: dict[str, str] = {}
            for i, item in enumerate(items):
                path = join(section.document_key, i)
                if not isinstance(item, dict):
                    continue
                key = section.item_key(item, path, problems)
                if key is None:
                    continue
                if key in seen:
                    problems.add(path, f"{section.label} {key!r} is given twice (also {seen[key]})")
                    continue
                seen[key] = path
                if counts.get(key, 0) > 1:
                    problems.add(
                        path,
                        f"{counts[key]} {section.label}s of the organisation are {key!r}: rename all but one first",
                    )
                    continue
                instance = current.get(key)
                # Before `prepare`: a bound model form writes the new values onto its instance.
                before = section.state(instance) if instance is not None else None
                prepared = section.prepare(organization, item, path, instance, problems, env)
                if prepared is None:
                    continue
                if prepared.key != key and prepared.key in current:  # the form normalised the name
                    problems.add(path, f"{section.label} {prepared.key!r} exists: name it so")
                    continue
                # Written even after a problem elsewhere (all is rolled back then), so that
                # later items naming this one are checked against it rather than fail too.
                try:
                    with transaction.atomic():
                        change = change_write(
                            organization=organization,
                            section=section,
                            prepared=prepared,
                            instance=instance,
                            before=before,
                            actor=actor,
                        )
                except IntegrityError as exc:
                    problems.add(path, f"conflicts with another {section.label}: {str(exc).splitlines()[0]}")
                    continue
                if change is not None:
                    plan.append(change)
            listed[section.document_key] = set(seen)
        if prune and not problems:
            for section in reversed(SECTIONS):
                if section.document_key not in listed:
                    continue
                for obj in section.objects(organization):
                    if section.key(section.state(obj)) in listed[section.document_key]:
                        continue
                    try:
                        with transaction.atomic():
                            plan.append(change_delete(organization=organization, section=section, obj=obj, actor=actor))
                    except RefusedDelete as exc:
                        problems.add(section.document_key, f"cannot remove {section.label} {obj}: {exc}")
        if problems or dry_run:
            transaction.set_rollback(True)
    if problems:
        raise ConfigInvalid(problems.items)
    return plan
