"""The panel registry (web/panels.py): how a lower app's page shows a higher app's data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import RequestFactory

from web import panels

SLOT = "tests.page"


@pytest.fixture(autouse=True)
def _clean_slot() -> Iterator[None]:
    yield
    for panel in panels.registered(SLOT):
        panels.unregister(SLOT, panel.name)


def test_a_page_renders_its_panels_in_order_and_skips_those_with_nothing_to_show(tmp_path: Any, settings: Any) -> None:
    (tmp_path / "one.html").write_text("<p>{{ object }}: {{ word }}</p>")
    settings.TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [tmp_path]}]
    panels.register(SLOT, name="second", template="one.html", context=lambda r, o: {"word": "<b>"}, order=20)
    panels.register(SLOT, name="first", template="one.html", context=lambda r, o: {"word": "hello"}, order=10)
    panels.register(SLOT, name="hidden", template="one.html", context=lambda r, o: None, order=5)

    html = panels.render(SLOT, RequestFactory().get("/"), "thing")

    assert html == ["<p>thing: hello</p>", "<p>thing: &lt;b&gt;</p>"]  # escaped by the template engine


def test_registering_again_under_the_same_name_replaces_the_panel() -> None:
    panels.register(SLOT, name="one", template="a.html", context=lambda r, o: {})
    panels.register(SLOT, name="one", template="b.html", context=lambda r, o: {})
    assert [p.template for p in panels.registered(SLOT)] == ["b.html"]


def test_a_slot_without_panels_renders_nothing() -> None:
    assert panels.render("tests.nothing-here", RequestFactory().get("/")) == []
