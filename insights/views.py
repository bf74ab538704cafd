from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.audit import audit_record
from accounts.context import current_organization
from accounts.permissions import can, require
from accounts.roles import Action
from accounts.selectors import aws_accounts_of, get_scoped_or_404
from insights.checks import PILLARS, REGISTRY, SERVICES, SEVERITIES
from web import params

from .models import Finding, FindingStatus, PillarScore, Suppression


class SuppressionForm(forms.Form):
    scope = forms.ChoiceField(choices=Suppression.Scope.choices)
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    days = forms.IntegerField(min_value=1, max_value=365, required=False, help_text="Expires after; empty: never.")


@login_required
def index(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    findings = Finding.objects.none()
    account = params.integer(request.GET, "account")
    filters = {
        "pillar": params.choice(request.GET, "pillar", PILLARS),
        "severity": params.choice(request.GET, "severity", SEVERITIES),
        "service": params.choice(request.GET, "service", SERVICES),
        "status": params.choice(request.GET, "status", FindingStatus.values),
        "account": "" if account is None else str(account),
    }
    if organization:
        findings = Finding.objects.filter(organization=organization).select_related("resource", "account")
        findings = findings.filter(status=filters["status"] or FindingStatus.OPEN)
        for key in ("pillar", "severity", "service"):
            if filters[key]:
                findings = findings.filter(**{key: filters[key]})
        if account is not None:
            findings = findings.filter(account_id=account)
    page = Paginator(findings.order_by("severity", "-last_seen"), 50).get_page(params.page(request.GET))
    today = timezone.now().date()
    scores = (
        {s.pillar: s for s in PillarScore.objects.filter(organization=organization, day=today)} if organization else {}
    )
    trend: dict[str, list[int]] = {}
    if organization:
        for s in PillarScore.objects.filter(organization=organization, day__gte=today - timedelta(days=30)):
            trend.setdefault(s.pillar, []).append(round(s.score))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "insights/index.html",
        {
            "nav": "insights",
            "page": page,
            "filters": filters,
            "pillars": [(p, scores.get(p), trend.get(p, [])) for p in PILLARS],
            "pillar_names": PILLARS,
            "severities": SEVERITIES,
            "services": SERVICES,
            "statuses": FindingStatus.choices,
            "accounts": aws_accounts_of(organization) if organization else [],
            "checks": REGISTRY,
            "query": query.urlencode(),
            "can_manage": can(request, Action.MANAGE),
            "suppression_form": SuppressionForm(),
        },
    )


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    checks = sorted(REGISTRY.values(), key=lambda c: (c.service, c.id))
    return render(request, "insights/catalogue.html", {"nav": "insights", "checks": checks})


@login_required
@require_POST
def suppress(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_scoped_or_404(Finding.objects.all(), organization=current_organization(request), pk=pk)
    require(request, Action.MANAGE)
    form = SuppressionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for the suppression.")
        return redirect("insights:index")
    scope = form.cleaned_data["scope"]
    days = form.cleaned_data["days"]
    suppression = Suppression.objects.create(
        organization=finding.organization,
        scope=scope,
        check_id=finding.check_id if scope == Suppression.Scope.CHECK else "",
        resource=finding.resource if scope == Suppression.Scope.RESOURCE else None,
        finding=finding if scope == Suppression.Scope.FINDING else None,
        reason=form.cleaned_data["reason"],
        created_by=request.user,  # type: ignore[misc]
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    matching = Finding.objects.filter(organization=finding.organization, status=FindingStatus.OPEN)
    if scope == Suppression.Scope.FINDING:
        matching = matching.filter(pk=finding.pk)
    elif scope == Suppression.Scope.CHECK:
        matching = matching.filter(check_id=finding.check_id)
    else:
        matching = matching.filter(resource=finding.resource)
    count = matching.update(status=FindingStatus.SUPPRESSED)
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
