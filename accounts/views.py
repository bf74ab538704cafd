from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from web import params

from .admin_services import AdminError
from .context import current_organization
from .forms import ProfileForm, SsoSettingsForm
from .middleware import SESSION_KEY, organization_optional
from .permissions import require
from .roles import ROLE_DESCRIPTIONS, Action
from .selectors import get_member_for_user, get_membership_in
from .services import profile_for, profile_update
from .sso import organization_sso_update


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    organization_id = params.integer(request.POST, "organization")
    if organization_id is None:
        raise params.InvalidInput("Choose an organisation to switch to.")
    membership = get_membership_in(request.user, organization_id)
    request.session[SESSION_KEY] = membership.organization_id
    messages.success(request, f"Switched to {membership.organization.name}.")
    return redirect(params.safe_next(request, reverse("monitoring:overview")))


@login_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_member_for_user(request.user, current_organization(request), pk)
    return render(
        request,
        "accounts/member_detail.html",
        {"member": member, "role_description": ROLE_DESCRIPTIONS[member.role], "nav": "settings"},
    )


@login_required
@organization_optional
def profile(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own time zone and date format."""
    current = profile_for(request.user)  # type: ignore[arg-type]
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            profile_update(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, "Profile saved: times are shown in your time zone and date format.")
            return redirect("accounts:profile")
        status = 400
    else:
        form = ProfileForm(initial={"time_zone": current.time_zone, "date_format": current.date_format})
        status = 200
    return render(request, "accounts/profile.html", {"form": form, "now": timezone.now()}, status=status)


@login_required
@require_POST
def sso_settings(request: HttpRequest) -> HttpResponse:
    require(request, Action.MANAGE)
    form = SsoSettingsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not saved: " + params.form_errors(form))
        return redirect(reverse("accounts:settings") + "#sso")
    try:
        organization_sso_update(organization=current_organization(request), request=request, **form.cleaned_data)
        messages.success(request, "Single sign-on settings saved.")
    except AdminError as exc:
        messages.error(request, str(exc))
    return redirect(reverse("accounts:settings") + "#sso")
