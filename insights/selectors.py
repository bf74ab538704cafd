"""Reads for the insights pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, F, FloatField, IntegerField, Min, Q, QuerySet, Sum, Value, When, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from accounts.models import Organization
from accounts.selectors import get_scoped_or_404
from web import params

from .checks import PILLARS, REGISTRY, SEVERITIES
from .models import Anomaly, Finding, FindingStatus, PillarScore, Suppression

# A cost finding whose estimated saving rounds to zero cents a month is not worth anyone's
# attention as a cost finding: it is left out of the list (and counted, so nothing hides).
NEGLIGIBLE_SAVING_USD = 0.005
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class FindingFilters:
    pillar: str = ""
    severity: str = ""
    service: str = ""
    status: str = ""  # empty: open findings
    account: int | None = None
    check: str = ""  # one check's findings, all of them by pages


def get_finding_for_user(user: Any, organization: Organization | None, pk: int) -> Finding:
    return get_scoped_or_404(Finding.objects.all(), organization=organization, pk=pk)


def findings_for(organization: Organization, filters: FindingFilters) -> QuerySet[Finding]:
    """The organisation's findings that match the filters, most severe and most recent first."""
    findings = Finding.objects.filter(organization=organization, status=filters.status or FindingStatus.OPEN)
    for key in ("pillar", "severity", "service"):
        value = getattr(filters, key)
        if value:
            findings = findings.filter(**{key: value})
    if filters.check:
        findings = findings.filter(check_id=filters.check)
    if filters.account is not None:
        findings = findings.filter(account_id=filters.account)
    return findings.select_related("resource", "account").order_by("severity", "-last_seen")


@dataclass
class FindingGroup:
    """One check's findings: the check once, the affected resources inside (the first
    SHOWN_PER_GROUP of them; `resources` counts them all)."""

    check_id: str
    title: str
    severity: str
    pillar: str
    service: str
    findings: list[Finding]
    monthly_saving_usd: float | None  # the sum over the group, when the check estimates one
    resources: int = 0
    page: Page[Any] | None = None  # when the list is one check's: the page shown

    @property
    def hidden(self) -> int:
        return self.resources - len(self.findings)


@dataclass
class GroupedFindings:
    groups: list[FindingGroup]  # critical and warning, most severe and widest first
    info: list[FindingGroup]  # folded by default
    negligible: int  # cost findings whose saving rounds to zero, left out


# A group lists this many of its findings, the largest savings first: a check failing on
# thousands of functions is one line of the list, not thousands of rows of the page.
SHOWN_PER_GROUP = 50
# A finding's estimated monthly saving, when its check gives one as a number.
_SAVING = RawSQL(
    "CASE WHEN jsonb_typeof(insights_finding.evidence -> 'monthly_saving_usd') = 'number' "
    "THEN (insights_finding.evidence ->> 'monthly_saving_usd')::float END",
    [],
    output_field=FloatField(),
)
_SEVERITY_RANK = Case(
    *(When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()),
    default=Value(9),
    output_field=IntegerField(),
)


def finding_groups_for(
    organization: Organization,
    filters: FindingFilters,
    *,
    include_negligible: bool = False,
    shown: int = SHOWN_PER_GROUP,
    page: int = 1,
) -> GroupedFindings:
    """The matching findings grouped by check, counted and summed in the database. Groups
    sort by severity, then by how many resources they affect, then by saving; inside a
    group the largest saving comes first (`shown` of them: none for a summary; filtered to
    one check, `page` of them all)."""
    matching = findings_for(organization, filters).annotate(saving=_SAVING)
    negligible_q = Q(saving__isnull=False, saving__lt=NEGLIGIBLE_SAVING_USD)
    negligible = 0 if include_negligible else matching.filter(negligible_q).count()
    kept = matching if include_negligible else matching.exclude(negligible_q)
    rows = (
        kept.order_by()
        .values("check_id")
        .annotate(
            n=Count("id"),
            total=Sum("saving"),
            rank=Min(_SEVERITY_RANK),
            pillar=Min("pillar"),
            service=Min("service"),
        )
    )
    by_check: dict[str, FindingGroup] = {}
    for row in rows:
        check = REGISTRY.get(row["check_id"])
        by_check[row["check_id"]] = FindingGroup(
            check_id=row["check_id"],
            title=check.title if check else row["check_id"],
            severity=SEVERITIES[row["rank"]] if row["rank"] < len(SEVERITIES) else "info",
            pillar=row["pillar"],
            service=row["service"],
            findings=[],
            monthly_saving_usd=row["total"],
            resources=row["n"],
        )
    inside = [F("saving").desc(nulls_last=True), F("resource__name").asc(nulls_first=True), F("pk").asc()]
    if shown and filters.check and filters.check in by_check:
        group = by_check[filters.check]
        shown_page: Page[Any] = Paginator(kept.order_by(*inside), shown).get_page(page)
        group.page, group.findings = shown_page, list(shown_page)
    elif shown and by_check:
        # Rank on the few columns the order needs, then load only the findings shown.
        places = dict(
            kept.order_by()
            .values("pk")
            .annotate(place=Window(RowNumber(), partition_by=[F("check_id")], order_by=inside))
            .filter(place__lte=shown)
            .values_list("pk", "place")
        )
        shown_findings = findings_for(organization, filters).filter(pk__in=list(places))
        for finding in sorted(shown_findings, key=lambda f: (f.check_id, places[f.pk])):
            by_check[finding.check_id].findings.append(finding)
    ordered = sorted(
        by_check.values(),
        key=lambda g: (SEVERITY_RANK.get(g.severity, 9), -g.resources, -(g.monthly_saving_usd or 0.0), g.title),
    )
    return GroupedFindings(
        groups=[g for g in ordered if g.severity != "info"],
        info=[g for g in ordered if g.severity == "info"],
        negligible=negligible,
    )


def findings_that_matter(organization: Organization, *, limit: int = 5) -> list[FindingGroup]:
    """The few open finding groups the overview shows: critical and warning only."""
    return finding_groups_for(organization, FindingFilters(), shown=0).groups[:limit]


def pillar_scores(
    organization: Organization, *, today: date, days: int = 30
) -> list[tuple[str, PillarScore | None, list[int]]]:
    """Per pillar: today's score (None before the first evaluation) and the daily scores of
    the last `days` days, rounded, oldest first."""
    recent = PillarScore.objects.filter(organization=organization, day__gte=today - timedelta(days=days)).order_by(
        "day"
    )
    latest: dict[str, PillarScore] = {}
    trend: dict[str, list[int]] = {}
    for score in recent:
        trend.setdefault(score.pillar, []).append(round(score.score))
        if score.day == today:
            latest[score.pillar] = score
    return [(pillar, latest.get(pillar), trend.get(pillar, [])) for pillar in PILLARS]


def active_suppressions(organization: Organization) -> QuerySet[Suppression]:
    """Suppressions in force (not lifted, not expired), oldest first."""
    return (
        Suppression.objects.filter(organization=organization, lifted_at=None)
        .filter(Q(expires_at=None) | Q(expires_at__gt=timezone.now()))
        .select_related("resource", "finding", "finding__resource", "finding__account")
        .order_by("created_at", "pk")
    )


def get_suppression_for_user(user: Any, organization: Organization | None, pk: int) -> Suppression:
    """An active suppression of the organisation; 404 for another's, a lifted or an expired one."""
    if organization is None:
        raise Http404("No organisation")
    return get_scoped_or_404(active_suppressions(organization), organization=organization, pk=pk)


@dataclass(frozen=True)
class AnomalyFilters:
    """?account=&resource=&metric=&since=&until= of the anomalies list (the API's)."""

    account: int | None = None
    resource: int | None = None
    metric: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_query(cls, query: Any) -> AnomalyFilters:
        since, until = params.moment(query, "since"), params.moment(query, "until")
        if since is not None and until is not None and until <= since:
            raise params.InvalidInput("until must be after since.")
        return cls(
            account=params.integer(query, "account"),
            resource=params.integer(query, "resource"),
            metric=params.text(query, "metric", max_length=200),
            since=since,
            until=until,
        )


def anomalies_for(organization: Organization, filters: AnomalyFilters) -> QuerySet[Anomaly]:
    """The organisation's anomalous hours that match the filters (an account or resource of
    another organisation matches nothing)."""
    qs = Anomaly.objects.filter(organization=organization)
    if filters.account is not None:
        qs = qs.filter(account_id=filters.account)
    if filters.resource is not None:
        qs = qs.filter(resource_id=filters.resource)
    if filters.metric:
        qs = qs.filter(metric=filters.metric)
    if filters.since is not None:
        qs = qs.filter(hour__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(hour__lt=filters.until)
    return qs


def anomalies_of_resource(resource_id: int, *, since: datetime, limit: int = 50) -> list[Anomaly]:
    """The resource's anomalous hours since `since`, newest first."""
    return list(Anomaly.objects.filter(resource_id=resource_id, hour__gte=since).order_by("-hour", "metric")[:limit])


def recent_anomalies(organization: Organization, *, since: datetime, limit: int = 20) -> list[Anomaly]:
    """The organisation's anomalous hours since `since` (with their resource), strongest
    first within the newest hours."""
    rows = list(
        Anomaly.objects.filter(organization=organization, hour__gte=since, resource__gone_at=None)
        .select_related("resource")
        .order_by("-hour")[: limit * 5]
    )
    return sorted(rows, key=lambda a: (-a.hour.timestamp(), -abs(a.score)))[:limit]


def anomalies_between(organization: Organization, *, start: datetime, end: datetime, limit: int = 10) -> list[Anomaly]:
    """The organisation's strongest anomalous hours in [start, end) (for digests)."""
    rows = list(
        Anomaly.objects.filter(organization=organization, hour__gte=start, hour__lt=end, resource__gone_at=None)
        .select_related("resource")
        .order_by("hour")
    )
    return sorted(rows, key=lambda a: -abs(a.score))[:limit]
