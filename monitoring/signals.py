"""Events monitoring announces; higher apps (insights, alerts) subscribe in their
`AppConfig.ready()` (see docs/architecture.md, "Apps and their order")."""

from __future__ import annotations

from django.dispatch import Signal

# A collection run of one account × region stored something new. kwargs: account, region,
# changes (a frozenset of CHANGES: "configuration" when discovery added or changed
# resources, "invocations" when logs brought invocations), summary (the run's summary dict).
collection_stored = Signal()

CONFIGURATION = "configuration"
INVOCATIONS = "invocations"
