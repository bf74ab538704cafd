"""What insights does when monitoring announces an event (connected in `InsightsConfig.ready()`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import AwsAccount

from .tasks import run_account


def evaluate_after_collection(*, account: AwsAccount, **_: Any) -> None:
    """New configuration or new behaviour: re-evaluate the account's checks now."""
    pk = account.pk
    transaction.on_commit(lambda: run_account.apply_async((pk,), expires=600))
