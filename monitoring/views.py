"""Dashboard pages. Pages whose collectors have not landed yet render their empty state,
which tells the user what the page will show and the next step to get data into it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.selectors import aws_accounts_of
from insights.models import Finding, PillarScore

from . import dashboard
from .models import ResourceKind
from .selectors import ResourceFilters, get_resource_for_user, regions_of, resource_counts_by_kind, resources_for

KPI_CARDS = [
    ("invocations", "Invocations", "{:,}", True),
    ("errors", "Errors", "{:,}", False),
    ("error_rate", "Error rate", "{} %", False),
    ("cold_starts", "Cold starts", "{:,}", False),
    ("throttles", "Throttles", "{:,}", False),
    ("duration_p50_ms", "p50 duration", "{:.0f} ms", False),
    ("duration_p95_ms", "p95 duration", "{:.0f} ms", False),
    ("duration_p99_ms", "p99 duration", "{:.0f} ms", False),
    ("cost_usd", "Cost", "$ {:.4f}", False),
]


def kpi_cards(values: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    cards = []
    for key, label, fmt, up_is_good in KPI_CARDS:
        item = values[key]
        value = item["value"]
        change = item["change_percent"]
        cards.append(
            {
                "key": key,
                "label": label,
                "display": fmt.format(value) if value is not None else "—",
                "change": change,
                "bad": change is not None and ((change < 0) if up_is_good else (change > 0)),
            }
        )
    return cards


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    accounts = list(aws_accounts_of(organization)) if organization else []
    context: dict[str, Any] = {
        "nav": "overview",
        "accounts": accounts,
        "kinds": resource_counts_by_kind(organization) if organization else [],
        "periods": ["1h", "24h", "7d", "30d"],
    }
    if organization and accounts:
        period = dashboard.parse_period(request.GET)
        scope = dashboard.Scope.from_query(organization, request.GET)
        series = dashboard.trend(scope, period)
        context.update(
            {
                "period": period,
                "scope": scope,
                "kpi_cards": kpi_cards(dashboard.kpis_with_change(scope, period)),
                "figures": {
                    "fig-invocations": dashboard.figure_invocations(series),
                    "fig-duration": dashboard.figure_duration(series),
                    "fig-cost": dashboard.figure_cost(series),
                },
                "top": dashboard.top_functions(scope, period),
                "regions": regions_of(organization),
                "pillars": PillarScore.objects.filter(organization=organization, day=timezone.now().date()),
            }
        )
    return render(request, "monitoring/overview.html", context)


@login_required
def resources(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    filters = ResourceFilters.from_query(request.GET)
    page = None
    if organization:
        page = Paginator(resources_for(organization, filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/resources.html",
        {
            "nav": "resources",
            "page": page,
            "filters": filters,
            "kinds": ResourceKind.choices,
            "accounts": aws_accounts_of(organization) if organization else [],
            "regions": regions_of(organization) if organization else [],
            "query": query.urlencode(),
        },
    )


@login_required
def resource_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resource = get_resource_for_user(request.user, request.organization, pk)  # type: ignore[attr-defined]
    return render(
        request,
        "monitoring/resource_detail.html",
        {
            "nav": "resources",
            "resource": resource,
            "changes": resource.changes.all()[:50],
            "findings": Finding.objects.filter(resource=resource, status="open").order_by("severity"),
        },
    )


@login_required
def errors(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/errors.html", {"nav": "errors"})


@login_required
def logs(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/logs.html", {"nav": "logs"})
