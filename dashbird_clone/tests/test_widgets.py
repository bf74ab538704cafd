"""Selects of thousands of options written without a template per option (web/widgets.py):
what they show must be what Django's own rendering would, escaped the same way."""

from __future__ import annotations

import re

from django import forms

from web.widgets import LongSelectMultiple, options_html

HOSTILE = '"><script>alert(1)</script>&'


def test_labels_and_values_are_escaped_and_the_chosen_ones_selected() -> None:
    html = options_html([(1, HOSTILE), ('a"b', "plain"), (3, "three")], {"1", "3"})
    assert "<script>" not in html
    assert '<option value="1" selected>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;</option>' in html
    assert '<option value="a&quot;b">plain</option>' in html
    assert '<option value="3" selected>three</option>' in html


def test_groups_and_the_select_match_djangos_own_rendering() -> None:
    choices = [("Lambda", [(1, "fn <one>"), (2, "fn two")]), (3, HOSTILE)]
    ours = LongSelectMultiple(choices=choices).render("resources", [2, 3], attrs={"id": "id_resources"})
    django = forms.SelectMultiple(choices=choices).render("resources", [2, 3], attrs={"id": "id_resources"})

    def normal(text: str) -> str:
        return re.sub(r">\s+<", "><", text.replace('selected=""', "selected")).strip()

    assert normal(ours) == normal(django)
