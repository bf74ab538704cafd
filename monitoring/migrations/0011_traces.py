import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_sso_and_profile"),
        ("monitoring", "0010_resource_detail_fingerprint"),
    ]

    operations = [
        # Partitioned by day like invocations: retention drops partitions (monitoring/store/partitions.py).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Trace",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("organization_id", models.BigIntegerField()),
                        ("account_id", models.BigIntegerField()),
                        ("resource_id", models.BigIntegerField()),
                        ("invocation_id", models.BigIntegerField()),
                        ("trace_id", models.CharField(max_length=64)),
                        ("started_at", models.DateTimeField()),
                        ("fetched_at", models.DateTimeField()),
                        ("reason", models.CharField(max_length=8)),
                        ("found", models.BooleanField(default=True)),
                        ("spans", models.JSONField(default=list)),
                    ],
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql="""CREATE TABLE monitoring_trace (
    id bigserial NOT NULL,
    organization_id bigint NOT NULL,
    account_id bigint NOT NULL,
    resource_id bigint NOT NULL,
    invocation_id bigint NOT NULL,
    trace_id varchar(64) NOT NULL,
    started_at timestamp with time zone NOT NULL,
    fetched_at timestamp with time zone NOT NULL,
    reason varchar(8) NOT NULL,
    found boolean NOT NULL,
    spans jsonb NOT NULL,
    PRIMARY KEY (id, started_at)
) PARTITION BY RANGE (started_at);
CREATE INDEX trace_resource_time ON monitoring_trace (resource_id, started_at);
CREATE INDEX trace_invocation ON monitoring_trace (invocation_id);
CREATE INDEX trace_account_time ON monitoring_trace (account_id, started_at);""",
                    reverse_sql="DROP TABLE monitoring_trace;",
                ),
            ],
        ),
        migrations.CreateModel(
            name="TraceCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("region", models.CharField(max_length=32)),
                ("considered_to", models.DateTimeField()),
                ("last_run_at", models.DateTimeField()),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="trace_checkpoints",
                        to="accounts.awsaccount",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("account", "region"), name="tracecheckpoint_unique_unit")
                ],
            },
        ),
    ]
