from __future__ import annotations

from dataclasses import asdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.audit import audit_record
from accounts.context import current_organization, signed_in_user
from accounts.permissions import can, require
from accounts.roles import Action
from accounts.selectors import aws_accounts_of
from web import params

from .checks import PILLARS, REGISTRY, SERVICES, SEVERITIES
from .forms import SuppressionForm
from .models import FindingStatus
from .selectors import FindingFilters, finding_groups_for, get_finding_for_user, pillar_scores
from .services import finding_suppress


@login_required
def index(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    filters = FindingFilters(
        pillar=params.choice(request.GET, "pillar", PILLARS),
        severity=params.choice(request.GET, "severity", SEVERITIES),
        service=params.choice(request.GET, "service", SERVICES),
        status=params.choice(request.GET, "status", FindingStatus.values),
        account=params.integer(request.GET, "account"),
        check=params.choice(request.GET, "check", list(REGISTRY)),
    )
    include_negligible = params.flag(request.GET, "negligible")
    grouped = finding_groups_for(
        organization, filters, include_negligible=include_negligible, page=params.page(request.GET)
    )
    query = request.GET.copy()
    query.pop("negligible", None)
    query.pop("page", None)
    return render(
        request,
        "insights/index.html",
        {
            "nav": "insights",
            "grouped": grouped,
            "include_negligible": include_negligible,
            "filters": {**asdict(filters), "account": "" if filters.account is None else str(filters.account)},
            "pillars": pillar_scores(organization, today=timezone.now().date()),
            "pillar_names": PILLARS,
            "severities": SEVERITIES,
            "services": SERVICES,
            "statuses": FindingStatus.choices,
            "accounts": aws_accounts_of(organization),
            "checks": REGISTRY,
            "query": query.urlencode(),
            "can_manage": can(request, Action.MANAGE),
            # The same fields on every row: rendered once, not once per finding.
            "suppression_form": SuppressionForm().as_p(),
        },
    )


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    checks = sorted(REGISTRY.values(), key=lambda c: (c.service, c.id))
    return render(request, "insights/catalogue.html", {"nav": "insights", "checks": checks})


@login_required
@require_POST
def suppress(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_finding_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    form = SuppressionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for the suppression.")
        return redirect("insights:index")
    scope = form.cleaned_data["scope"]
    suppression, count = finding_suppress(
        finding=finding,
        scope=scope,
        reason=form.cleaned_data["reason"],
        days=form.cleaned_data["days"],
        by=signed_in_user(request),
    )
    audit_record(
        organization=finding.organization,
        action="insight.suppressed",
        obj=suppression,
        request=request,
        object_repr=f"{finding.check_id} ({scope})",
        changes={
            "reason": suppression.reason,
            "expires_at": suppression.expires_at.isoformat() if suppression.expires_at else None,
        },
    )
    messages.success(request, f"Suppressed {count} finding{'s' if count != 1 else ''}.")
    return redirect("insights:index")
