"""Events accounts announces; higher apps subscribe in their `AppConfig.ready()`.

accounts is near the bottom of the app order and may not import the apps that act on these
events (see docs/architecture.md, "Apps and their order"). Each signal is sent inside the
service's transaction; a receiver that queues work uses `transaction.on_commit`.
"""

from __future__ import annotations

from django.dispatch import Signal

# A new organisation exists with its owner. kwargs: organization.
organization_created = Signal()

# An AWS account's role was validated in every region: collection may start.
# kwargs: account.
aws_account_connected = Signal()

# An AWS account is about to be deleted: receivers remove what they keep for it cheaply
# before the row's deletion cascades. kwargs: account.
aws_account_removing = Signal()

# An AWS account's CloudWatch API budget was set, changed or removed: monitoring plans again
# which resources it polls less often. kwargs: account.
aws_account_budget_changed = Signal()
