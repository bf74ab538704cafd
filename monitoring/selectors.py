"""Reads of monitoring's tables: for its own pages (scoped to the user's organisation), and
for the apps above it (insights, alerts), which read monitoring's data only through the
functions at the end of this module, never with SQL of their own."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

import kinds
from accounts.models import AwsAccount, Organization
from accounts.selectors import get_scoped_or_404
from kinds import lambda_function
from web import params as p

from . import windows
from .collection.traces import Span, calls
from .fingerprint import error_key
from .histogram import bucket_value
from .logsearch.keys import SearchText
from .logsearch.query import LineQuery, lines_matching
from .models import (
    AccountRegion,
    ErrorGroup,
    ErrorGroupStatus,
    Invocation,
    InvocationStatus,
    LogLine,
    MetricPoint,
    Project,
    Resource,
    Rollup,
    Trace,
    TraceCheckpoint,
)
from .store import rollups as rollup_figures


@dataclass(frozen=True)
class ResourceFilters:
    kind: str = ""
    account: int | None = None
    region: str = ""
    q: str = ""
    include_gone: bool = False
    sort: str = "kind"
    project: int | None = None

    @classmethod
    def from_query(cls, params: Any) -> ResourceFilters:
        sorts = [*SORTS, *(f"-{key}" for key in SORTS)]
        return cls(
            kind=p.choice(params, "kind", kinds.ids()),
            account=p.integer(params, "account"),
            region=p.text(params, "region", max_length=32),
            q=p.text(params, "q"),
            include_gone=p.flag(params, "gone"),
            sort=p.choice(params, "sort", sorts, default="kind"),
            project=p.integer(params, "project"),
        )


def resources_for(organization: Organization, filters: ResourceFilters) -> QuerySet[Resource]:
    qs = Resource.objects.filter(organization=organization).select_related("account")
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.account:
        qs = qs.filter(account_id=filters.account)
    if filters.region:
        qs = qs.filter(region=filters.region)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(arn__icontains=filters.q))
    if not filters.include_gone:
        qs = qs.filter(gone_at=None)
    if (in_project := project_resource_ids(organization, filters.project)) is not None:
        qs = qs.filter(pk__in=in_project)
    descending = filters.sort.startswith("-")
    fields = SORTS[filters.sort.lstrip("-")]
    return qs.order_by(*[f"-{f}" if descending else f for f in fields])


def project_resource_ids(organization: Organization, project_id: int | None) -> QuerySet[Resource, Any] | None:
    """The ids of the project's resources as a subquery (none for a project of another
    organisation or no longer there); None when no project narrows the list."""
    if not project_id:
        return None
    project = Project.objects.filter(organization=organization, pk=project_id).first()
    resources = project.resources() if project else Resource.objects.none()
    return resources.values("pk")


SORTS = {
    "name": ["name", "id"],
    "kind": ["kind", "name", "id"],
    "account": ["account__name", "name", "id"],
    "region": ["region", "name", "id"],
    "last_seen": ["last_seen", "id"],
}


def resource_counts_by_kind(organization: Organization) -> list[dict[str, Any]]:
    rows = (
        Resource.objects.filter(organization=organization, gone_at=None)
        .values("kind")
        .annotate(n=Count("id"))
        .order_by("kind")
    )
    labels = dict(kinds.choices())
    return [{"kind": r["kind"], "label": labels.get(r["kind"], r["kind"]), "count": r["n"]} for r in rows]


def resource_pages_by_arn(*, organization_id: int, arns: set[str]) -> list[tuple[int, str]]:
    """(id, ARN) of the organisation's resources among these ARNs: links from configuration."""
    return list(
        Resource.objects.filter(organization_id=organization_id, arn__in=list(arns)[:500]).values_list("pk", "arn")
    )


def resources_naming(resource: Resource, limit: int = 200) -> list[Resource]:
    """The organisation's other live resources whose configuration names this one's ARN (one
    query): the candidates for its incoming relations (a queue's consumers, a topic's
    publishers' rules), which their kinds' `relations` then confirm."""
    like = resource.arn.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(
        Resource.objects.filter(organization_id=resource.organization_id, gone_at=None)
        .exclude(pk=resource.pk)
        .extra(where=["config::text LIKE %s"], params=[f'%"{like}"%'])
        .only("pk", "kind", "name", "arn", "config", "gone_at", "excluded")
        .order_by("kind", "name")[:limit]
    )


def resources_by_arn(*, organization_id: int, arns: set[str]) -> dict[str, Resource]:
    """The organisation's resources among these ARNs (one query; a live one wins over a gone one)."""
    found: dict[str, Resource] = {}
    rows = Resource.objects.filter(organization_id=organization_id, arn__in=list(arns)[:500])
    for r in rows.order_by(F("gone_at").asc(nulls_last=True)):
        found[r.arn] = r  # the live one (gone_at NULL) comes last and stays
    return found


def regions_of(organization: Organization) -> list[str]:
    # order_by: the model's default ordering (kind, name) would make DISTINCT return a row per resource.
    regions = Resource.objects.filter(organization=organization).order_by("region").values_list("region", flat=True)
    return list(regions.distinct())


def get_resource_for_user(user: Any, organization: Organization | None, pk: int) -> Resource:
    return get_scoped_or_404(Resource.objects.select_related("account"), organization=organization, pk=pk)


# --- invocations, executions, error groups ------------------------------------------------------


@dataclass(frozen=True)
class InvocationFilters:
    status: str = ""
    cold: str = ""  # "1" cold only, "0" warm only
    min_ms: float | None = None
    max_ms: float | None = None
    before: int | None = None  # cursor: invocation ids below this

    @classmethod
    def from_query(cls, params: Any) -> InvocationFilters:
        return cls(
            status=p.choice(params, "status", InvocationStatus.values),
            cold=p.choice(params, "cold", {"0", "1"}),
            # Durations are milliseconds; Lambda's limit is 15 minutes, so a day is generous.
            min_ms=p.number(params, "min_ms", max_value=86_400_000),
            max_ms=p.number(params, "max_ms", max_value=86_400_000),
            before=p.integer(params, "before"),
        )


def invocations_for(
    resource: Resource, filters: InvocationFilters, since: datetime, limit: int = 50
) -> list[Invocation]:
    """Newest first, cursor-paginated by id (stable under new arrivals)."""
    qs = Invocation.objects.filter(resource=resource, started_at__gte=since)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.cold:
        qs = qs.filter(cold_start=filters.cold == "1")
    if filters.min_ms is not None:
        qs = qs.filter(duration_ms__gte=filters.min_ms)
    if filters.max_ms is not None:
        qs = qs.filter(duration_ms__lte=filters.max_ms)
    if filters.before:
        qs = qs.filter(id__lt=filters.before)
    return list(qs.order_by("-id")[:limit])


def get_invocation_for_user(user: Any, organization: Organization | None, pk: int) -> Invocation:
    if organization is None:
        raise Http404("No organisation selected")
    invocation = Invocation.objects.filter(organization_id=organization.pk, pk=pk).select_related("resource").first()
    if invocation is None:
        raise Http404("No such invocation")
    return invocation


def log_lines_of(invocation: Invocation) -> list[LogLine]:
    return list(
        LogLine.objects.filter(
            resource_id=invocation.resource_id,
            invocation_id=invocation.pk,
            ts__gte=invocation.started_at - timedelta(minutes=20),
        ).order_by("ts", "id")
    )


def neighbours(invocation: Invocation) -> tuple[Invocation | None, Invocation | None]:
    base = Invocation.objects.filter(resource_id=invocation.resource_id)
    previous = base.filter(started_at__lt=invocation.started_at).order_by("-started_at").first()
    following = base.filter(started_at__gt=invocation.started_at).order_by("started_at").first()
    return previous, following


def error_groups_for(organization: Organization, params: Any) -> QuerySet[ErrorGroup]:
    """Filtered by ?status= (open by default; "all" for every status), ?resource=, ?kind=."""
    qs = ErrorGroup.objects.filter(organization=organization).select_related("resource", "account")
    status = p.choice(params, "status", [*ErrorGroupStatus.values, "all"], default="open")
    if status != "all":
        qs = qs.filter(status=status)
    if (resource := p.integer(params, "resource")) is not None:
        qs = qs.filter(resource_id=resource)
    if kind := p.choice(params, "kind", ERROR_KINDS):
        qs = qs.filter(kind=kind)
    if (in_project := project_resource_ids(organization, p.integer(params, "project"))) is not None:
        qs = qs.filter(resource_id__in=in_project)
    return qs.order_by("-last_seen")


ERROR_KINDS = ("error", "timeout", "out_of_memory")


def get_error_group_for_user(user: Any, organization: Organization | None, pk: int) -> ErrorGroup:
    return get_scoped_or_404(ErrorGroup.objects.select_related("resource", "account"), organization=organization, pk=pk)


@dataclass(frozen=True)
class LogSearch:
    text: str = ""
    resource: int | None = None
    status: str = ""
    cursor: tuple[datetime, int] | None = None
    project: int | None = None

    @classmethod
    def from_query(cls, params: Any) -> LogSearch:
        return cls(
            text=p.text(params, "q"),
            resource=p.integer(params, "function"),
            status=p.choice(params, "status", InvocationStatus.values),
            project=p.integer(params, "project"),
            cursor=_log_cursor(p.text(params, "cursor", max_length=80)),
        )


def _log_cursor(value: str) -> tuple[datetime, int] | None:
    """`<ISO time>:<id>` of the last line shown; the time holds colons, so split at the last."""
    if not value:
        return None
    moment, _, last_id = value.rpartition(":")
    try:
        return p.parse_moment(moment), int(last_id)
    except ValueError as exc:
        raise p.InvalidInput("cursor is not valid: use the next-page link of the page.") from exc


def search_log_lines(
    organization: Organization,
    search: LogSearch,
    start: datetime,
    end: datetime,
    limit: int = 100,
    *,
    timeout_ms: int | None = None,
    mark: str = "",
) -> list[LogLine]:
    """Newest first within [start, end), keyset-paginated on (time, id); what the text
    matches: monitoring/logsearch/keys.py. Raises LogSearchTimeout after `timeout_ms`
    (LOG_SEARCH_TIMEOUT_MS), LogSearchCancelled when `mark`'s search is cancelled."""
    in_project = project_resource_ids(organization, search.project)
    resources = None if in_project is None else [row["pk"] for row in in_project]
    if search.resource:
        resources = [search.resource] if resources is None or search.resource in resources else []
    query = LineQuery(
        organization_id=organization.pk,
        accounts=list(organization.aws_accounts.values_list("pk", flat=True)),
        resources=resources,
        text=SearchText.of(search.text) if search.text else None,
        status=search.status,
        start=start,
        end=end,
        before=search.cursor,
        limit=limit,
    )
    return lines_matching(query, timeout_ms=timeout_ms or settings.LOG_SEARCH_TIMEOUT_MS, mark=mark)


def error_group_daily_counts(group: ErrorGroup, days: int = 14) -> list[tuple[Any, int]]:
    """Occurrences per UTC day over the raw-data window (oldest first, empty days included)."""
    end = timezone.now().date() + timedelta(days=1)
    start = end - timedelta(days=days)
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)  # a bound on the partition key prunes partitions
    rows = dict(
        Invocation.objects.filter(resource_id=group.resource_id, error_group_id=group.pk, started_at__gte=since)
        .annotate(day=TruncDate("started_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [(start + timedelta(days=i), int(rows.get(start + timedelta(days=i), 0))) for i in range(days)]


def get_project_for_user(user: Any, organization: Organization | None, pk: int) -> Project:
    return get_scoped_or_404(Project.objects.all(), organization=organization, pk=pk)


def projects_of(organization: Organization) -> QuerySet[Project]:
    return Project.objects.filter(organization=organization)


def functions_of(organization: Organization) -> QuerySet[Resource]:
    """The organisation's live Lambda functions, by name (the logs page's filter)."""
    return Resource.objects.filter(organization=organization, kind=lambda_function.KIND, gone_at=None).order_by("name")


def resource_names(ids: set[int]) -> dict[int, str]:
    return dict(Resource.objects.filter(pk__in=ids).values_list("pk", "name"))


# (metric, statistic) → {bucket start: (sum, max, min, avg, count)} of the points in each bucket
MetricBuckets = dict[tuple[str, str], dict[datetime, tuple[float, float, float, float, int]]]


def metric_buckets(
    resource: Resource, *, series: list[str], start: datetime, end: datetime, step: timedelta
) -> MetricBuckets:
    """The resource's stored points of these series ("<metric key>:<statistic>") within
    [start, end), aggregated per bucket of `step` from `start`: one query whatever the
    number of series (the (resource, metric, time) index)."""
    wanted = {kinds.series_key(key) for key in series}
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT metric, stat, date_bin(%s::interval, ts, %s) AS b, sum(value), max(value), min(value), avg(value), "
            "count(*) FROM monitoring_metricpoint WHERE resource_id = %s AND metric = ANY(%s) AND stat = ANY(%s) "
            "AND ts >= %s AND ts < %s GROUP BY 1, 2, 3",
            [
                f"{int(step.total_seconds())} seconds",
                start,
                resource.pk,
                sorted({m for m, _ in wanted}),
                sorted({st for _, st in wanted}),
                start,
                end,
            ],
        )
        out: MetricBuckets = {}
        for metric, stat, bucket, total, high, low, mean, n in cursor.fetchall():
            if (metric, stat) in wanted:
                out.setdefault((metric, stat), {})[bucket] = (total, high, low, mean, n)
    return out


@dataclass(frozen=True)
class SeriesFigures:
    """One resource × series over a window of stored points: the sum, extremes, mean and
    count of its points, and its newest value."""

    total: float
    high: float
    low: float
    mean: float
    count: int
    latest: float


def latest_metrics(
    resource_ids: list[int], *, series: set[str], since: datetime
) -> dict[int, dict[str, SeriesFigures]]:
    """For the resources list's key numbers: every resource's figures of these series since
    `since`, in one query whatever the number of resources and series."""
    wanted = {kinds.series_key(key) for key in series}
    if not resource_ids or not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resource_id, metric, stat, sum(value), max(value), min(value), avg(value), count(*), "
            "(array_agg(value ORDER BY ts DESC))[1] FROM monitoring_metricpoint "
            "WHERE resource_id = ANY(%s) AND metric = ANY(%s) AND stat = ANY(%s) AND ts >= %s GROUP BY 1, 2, 3",
            [resource_ids, sorted({m for m, _ in wanted}), sorted({st for _, st in wanted}), since],
        )
        out: dict[int, dict[str, SeriesFigures]] = {}
        for rid, metric, stat, *figures in cursor.fetchall():
            if (metric, stat) in wanted:
                out.setdefault(rid, {})[f"{metric}:{stat}"] = SeriesFigures(*figures)
    return out


def same_failure_elsewhere(group: ErrorGroup, limit: int = 20) -> list[ErrorGroup]:
    """The organisation's groups of the same failure on other functions: the same kind, error
    type, normalised message and top frames (`fingerprint.error_key`, which a group's
    fingerprint adds the function to)."""
    candidates = (
        ErrorGroup.objects.filter(
            organization_id=group.organization_id, kind=group.kind, error_type=group.error_type, message=group.message
        )
        .exclude(resource_id=group.resource_id)
        .select_related("resource")
        .order_by("-last_seen")[: limit * 5]
    )
    key = _frames_key(group)
    return [g for g in candidates if _frames_key(g) == key][:limit]


def _frames_key(group: ErrorGroup) -> tuple[str, ...]:
    return error_key(error_type=group.error_type, message=group.message, frames=list(group.frames or []))


def recent_error_groups(resource: Resource, limit: int = 10) -> QuerySet[ErrorGroup]:
    return ErrorGroup.objects.filter(resource=resource).order_by("-last_seen")[:limit]


def error_group_samples(group: ErrorGroup) -> list[Invocation]:
    """The group's sample invocations that are still stored, newest first."""
    return list(
        Invocation.objects.filter(organization_id=group.organization_id, pk__in=group.sample_invocation_ids).order_by(
            "-started_at"
        )
    )


# --- Reads for the apps above monitoring (insights, alerts) ----------------------------------


def live_resources(
    *, organization: Organization | None = None, account: AwsAccount | None = None
) -> QuerySet[Resource]:
    """The resources still present (not gone) in an organisation's accounts, or in one account."""
    resources = Resource.objects.filter(gone_at=None)
    if organization is not None:
        resources = resources.filter(organization=organization)
    if account is not None:
        resources = resources.filter(account=account)
    return resources


@dataclass(frozen=True)
class FunctionTotals:
    """One function's rollup figures over a window: counts, sums and maxima by column, and
    its histograms ("histogram": durations, "memory_histogram", "init_histogram")."""

    figures: dict[str, Any]
    histograms: dict[str, dict[int, int]]


def function_totals(*, account: AwsAccount, start: datetime, end: datetime) -> dict[int, FunctionTotals]:
    """Per function of the account that ran in [start, end), its figures over exactly that
    window (monitoring/windows.py: daily and hourly rollups inside, raw rows at the edges):
    a few rows per function, whatever the window's length."""
    source = windows.function_source(account.organization_id, account=account.pk)
    plan = windows.plan(start, end, now=timezone.now())
    figures = windows.figures(source, plan, columns=[*rollup_figures.ADDED, *rollup_figures.MAXES], group="resource")
    histograms = {
        name: windows.histograms(source, plan, column=name, group="resource") for name in rollup_figures.HISTOGRAMS
    }
    return {
        rid: FunctionTotals(values, {name: dict(h.get(rid, {})) for name, h in histograms.items()})
        for rid, values in figures.items()
    }


def hourly_rollups(*, account_id: int, since: datetime) -> QuerySet[Rollup]:
    """The account's hourly invocation rollups from `since` on."""
    return Rollup.objects.filter(account_id=account_id, period="hour", bucket__gte=since)


def error_groups_of(*, organization: Organization, status: str | None = None) -> QuerySet[ErrorGroup]:
    """The organisation's error groups (with their resource), optionally of one status."""
    groups = ErrorGroup.objects.filter(organization=organization).select_related("resource")
    return groups.filter(status=status) if status is not None else groups


@dataclass(frozen=True)
class MetricAggregate:
    """One resource's metric × statistic, aggregated over a window of stored points (resource
    0: the account's own series in `region`)."""

    resource_id: int
    region: str
    metric: str
    stat: str
    total: float
    high: float
    low: float
    mean: float


def metric_aggregates(*, account_id: int, since: datetime) -> list[MetricAggregate]:
    """Every stored metric × statistic of the account's resources since `since`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT resource_id, region, metric, stat, sum(value), max(value), min(value), avg(value)
            FROM monitoring_metricpoint WHERE account_id = %s AND ts >= %s
            GROUP BY resource_id, region, metric, stat
            """,
            [account_id, since],
        )
        return [MetricAggregate(*row) for row in cursor.fetchall()]


def account_metric_points(
    *, account_id: int, region: str, metric: str, stat: str, start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    """One account-level series (no resource dimension, e.g. Lambda's ConcurrentExecutions)
    of one region, oldest first."""
    return list(
        MetricPoint.objects.filter(
            account_id=account_id, resource_id=0, region=region, metric=metric, stat=stat, ts__gte=start, ts__lt=end
        )
        .order_by("ts")
        .values_list("ts", "value")
    )


def account_regions(*, account_id: int) -> dict[str, AccountRegion]:
    """What collection knows of each region of the account: Lambda's account settings, the
    resources its filters excluded."""
    return {r.region: r for r in AccountRegion.objects.filter(account_id=account_id)}


# Figures over raw invocations per time window, by name (SQL expression per figure).
INVOCATION_WINDOW_FIGURES = {
    "errors": "count(*) FILTER (WHERE status IN ('error', 'timeout', 'out_of_memory'))",
    "error_rate": "100.0 * count(*) FILTER (WHERE status IN ('error', 'timeout', 'out_of_memory')) / NULLIF(count(*), 0)",
    "timeouts": "count(*) FILTER (WHERE status = 'timeout')",
    "out_of_memory": "count(*) FILTER (WHERE status = 'out_of_memory')",
    "cold_starts": "count(*) FILTER (WHERE cold_start)",
    "duration_max": "max(duration_ms)",
    "duration_avg": "avg(duration_ms)",
    "duration_min": "min(duration_ms)",
    "duration_p50": "percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)",
    "duration_p90": "percentile_cont(0.9) WITHIN GROUP (ORDER BY duration_ms)",
    "duration_p95": "percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)",
    "duration_p99": "percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)",
    "retries": "count(*) FILTER (WHERE attempt > 1)",
    "memory_use": "max(100.0 * max_memory_used_mb / NULLIF(memory_size_mb, 0))",
    "cost": "sum(cost_usd)",
}
POINT_AGGREGATES = {"sum", "max", "min", "avg"}

# (resource id, window index counted from `start`, value)
WindowValue = tuple[int, int, float | None]


def invocation_window_values(
    *, figure: str, resource_ids: list[int], start: datetime, end: datetime, width: timedelta
) -> list[WindowValue]:
    """One of INVOCATION_WINDOW_FIGURES per resource per window of `width` from `start`.
    Windows of an hour or more read the whole hours in them from the rollups, for the
    figures the rollups hold exactly (memory used, error counts and rates, cost…)."""
    if width >= timedelta(hours=1) and figure in windows.WINDOW_FIGURES:
        return windows.window_values(figure=figure, resource_ids=resource_ids, start=start, end=end, width=width)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT resource_id, floor(extract(epoch FROM started_at - %s) / %s)::int AS w, "  # noqa: S608
            f"{INVOCATION_WINDOW_FIGURES[figure]} FROM monitoring_invocation "
            "WHERE resource_id = ANY(%s) AND started_at >= %s AND started_at < %s GROUP BY 1, 2",
            [start, width.total_seconds(), resource_ids, start, end],
        )
        return list(cursor.fetchall())


def metric_window_values(
    *,
    metric: str,
    stat: str,
    aggregate: str,
    resource_ids: list[int],
    start: datetime,
    end: datetime,
    width: timedelta,
) -> list[WindowValue]:
    """A stored metric × statistic, aggregated (one of POINT_AGGREGATES) per resource per window."""
    if aggregate not in POINT_AGGREGATES:
        raise ValueError(f"unknown aggregate {aggregate!r}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT resource_id, floor(extract(epoch FROM ts - %s) / %s)::int AS w, {aggregate}(value) "  # noqa: S608
            "FROM monitoring_metricpoint WHERE resource_id = ANY(%s) AND metric = %s AND stat = %s "
            "AND ts >= %s AND ts < %s GROUP BY 1, 2",
            [start, width.total_seconds(), resource_ids, metric, stat, start, end],
        )
        return list(cursor.fetchall())


def api_5xx_rate_window_values(
    *, resource_ids: list[int], start: datetime, end: datetime, width: timedelta
) -> list[WindowValue]:
    """API Gateway 5xx responses as a percentage of requests, per resource per window."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resource_id, floor(extract(epoch FROM ts - %s) / %s)::int AS w, "
            "100.0 * sum(value) FILTER (WHERE metric IN ('AWS/ApiGateway:5XXError', 'AWS/ApiGateway:5xx')) "
            "/ NULLIF(sum(value) FILTER (WHERE metric = 'AWS/ApiGateway:Count'), 0) "
            "FROM monitoring_metricpoint WHERE resource_id = ANY(%s) AND stat = 'Sum' AND ts >= %s AND ts < %s "
            "GROUP BY 1, 2",
            [start, width.total_seconds(), resource_ids, start, end],
        )
        return list(cursor.fetchall())


# --- X-Ray traces (docs/traces.md) ------------------------------------------------------------


def trace_of(invocation: Invocation) -> Trace | None:
    return (
        Trace.objects.filter(
            resource_id=invocation.resource_id,
            invocation_id=invocation.pk,
            started_at__gte=invocation.started_at - timedelta(days=1),
            started_at__lte=invocation.started_at + timedelta(days=1),
        )
        .order_by("-found", "-fetched_at")
        .first()
    )


def traced_among(resource: Resource, invocations: list[Invocation]) -> set[int]:
    """Which of these invocations have a fetched trace (the list marks them)."""
    if not invocations:
        return set()
    starts = [i.started_at for i in invocations]
    return set(
        Trace.objects.filter(
            resource_id=resource.pk,
            invocation_id__in=[i.pk for i in invocations],
            started_at__gte=min(starts),
            started_at__lte=max(starts),
            found=True,
        ).values_list("invocation_id", flat=True)
    )


def trace_spans(trace: Trace) -> list[Span]:
    return [Span.from_row(row) for row in trace.spans if isinstance(row, dict)]


def no_trace_reason(invocation: Invocation, trace: Trace | None) -> str:
    """Why an invocation's page shows no trace, in the user's terms."""
    tracing = (invocation.resource.config or {}).get("tracing")
    if not invocation.xray_trace_id:
        if tracing == "Active":
            return (
                "Not sampled: tracing is on, but X-Ray's sampling rule did not record this invocation "
                "(by default the first request each second and 5 % of the rest)."
            )
        return "Tracing is off for this function (its X-Ray tracing mode is not Active), so it has no trace."
    if trace is not None and trace.found:
        return "X-Ray answered for this trace, but with no segment that could be read."
    if trace is not None:
        return (
            f"X-Ray had no trace {invocation.xray_trace_id} when it was fetched on "
            f"{trace.fetched_at:%Y-%m-%d %H:%M} UTC: it was not sampled after all, or it had expired."
        )
    cp = TraceCheckpoint.objects.filter(account_id=invocation.account_id, region=invocation.resource.region).first()
    if cp is None or invocation.started_at >= cp.considered_to:
        return (
            "Not fetched yet: traces are fetched by the collection run after the invocation ends "
            "(about a minute later)."
        )
    return (
        "Outside the sampling budget: every failed invocation and the slowest of each hour are fetched, "
        "and a sample of the rest within the account's hourly trace budget; this one was not chosen."
    )


# A page reads at most this many traces (the latest of its period): a few seconds of JSON at
# worst, and plenty for a p95. The page says how many it read.
TRACES_READ_MAX = 5000


@dataclass
class CallStats:
    target: str  # "DynamoDB GetItem", or a host
    service: str  # "DynamoDB", or the host
    namespace: str  # aws | remote
    durations: list[float]
    errors: int = 0
    throttles: int = 0

    @property
    def calls(self) -> int:
        return len(self.durations)

    @property
    def error_rate(self) -> float:
        return 100.0 * self.errors / self.calls if self.calls else 0.0

    @property
    def p95_ms(self) -> float | None:
        ordered = sorted(self.durations)
        # nearest rank: the smallest value with at least 95 % of the calls at or below it
        return ordered[max(0, -(-95 * len(ordered) // 100) - 1)] if ordered else None

    @property
    def average_ms(self) -> float | None:
        return sum(self.durations) / len(self.durations) if self.durations else None


def _function_calls(resource_name: str, tree: list[Span]) -> list[Span]:
    """The calls the function itself made: those under its own segment (a trace also holds
    the segments of the services around it)."""
    own = {i for i, s in enumerate(tree) if s.parent is None and s.name == resource_name}
    out = []
    for span in calls(tree):
        root = span
        while root.parent is not None:
            root = tree[root.parent]
        if not own or tree.index(root) in own:
            out.append(span)
    return out


def _add_call(stats: dict[str, CallStats], span: Span) -> None:
    entry = stats.setdefault(
        span.target,
        CallStats(span.target, span.name if span.namespace == "aws" else span.target, span.namespace, []),
    )
    entry.durations.append(span.duration_ms or 0.0)
    entry.errors += span.error or span.fault or span.throttle
    entry.throttles += span.throttle


def downstream_calls(resource: Resource, *, start: datetime, end: datetime) -> tuple[list[CallStats], int]:
    """Each target the function called in its fetched traces of the period (service +
    operation, or host) with calls, error rate and p95; and how many traces that is."""
    stats: dict[str, CallStats] = {}
    rows = Trace.objects.filter(resource_id=resource.pk, started_at__gte=start, started_at__lt=end, found=True)
    n = 0
    latest = rows.order_by("-started_at").values_list("spans", flat=True)[:TRACES_READ_MAX]
    for spans_json in latest.iterator(chunk_size=500):
        n += 1
        tree = [Span.from_row(r) for r in spans_json if isinstance(r, dict)]
        for span in _function_calls(resource.name, tree):
            _add_call(stats, span)
    return sorted(stats.values(), key=lambda c: (-c.calls, c.target)), n


@dataclass
class MapEdge:
    function_id: int
    function: str
    service: str  # node name of the target: "DynamoDB", "SQS", or a host
    stats: CallStats


def service_map(resources: QuerySet[Resource], *, start: datetime, end: datetime) -> tuple[list[MapEdge], int]:
    """Function → service edges with call counts, error rates and latency, from the fetched
    traces of these functions in the period; and how many traces."""
    functions = resources.filter(kind=lambda_function.KIND)
    names = dict(functions.values_list("pk", "name"))
    edges: dict[tuple[int, str], CallStats] = {}
    # A subquery, not the ids: ten thousand parameters take longer to send and plan than the query.
    rows = Trace.objects.filter(
        resource_id__in=functions.values("pk"), started_at__gte=start, started_at__lt=end, found=True
    )
    n = 0
    latest = rows.order_by("-started_at").values_list("resource_id", "spans")[:TRACES_READ_MAX]
    for resource_id, spans_json in latest.iterator(chunk_size=500):
        n += 1
        tree = [Span.from_row(r) for r in spans_json if isinstance(r, dict)]
        for span in _function_calls(names[resource_id], tree):
            service = span.name if span.namespace == "aws" else span.target
            entry = edges.setdefault((resource_id, service), CallStats(service, service, span.namespace, []))
            entry.durations.append(span.duration_ms or 0.0)
            entry.errors += span.error or span.fault or span.throttle
            entry.throttles += span.throttle
    out = [MapEdge(fid, names[fid], service, st) for (fid, service), st in edges.items()]
    return sorted(out, key=lambda e: (e.function, e.service)), n


# How an hour of one-minute points becomes one value: counts add up, extremes stay extreme,
# the rest (averages, percentiles) are averaged.
HOURLY_AGGREGATE = {"Sum": "sum", "SampleCount": "sum", "Maximum": "max", "Minimum": "min"}


def _merged(windows: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The windows with overlapping and touching ones joined (a chart's baseline is one range)."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(windows):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def hourly_metric_series(
    *,
    account_id: int,
    windows: list[tuple[datetime, datetime]],
    resource_id: int | None = None,
    series: Collection[str] | None = None,
) -> dict[tuple[int, str], dict[datetime, float]]:
    """Every stored series of the account's resources (or of one resource; or only `series`,
    "<metric>:<stat>" keys) as hourly values within the windows (each [start, end), whole
    hours): {(resource id, "<metric>:<stat>"): {hour: value}}, one query that reads only
    those windows' daily partitions and rows."""
    windows = _merged(windows)
    if not windows or (series is not None and not series):
        return {}
    ranges = " OR ".join(["(ts >= %s AND ts < %s)"] * len(windows))
    params: list[Any] = [account_id]
    narrow = ""
    if resource_id is not None:
        narrow += " AND resource_id = %s"
        params.append(resource_id)
    if series is not None:
        narrow += " AND metric || ':' || stat = ANY(%s)"
        params.append(list(series))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resource_id, metric, stat, date_trunc('hour', ts) AS h, sum(value), max(value), min(value), "  # noqa: S608  (the ranges are placeholders)
            f"avg(value) FROM monitoring_metricpoint WHERE account_id = %s AND resource_id <> 0{narrow} "
            f"AND ({ranges}) GROUP BY 1, 2, 3, 4",
            [*params, *(t for window in windows for t in window)],
        )
        out: dict[tuple[int, str], dict[datetime, float]] = {}
        index = {"sum": 0, "max": 1, "min": 2, "avg": 3}
        for rid, metric, stat, hour, *values in cursor.fetchall():
            value = values[index[HOURLY_AGGREGATE.get(stat, "avg")]]
            if value is not None:
                out.setdefault((rid, f"{metric}:{stat}"), {})[hour] = float(value)
    return out


def function_duration_histograms(*, resource_ids: list[int], since: datetime) -> dict[int, dict[int, int]]:
    """Per function, its merged duration histogram (`monitoring.histogram` buckets) of the
    hourly rollups since `since`."""
    out: dict[int, dict[int, int]] = {}
    rows = Rollup.objects.filter(resource_id__in=resource_ids, period="hour", bucket__gte=since).values_list(
        "resource_id", "histogram"
    )
    for rid, histogram in rows:
        merged = out.setdefault(rid, {})
        for key, count in (histogram or {}).items():
            merged[int(key)] = merged.get(int(key), 0) + int(count)
    return out


def function_memory_histogram(*, resource_id: int, since: datetime) -> dict[float, int]:
    """{memory used (MB, the middle of its histogram bucket): invocations} of one function's
    hourly rollups since `since`."""
    merged: dict[int, int] = {}
    for histogram in Rollup.objects.filter(resource_id=resource_id, period="hour", bucket__gte=since).values_list(
        "memory_histogram", flat=True
    ):
        for key, count in (histogram or {}).items():
            merged[int(key)] = merged.get(int(key), 0) + int(count)
    return {bucket_value(index): n for index, n in merged.items()}


def hourly_invocation_memory(
    *, account_id: int, windows: list[tuple[datetime, datetime]]
) -> dict[int, dict[datetime, float]]:
    """Per function, the highest memory used (MB) of each hour within the windows (each
    [start, end), whole hours), from the hourly rollups."""
    if not windows:
        return {}
    ranges = Q()
    for start, end in windows:
        ranges |= Q(bucket__gte=start, bucket__lt=end)
    rows = Rollup.objects.filter(ranges, account_id=account_id, period="hour", memory_max_mb__isnull=False)
    out: dict[int, dict[datetime, float]] = {}
    for rid, hour, memory in rows.values_list("resource_id", "bucket", "memory_max_mb"):
        out.setdefault(rid, {})[hour] = float(memory or 0)
    return out
