from __future__ import annotations

from django import forms

from .models import Suppression


class SuppressionForm(forms.Form):
    scope = forms.ChoiceField(choices=Suppression.Scope.choices)
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    days = forms.IntegerField(min_value=1, max_value=365, required=False, help_text="Expires after; empty: never.")
