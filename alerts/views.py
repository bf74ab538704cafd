from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.audit import audit_record
from accounts.context import current_organization, signed_in_user
from accounts.middleware import organization_optional
from accounts.permissions import can, require
from accounts.roles import Action
from accounts.selectors import get_scoped_or_404
from web import params

from . import metrics as alert_metrics
from .channels import enabled_kinds, get_kind
from .delivery import ChannelTestRefused, channel_test_request
from .digests import subscription_for_token, unsubscribe
from .evaluation import rule_summary
from .forms import RuleForm
from .models import AlertRecipient, DigestFrequency, IncidentStatus
from .recipients import (
    link_refusal,
    recipient_answer,
    recipient_for_token,
    recipient_link_request,
    recipients_invite,
)
from .selectors import (
    assignable_members,
    channel_page,
    channels_of,
    get_channel_for_user,
    get_incident_for_user,
    get_rule_for_user,
    incident_notifications,
    incident_timeline,
    incidents_for,
    rules_of,
    rules_using,
    topic_in_validated_account,
)
from .services import (
    RULE_SWITCHES,
    ChannelInUse,
    channel_create,
    channel_delete,
    channel_enable,
    channel_update,
    digest_subscription_set,
    incident_acknowledge,
    incident_assign,
    incident_resolve,
    incident_snooze,
    rule_delete,
    rule_duplicate,
    rule_mute,
    rule_switch,
)

SNOOZE_MAX_MINUTES = 7 * 24 * 60


@login_required
def index(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    status = params.choice(request.GET, "status", IncidentStatus.values, default=IncidentStatus.OPEN)
    page = Paginator(incidents_for(organization, status), 50).get_page(params.page(request.GET))
    return render(
        request,
        "alerts/index.html",
        {
            "nav": "alerts",
            "page": page,
            "status": status,
            "rules": [(rule, rule_summary(rule)) for rule in rules_of(organization)],
            "now": timezone.now(),
            "channels": channels_of(organization),
            "kinds": enabled_kinds(),
            "can_triage": can(request, Action.TRIAGE),
            "can_manage": can(request, Action.MANAGE),
        },
    )


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for_user(request.user, current_organization(request), pk)
    return render(
        request,
        "alerts/incident_detail.html",
        {
            "nav": "alerts",
            "incident": incident,
            "notifications": incident_notifications(incident),
            "timeline": incident_timeline(incident),
            "members": assignable_members(incident.organization),
            "can_triage": can(request, Action.TRIAGE),
        },
    )


@login_required
@require_POST
def incident_acknowledge_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for_user(request.user, current_organization(request), pk)
    require(request, Action.TRIAGE)
    if incident_acknowledge(incident=incident, user=signed_in_user(request)):
        audit_record(organization=incident.organization, action="incident.acknowledged", obj=incident, request=request)
        messages.success(request, "Acknowledged: the team sees you are on it.")
    else:
        messages.info(request, "Already acknowledged, or no longer open.")
    return redirect("alerts:incident_detail", pk=incident.pk)


@login_required
@require_POST
def incident_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for_user(request.user, current_organization(request), pk)
    require(request, Action.TRIAGE)
    members = {str(u.pk): u for u in assignable_members(incident.organization)}
    chosen = params.text(request.POST, "assignee", max_length=20)
    if chosen and chosen not in members:
        return params.bad_request_response(request, "Assign the incident to a member of this organisation.")
    assignee = members.get(chosen)
    incident_assign(incident=incident, assignee=assignee, user=signed_in_user(request))
    audit_record(
        organization=incident.organization,
        action="incident.assigned",
        obj=incident,
        request=request,
        changes={"assignee": assignee.email if assignee else None},
    )
    messages.success(request, f"Assigned to {assignee.email}." if assignee else "Unassigned.")
    return redirect("alerts:incident_detail", pk=incident.pk)


@login_required
@require_POST
def incident_resolve_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for_user(request.user, current_organization(request), pk)
    require(request, Action.TRIAGE)
    if incident_resolve(incident=incident, user=signed_in_user(request)):
        audit_record(organization=incident.organization, action="incident.resolved", obj=incident, request=request)
        messages.success(request, "Resolved. If the condition still holds, the next evaluation opens it again.")
    return redirect("alerts:incident_detail", pk=incident.pk)


@login_required
@require_POST
def incident_snooze_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for_user(request.user, current_organization(request), pk)
    require(request, Action.TRIAGE)
    minutes = params.integer(request.POST, "minutes", default=60, min_value=1, max_value=SNOOZE_MAX_MINUTES)
    incident_snooze(incident=incident, minutes=minutes, user=signed_in_user(request))
    audit_record(
        organization=incident.organization,
        action="incident.snoozed",
        obj=incident,
        request=request,
        changes={"minutes": minutes},
    )
    messages.success(request, f"Snoozed for {minutes} minutes: no notification until then, except its resolution.")
    return redirect("alerts:incident_detail", pk=incident.pk)


@login_required
def rule_new(request: HttpRequest) -> HttpResponse:
    require(request, Action.MANAGE)
    organization = current_organization(request)
    form = RuleForm(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        rule = form.save(commit=False)
        rule.organization = organization
        rule.save()
        form.save_m2m()
        audit_record(organization=organization, action="alert_rule.created", obj=rule, request=request)
        messages.success(request, f"Rule {rule.name} created.")
        return redirect("alerts:index")
    return render(request, "alerts/rule_form.html", {"nav": "alerts", "form": form, **rule_form_context()})


DEFAULTED = ("missing_data", "max_notifications_per_hour")


def rule_form_context() -> dict[str, Any]:
    """What the rule form's script needs: the statistics each metric may be read with."""
    return {"metric_statistics": {m.id: list(m.statistics) for m in alert_metrics.catalogue().values()}}


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    form = RuleForm(request.POST or None, instance=rule, organization=rule.organization)
    if request.method == "POST" and form.is_valid():
        rule = form.save()
        audit_record(
            organization=rule.organization,
            action="alert_rule.changed",
            obj=rule,
            request=request,
            changes={
                name: str(form.cleaned_data.get(name))
                for name in form.changed_data
                # Left out of the submission: the default it took is no change when it was the value.
                if name not in DEFAULTED or str(form.cleaned_data.get(name)) != str(form.initial.get(name))
            },
        )
        messages.success(request, f"Rule {rule.name} saved.")
        return redirect("alerts:index")
    return render(
        request, "alerts/rule_form.html", {"nav": "alerts", "form": form, "rule": rule, **rule_form_context()}
    )


@login_required
@require_POST
def rule_duplicate_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    copy = rule_duplicate(rule=rule)
    audit_record(organization=copy.organization, action="alert_rule.created", obj=copy, request=request)
    messages.success(request, f"{copy.name} created, disabled: edit it, then enable it.")
    return redirect("alerts:rule_edit", pk=copy.pk)


@login_required
@require_POST
def rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    name = rule.name
    audit_record(organization=rule.organization, action="alert_rule.deleted", obj=rule, request=request)
    resolved = rule_delete(rule=rule, user=signed_in_user(request))
    messages.success(
        request,
        f"Rule {name} deleted; its incidents stay as history"
        + (f" ({resolved} open one{'s' if resolved > 1 else ''} resolved)." if resolved else "."),
    )
    return redirect("alerts:index")


MUTE_CHOICES = {"60": 60, "240": 240, "1440": 1440, "10080": 10080}


@login_required
@require_POST
def rule_mute_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mute for a while (`minutes`), until a local time (`until`, in the organisation's zone),
    or unmute (`unmute`)."""
    rule = get_rule_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    organization = rule.organization
    until: datetime | None = None
    if not params.flag(request.POST, "unmute"):
        raw_until = params.text(request.POST, "until", max_length=40)
        if "until" in request.POST and not raw_until:
            return params.bad_request_response(request, "until must be a date and time, e.g. 2026-01-31T14:00.")
        if raw_until:
            try:
                local = datetime.fromisoformat(raw_until)
            except ValueError:
                return params.bad_request_response(request, "until must be a date and time, e.g. 2026-01-31T14:00.")
            zone = ZoneInfo(organization.time_zone)
            until = local.replace(tzinfo=zone) if local.tzinfo is None else local
        else:
            minutes = MUTE_CHOICES.get(params.choice(request.POST, "minutes", MUTE_CHOICES, default="60"), 60)
            until = timezone.now() + timedelta(minutes=minutes)
    try:
        rule_mute(rule=rule, until=until)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("alerts:index")
    audit_record(
        organization=organization,
        action="alert_rule.muted",
        obj=rule,
        request=request,
        changes={"muted_until": until.isoformat() if until else None},
    )
    if until is None:
        messages.success(request, f"{rule.name} notifies again.")
    else:
        local_until = timezone.localtime(until, ZoneInfo(organization.time_zone))
        messages.success(request, f"{rule.name} muted until {local_until:%Y-%m-%d %H:%M} ({organization.time_zone}).")
    return redirect("alerts:index")


@login_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    rule = get_rule_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    if field not in RULE_SWITCHES:
        return HttpResponse(status=404)
    value = rule_switch(rule=rule, field=field)
    audit_record(
        organization=rule.organization, action=f"alert_rule.{field}", obj=rule, request=request, changes={field: value}
    )
    return redirect("alerts:index")


def _channel_name(request: HttpRequest, form: Any, default: str) -> str:
    """The channel's name from the form (one line, at most 120 characters: a longer one is a
    form error kept on the page, not a bare 400)."""
    name = params.one_line(params.text(request.POST, "channel_name", max_length=4000))
    if len(name) > 120:
        form.is_valid()  # errors can be added only to a cleaned form
        form.add_error(None, f"A channel name has at most 120 characters (this one has {len(name)}).")
        return name[:120]
    return name or default


@login_required
def channel_new(request: HttpRequest, kind: str) -> HttpResponse:
    require(request, Action.MANAGE)
    if kind not in {k.kind for k in enabled_kinds()}:
        return HttpResponse(status=404)
    channel_kind = get_kind(kind)
    form = channel_kind.form_class(request.POST or None)
    name = _channel_name(request, form, channel_kind.label) if request.method == "POST" else channel_kind.label
    if (
        request.method == "POST"
        and form.is_valid()
        and kind == "sns"
        and not topic_in_validated_account(current_organization(request), form.config["topic_arn"])
    ):
        form.add_error(
            "topic_arn",
            "The topic must be in one of this organisation's validated AWS accounts "
            "(connect the account first: its role publishes the notifications).",
        )
    if request.method == "POST" and form.is_valid() and not form.non_field_errors():
        channel, (queued, held) = channel_create(
            organization=current_organization(request), kind=kind, name=name[:120], config=form.config
        )
        audit_record(
            organization=channel.organization,
            action="channel.created",
            obj=channel,
            request=request,
            object_repr=channel_kind.describe(channel.config),
        )
        messages.success(request, f"Channel {channel.name} added. Send it a test.")
        if queued:
            messages.info(
                request,
                f"{queued} address{'es' if queued > 1 else ''} outside the organisation will receive nothing "
                "until they confirm through the link just mailed to them.",
            )
        if held:
            messages.warning(request, f"{held} confirmation link{'s' if held > 1 else ''} not sent yet: {LIMITS_NOTE}")
        return redirect("alerts:channel_detail", pk=channel.pk)
    return render(request, "alerts/channel_form.html", {"nav": "alerts", "form": form, "kind": channel_kind})


LIMITS_NOTE = "at most 50 an hour per organisation; send them from the channel page later."


@login_required
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a channel's name and configuration; its secrets are write-only (shown masked,
    kept unless replaced)."""
    channel = get_channel_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    try:
        channel_kind = get_kind(channel.kind)
    except KeyError:
        raise Http404("This kind of channel is not installed") from None
    form = channel_kind.form_class(request.POST or None, stored=dict(channel.config))
    name = _channel_name(request, form, channel.name) if request.method == "POST" else channel.name
    if (
        request.method == "POST"
        and form.is_valid()
        and channel.kind == "sns"
        and not topic_in_validated_account(channel.organization, form.config["topic_arn"])
    ):
        form.add_error("topic_arn", "The topic must be in one of this organisation's validated AWS accounts.")
    if request.method == "POST" and form.is_valid() and not form.non_field_errors():
        changed = sorted(
            k for k in set(form.config) | set(channel.config) if form.config.get(k) != channel.config.get(k)
        )
        queued, held = channel_update(channel=channel, name=name[:120], config=form.config)
        audit_record(
            organization=channel.organization,
            action="channel.changed",
            obj=channel,
            request=request,
            # Names of what changed, never values: they may be secrets.
            changes={"fields": changed, "name": channel.name},
            object_repr=channel_kind.describe(channel.config),
        )
        messages.success(request, f"Channel {channel.name} saved. Send it a test.")
        if queued:
            messages.info(
                request, f"{queued} new address{'es' if queued > 1 else ''} must confirm before receiving alerts."
            )
        if held:
            messages.warning(request, f"{held} confirmation link{'s' if held > 1 else ''} not sent yet: {LIMITS_NOTE}")
        return redirect("alerts:channel_detail", pk=channel.pk)
    return render(
        request,
        "alerts/channel_form.html",
        {"nav": "alerts", "form": form, "kind": channel_kind, "channel": channel, "channel_name": name},
    )


@login_required
def channel_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what deleting would do (the rules that notify the channel, and a choice of a
    channel to take its place). POST: delete, reassigning those rules when asked."""
    channel = get_channel_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    others = channels_of(channel.organization).exclude(pk=channel.pk)
    error = ""
    if request.method == "POST":
        chosen = params.text(request.POST, "reassign_to", max_length=20)
        reassign_to = others.filter(pk=int(chosen)).first() if chosen.isdigit() else None
        if chosen and reassign_to is None:
            return params.bad_request_response(request, "Choose another channel of this organisation.")
        name = channel.name
        try:
            with transaction.atomic():  # no audit entry for a refused delete
                audit_record(organization=channel.organization, action="channel.deleted", obj=channel, request=request)
                moved = channel_delete(channel=channel, reassign_to=reassign_to)
        except ChannelInUse as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                f"Channel {name} deleted"
                + (f"; {moved} rule{'s' if moved > 1 else ''} now notify {reassign_to.name}." if reassign_to else "."),
            )
            return redirect("alerts:index")
    return render(
        request,
        "alerts/channel_delete.html",
        {"nav": "alerts", "channel": channel, "rules": rules_using(channel), "others": others, "error": error},
        status=409 if error else 200,
    )


@login_required
def channel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_channel_for_user(request.user, current_organization(request), pk)
    return render(
        request,
        "alerts/channel_detail.html",
        {"nav": "alerts", "can_manage": can(request, Action.MANAGE), **channel_page(channel)},
    )


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_channel_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    try:
        channel_test_request(channel=channel, user=request.user)
    except ChannelTestRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, f"Test queued for {channel.name}: its result shows below in a few seconds.")
    return redirect("alerts:channel_detail", pk=channel.pk)


@login_required
@require_POST
def recipient_link(request: HttpRequest, pk: int, recipient: int) -> HttpResponse:
    """Mail (again) the confirmation link to one address of an e-mail channel."""
    channel = get_channel_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    row = get_scoped_or_404(AlertRecipient.objects.all(), organization=channel.organization, pk=recipient)
    if row.email not in {a.lower() for a in channel.config.get("recipients", [])}:
        raise Http404("Not a recipient of this channel")
    if recipient_link_request(recipient=row):
        messages.success(request, f"A confirmation link is on its way to {row.email}.")
    else:
        messages.error(request, link_refusal(row) or "No link was sent.")
    return redirect("alerts:channel_detail", pk=channel.pk)


@login_required
@require_POST
def recipient_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Mail the confirmation link to every address of the channel never asked yet."""
    channel = get_channel_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    queued, held = recipients_invite(channel=channel)
    if queued:
        messages.success(request, f"{queued} confirmation link{'s' if queued > 1 else ''} on the way.")
    if held:
        messages.warning(request, f"{held} not sent yet: {LIMITS_NOTE}")
    if not queued and not held:
        messages.info(request, "Every address has been asked within the last hour or has answered.")
    return redirect("alerts:channel_detail", pk=channel.pk)


def recipient_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed to an address outside the organisation; no sign-in. GET only shows
    the question (mail scanners follow links); the answer is a POST."""
    recipient = recipient_for_token(token)
    answered = ""
    if recipient is not None and request.method == "POST" and request.POST.get("answer") in {"accept", "decline"}:
        accept = request.POST["answer"] == "accept"
        with transaction.atomic():
            recipient_answer(recipient=recipient, accept=accept)
            audit_record(
                organization=recipient.organization,
                action="alert_recipient.confirmed" if accept else "alert_recipient.declined",
                obj=recipient,
                request=request,
            )
        answered = "accepted" if accept else "declined"
    return render(
        request,
        "alerts/recipient_confirm.html",
        {"recipient": recipient, "answered": answered, "allow_without_organization": True},
        status=200 if recipient else 400,
    )


@login_required
@require_POST
def channel_enable_view(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_channel_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    channel_enable(channel=channel)
    audit_record(organization=channel.organization, action="channel.enabled", obj=channel, request=request)
    return redirect("alerts:index")


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
    organization = current_organization(request)
    frequency = params.choice(request.POST, "frequency", DigestFrequency.values, default=DigestFrequency.NONE)
    hour = params.integer(request.POST, "hour", default=8, min_value=0, max_value=23)
    digest_subscription_set(organization=organization, user=signed_in_user(request), frequency=frequency, hour=hour)
    messages.success(
        request,
        f"Digest: {dict(DigestFrequency.choices)[frequency].lower()}, at {hour:02d}:00 {organization.time_zone}.",
    )
    return redirect("accounts:settings")
