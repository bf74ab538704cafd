"""Log search through blocks of lines instead of a trigram index on every line
(docs/architecture.md §6): ingestion spent most of its time maintaining that index.

Log lines keep one unique index, their identity (function, time, event id), which also
serves reads by function and time; the primary key on (id, time), the (function, time)
index and the trigram index go. Invocations lose (function, request id), which the
identity index of every partition serves. Existing lines get their blocks here, partition
by partition, keyed exactly as ingestion keys new ones.
"""

import django.contrib.postgres.search
from django.db import migrations, models

BACKFILL_FLUSH = 50_000  # lines of one function held in memory before their blocks are written


def blocks_for_existing_lines(apps, schema_editor):  # type: ignore[no-untyped-def]
    from monitoring.store.loglines import blocks_store, day_of
    from monitoring.store.partitions import ensure_partitions, partitions

    connection = schema_editor.connection
    for name, day in partitions("monitoring_logline"):
        ensure_partitions("monitoring_logblock", [day])
        with connection.chunked_cursor() as cursor:
            cursor.execute(
                "SELECT resource_id, account_id, (extract(epoch FROM ts) * 1000)::bigint, message "  # noqa: S608 (a partition's name from the catalogue)
                f'FROM "{name}" ORDER BY resource_id, ts, id'
            )
            current: tuple[int, int] | None = None
            rows: list[tuple[int, bytes]] = []
            for resource_id, account_id, ms, message in cursor:
                if current != (resource_id, account_id) or len(rows) >= BACKFILL_FLUSH:
                    if current is not None and rows:
                        blocks_store(resource_id=current[0], account_id=current[1], rows=rows)
                    current, rows = (resource_id, account_id), []
                if day_of(ms) == day:
                    rows.append((ms, message.encode("utf-8", "replace")))
            if current is not None and rows:
                blocks_store(resource_id=current[0], account_id=current[1], rows=rows)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0016_usage_days")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LogBlock",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("account_id", models.BigIntegerField()),
                        ("resource_id", models.BigIntegerField()),
                        ("ts_min", models.DateTimeField()),
                        ("ts_max", models.DateTimeField()),
                        ("lines", models.IntegerField()),
                        ("keys", django.contrib.postgres.search.SearchVectorField()),
                    ],
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=[
                        "CREATE UNIQUE INDEX logline_identity ON monitoring_logline (resource_id, ts, event_id)",
                        "DROP INDEX IF EXISTS logline_event",
                        "DROP INDEX IF EXISTS logline_resource_time",
                        "DROP INDEX IF EXISTS logline_message_trgm",
                        "ALTER TABLE monitoring_logline DROP CONSTRAINT IF EXISTS monitoring_logline_pkey",
                        "DROP INDEX IF EXISTS invocation_request",
                        """CREATE TABLE monitoring_logblock (
                            id bigserial NOT NULL,
                            account_id bigint NOT NULL,
                            resource_id bigint NOT NULL,
                            ts_min timestamp with time zone NOT NULL,
                            ts_max timestamp with time zone NOT NULL,
                            lines integer NOT NULL,
                            keys tsvector NOT NULL
                        ) PARTITION BY RANGE (ts_min)""",
                        "CREATE INDEX logblock_account_time ON monitoring_logblock (account_id, ts_max)",
                        "CREATE INDEX logblock_resource_time ON monitoring_logblock (resource_id, ts_max)",
                        "CREATE INDEX logblock_keys ON monitoring_logblock USING gin (keys)",
                    ],
                    reverse_sql=[
                        "DROP TABLE monitoring_logblock",
                        "CREATE INDEX invocation_request ON monitoring_invocation (resource_id, request_id)",
                        "ALTER TABLE monitoring_logline ADD PRIMARY KEY (id, ts)",
                        "CREATE INDEX logline_resource_time ON monitoring_logline (resource_id, ts)",
                        "CREATE UNIQUE INDEX logline_event ON monitoring_logline (resource_id, event_id, ts)",
                        "CREATE INDEX logline_message_trgm ON monitoring_logline USING gin (message gin_trgm_ops)",
                        "DROP INDEX logline_identity",
                    ],
                ),
            ],
        ),
        migrations.RunPython(blocks_for_existing_lines, migrations.RunPython.noop),
    ]
