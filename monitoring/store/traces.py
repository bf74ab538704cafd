"""Storing fetched X-Ray traces (docs/traces.md): one row per trace, its spans compact, in
the daily partition of its invocation's start; the unit's trace checkpoint moves with them
in one transaction. Re-storing a trace is a no-op (unique per partition on function + id)."""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connection, transaction

from accounts.models import AwsAccount
from monitoring.collection.traces import Choice, Fetched, spans
from monitoring.models import TraceCheckpoint

from .partitions import ensure_partitions_for


def traces_store(
    *, account: AwsAccount, region: str, choices: list[Choice], fetched: Fetched, considered_to: datetime, now: datetime
) -> dict[str, int]:
    """Store one row per chosen invocation: its spans, or `found = False` when X-Ray had
    none. Returns counts of traces stored and not found."""
    rows = []
    found = missing = 0
    for choice in choices:
        c = choice.candidate
        docs = fetched.documents.get(c.trace_id)
        tree = [s.as_row() for s in spans(docs)] if docs else []
        found += bool(docs)
        missing += not docs
        rows.append(
            (
                account.organization_id,
                account.pk,
                c.resource_id,
                c.invocation_id,
                c.trace_id,
                c.started_at,
                now,
                choice.reason,
                bool(docs),
                json.dumps(tree),
            )
        )
    with transaction.atomic():
        if rows:
            ensure_partitions_for("monitoring_trace", [r[5] for r in rows])
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO monitoring_trace (organization_id, account_id, resource_id, invocation_id, trace_id, "
                    "started_at, fetched_at, reason, found, spans) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    rows,
                )
        TraceCheckpoint.objects.update_or_create(
            account=account, region=region, defaults={"considered_to": considered_to, "last_run_at": now}
        )
    return {"traces_stored": found, "traces_not_found": missing}
