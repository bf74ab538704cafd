"""Fill what 0012 added from what is stored (docs/architecture.md §6):

1. the memory and init-duration figures of function rollups, one day of raw invocations per
   transaction (hours whose raw rows retention deleted get none);
2. each organisation's account × region and project rollups from its function rollups, a
   month per transaction.

Not atomic as a whole: each step is its own transaction and every step recomputes what it
writes, so a run that stops part-way is simply run again. On an empty database it does
nothing; on a large one it reads each raw row and each rollup row once.
"""

from datetime import timedelta

from django.db import connection, migrations, transaction


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from monitoring.store.partitions import partitions
    from monitoring.store.rollups import memory_figures_backfill, projects_built, scope_rollups_build

    for _name, day in partitions("monitoring_invocation"):
        with transaction.atomic():
            memory_figures_backfill(day=datetime(day.year, day.month, day.day, tzinfo=UTC))
    with connection.cursor() as cursor:
        cursor.execute("SELECT organization_id, min(bucket), max(bucket) FROM monitoring_rollup GROUP BY 1 ORDER BY 1")
        spans = cursor.fetchall()
    for organization_id, first, last in spans:
        start = first
        while start <= last:
            end = min(start + timedelta(days=31), last + timedelta(days=1))
            scope_rollups_build(organization_id=organization_id, start=start, end=end)
            start = end
        projects_built(organization_id=organization_id)  # every bucket it has was just built


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("monitoring", "0012_scope_rollups_and_memory")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
