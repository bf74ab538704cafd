from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .middleware import SESSION_KEY
from .roles import ROLE_DESCRIPTIONS
from .selectors import get_member_for_user, get_membership_in


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    try:
        organization_id = int(request.POST.get("organization", ""))
    except ValueError:
        messages.error(request, "Choose an organisation to switch to.")
        return redirect("overview")
    membership = get_membership_in(request.user, organization_id)
    request.session[SESSION_KEY] = membership.organization_id
    messages.success(request, f"Switched to {membership.organization.name}.")
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        return redirect(next_url)
    return redirect("overview")


@login_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_member_for_user(request.user, request.organization, pk)  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/member_detail.html",
        {"member": member, "role_description": ROLE_DESCRIPTIONS[member.role], "nav": "settings"},
    )
