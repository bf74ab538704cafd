from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from accounts import signals as accounts_signals

        from . import panels, receivers

        accounts_signals.aws_account_connected.connect(receivers.collect_connected_account, dispatch_uid=__name__)
        accounts_signals.aws_account_removing.connect(receivers.purge_removed_account, dispatch_uid=__name__)
        accounts_signals.aws_account_budget_changed.connect(receivers.replan_budget, dispatch_uid=__name__)
        panels.register()
