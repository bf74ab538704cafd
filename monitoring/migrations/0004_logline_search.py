from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    """Trigram index for the Logs page's substring search (ILIKE '%…%')."""

    dependencies = [("monitoring", "0003_metrics")]

    operations = [
        migrations.RunSQL(
            sql=[
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX IF NOT EXISTS logline_message_trgm ON monitoring_logline USING gin (message gin_trgm_ops)",
            ],
            reverse_sql=["DROP INDEX IF EXISTS logline_message_trgm"],
        ),
    ]
