"""What alerts does when a lower app announces an event (connected in `AlertsConfig.ready()`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import Organization

from .services import default_rules_create
from .tasks import evaluate_rules


def create_default_rules(*, organization: Organization, **_: Any) -> None:
    """Inside the organisation's creation: both exist, or neither."""
    default_rules_create(organization=organization)


def evaluate_after_collection(**_: Any) -> None:
    """Alert on what a collection brought rather than at the next minute's tick."""
    transaction.on_commit(lambda: evaluate_rules.apply_async(expires=60))
