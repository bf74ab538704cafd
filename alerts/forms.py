from __future__ import annotations

from typing import Any

from django import forms

import kinds
from accounts.models import AwsAccount
from monitoring.models import Project, Resource
from monitoring.selectors import live_resources
from web.widgets import LazyChoices, LongSelectMultiple

from . import metrics as alert_metrics
from .bounds import (
    MAX_EVALUATION_PERIODS,
    MAX_MIN_INTERVAL_MINUTES,
    MAX_NOTIFICATIONS_PER_HOUR,
    MAX_SPAN_MINUTES,
    rule_problems,
)
from .models import AlertRule, Channel, DigestSubscription


class RuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = [
            "name", "condition", "metric", "statistic", "operator", "threshold", "threshold_upper", "window_minutes",
            "evaluation_periods", "breaching_periods", "missing_data", "target", "target_account", "target_kind",
            "target_project", "target_resources", "error_kinds", "finding_severity", "max_notifications_per_hour",
            "min_interval_minutes", "channels",
        ]  # fmt: skip
        widgets = {"channels": forms.CheckboxSelectMultiple, "target_resources": LongSelectMultiple}
        help_texts = {
            "window_minutes": f"Minutes per window; window × evaluation periods at most {MAX_SPAN_MINUTES // 1440} days.",
            "evaluation_periods": f"N: how many recent windows to look at (1 to {MAX_EVALUATION_PERIODS}).",
            "breaching_periods": "M: how many of those N windows must breach (at most N).",
            "min_interval_minutes": "Quiet time between two notifications of one incident (at most 7 days).",
            "threshold": "For “outside the band”: the band's low end.",
            "threshold_upper": "For “outside the band” only: the band's high end.",
            "missing_data": "A window without any data point: e.g. “treat as breaching” for “no invocations”.",
            "max_notifications_per_hour": "For “every occurrence”: at most this many notifications an hour "
            "(the rest are counted in the next one).",
        }
        labels = {"threshold_upper": "Upper threshold", "max_notifications_per_hour": "Notifications per hour at most"}

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
        # The options of every resource, read as (id, kind, name) rows: the label is the
        # resource's str (its kind's label and its name).
        resources = scoped["target_resources"]
        self.fields["target_resources"].widget.choices = LazyChoices(
            lambda: [
                (pk, f"{kinds.labels().get(kind, kind)} {name}")
                for pk, kind, name in resources.values_list("pk", "kind", "name")
            ]
        )
        self.fields["error_kinds"] = forms.MultipleChoiceField(
            choices=[("error", "Errors"), ("timeout", "Timeouts"), ("out_of_memory", "Out of memory")],
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="For error rules: which kinds of error (none ticked: all).",
        )
        self.fields["finding_severity"] = forms.ChoiceField(
            choices=[("", "—"), ("info", "Info"), ("warning", "Warning"), ("critical", "Critical")], required=False
        )
        self.fields["target_kind"] = forms.ChoiceField(choices=[("", "—"), *kinds.choices()], required=False)
        self.fields["metric"] = forms.ChoiceField(
            choices=[("", "—"), *alert_metrics.grouped_choices()],
            required=False,
            help_text="Any metric a resource kind collects, or a figure computed from invocations.",
        )
        self.fields["statistic"] = forms.ChoiceField(
            choices=list(alert_metrics.iter_statistic_choices()),
            required=False,
            help_text="Only those the metric is collected with (duration: any, computed from invocations).",
        )
        # Absent from a submission (an older client, the API): the model's default.
        for name in ("missing_data", "max_notifications_per_hour"):
            self.fields[name].required = False
        # The browser stops the obvious mistakes; clean() decides.
        limits = {
            "window_minutes": (1, MAX_SPAN_MINUTES),
            "evaluation_periods": (1, MAX_EVALUATION_PERIODS),
            "breaching_periods": (1, MAX_EVALUATION_PERIODS),
            "min_interval_minutes": (0, MAX_MIN_INTERVAL_MINUTES),
            "max_notifications_per_hour": (1, MAX_NOTIFICATIONS_PER_HOUR),
        }
        for name, (low, high) in limits.items():
            self.fields[name].widget.attrs.update({"min": low, "max": high})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        defaults = {"missing_data": AlertRule.MissingData.OK, "max_notifications_per_hour": 10}
        for name, default in defaults.items():
            if name not in self.errors and data.get(name) in (None, ""):
                data[name] = default
        condition = data.get("condition")
        self._clean_target(data)
        if condition == AlertRule.Condition.THRESHOLD:
            self._clean_threshold(data)
        elif condition == AlertRule.Condition.ANOMALY:
            self._clean_anomaly(data)
        else:
            data["metric"], data["statistic"], data["threshold_upper"] = "", "", None
        problems = rule_problems(
            condition=data.get("condition", ""),
            window_minutes=data.get("window_minutes"),
            evaluation_periods=data.get("evaluation_periods"),
            breaching_periods=data.get("breaching_periods"),
            threshold=data.get("threshold"),
            min_interval_minutes=data.get("min_interval_minutes"),
            threshold_upper=data.get("threshold_upper"),
            max_notifications_per_hour=data.get("max_notifications_per_hour"),
        )
        for name, message in problems.items():
            if name not in self.errors:  # a field that did not parse already says why
                self.add_error(name, message)
        return data

    TARGET_FIELDS: dict[str, str] = {
        AlertRule.Target.ACCOUNT: "target_account",
        AlertRule.Target.KIND: "target_kind",
        AlertRule.Target.PROJECT: "target_project",
        AlertRule.Target.RESOURCES: "target_resources",
    }

    def _clean_target(self, data: dict[str, Any]) -> None:
        """The chosen target needs its value (a rule "on a project" without one would watch
        everything); the other targets' fields are emptied, so nothing stale is kept or
        exported. Error conditions need a kind that has error groups."""
        target = data.get("target")
        chosen = self.TARGET_FIELDS.get(target) if isinstance(target, str) else None
        for field in self.TARGET_FIELDS.values():
            if field == chosen:
                if not data.get(field) and field not in self.errors:
                    label = self.fields[field].label or field
                    self.add_error(field, f"Choose the {str(label).lower().removeprefix('target ')} this rule watches.")
            elif field == "target_resources":
                data[field] = Resource.objects.none()
            else:
                data[field] = "" if field == "target_kind" else None
        errors_only = (AlertRule.Condition.NEW_ERROR_GROUP, AlertRule.Condition.ERROR_OCCURRENCE)
        kind_id = data.get("target_kind")
        if data.get("condition") in errors_only and target == AlertRule.Target.KIND and kind_id:
            kind = kinds.REGISTRY.get(kind_id)
            if kind is None or not any(section.source == "error_groups" for section in kind.sections):
                self.add_error("target_kind", "This kind has no error groups: the rule could never fire.")

    def _clean_anomaly(self, data: dict[str, Any]) -> None:
        """An anomaly rule watches one metric (a statistic where it has several) or, with none
        chosen, every figure the detector judges; no threshold: the band is the baseline's."""
        metric, statistic = data.get("metric") or "", data.get("statistic") or ""
        described = alert_metrics.get(metric) if metric else None
        if described is not None and len(described.statistics) == 1 and not statistic:
            data["statistic"] = statistic = described.statistics[0]
        if "metric" in self.errors:
            return
        problem = alert_metrics.anomaly_metric_problem(metric, statistic)
        if problem:
            self.add_error("metric" if described is None and metric else "statistic", problem)
        data["threshold_upper"] = None

    def _clean_threshold(self, data: dict[str, Any]) -> None:
        metric, statistic = data.get("metric") or "", data.get("statistic") or ""
        if not metric:
            if "metric" not in self.errors:  # an unknown metric already says so
                self.add_error("metric", "A threshold rule needs a metric.")
            return
        described = alert_metrics.get(metric)
        if described is not None and len(described.statistics) == 1 and not statistic:
            data["statistic"] = statistic = described.statistics[0]  # the only one: no need to ask
        problem = alert_metrics.statistic_problem(metric, statistic)
        if problem:
            self.add_error("metric" if described is None else "statistic", problem)
        target_kind = data.get("target_kind")
        on_kind = described is not None and data.get("target") == AlertRule.Target.KIND and target_kind
        chosen = data.get("target_resources") or []
        on_resources = described is not None and data.get("target") == AlertRule.Target.RESOURCES and chosen
        if on_resources and described is not None and not any(r.kind in described.kinds for r in chosen):
            self.add_error("target_resources", f"None of these resources has {described.label}.")
        if on_kind and described is not None and target_kind not in described.kinds:
            self.add_error("target_kind", f"{described.label} is not collected for that kind.")
        if data.get("operator") == AlertRule.Operator.OUTSIDE:
            low, high = data.get("threshold"), data.get("threshold_upper")
            if high is None:
                self.add_error("threshold_upper", "“Outside the band” needs the band's high end.")
            elif isinstance(low, float) and low >= high:
                self.add_error("threshold_upper", "The high end must be above the low end (the threshold).")
        else:
            data["threshold_upper"] = None


class DigestSubscriptionForm(forms.ModelForm):
    """A member's digest: how often, and at which local hour (0–23) of the organisation."""

    class Meta:
        model = DigestSubscription
        fields = ["frequency", "hour"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hour"] = forms.IntegerField(min_value=0, max_value=23)
