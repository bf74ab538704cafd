"""What monitoring does when accounts announces an event (connected in `MonitoringConfig.ready()`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import AwsAccount

from .budget import poll_plan_update
from .store.invocations import account_data_purge
from .store.rollups import projects_stale
from .tasks import collect_account_region


def collect_connected_account(*, account: AwsAccount, **_: Any) -> None:
    """First discovery right away rather than at the next beat tick, once the validation
    that connected the account is committed."""
    pk, regions = account.pk, list(account.regions)
    transaction.on_commit(lambda: [collect_account_region.delay(pk, region) for region in regions])


def purge_removed_account(*, account: AwsAccount, **_: Any) -> None:
    """The partitioned rows carry no foreign key to cascade from: delete them in bulk. Its
    functions leave the organisation's projects: their rollups are rebuilt after the removal."""
    account_data_purge(account_id=account.pk)
    projects_stale(organization_id=account.organization_id)


def replan_budget(*, account: AwsAccount, **_: Any) -> None:
    """A budget set, changed or removed: plan the poll intervals again now, in the same
    transaction, so that the page shows (and the next poll applies) what it changes."""
    poll_plan_update(account=account)
