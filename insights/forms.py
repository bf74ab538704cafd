from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from monitoring.selectors import live_resources

from .checks import REGISTRY
from .models import Finding, Suppression

REASON_MAX = 1000


class SuppressionForm(forms.Form):
    scope = forms.ChoiceField(choices=Suppression.Scope.choices)
    reason = forms.CharField(max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2}))
    days = forms.IntegerField(min_value=1, max_value=365, required=False, help_text="Expires after; empty: never.")


class SuppressionSpecForm(forms.ModelForm):
    """A suppression stated in full (configuration as code and the write API): its scope
    with what it covers, a reason, and an optional end. The one validation of suppressions
    that do not start from a finding's page."""

    class Meta:
        model = Suppression
        fields = ["scope", "check_id", "resource", "finding", "reason", "expires_at"]

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["check_id"] = forms.ChoiceField(
            choices=[("", "—"), *sorted((c.id, c.id) for c in REGISTRY.values())], required=False
        )
        self.fields["reason"] = forms.CharField(max_length=REASON_MAX)
        resource = self.fields["resource"]
        finding = self.fields["finding"]
        assert isinstance(resource, forms.ModelChoiceField) and isinstance(finding, forms.ModelChoiceField)
        resource.queryset = live_resources(organization=organization)
        finding.queryset = Finding.objects.filter(organization=organization)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scope = data.get("scope")
        needs = {
            Suppression.Scope.CHECK: ("check_id", "a check"),
            Suppression.Scope.RESOURCE: ("resource", "a resource"),
            Suppression.Scope.FINDING: ("finding", "a finding"),
        }
        if scope in needs:
            field, what = needs[Suppression.Scope(scope)]
            if not data.get(field) and field not in self.errors:
                self.add_error(field, f"A {scope} suppression names {what}.")
            for other, _ in needs.values():
                if other != field and data.get(other):
                    self.add_error(other, f"Only a {other.replace('_id', '')} suppression names this.")
        expires_at = data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now() and "expires_at" in self.changed_data:
            self.add_error("expires_at", "must be in the future (or empty: for good).")
        return data
