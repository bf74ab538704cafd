"""Monitoring's panels on accounts' AWS account page (see `web/panels.py`): the account's
resource count and the regions being collected right now."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AwsAccount
from accounts.permissions import can
from accounts.roles import Action
from accounts.views_aws import AWS_ACCOUNT_FACTS, AWS_ACCOUNT_HEALTH, AWS_ACCOUNT_SECTIONS
from web import panels

from .budget import budget_view
from .collection.orchestrator import unit_busy
from .ingest import account_views as push
from .own_cost import own_cost
from .selectors import account_regions
from .store.usage import usage_days


def _resource_count(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    """The resources collected, how many the filters left out at the last discovery of each
    region collected, and each region's Lambda concurrency quota."""
    states = [s for region, s in sorted(account_regions(account_id=account.pk).items()) if region in account.regions]
    return {
        "resource_count": account.resources.filter(gone_at=None).count(),
        "excluded_count": sum(s.excluded_resources for s in states),
        "lambda_limits": [s for s in states if s.lambda_concurrency_limit is not None],
    }


def _collecting(request: HttpRequest, account: AwsAccount) -> dict[str, Any] | None:
    busy = [(region, message) for region in account.regions if (message := unit_busy(account.pk, region))]
    return {"busy": busy} if busy else None


def _ingestion(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    regions = []
    for region in account.regions:
        check = push.subscription_check(account, region)
        regions.append(
            {
                "region": region,
                "groups": len(push.log_groups(account, region)),
                "check": check,
                "blocked": [g for g in check or [] if g.full or g.error],
                "ours": sum(g.ours for g in check or []),
            }
        )
    return {
        "account": account,
        "can_manage": can(request, Action.MANAGE),
        "endpoint_url": push.endpoint_url(account),
        "regions": regions,
    }


def _own_cost(request: HttpRequest, account: AwsAccount) -> dict[str, Any] | None:
    """Nothing before the first counted call, unless a budget is set or left resources slowed."""
    counted = usage_days(account.pk, days=8)
    today = timezone.now().date().isoformat()
    regions = []
    days = 0
    for region, by_day in sorted(counted.items()):
        # Whole days only, unless today is all there is.
        whole = {d: c for d, c in by_day.items() if d != today} or by_day
        days = max(days, len(whole))
        regions.append({"region": region or "(push, region unknown)", "cost": own_cost(whole)})
    plan = budget_view(account)
    if not regions and plan["budget_usd"] is None and not plan["slowed"]:
        return None
    return {"account": account, "regions": regions, "days": days, "plan": plan}


def register() -> None:
    panels.register(
        AWS_ACCOUNT_FACTS, name="resources", template="monitoring/_aws_account_resources.html", context=_resource_count
    )
    panels.register(
        AWS_ACCOUNT_SECTIONS, name="ingestion", template="monitoring/_aws_account_ingestion.html", context=_ingestion
    )
    panels.register(
        AWS_ACCOUNT_SECTIONS, name="own_cost", template="monitoring/_aws_account_own_cost.html", context=_own_cost
    )
    panels.register(
        AWS_ACCOUNT_HEALTH, name="collecting", template="monitoring/_aws_account_collecting.html", context=_collecting
    )
