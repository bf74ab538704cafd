"""Exactly once: how an invocation's start is known, where each function's last read ended,
and the unique identity (function, request id, attempt) on every invocation partition."""

from django.db import migrations, models


def unique_identity_on_partitions(apps, schema_editor):  # type: ignore[no-untyped-def]
    from monitoring.store.partitions import partition_unique_index, partitions

    with schema_editor.connection.cursor() as cursor:
        for name, _day in partitions("monitoring_invocation"):
            # Rows a re-read duplicated before this migration: keep each identity's first row.
            sql = (
                f'DELETE FROM "{name}" a USING "{name}" b WHERE a.resource_id = b.resource_id '  # noqa: S608 (names from the catalogue)
                "AND a.request_id = b.request_id AND a.attempt = b.attempt AND a.id > b.id"
            )
            cursor.execute(sql)
            partition_unique_index(cursor, "monitoring_invocation", name)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0005_projects")]

    operations = [
        migrations.AddField(
            model_name="invocation",
            name="start_source",
            field=models.CharField(db_default="start", default="start", max_length=8),
        ),
        migrations.AddField(
            model_name="logcheckpoint",
            name="polled_to_ms",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(unique_identity_on_partitions, migrations.RunPython.noop),
    ]
