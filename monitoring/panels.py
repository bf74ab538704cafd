"""Monitoring's panels on accounts' AWS account page (see `web/panels.py`): the account's
resource count and the regions being collected right now."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import AwsAccount
from accounts.views_aws import AWS_ACCOUNT_FACTS, AWS_ACCOUNT_HEALTH
from web import panels

from .collection.orchestrator import unit_busy
from .selectors import account_regions


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


def register() -> None:
    panels.register(
        AWS_ACCOUNT_FACTS, name="resources", template="monitoring/_aws_account_resources.html", context=_resource_count
    )
    panels.register(
        AWS_ACCOUNT_HEALTH, name="collecting", template="monitoring/_aws_account_collecting.html", context=_collecting
    )
