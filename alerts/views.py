from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.admin_services import audit_record
from accounts.middleware import organization_optional
from accounts.permissions import can, require
from accounts.roles import Action
from accounts.selectors import get_scoped_or_404
from dashbird_clone import params
from monitoring.models import ResourceKind

from .channels import Notice, enabled_kinds, get_kind
from .models import AlertRule, Channel, Incident, IncidentStatus, Metric, Notification
from .services import channel_send, incident_snooze

SNOOZE_MAX_MINUTES = 7 * 24 * 60


def _org(request: HttpRequest) -> Any:
    return getattr(request, "organization", None)


class RuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = [
            "name", "condition", "metric", "operator", "threshold", "window_minutes", "evaluation_periods",
            "breaching_periods", "target", "target_account", "target_kind", "target_project", "target_resources",
            "error_kinds", "finding_severity", "min_interval_minutes", "channels",
        ]  # fmt: skip
        widgets = {"channels": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = self.fields["channels"]
        assert isinstance(channels, forms.ModelMultipleChoiceField)
        channels.queryset = Channel.objects.filter(organization=organization)
        # Every choice is scoped to the organisation: a rule can never point at another's objects.
        from accounts.models import AwsAccount
        from monitoring.models import Project, Resource

        scoped = {
            "target_account": AwsAccount.objects.filter(organization=organization),
            "target_project": Project.objects.filter(organization=organization),
            "target_resources": Resource.objects.filter(organization=organization, gone_at=None).order_by(
                "kind", "name"
            ),
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
        self.fields["target_kind"] = forms.ChoiceField(choices=[("", "—"), *ResourceKind.choices], required=False)
        self.fields["metric"] = forms.ChoiceField(choices=[("", "—"), *Metric.choices], required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("condition") == AlertRule.Condition.THRESHOLD and (
            not data.get("metric") or data.get("threshold") is None
        ):
            raise forms.ValidationError("A threshold rule needs a metric and a threshold.")
        if (data.get("breaching_periods") or 1) > (data.get("evaluation_periods") or 1):
            raise forms.ValidationError("Breaching periods (M) cannot exceed evaluation periods (N).")
        return data


@login_required
def index(request: HttpRequest) -> HttpResponse:
    organization = _org(request)
    status = params.choice(request.GET, "status", IncidentStatus.values, default=IncidentStatus.OPEN)
    incidents = Incident.objects.filter(organization=organization, status=status)
    page = Paginator(incidents.select_related("rule", "resource"), 50).get_page(params.page(request.GET))
    return render(
        request,
        "alerts/index.html",
        {
            "nav": "alerts",
            "page": page,
            "status": status,
            "rules": AlertRule.objects.filter(organization=organization).prefetch_related("channels"),
            "channels": Channel.objects.filter(organization=organization),
            "kinds": enabled_kinds(),
            "can_triage": can(request, Action.TRIAGE),
            "can_manage": can(request, Action.MANAGE),
        },
    )


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_scoped_or_404(Incident.objects.select_related("rule", "resource"), organization=_org(request), pk=pk)
    notifications = Notification.objects.filter(event__incident=incident).select_related("channel", "event")
    return render(
        request,
        "alerts/incident_detail.html",
        {
            "nav": "alerts",
            "incident": incident,
            "notifications": notifications,
            "can_triage": can(request, Action.TRIAGE),
        },
    )


@login_required
@require_POST
def incident_snooze_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_scoped_or_404(Incident.objects.all(), organization=_org(request), pk=pk)
    require(request, Action.TRIAGE)
    minutes = params.integer(request.POST, "minutes", default=60, min_value=1, max_value=SNOOZE_MAX_MINUTES)
    incident_snooze(incident=incident, minutes=minutes)
    audit_record(
        organization=incident.organization,
        action="incident.snoozed",
        obj=incident,
        request=request,
        changes={"minutes": minutes},
    )
    messages.success(request, f"Snoozed for {minutes} minutes: no notification until then, except its resolution.")
    return redirect("incident_detail", pk=incident.pk)


@login_required
def rule_new(request: HttpRequest) -> HttpResponse:
    require(request, Action.MANAGE)
    organization = _org(request)
    form = RuleForm(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        rule = form.save(commit=False)
        rule.organization = organization
        rule.save()
        form.save_m2m()
        audit_record(organization=organization, action="alert_rule.created", obj=rule, request=request)
        messages.success(request, f"Rule {rule.name} created.")
        return redirect("alerts")
    return render(request, "alerts/rule_form.html", {"nav": "alerts", "form": form})


@login_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    rule = get_scoped_or_404(AlertRule.objects.all(), organization=_org(request), pk=pk)
    require(request, Action.MANAGE)
    if field not in {"enabled", "muted"}:
        return HttpResponse(status=404)
    setattr(rule, field, not getattr(rule, field))
    rule.save(update_fields=[field])
    audit_record(
        organization=rule.organization,
        action=f"alert_rule.{field}",
        obj=rule,
        request=request,
        changes={field: getattr(rule, field)},
    )
    return redirect("alerts")


@login_required
def channel_new(request: HttpRequest, kind: str) -> HttpResponse:
    require(request, Action.MANAGE)
    if kind not in {k.kind for k in enabled_kinds()}:
        return HttpResponse(status=404)
    channel_kind = get_kind(kind)
    form = channel_kind.form_class(request.POST or None)
    name = params.one_line(params.text(request.POST, "channel_name", max_length=120)) or channel_kind.label
    if request.method == "POST" and form.is_valid() and kind == "sns":
        from .channels.sns import topic_account

        # SNS publishes with the platform's own identity: only to this organisation's accounts.
        owned = set(_org(request).aws_accounts.values_list("aws_account_id", flat=True))
        if topic_account(form.config["topic_arn"]) not in owned:
            form.add_error(None, "The topic must belong to one of this organisation's connected AWS accounts.")
    if request.method == "POST" and form.is_valid() and not form.non_field_errors():
        channel = Channel.objects.create(organization=_org(request), kind=kind, name=name[:120], config=form.config)
        audit_record(
            organization=channel.organization,
            action="channel.created",
            obj=channel,
            request=request,
            object_repr=channel_kind.describe(channel.config),
        )
        messages.success(request, f"Channel {channel.name} added. Send it a test.")
        return redirect("alerts")
    return render(request, "alerts/channel_form.html", {"nav": "alerts", "form": form, "kind": channel_kind})


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_scoped_or_404(Channel.objects.all(), organization=_org(request), pk=pk)
    require(request, Action.MANAGE)
    notice = Notice(
        kind="test", title="Test notification from Dashbird", summary="If you can read this, the channel works.",
        severity="info", organization=channel.organization.name, url=request.build_absolute_uri("/alerts/"),
        incident_id=None, dedup_key=f"dashbird-test-{channel.pk}-{int(timezone.now().timestamp())}", resource=None,
        rule=None, fields={"Channel": channel.name}, occurred_at=timezone.now().isoformat(),
    )  # fmt: skip
    result = channel_send(channel=channel, notice=notice, sent_by=request.user)
    if result.status == "sent":
        messages.success(request, f"Test sent to {channel.name}.")
    else:
        messages.error(request, f"Test to {channel.name} failed: {result.error}")
    return redirect("alerts")


@login_required
@require_POST
def channel_enable(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_scoped_or_404(Channel.objects.all(), organization=_org(request), pk=pk)
    require(request, Action.MANAGE)
    Channel.objects.filter(pk=channel.pk).update(enabled=True, disabled_reason="")
    audit_record(organization=channel.organization, action="channel.enabled", obj=channel, request=request)
    return redirect("alerts")


@csrf_exempt
@organization_optional
@require_http_methods(["GET", "HEAD", "POST"])
def digest_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link of a digest, no sign-in needed.

    GET shows a confirmation page and changes nothing: mail scanners and link previews
    open every link. POST unsubscribes — from that page's button, or straight from the
    mail client in one click (the digest's `List-Unsubscribe-Post` header), which sends
    no session and no CSRF token: the signature is what authorises it.
    """
    from .digests import subscription_for_token, unsubscribe

    if request.method == "POST":
        sub = unsubscribe(token)
        template = "alerts/unsubscribed.html"
    else:
        sub = subscription_for_token(token)
        template = "alerts/unsubscribe_confirm.html"
    return render(request, template, {"subscription": sub, "token": token}, status=200 if sub else 400)


@login_required
@require_POST
def digest_preferences(request: HttpRequest) -> HttpResponse:
    from .models import DigestFrequency, DigestSubscription

    organization = _org(request)
    frequency = params.choice(request.POST, "frequency", DigestFrequency.values, default=DigestFrequency.NONE)
    hour = params.integer(request.POST, "hour", default=8, min_value=0, max_value=23)
    DigestSubscription.objects.update_or_create(
        organization=organization, user=request.user, defaults={"frequency": frequency, "hour": hour}
    )
    messages.success(
        request,
        f"Digest: {dict(DigestFrequency.choices)[frequency].lower()}, at {hour:02d}:00 {organization.time_zone}.",
    )
    return redirect("settings")
