from __future__ import annotations

from typing import Any

from django import forms

import kinds
from accounts.models import AwsAccount
from monitoring.models import Project
from monitoring.selectors import live_resources

from .bounds import MAX_EVALUATION_PERIODS, MAX_MIN_INTERVAL_MINUTES, MAX_SPAN_MINUTES, rule_problems
from .models import AlertRule, Channel, DigestSubscription, Metric


class RuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = [
            "name", "condition", "metric", "operator", "threshold", "window_minutes", "evaluation_periods",
            "breaching_periods", "target", "target_account", "target_kind", "target_project", "target_resources",
            "error_kinds", "finding_severity", "min_interval_minutes", "channels",
        ]  # fmt: skip
        widgets = {"channels": forms.CheckboxSelectMultiple}
        help_texts = {
            "window_minutes": f"Minutes per window; window × evaluation periods at most {MAX_SPAN_MINUTES // 1440} days.",
            "evaluation_periods": f"N: how many recent windows to look at (1 to {MAX_EVALUATION_PERIODS}).",
            "breaching_periods": "M: how many of those N windows must breach (at most N).",
            "min_interval_minutes": "Quiet time between two notifications of one incident (at most 7 days).",
        }

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = self.fields["channels"]
        assert isinstance(channels, forms.ModelMultipleChoiceField)
        channels.queryset = Channel.objects.filter(organization=organization)
        # Every choice is scoped to the organisation: a rule can never point at another's objects.
        scoped = {
            "target_account": AwsAccount.objects.filter(organization=organization),
            "target_project": Project.objects.filter(organization=organization),
            "target_resources": live_resources(organization=organization).order_by("kind", "name"),
        }
        for name, queryset in scoped.items():
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset
        self.fields["error_kinds"] = forms.MultipleChoiceField(
            choices=[("error", "Errors"), ("timeout", "Timeouts"), ("out_of_memory", "Out of memory")],
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="For new error groups: which kinds (none ticked: all).",
        )
        self.fields["finding_severity"] = forms.ChoiceField(
            choices=[("", "—"), ("info", "Info"), ("warning", "Warning"), ("critical", "Critical")], required=False
        )
        self.fields["target_kind"] = forms.ChoiceField(choices=[("", "—"), *kinds.choices()], required=False)
        self.fields["metric"] = forms.ChoiceField(choices=[("", "—"), *Metric.choices], required=False)
        # The browser stops the obvious mistakes; clean() decides.
        limits = {
            "window_minutes": (1, MAX_SPAN_MINUTES),
            "evaluation_periods": (1, MAX_EVALUATION_PERIODS),
            "breaching_periods": (1, MAX_EVALUATION_PERIODS),
            "min_interval_minutes": (0, MAX_MIN_INTERVAL_MINUTES),
        }
        for name, (low, high) in limits.items():
            self.fields[name].widget.attrs.update({"min": low, "max": high})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("condition") == AlertRule.Condition.THRESHOLD and not data.get("metric"):
            self.add_error("metric", "A threshold rule needs a metric.")
        problems = rule_problems(
            condition=data.get("condition", ""),
            window_minutes=data.get("window_minutes"),
            evaluation_periods=data.get("evaluation_periods"),
            breaching_periods=data.get("breaching_periods"),
            threshold=data.get("threshold"),
            min_interval_minutes=data.get("min_interval_minutes"),
        )
        for name, message in problems.items():
            if name not in self.errors:  # a field that did not parse already says why
                self.add_error(name, message)
        return data


class DigestSubscriptionForm(forms.ModelForm):
    """A member's digest: how often, and at which local hour (0–23) of the organisation."""

    class Meta:
        model = DigestSubscription
        fields = ["frequency", "hour"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hour"] = forms.IntegerField(min_value=0, max_value=23)
