"""Dashboard pages. Pages whose collectors have not landed yet render their empty state,
which tells the user what the page will show and the next step to get data into it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import ProtectedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

import kinds
from accounts.audit import audit_record
from accounts.context import current_organization
from accounts.permissions import can, require
from accounts.roles import Action
from accounts.selectors import aws_accounts_of
from kinds import Section, lambda_function
from web import marks, panels, params
from web.widgets import options_html

from . import dashboard, resource_page, services, trace_figures
from .forms import ProjectForm
from .logsearch.query import SEARCH_ID, LogSearchCancelled, LogSearchTimeout, search_cancel
from .logsearch.query import marker as log_search_marker
from .models import ErrorGroupStatus, InvocationStatus, Resource
from .selectors import (
    HOURLY_AGGREGATE,
    InvocationFilters,
    LogSearch,
    ResourceFilters,
    downstream_calls,
    error_group_daily_counts,
    error_group_samples,
    error_groups_for,
    functions_of,
    get_error_group_for_user,
    get_invocation_for_user,
    get_project_for_user,
    get_resource_for_user,
    invocations_for,
    log_lines_of,
    neighbours,
    no_trace_reason,
    projects_of,
    recent_error_groups,
    regions_of,
    resource_counts_by_kind,
    resource_names,
    resources_for,
    same_failure_elsewhere,
    search_log_lines,
    trace_of,
    trace_spans,
    traced_among,
)
from .selectors import (
    service_map as service_map_edges,
)

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

# The panel slots of the overview (below the top lists) and of the resource page (above its
# configuration): higher apps register panels for them (see web/panels.py).
OVERVIEW_SLOT = "monitoring.overview"
RESOURCE_SLOT = "monitoring.resource"


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
    organization = current_organization(request)
    accounts = list(aws_accounts_of(organization))
    context: dict[str, Any] = {
        "nav": "overview",
        "accounts": accounts,
        "kinds": resource_counts_by_kind(organization),
        "periods": ["1h", "24h", "7d", "30d"],
        "projects": projects_of(organization),
    }
    if accounts:
        period = dashboard.parse_period(request.GET, organization=organization)
        scope = dashboard.Scope.from_query(organization, request.GET)
        series = dashboard.trend(scope, period)
        context.update(
            {
                "period": period,
                "scope": scope,
                "kpi_cards": kpi_cards(dashboard.kpis_with_change(scope, period)),
                "figures": {
                    "fig-invocations": dashboard.figure_invocations(series),
                    "fig-duration": dashboard.figure_duration(series, "average duration (ms)"),
                    "fig-cost": dashboard.figure_cost(series),
                },
                "top": dashboard.top_functions(scope, period),
                "regions": regions_of(organization),
                # What higher apps add to the overview (insights: today's pillar scores).
                "panels": panels.render(OVERVIEW_SLOT, request, organization),
            }
        )
    return render(request, "monitoring/overview.html", context)


@login_required
def resources(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    filters = ResourceFilters.from_query(request.GET)
    page = Paginator(resources_for(organization, filters), 50).get_page(params.page(request.GET))
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    sparks = dashboard.sparklines([r.pk for r in page.object_list if r.kind == lambda_function.KIND])
    numbers = resource_page.key_numbers(page.object_list)
    return render(
        request,
        "monitoring/resources.html",
        {
            "rows": [(r, sparks.get(r.pk), numbers.get(r.pk)) for r in page.object_list],
            "sort_query": sort_query.urlencode(),
            "sort": filters.sort,
            "projects": projects_of(organization),
            "can_manage": can(request, Action.MANAGE),
            "sort_columns": [
                ("name", "Name"),
                ("kind", "Kind"),
                ("account", "Account"),
                ("region", "Region"),
                ("last_seen", "Last seen"),
            ],
            "nav": "resources",
            "page": page,
            "filters": filters,
            "kinds": kinds.choices(),
            "accounts": aws_accounts_of(organization),
            "regions": regions_of(organization),
            "query": query.urlencode(),
        },
    )


@login_required
def resource_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Any kind's page: its kind's sections in order (charts of rollups or of CloudWatch
    metrics over the period, invocations, error groups, configuration), its related
    resources, and what higher apps register for the page (findings, alert rules)."""
    resource = get_resource_for_user(request.user, current_organization(request), pk)
    period = dashboard.parse_period(request.GET, organization=resource.organization)
    sections = resource_page.sections_of(resource)
    sources = {s.source for s in sections}
    # Configuration changes are deployments: a dotted line on every chart of the page.
    markers = [
        c.detected_at for c in resource.changes.filter(detected_at__gte=period.start, detected_at__lt=period.end)
    ]
    metric_sections, figures = resource_page.metric_sections(resource, sections, period, markers)
    by_id = {m.section.id: m for m in metric_sections}
    context: dict[str, Any] = {
        "nav": "resources",
        "resource": resource,
        "sections": sections,
        "page_sections": [(s, by_id.get(s.id)) for s in sections],
        "metric_kpis": [kpi for m in metric_sections for kpi in m.kpis],
        "has_charts": bool(metric_sections) or "rollups" in sources,
        "changes": resource.changes.all()[:50],
        "relations": resource_page.relations(resource),
        # What higher apps add to the page (insights: open findings; alerts: rules and incidents).
        "panels": panels.render(RESOURCE_SLOT, request, resource),
        "period": period,
        "periods": ["1h", "24h", "7d", "30d"],
    }
    if "rollups" in sources:
        series, context["kpis"] = dashboard.function_figures(resource, period)
        for section in sections:
            if section.source == "rollups":
                figures[f"fig-{section.id}"] = _rollup_figure(section, series, markers)
    if "invocations" in sources:
        filters = InvocationFilters.from_query(request.GET)
        invocations = invocations_for(resource, filters, period.start)
        # Higher apps say which invocations are far outside the function's distribution.
        bounds = marks.outlier_bounds(resource)
        outliers = {i.pk: marks.is_outlier(bounds, i) for i in invocations}
        query = request.GET.copy()
        query.pop("before", None)
        context.update(
            {
                "invocations": [(i, outliers[i.pk]) for i in invocations],
                "traced": traced_among(resource, list(invocations)),
                "filters": filters,
                "statuses": InvocationStatus.choices,
                "next_cursor": invocations[-1].pk if len(invocations) == 50 else None,
                "outlier_bounds": bounds,
                "query": query.urlencode(),
            }
        )
    if "downstream" in sources:
        context["downstream"], context["downstream_traces"] = downstream_calls(
            resource, start=period.start, end=period.end
        )
    if "error_groups" in sources:
        context["error_groups"] = recent_error_groups(resource)
    _shade_anomalies(resource, sections, period, figures)
    _draw_bands(resource, sections, period, figures)
    context["figures"] = figures
    return render(request, "monitoring/resource_detail.html", context)


# A rollup chart by the first series its section names: what it draws, and the figures of
# the hourly rollups (the keys higher apps' marks name) it shows: (key, label, colour).
_ROLLUP_CHARTS: dict[str, list[tuple[str, str, str]]] = {
    "invocations": [("invocations", "Invocations", "#93c5fd"), ("errors", "Errors", "#ef4444")],
    "p95": [("duration_p95_ms", "p95 duration (ms)", "#2563eb")],
    "memory": [("memory_max_mb", "Max memory used (MB)", "#7c3aed")],
    "cost": [("cost_usd", "Cost (USD)", "#16a34a")],
}
# Shading also covers what a chart stands for without drawing it: p50 on the duration chart.
_ROLLUP_SHADED = {"p95": {"duration_p50_ms"}}
# Rollup figures that add up over an hour (the others are a percentile or a maximum).
_ADDITIVE = {"invocations", "errors", "cost_usd"}


def _rollup_figure(section: Section, series: dict[str, list[Any]], markers: list[datetime]) -> dict[str, Any]:
    chart = section.series[0] if section.series else "invocations"
    if chart == "p95":
        return dashboard.figure_duration(series, markers=markers)
    if chart == "memory":
        return dashboard.figure_memory(series, markers)
    if chart == "cost":
        return dashboard.figure_cost(series, markers)
    return dashboard.figure_invocations(series, markers)


def _rollup_keys(section: Section) -> list[tuple[str, str, str]]:
    return _ROLLUP_CHARTS.get(section.series[0] if section.series else "", _ROLLUP_CHARTS["invocations"])


def _shade_anomalies(
    resource: Resource, sections: Any, period: dashboard.Period, figures: dict[str, dict[str, Any]]
) -> None:
    """Shade the spans higher apps mark (anomalous hours) on the charts drawing their series."""
    shaded = marks.overlays(resource, period.start, period.end)
    if not shaded:
        return
    for section in sections:
        figure = figures.get(f"fig-{section.id}")
        if figure is None:
            continue
        if section.source == "rollups":
            drawn = {key for key, _, _ in _rollup_keys(section)} | _ROLLUP_SHADED.get(
                section.series[0] if section.series else "", set()
            )
        else:
            drawn = set(section.series)
        spans = [(m.start, m.end, m.text) for m in shaded if m.series in drawn]
        if spans:
            layout = figure.setdefault("layout", {})
            layout["shapes"] = [*layout.get("shapes", []), *dashboard.overlay_shapes(spans)]


def _draw_bands(
    resource: Resource, sections: Any, period: dashboard.Period, figures: dict[str, dict[str, Any]]
) -> None:
    """Draw the normal band higher apps give (the anomaly detector's) on the charts of the
    series that have one. The band is hourly: charts by the hour or finer get it, daily ones
    (periods beyond three days) do not."""
    hour = timedelta(hours=1)
    step_name = dashboard.trend_step(period)
    rollup_step = dashboard.windows.STEPS[step_name]
    rollup_window = dashboard.Period(
        period.key, dashboard.windows.floor(period.start, step_name), period.end, period.now
    )
    metric_step = dashboard.metric_step(period)
    charts: list[tuple[str, dashboard.Period, timedelta, list[tuple[str, str, str, bool]]]] = []
    for section in sections:
        figure_id = f"fig-{section.id}"
        if figure_id not in figures:
            continue
        if section.source == "rollups" and rollup_step <= hour:
            keys = [(key, label, colour, key in _ADDITIVE) for key, label, colour in _rollup_keys(section)]
            charts.append((figure_id, rollup_window, rollup_step, keys))
        elif section.source == "metrics" and metric_step <= hour:
            keys = [
                (key, kinds.series_label(key), dashboard.COLOURS[i % len(dashboard.COLOURS)],
                 HOURLY_AGGREGATE.get(kinds.series_key(key)[1]) == "sum")
                for i, key in enumerate(section.series)
            ]  # fmt: skip
            charts.append((figure_id, dashboard.metric_window(period), metric_step, keys))
    if not charts:
        return
    found = marks.bands(resource, period.start, period.end, {k[0] for _, _, _, keys in charts for k in keys})
    now = timezone.now()
    for figure_id, window, step, keys in charts:
        drawn = [k for k in keys if k[0] in found]
        for n, (key, label, colour, additive) in enumerate(drawn):
            figures[figure_id]["data"] += dashboard.band_traces(
                found[key].hours, window, step, label=label if len(drawn) > 1 else "", colour=colour,
                additive=additive, now=now, legend=n == 0, start_at=period.start,
            )  # fmt: skip


@login_required
def invocation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invocation = get_invocation_for_user(request.user, current_organization(request), pk)
    previous, following = neighbours(invocation)
    resource = invocation.resource
    bounds = marks.outlier_bounds(resource)
    lines = [(line, _pretty(line.message)) for line in log_lines_of(invocation)]
    console = (
        f"https://{resource.region}.console.aws.amazon.com/cloudwatch/home?region={resource.region}"
        f"#logsV2:log-groups/log-group/{quote(quote((resource.config or {}).get('log_group', ''), safe=''), safe='')}"
        f"/log-events/{quote(quote(invocation.log_stream, safe=''), safe='')}"
    )
    trace = trace_of(invocation)
    tree = trace_spans(trace) if trace is not None and trace.found else []
    calls = [(span, trace_figures.span_state(span)) for span in tree if span.namespace in ("aws", "remote")]
    return render(
        request,
        "monitoring/invocation_detail.html",
        {
            "nav": "resources",
            "invocation": invocation,
            "resource": resource,
            "lines": lines,
            "previous": previous,
            "next": following,
            "console_url": console,
            "retried": invocation.attempt > 1,
            "trace": trace if tree else None,
            "trace_calls": calls,
            "no_trace": "" if tree else no_trace_reason(invocation, trace),
            "figures": {"fig-waterfall": trace_figures.waterfall(tree)} if tree else {},
            "outlier_fields": marks.is_outlier(bounds, invocation),
            "outlier_bounds": bounds,
        },
    )


def _pretty(message: str) -> str | None:
    """A JSON log line, indented; None for plain text."""
    text = message.strip()
    if not text.startswith("{"):
        return None
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=False)
    except ValueError:
        return None


@login_required
def errors(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    groups = Paginator(error_groups_for(organization, request.GET), 50).get_page(params.page(request.GET))
    return render(
        request,
        "monitoring/errors.html",
        {
            "nav": "errors",
            "page": groups,
            "status": params.choice(request.GET, "status", [*ErrorGroupStatus.values, "all"], default="open"),
            "statuses": [*ErrorGroupStatus.choices, ("all", "All")],
            "has_accounts": organization.aws_accounts.exists(),
            "can_triage": can(request, Action.TRIAGE),
            "projects": projects_of(organization),
            "project": params.integer(request.GET, "project"),
        },
    )


@login_required
def error_group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_error_group_for_user(request.user, current_organization(request), pk)
    daily = error_group_daily_counts(group)
    return render(
        request,
        "monitoring/error_group_detail.html",
        {
            "nav": "errors",
            "group": group,
            "samples": error_group_samples(group),
            "can_triage": can(request, Action.TRIAGE),
            "daily_total": sum(n for _, n in daily),
            "days": len(daily),
            "figures": {"fig-occurrences": dashboard.figure_daily(daily, "Occurrences")},
            "elsewhere": same_failure_elsewhere(group),
        },
    )


@login_required
@require_POST
def error_group_status(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_error_group_for_user(request.user, current_organization(request), pk)
    require(request, Action.TRIAGE)
    status = params.choice(request.POST, "status", ErrorGroupStatus.values)
    if not status:
        raise params.InvalidInput(f"status must be one of: {', '.join(ErrorGroupStatus.values)}.")
    if services.error_group_set_status(group=group, status=status, now=timezone.now()):
        audit_record(organization=group.organization, action=f"error_group.{status}", obj=group, request=request)
        messages.success(request, f"Marked {status}.")
    return redirect(params.safe_next(request, reverse("monitoring:error_group_detail", args=[group.pk])))


@login_required
def logs(request: HttpRequest) -> HttpResponse:
    """The Logs page. Its own searches (the form, older lines, narrower windows) run in the
    page through `logs_results` (static/js/logs.js); this page also renders the results
    itself, for a link followed and for a browser without JavaScript."""
    organization = current_organization(request)
    context: dict[str, Any] = {"nav": "logs", "periods": ["1h", "24h", "7d", "30d"]}
    if organization.aws_accounts.exists():
        context.update(_log_results(request, organization))
        search = context["search"]
        context.update(
            {
                # Written directly: a template loop over ten thousand functions takes a tenth of a second.
                "function_options": options_html(
                    functions_of(organization).values_list("pk", "name"),
                    {str(search.resource)} if search.resource else set(),
                ),
                "projects": projects_of(organization),
                "statuses": InvocationStatus.choices,
            }
        )
    return render(request, "monitoring/logs.html", context)


@login_required
def logs_results(request: HttpRequest) -> HttpResponse:
    """The results of one search, as the Logs page's fragment. `search` names it so that
    `logs_cancel` can stop it; a cancelled search answers 204 (nobody waits for it)."""
    organization = current_organization(request)
    search_id = params.text(request.GET, "search", max_length=64)
    if not SEARCH_ID.match(search_id):
        raise params.InvalidInput("search must be the id the page gave its search (8 to 64 letters, digits or -).")
    if not organization.aws_accounts.exists():
        return render(request, "monitoring/_log_results.html", {"searched": False})
    try:
        context = _log_results(request, organization, mark=log_search_marker(_user_id(request), search_id))
    except LogSearchCancelled:
        return HttpResponse(status=204)
    return render(request, "monitoring/_log_results.html", context)


@login_required
@require_POST
def logs_cancel(request: HttpRequest) -> HttpResponse:
    """Stop a search of this user's that the page no longer waits for (a new search, or the
    page left): sent with navigator.sendBeacon."""
    search_cancel(user_id=_user_id(request), search_id=params.text(request.POST, "search", max_length=64))
    return HttpResponse(status=204)


def _user_id(request: HttpRequest) -> int:
    user_id = request.user.pk
    assert isinstance(user_id, int)  # login_required
    return user_id


def _log_results(request: HttpRequest, organization: Any, *, mark: str = "") -> dict[str, Any]:
    period = dashboard.parse_period(request.GET, organization=organization)
    search = LogSearch.from_query(request.GET)
    query = request.GET.copy()
    for name in ("cursor", "search"):
        query.pop(name, None)
    context: dict[str, Any] = {"period": period, "search": search, "query": query.urlencode(), "searched": True}
    try:
        lines = search_log_lines(organization, search, period.start, period.end, mark=mark)
    except LogSearchTimeout:
        lines = []
        context.update(
            {
                "timed_out": True,
                "timeout_seconds": settings.LOG_SEARCH_TIMEOUT_MS / 1000,
                "narrower": dashboard.narrower_windows(period, query),
            }
        )
    names = resource_names({line.resource_id for line in lines})
    context.update(
        {
            "lines": [(line, names.get(line.resource_id, "?")) for line in lines],
            "next_cursor": f"{lines[-1].ts.isoformat()}:{lines[-1].pk}" if len(lines) == 100 else None,
        }
    )
    return context


@login_required
@require_POST
def project_create(request: HttpRequest) -> HttpResponse:
    require(request, Action.MANAGE)
    organization = current_organization(request)
    form = ProjectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Project not created: " + params.form_errors(form))
        return redirect("monitoring:resources")
    name = form.cleaned_data["name"]
    project, created = services.project_create(
        organization=organization,
        name=name,
        tag_key=form.cleaned_data["tag_key"],
        tag_value=form.cleaned_data["tag_value"],
        name_pattern=form.cleaned_data["name_pattern"],
    )
    if not created:
        messages.error(request, f"A project named {name!r} exists already.")
        return redirect("monitoring:resources")
    audit_record(organization=organization, action="project.created", obj=project, request=request)
    messages.success(request, f"Project {name} groups {project.resources().filter(gone_at=None).count()} resources.")
    return redirect(f"{reverse('monitoring:resources')}?project={project.pk}")


@login_required
@require_POST
def project_delete(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_user(request.user, current_organization(request), pk)
    require(request, Action.MANAGE)
    try:
        with transaction.atomic():  # the audit entry only if the project goes
            audit_record(organization=project.organization, action="project.deleted", obj=project, request=request)
            services.project_delete(project=project)
    except ProtectedError as exc:  # what watches it (alert rules) is named, and kept
        users = sorted(str(obj) for obj in exc.protected_objects)
        messages.error(
            request,
            f"Project {project.name} not deleted: {len(users)} alert rule(s) watch it "
            f"({', '.join(users[:5])}{'…' if len(users) > 5 else ''}). Change their target or delete them first.",
        )
        return redirect(f"{reverse('monitoring:resources')}?project={project.pk}")
    messages.success(request, "Project deleted; its resources are untouched.")
    return redirect("monitoring:resources")


@login_required
def service_map(request: HttpRequest) -> HttpResponse:
    """Functions and the services they call, from the fetched X-Ray traces of the period,
    for the organisation or one account, region or project."""
    organization = current_organization(request)
    period = dashboard.parse_period(request.GET, organization=organization)
    scope = dashboard.Scope.from_query(organization, request.GET)
    functions = functions_of(organization)
    if scope.account:
        functions = functions.filter(account_id=scope.account)
    if scope.region:
        functions = functions.filter(region=scope.region)
    ids = scope.resource_ids()
    if ids is not None:
        functions = functions.filter(pk__in=ids)
    edges, traces = service_map_edges(functions, start=period.start, end=period.end)
    urls = {e.function_id: reverse("monitoring:resource_detail", args=[e.function_id]) for e in edges}
    query = request.GET.copy()
    query.pop("period", None)
    return render(
        request,
        "monitoring/service_map.html",
        {
            "nav": "service_map",
            "period": period,
            "periods": ["1h", "24h", "7d", "30d"],
            "scope": scope,
            "scope_query": query.urlencode(),
            "accounts": aws_accounts_of(organization),
            "projects": projects_of(organization),
            "regions": regions_of(organization),
            "edges": edges,
            "traces": traces,
            "figures": {"fig-service-map": trace_figures.service_map(edges, urls)} if edges else {},
        },
    )
