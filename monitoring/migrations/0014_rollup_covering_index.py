"""The per-function rollups' (organisation, period, bucket) index covers what the top lists
sum, so that they read it alone (docs/architecture.md §6). Built concurrently: writes go on
while it is built on a large table."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("monitoring", "0013_scope_rollups_backfill")]

    operations = [
        AddIndexConcurrently(
            model_name="rollup",
            index=models.Index(
                fields=["organization_id", "period", "bucket"],
                include=[
                    "resource",
                    "account_id",
                    "errors",
                    "duration_sum_ms",
                    "duration_count",
                    "cost_usd",
                    "cold_starts",
                ],
                name="rollup_org_time_covering",
            ),
        ),
        RemoveIndexConcurrently(model_name="rollup", name="rollup_org_time"),
    ]
