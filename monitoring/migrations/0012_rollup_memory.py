from django.db import migrations, models

# The rollups kept no memory figure: fill it for the hours whose raw invocations are still
# stored (within raw retention), then the days from their hours. Older rows stay empty.
BACKFILL = """
UPDATE monitoring_rollup r SET memory_max_mb = m.memory
FROM (
    SELECT resource_id, date_trunc('hour', started_at) AS bucket, max(max_memory_used_mb) AS memory
    FROM monitoring_invocation WHERE max_memory_used_mb IS NOT NULL GROUP BY 1, 2
) m
WHERE r.period = 'hour' AND r.resource_id = m.resource_id AND r.bucket = m.bucket;
UPDATE monitoring_rollup r SET memory_max_mb = m.memory
FROM (
    SELECT resource_id, date_trunc('day', bucket) AS day, max(memory_max_mb) AS memory
    FROM monitoring_rollup WHERE period = 'hour' AND memory_max_mb IS NOT NULL GROUP BY 1, 2
) m
WHERE r.period = 'day' AND r.resource_id = m.resource_id AND r.bucket = m.day;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0011_traces"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollup",
            name="memory_max_mb",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
