"""The insights engine: build each resource's CheckInput from the database, run the
catalogue, and keep Findings in step (docs/architecture.md §2).

1. One query each for the account's resources, their aggregated metric points over the
   window, and their functions' rollup figures over it (memory used and init durations
   included; a few rows per function).
2. `run_checks` per resource (thresholds: the catalogue's defaults, overridden by
   settings.INSIGHTS_THRESHOLDS).
3. A failing check opens (or refreshes) its Finding; a passing one resolves it; a check
   that cannot judge (not enough data) leaves it as it was. Active suppressions mark
   matching findings suppressed.
4. Today's score per pillar is recomputed for the organisation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import kinds
from accounts.models import AwsAccount, Organization
from insights.checks import PILLARS, REGISTRY, CheckInput, InvocationStats, run_checks
from kinds import lambda_function
from monitoring.histogram import percentile
from monitoring.models import Resource
from monitoring.selectors import (
    account_regions,
    function_totals,
    live_resources,
    metric_aggregates,
)

from .models import Finding, FindingStatus, PillarScore, Suppression

WINDOW_DAYS = 7
SEVERITY_WEIGHT = {"critical": 5, "warning": 2, "info": 1}


@dataclass
class RunSummary:
    evaluated: int = 0
    failing: list[dict[str, Any]] = field(default_factory=list)
    opened: int = 0
    resolved: int = 0


def _metrics(account: AwsAccount, since: datetime) -> tuple[dict[int, dict[str, float]], dict[str, dict[str, float]]]:
    """{resource id: {"Namespace:Metric:Stat": value}} aggregated over the window, and the
    account's own series the same way per region."""
    out: dict[int, dict[str, float]] = defaultdict(dict)
    regional: dict[str, dict[str, float]] = defaultdict(dict)
    for row in metric_aggregates(account_id=account.pk, since=since):
        metric, stat, total, high = row.metric, row.stat, row.total, row.high
        value = {"Sum": total, "Maximum": high, "Minimum": row.low, "Average": row.mean, "SampleCount": total}.get(
            stat, high
        )
        if row.resource_id == 0:
            regional[row.region][f"{metric}:{stat}"] = float(value)
            continue
        out[row.resource_id][f"{metric}:{stat}"] = float(value)
        if stat == "Sum" and metric.startswith("AWS/DynamoDB:Consumed"):
            out[row.resource_id][f"derived:{metric.split(':', 1)[1]}:peak_per_second"] = float(high) / 60
    return out, regional


def account_subject(account: AwsAccount, region: str) -> str:
    """The finding subject of the account's checks in one region (limits are per region)."""
    return f"a{account.pk}:{region}"


def _stats(account: AwsAccount, since: datetime, now: datetime) -> dict[int, InvocationStats]:
    out = {}
    for resource_id, totals in function_totals(account=account, start=since, end=now).items():
        f, histogram = totals.figures, totals.histograms["histogram"]
        out[resource_id] = InvocationStats(
            invocations=f["invocations"],
            errors=f["error_count"],
            timeouts=f["timeouts"],
            out_of_memory=f["out_of_memory"],
            cold_starts=f["cold_starts"],
            duration_p50_ms=percentile(histogram, 50),
            duration_p95_ms=percentile(histogram, 95),
            duration_p99_ms=percentile(histogram, 99),
            duration_max_ms=f["duration_max_ms"],
            max_memory_used_mb=int(f["memory_max_mb"]) if f["memory_max_mb"] is not None else None,
            init_duration_p95_ms=percentile(totals.histograms["init_histogram"], 95),
            gb_seconds=f["gb_seconds"],
            cost_usd=f["cost_usd"],
        )
    return out


def _related(resources: list[Resource], metrics: dict[int, dict[str, float]]) -> dict[int, dict[str, Any]]:
    """What the checks of each resource need to know of others: each kind says (kinds/)."""
    related: dict[int, dict[str, Any]] = defaultdict(dict)
    for kind in kinds.all_kinds():
        if kind.related is not None:
            related.update(kind.related(resources, metrics))
    return related


def _suppressions(organization: Organization, now: datetime) -> list[Suppression]:
    return list(
        Suppression.objects.filter(organization=organization, lifted_at=None).filter(
            Q(expires_at=None) | Q(expires_at__gt=now)
        )
    )


def is_suppressed(finding: Finding, suppressions: list[Suppression]) -> bool:
    for s in suppressions:
        if s.scope == Suppression.Scope.FINDING and s.finding_id == finding.pk:
            return True
        if s.scope == Suppression.Scope.CHECK and s.check_id == finding.check_id:
            return True
        if s.scope == Suppression.Scope.RESOURCE and finding.resource_id and s.resource_id == finding.resource_id:
            return True
    return False


@transaction.atomic
def insights_run(account: AwsAccount, now: datetime | None = None) -> RunSummary:
    now = now or timezone.now()
    since = now - timedelta(days=WINDOW_DAYS)
    resources = list(live_resources(account=account))
    metrics, regional = _metrics(account, since)
    states = account_regions(account_id=account.pk)
    stats = _stats(account, since, now)
    related = _related(resources, metrics)
    overrides = getattr(settings, "INSIGHTS_THRESHOLDS", {})
    suppressions = _suppressions(account.organization, now)
    existing = {(f.check_id, f.subject): f for f in Finding.objects.filter(account=account)}
    summary = RunSummary()

    inputs: list[tuple[Resource | None, CheckInput]] = [
        (
            r,
            CheckInput(
                kind=r.kind,
                name=r.name,
                arn=r.arn,
                region=r.region,
                config=r.config,
                tags=r.tags,
                metrics=metrics.get(r.pk, {}),
                stats=stats.get(r.pk) if r.kind == lambda_function.KIND else None,
                related=related.get(r.pk, {}),
                window_days=WINDOW_DAYS,
                today=now.date().isoformat(),
            ),
        )
        for r in resources
    ]
    for region in account.regions:
        state = states.get(region)
        inputs.append(
            (
                None,
                CheckInput(
                    kind="account",
                    name=f"{account.name} · {region}",
                    arn=f"arn:aws:iam::{account.aws_account_id}:root",
                    region=region,
                    config={
                        "concurrency_limit": state.lambda_concurrency_limit if state else None,
                        "unreserved_concurrency": state.lambda_unreserved_concurrency if state else None,
                    },
                    metrics=regional.get(region, {}),
                    window_days=WINDOW_DAYS,
                    today=now.date().isoformat(),
                ),
            )
        )
    seen: set[tuple[str, str]] = set()
    for resource, inp in inputs:
        subject = f"r{resource.pk}" if resource else account_subject(account, inp.region)
        results = run_checks(inp, overrides)
        evaluated_ids = {c.id for c, _ in results}
        summary.evaluated += len(results)
        for chk, result in results:
            key = (chk.id, subject)
            seen.add(key)
            finding = existing.get(key)
            if result.passed:
                if finding is not None and finding.status != FindingStatus.RESOLVED:
                    finding.status, finding.resolved_at = FindingStatus.RESOLVED, now
                    finding.save(update_fields=["status", "resolved_at"])
                    summary.resolved += 1
                continue
            if finding is None:
                finding = Finding(
                    organization_id=account.organization_id,
                    account=account,
                    resource=resource,
                    subject=subject,
                    check_id=chk.id,
                    first_seen=now,
                )
                summary.opened += 1
            elif finding.status == FindingStatus.RESOLVED:
                summary.opened += 1
            finding.service, finding.pillar, finding.severity = chk.service, chk.pillar, chk.severity
            finding.message, finding.evidence = result.message, dict(result.evidence)
            finding.last_seen, finding.resolved_at = now, None
            finding.status = FindingStatus.SUPPRESSED if is_suppressed(finding, suppressions) else FindingStatus.OPEN
            finding.save()
            summary.failing.append(
                {
                    "check": chk.id,
                    "resource": inp.name,
                    "kind": inp.kind,
                    "severity": chk.severity,
                    "pillar": chk.pillar,
                    "status": finding.status,
                    "message": result.message,
                    "evidence": dict(result.evidence),
                }
            )
        del evaluated_ids
    # Findings of resources that are gone (or excluded by the account's filters) resolve, and
    # so do the account's own of a region no longer collected.
    Finding.objects.filter(account=account, resource__gone_at__isnull=False).exclude(
        status=FindingStatus.RESOLVED
    ).update(status=FindingStatus.RESOLVED, resolved_at=now)
    Finding.objects.filter(account=account, resource=None).exclude(
        subject__in=[account_subject(account, region) for region in account.regions]
    ).exclude(status=FindingStatus.RESOLVED).update(status=FindingStatus.RESOLVED, resolved_at=now)
    scores_update(organization=account.organization, now=now)
    return summary


def scores_update(*, organization: Organization, now: datetime) -> dict[str, float]:
    """Today's score per pillar: 100 × (1 − failing weight / weight of all checks that apply)."""
    counts: dict[str, list[int]] = {p: [0, 0] for p in PILLARS}  # [failing weight, total weight]
    failing = Finding.objects.filter(organization=organization, status=FindingStatus.OPEN)
    failing_weight: dict[str, int] = defaultdict(int)
    for f in failing.values("pillar", "severity"):
        failing_weight[f["pillar"]] += SEVERITY_WEIGHT.get(f["severity"], 1)
    kinds: dict[str, int] = defaultdict(int)
    for r in live_resources(organization=organization).values("kind"):
        kinds[r["kind"]] += 1
    # The account checks run once per account × region.
    kinds["account"] = sum(
        len(regions)
        for regions in AwsAccount.objects.filter(organization=organization).values_list("regions", flat=True)
    )
    for chk in REGISTRY.values():
        counts[chk.pillar][1] += SEVERITY_WEIGHT.get(chk.severity, 1) * kinds.get(chk.kind, 0)
    scores = {}
    for pillar, (_, total) in counts.items():
        fail = min(failing_weight.get(pillar, 0), total)
        scores[pillar] = round(100 * (1 - fail / total), 1) if total else 100.0
        PillarScore.objects.update_or_create(
            organization=organization,
            pillar=pillar,
            day=now.date(),
            defaults={"score": scores[pillar], "failing": fail, "evaluated": total},
        )
    return scores
