from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from web import params

from .context import current_organization
from .middleware import SESSION_KEY
from .roles import ROLE_DESCRIPTIONS
from .selectors import get_member_for_user, get_membership_in


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
