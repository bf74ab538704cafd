from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal
from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from kinds.filters import parse_filters
from web.params import LineField

from .models import ApiToken, DateFormat
from .onboarding import ROLE_ARN_RE, parse_regions
from .services import default_organization_name, organization_create

ALL_REGIONS = "all"
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class SignupForm(AllauthSignupForm):
    """allauth's sign-up plus the name of the organisation the new user will own."""

    organization_name = LineField(
        label="Organisation",
        max_length=120,
        required=False,
        help_text="Your team or company. Leave empty to name it after your email domain.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization_name"].widget.attrs["placeholder"] = "Acme"

    def save(self, request: HttpRequest) -> Any:
        from .admin_services import invitation_for_token

        with transaction.atomic():
            user = super().save(request)
            token = request.session.get("pending_invitation_token")
            invitation = invitation_for_token(token) if token else None
            invited = invitation is not None and invitation.email.lower() == (user.email or "").lower()
            # An invited person joins the inviting organisation (on the invitation page)
            # instead of getting an empty one of their own.
            if user is not None and not invited:
                name = self.cleaned_data.get("organization_name") or default_organization_name(user.email)
                organization_create(name=name, owner=user)
        return user


class AwsAccountStartForm(forms.Form):
    name = LineField(max_length=120, help_text="How this account appears in the dashboard, e.g. Production.")


class AwsAccountRoleForm(forms.Form):
    name = LineField(max_length=120)
    role_arn = forms.CharField(
        label="Role ARN",
        max_length=2048,
        help_text="The RoleArn output of the CloudFormation stack.",
        widget=forms.TextInput(attrs={"placeholder": "arn:aws:iam::123456789012:role/DashbirdReadOnly"}),
    )
    regions = forms.CharField(
        max_length=1000,
        help_text="The regions your serverless resources run in, comma-separated, or “all” for every region "
        "the account has enabled (found again at each discovery).",
        widget=forms.TextInput(attrs={"placeholder": "us-east-1, eu-west-1"}),
    )

    def clean_role_arn(self) -> str:
        value = str(self.cleaned_data["role_arn"]).strip()
        if not ROLE_ARN_RE.match(value):
            raise forms.ValidationError("Not an IAM role ARN: expected arn:aws:iam::123456789012:role/NAME.")
        return value

    def clean_regions(self) -> list[str]:
        text = str(self.cleaned_data["regions"])
        if text.strip().lower() == ALL_REGIONS:
            return []
        try:
            return parse_regions(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    @property
    def all_regions(self) -> bool:
        return str(self.data.get("regions", "")).strip().lower() == ALL_REGIONS

    def initial_from(self, account: Any) -> None:
        regions = ALL_REGIONS if account.all_regions else ", ".join(account.regions or settings.DEFAULT_AWS_REGIONS)
        self.initial = {"name": account.name, "role_arn": account.role_arn, "regions": regions}


class ResourceFiltersForm(forms.Form):
    """An account's include and exclude filters, one per line (kinds/filters.py)."""

    include = forms.CharField(
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "orders-*\nteam=payments"}),
        help_text="Collect only the resources that match one of these (empty: all of them).",
    )
    exclude = forms.CharField(
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "*-dev\nenv=test"}),
        help_text="Never collect the resources that match one of these.",
    )

    @staticmethod
    def _lines(value: str) -> list[str]:
        lines = [line for line in value.splitlines() if line.strip()]
        try:
            return [f.text for f in parse_filters(lines)]
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_include(self) -> list[str]:
        return self._lines(str(self.cleaned_data.get("include") or ""))

    def clean_exclude(self) -> list[str]:
        return self._lines(str(self.cleaned_data.get("exclude") or ""))

    def initial_from(self, account: Any) -> None:
        self.initial = {"include": "\n".join(account.include_filters), "exclude": "\n".join(account.exclude_filters)}


class MetricIntervalsForm(forms.Form):
    """Seconds between metric polls per resource kind, for one account (blank: the default)."""

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], defaults: dict[str, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in kinds:
            self.fields[kind] = forms.IntegerField(
                label=label,
                required=False,
                min_value=60,
                max_value=86400,
                help_text=f"default {defaults.get(kind, defaults.get('default', 300))} s",
            )

    def intervals(self) -> dict[str, int]:
        return {kind: int(v) for kind, v in self.cleaned_data.items() if v}


class CloudWatchBudgetForm(forms.Form):
    """An account's CloudWatch API budget in US dollars a month; empty: none."""

    budget_usd = forms.DecimalField(
        label="Keep the monitoring's CloudWatch API cost under (USD a month)",
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("1000000"),
        max_digits=10,
        decimal_places=2,
        help_text="Empty: no budget. Over it, the least active resources' metrics are polled less often "
        "(2×, 5×, then 15× their interval) until the projection fits; the most active keep theirs.",
    )

    def initial_from(self, account: Any) -> None:
        self.initial = {"budget_usd": account.cloudwatch_budget_usd}


class OrganizationForm(forms.Form):
    name = LineField(max_length=120)
    time_zone = forms.CharField(max_length=64, help_text="IANA name, e.g. Europe/Berlin. Digests and charts use it.")
    raw_retention_days = forms.IntegerField(
        label="Raw data retention (days)", min_value=1, max_value=90, help_text="Invocations, log lines, metric points."
    )
    rollup_retention_days = forms.IntegerField(
        label="Rollup retention (days)", min_value=30, max_value=1825, help_text="Hourly and daily aggregates."
    )
    require_two_factor = forms.BooleanField(
        label="Require two-factor authentication", required=False, help_text="Members without it must set it up first."
    )

    def __init__(self, *args: Any, instance_values: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if instance_values is not None:
            self.initial = {name: getattr(instance_values, name) for name in self.fields}

    def clean_time_zone(self) -> str:
        import zoneinfo

        value = str(self.cleaned_data["time_zone"]).strip()
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(f"{value!r} is not an IANA time zone name.")
        return value


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=[("admin", "Admin"), ("member", "Member"), ("viewer", "Viewer")], initial="member")


class ApiTokenForm(forms.Form):
    name = LineField(max_length=120, help_text="What will use it, e.g. Grafana or the deploy pipeline.")
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        required=False,  # left out: read only
        widget=forms.RadioSelect,
        help_text="Write tokens also create, change and delete projects, alert rules, channels and "
        "suppressions (configuration as code). Give one only to systems that manage configuration.",
    )

    def clean_scope(self) -> str:
        return self.cleaned_data.get("scope") or ApiToken.Scope.READ


class SsoSettingsForm(forms.Form):
    sso_required = forms.BooleanField(
        label="Require single sign-on for members",
        required=False,
        help_text="Members who signed in with a password are refused this organisation's pages until they "
        "sign in with single sign-on. Owners are exempt, so that they can always get back in.",
    )
    sso_domain = forms.CharField(
        label="Just-in-time domain",
        max_length=253,
        required=False,
        help_text="People whose verified e-mail from the identity provider is at this domain join on their "
        "first single sign-on. Empty: no one joins that way.",
    )
    sso_default_role = forms.ChoiceField(
        label="Role of people who join that way",
        choices=[("admin", "Admin"), ("member", "Member"), ("viewer", "Viewer")],
        initial="viewer",
        error_messages={"invalid_choice": "Choose admin, member or viewer."},
    )

    def clean_sso_domain(self) -> str:
        value = str(self.cleaned_data["sso_domain"]).strip().lower().lstrip("@")
        if value and not DOMAIN_RE.match(value):
            raise forms.ValidationError("Not a domain name, e.g. example.com.")
        return value


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class ProfileForm(forms.Form):
    # The messages never repeat the submitted value: it may be anything, of any length.
    time_zone = forms.ChoiceField(
        choices=_time_zone_choices,
        help_text="Every time is shown in this zone.",
        error_messages={"invalid_choice": "Choose an IANA time zone from the list, e.g. Europe/Berlin."},
    )
    date_format = forms.ChoiceField(
        choices=DateFormat.choices,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose one of the date formats shown."},
    )
