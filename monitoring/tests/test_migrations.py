"""Migrations that move stored data: what users had before still reads right after."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import AwsAccount
from monitoring.models import MetricCheckpoint
from monitoring.store.partitions import ensure_partitions

BEFORE = [("monitoring", "0007_kind_choices_from_registry")]
AFTER = [("monitoring", "0008_account_metrics_by_region")]


def _migrate(target: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


@pytest.mark.django_db(transaction=True)
def test_account_level_points_get_their_region_or_are_dropped_when_no_one_can_tell(owner: Any) -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    single = AwsAccount.objects.create(organization=owner.organization, name="One", regions=["eu-west-1"])
    multi = AwsAccount.objects.create(organization=owner.organization, name="Two", regions=["eu-west-1", "us-east-1"])
    _migrate(BEFORE)
    try:
        ensure_partitions("monitoring_metricpoint", [now.date()])
        with connection.cursor() as cursor:
            for account in (single, multi):
                cursor.execute(
                    "INSERT INTO monitoring_metricpoint (account_id, resource_id, metric, stat, period, ts, value) "
                    "VALUES (%s, 0, 'AWS/Lambda:ConcurrentExecutions', 'Maximum', 60, %s, 7), "
                    "(%s, 42, 'AWS/Lambda:Invocations', 'Sum', 60, %s, 3)",
                    [account.pk, now, account.pk, now],
                )
                MetricCheckpoint.objects.create(
                    account=account, region="eu-west-1", kind="account", collected_until=now, last_polled_at=now
                )
        _migrate(AFTER)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT account_id, resource_id, region, value FROM monitoring_metricpoint ORDER BY account_id, resource_id"
            )
            rows = cursor.fetchall()
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("monitoring"))

    assert rows == [
        (single.pk, 0, "eu-west-1", 7.0),  # one region: it was that region's series
        (single.pk, 42, "", 3.0),  # a resource's points are untouched
        (multi.pk, 42, "", 3.0),  # a mix of regions nobody can untangle: dropped…
    ]
    # …and read again from CloudWatch per region at the next poll.
    assert set(MetricCheckpoint.objects.values_list("account_id", flat=True)) == {single.pk}
