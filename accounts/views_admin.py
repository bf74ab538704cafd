"""The team admin console: organisation, members, invitations, API tokens, audit log."""

from __future__ import annotations

import csv
import json
from typing import Any

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from web import panels, params

from .admin_services import (
    AdminError,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_resend,
    invitation_revoke,
    invitation_state,
    member_remove,
    member_role_change,
    organization_update,
    ownership_transfer,
)
from .api_tokens import api_token_create, api_token_revoke
from .context import current_membership, current_organization
from .forms import ApiTokenForm, InvitationForm, OrganizationForm, SsoSettingsForm
from .middleware import SESSION_KEY
from .models import ApiToken, AuditEvent, Invitation, Role
from .permissions import can, require
from .roles import ROLE_DESCRIPTIONS, Action
from .selectors import (
    api_tokens_of,
    audit_actions_of,
    audit_events_for,
    get_member_for_user,
    get_scoped_or_404,
    members_of,
)
from .sso import sso_provider

PENDING_INVITATION = "pending_invitation_token"
# The panel slot of the settings page, below the organisation (see web/panels.py).
SETTINGS_SLOT = "accounts.settings"


@login_required
def settings_index(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    # What higher apps add to this page (alerts: the member's e-mail digest).
    settings_panels = panels.render(SETTINGS_SLOT, request, organization)
    pending = [
        i for i in Invitation.objects.filter(organization=organization, accepted_at=None, revoked_at=None)
        if invitation_state(i) == "pending"
    ]  # fmt: skip
    return render(
        request,
        "accounts/settings.html",
        {
            "nav": "settings",
            "members": members_of(organization),
            "roles": Role.choices,
            "role_descriptions": ROLE_DESCRIPTIONS,
            "org_form": OrganizationForm(instance_values=organization),
            "invite_form": InvitationForm(),
            "invitations": pending,
            "can_manage": can(request, Action.MANAGE),
            "can_own": can(request, Action.OWN),
            "sso_form": SsoSettingsForm(
                initial={k: getattr(organization, k) for k in ("sso_required", "sso_domain", "sso_default_role")}
            ),
            "sso_provider": sso_provider(),
            "panels": settings_panels,
        },
    )


@login_required
@require_POST
def organization_edit(request: HttpRequest) -> HttpResponse:
    require(request, Action.OWN)
    form = OrganizationForm(request.POST)
    if form.is_valid():
        try:
            organization_update(organization=current_organization(request), request=request, **form.cleaned_data)
            messages.success(request, "Organisation settings saved.")
        except AdminError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "Not saved: " + params.form_errors(form))
    return redirect("accounts:settings")


def _admin_action(request: HttpRequest, action: Action, run: Any, success: str) -> HttpResponse:
    require(request, action)
    try:
        run()
        messages.success(request, success)
    except AdminError as exc:
        messages.error(request, str(exc))
    return redirect(params.safe_next(request, reverse("accounts:settings")))


@login_required
@require_POST
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_member_for_user(request.user, current_organization(request), pk)
    role = params.choice(request.POST, "role", Role.values)
    return _admin_action(
        request,
        Action.MANAGE,
        lambda: member_role_change(membership=member, role=role, by=current_membership(request), request=request),
        f"{member.user.email} is now {dict(Role.choices).get(role, role).lower()}.",
    )


@login_required
@require_POST
def member_delete(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_member_for_user(request.user, current_organization(request), pk)
    return _admin_action(
        request,
        Action.MANAGE,
        lambda: member_remove(membership=member, by=current_membership(request), request=request),
        f"{member.user.email} was removed from the organisation.",
    )


@login_required
@require_POST
def ownership(request: HttpRequest) -> HttpResponse:
    # The role first: a non-owner learns nothing about which member ids exist.
    require(request, Action.OWN)
    member = params.integer(request.POST, "member")
    if member is None:
        raise params.InvalidInput("Choose the member who becomes the owner.")
    target = get_member_for_user(request.user, current_organization(request), member)
    return _admin_action(
        request,
        Action.OWN,
        lambda: ownership_transfer(
            organization=current_organization(request), to=target, by=current_membership(request), request=request
        ),
        f"{target.user.email} now owns the organisation; you are an admin.",
    )


@login_required
@require_POST
def invitation_new(request: HttpRequest) -> HttpResponse:
    require(request, Action.MANAGE)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not sent: " + params.form_errors(form))
        return redirect("accounts:settings")
    return _admin_action(
        request,
        Action.MANAGE,
        lambda: invitation_create(
            organization=current_organization(request),
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            by=current_membership(request),
            request=request,
        ),
        f"Invitation sent to {form.cleaned_data['email']}.",
    )


@login_required
@require_POST
def invitation_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    invitation = get_scoped_or_404(Invitation.objects.all(), organization=current_organization(request), pk=pk)
    if action == "resend":
        return _admin_action(
            request, Action.MANAGE, lambda: invitation_resend(invitation=invitation, request=request), "Sent again."
        )
    if action == "revoke":
        return _admin_action(
            request, Action.MANAGE, lambda: invitation_revoke(invitation=invitation, request=request), "Revoked."
        )
    return HttpResponse(status=404)


def invitation_landing(request: HttpRequest, token: str) -> HttpResponse:
    """Public: what the invitation is, then sign in / sign up, then accept."""
    invitation = invitation_for_token(token)
    state = invitation_state(invitation) if invitation else "unknown"
    if request.method == "POST" and invitation is not None and request.user.is_authenticated:
        try:
            membership = invitation_accept(invitation=invitation, user=request.user, request=request)
        except AdminError as exc:
            messages.error(request, str(exc))
        else:
            request.session.pop(PENDING_INVITATION, None)
            request.session[SESSION_KEY] = membership.organization_id
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return redirect("monitoring:overview")
    if invitation is not None and state == "pending" and not request.user.is_authenticated:
        # The link was e-mailed to this address: signing up with it needs no second
        # verification mail, and the sign-up does not create an organisation of its own.
        request.session[PENDING_INVITATION] = token
        get_adapter().stash_verified_email(request, invitation.email)
    return render(
        request,
        "accounts/invitation.html",
        {"invitation": invitation, "state": state, "token": token, "allow_without_organization": True},
        status=200 if invitation else 404,
    )


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    require(request, Action.MANAGE)
    organization = current_organization(request)
    created_secret = None
    form = ApiTokenForm()
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                _, created_secret = api_token_create(
                    organization=organization,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    by=request.user,
                    request=request,
                )
                form = ApiTokenForm()
            except AdminError as exc:
                form.add_error("name", str(exc))
    return render(
        request,
        "accounts/api_tokens.html",
        {
            "nav": "settings",
            "tokens": api_tokens_of(organization),
            "form": form,
            "created_secret": created_secret,
        },
    )


@login_required
@require_POST
def api_token_delete(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_scoped_or_404(ApiToken.objects.all(), organization=current_organization(request), pk=pk)
    require(request, Action.MANAGE)
    try:
        api_token_revoke(token=token, request=request)
        messages.success(request, f"Token {token.name} revoked: it stops working now.")
    except AdminError as exc:
        messages.error(request, str(exc))
    return redirect("accounts:api_tokens")


def _audit_events(request: HttpRequest) -> QuerySet[AuditEvent]:
    """The organisation's audit events, filtered by ?actor=, ?action=, ?since=, ?until=
    (dates, YYYY-MM-DD, inclusive). A malformed filter is a 400, never an empty export."""
    return audit_events_for(
        current_organization(request),
        actor=params.text(request.GET, "actor"),
        action=params.text(request.GET, "action", max_length=100),
        since=params.day(request.GET, "since"),
        until=params.day(request.GET, "until"),
    )


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    require(request, Action.MANAGE)
    events = _audit_events(request)
    page = Paginator(events, 50).get_page(params.page(request.GET))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit_log.html",
        {
            "nav": "settings",
            "page": page,
            "filters": request.GET,
            "query": query.urlencode(),
            "actions": audit_actions_of(current_organization(request)),
        },
    )


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(…)
# in a project name or a User-Agent would be a link or worse when the export is opened).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """A leading quote makes a spreadsheet show the cell as text instead of running it."""
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def audit_log_csv(request: HttpRequest) -> StreamingHttpResponse:
    require(request, Action.MANAGE)
    writer = csv.writer(_Echo())
    header = ["time_utc", "actor", "action", "object_type", "object_id", "object", "changes", "ip", "user_agent"]

    events = _audit_events(request)  # filters are checked before the first byte is sent

    def rows() -> Any:
        yield writer.writerow(header)
        for e in events.iterator():
            yield writer.writerow(
                [
                    spreadsheet_safe(value)
                    for value in (
                        e.created_at.isoformat(),
                        e.actor_label,
                        e.action,
                        e.object_type,
                        e.object_id,
                        e.object_repr,
                        json.dumps(e.changes, ensure_ascii=False, sort_keys=True),
                        e.ip or "",
                        e.user_agent,
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
