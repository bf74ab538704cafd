"""Dashboard pages. Pages whose collectors have not landed yet render their empty state,
which tells the user what the page will show and the next step to get data into it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import aws_accounts_of
from insights.models import Finding

from .models import ResourceKind
from .selectors import ResourceFilters, get_resource_for_user, regions_of, resource_counts_by_kind, resources_for


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    accounts = list(aws_accounts_of(organization)) if organization else []
    return render(
        request,
        "monitoring/overview.html",
        {
            "nav": "overview",
            "accounts": accounts,
            "kinds": resource_counts_by_kind(organization) if organization else [],
        },
    )


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
