"""Panels: how a lower app's page shows a higher app's data without importing it.

A page of a lower app (the AWS account page in `accounts`, the resource page in
`monitoring`) names one or more slots, e.g. "accounts.aws_account.health". A higher app
registers a panel for a slot in its `AppConfig.ready()`: a name, a template, and a context
function taking the request and the page's object. The page renders whatever is registered
for each of its slots, in order; a context function returns None to show nothing this time.
A panel that takes input posts to a URL of the app that registered it.

Imports no app (see docs/architecture.md, "Apps and their order").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

ContextFunction = Callable[[HttpRequest, Any], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    slot: str
    name: str
    template: str
    context: ContextFunction
    order: int = 100


_PANELS: dict[str, dict[str, Panel]] = {}


def register(slot: str, *, name: str, template: str, context: ContextFunction, order: int = 100) -> Panel:
    """Add (or, under the same name, replace: `ready()` may run twice in tests) a panel."""
    panel = Panel(slot=slot, name=name, template=template, context=context, order=order)
    _PANELS.setdefault(slot, {})[name] = panel
    return panel


def unregister(slot: str, name: str) -> None:
    _PANELS.get(slot, {}).pop(name, None)


def registered(slot: str) -> list[Panel]:
    return sorted(_PANELS.get(slot, {}).values(), key=lambda p: (p.order, p.name))


def render(slot: str, request: HttpRequest, obj: Any = None) -> list[SafeString]:
    """The HTML of every panel registered for the slot, in order (already escaped by the
    template engine, so the page outputs it as is)."""
    html: list[SafeString] = []
    for panel in registered(slot):
        context = panel.context(request, obj)
        if context is None:
            continue
        html.append(render_to_string(panel.template, {"object": obj, **context}, request=request))
    return html


def render_slots(request: HttpRequest, obj: Any, **slots: str) -> dict[str, list[SafeString]]:
    """Several slots of one page at once: `render_slots(request, account, health="...")` gives
    {"health": [...]} for the page's context."""
    return {key: render(slot, request, obj) for key, slot in slots.items()}
