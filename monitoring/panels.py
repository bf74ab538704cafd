"""Monitoring's panels on accounts' AWS account page (see `web/panels.py`): the account's
resource count, the units being collected right now, and its metric poll intervals."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.models import AwsAccount
from accounts.permissions import can
from accounts.roles import Action
from accounts.views_aws import AWS_ACCOUNT_FACTS, AWS_ACCOUNT_HEALTH, AWS_ACCOUNT_MANAGE
from web import panels

from .collect import unit_busy
from .forms import MetricIntervalsForm
from .models import ResourceKind


def intervals_form(account: AwsAccount, data: Any = None) -> MetricIntervalsForm:
    return MetricIntervalsForm(
        data,
        kinds=list(ResourceKind.choices),
        defaults=settings.METRICS_POLL_SECONDS,
        initial=account.metric_intervals,
    )


def _resource_count(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    return {"resource_count": account.resources.filter(gone_at=None).count()}


def _collecting(request: HttpRequest, account: AwsAccount) -> dict[str, Any] | None:
    busy = [(region, message) for region in account.regions if (message := unit_busy(account.pk, region))]
    return {"busy": busy} if busy else None


def _intervals(request: HttpRequest, account: AwsAccount) -> dict[str, Any] | None:
    return {"intervals_form": intervals_form(account)} if can(request, Action.MANAGE) else None


def register() -> None:
    panels.register(
        AWS_ACCOUNT_FACTS, name="resources", template="monitoring/_aws_account_resources.html", context=_resource_count
    )
    panels.register(
        AWS_ACCOUNT_HEALTH, name="collecting", template="monitoring/_aws_account_collecting.html", context=_collecting
    )
    panels.register(
        AWS_ACCOUNT_MANAGE, name="intervals", template="monitoring/_aws_account_intervals.html", context=_intervals
    )
