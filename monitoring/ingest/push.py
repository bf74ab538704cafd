"""A Firehose delivery → the same parser and idempotent storage as polling (docs/push.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from accounts.models import AwsAccount
from accounts.services import aws_account_push_received
from aws import usage
from kinds import lambda_function
from monitoring.collection import logs as logs_fetch
from monitoring.models import Resource
from monitoring.store.invocations import StoreSummary, pushed_batch_store

from .firehose import LogBatch, Unpacked

log = logging.getLogger(__name__)

LAMBDA_PREFIX = "/aws/lambda/"


@dataclass
class PushSummary:
    log_groups: int = 0
    events: int = 0
    unknown_log_groups: list[str] = field(default_factory=list)
    skipped_invocations: int = 0
    stored: StoreSummary = field(default_factory=StoreSummary)


def function_for(account: AwsAccount, log_group: str, region: str | None) -> Resource | None:
    """The collected (not gone, not excluded) function whose log group this is: its
    configured log group, else the default `/aws/lambda/<name>`. Firehose's payload names no
    region; the stream's common attribute `region` (set by our template) does. Without it,
    a name found in one region only is taken."""
    name = log_group.removeprefix(LAMBDA_PREFIX)
    candidates = Resource.objects.filter(account=account, kind=lambda_function.KIND, gone_at=None).filter(
        Q(name=name) | Q(config__log_group=log_group)
    )
    if region:
        candidates = candidates.filter(region=region)
    found = [r for r in candidates[:20] if logs_fetch.log_group_of(r) == log_group]
    return found[0] if len(found) == 1 else None


def delivery_store(*, account: AwsAccount, unpacked: Unpacked, region: str | None, delivered_bytes: int) -> PushSummary:
    """Store each batch of a delivery under its function. A log group we do not collect is
    counted and its events dropped (the filter may outlive the function, or the function be
    excluded by the account's filters)."""
    summary = PushSummary(log_groups=len({b.log_group for b in unpacked.batches}))
    by_group: dict[tuple[str, str], list[LogBatch]] = {}
    for batch in unpacked.batches:
        by_group.setdefault((batch.log_group, region or ""), []).append(batch)
    for (group, _), batches in by_group.items():
        events = [e for b in batches for e in b.events]
        if not events:
            continue
        summary.events += len(events)
        fn = function_for(account, group, region)
        if fn is None:
            summary.unknown_log_groups.append(group)
            continue
        result, problem = logs_fetch.parse_batch(fn, events)
        if problem is not None:
            log.warning("push for account %s: %s", account.pk, problem.message)
        stored, poisoned = pushed_batch_store(
            resource=fn, result=result, last_event_ms=max(e["timestamp"] for e in events)
        )
        summary.stored.add(stored)
        summary.skipped_invocations += len(poisoned)
    usage.record_push(account_id=account.pk, region=region or "", records=len(unpacked.batches), bytes_=delivered_bytes)
    aws_account_push_received(account=account, at=timezone.now())
    return summary
