"""Account × region and project rollups beside the per-function ones, and memory used (and
init durations) in every rollup (docs/architecture.md §6). 0013 fills them from what is stored."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_aws_account_push_ingestion"),
        ("monitoring", "0011_traces"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="rollups_built",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="project",
            name="rollups_generation",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="rollup",
            name="init_histogram",
            field=models.JSONField(db_default={}, default=dict),
        ),
        migrations.AddField(
            model_name="rollup",
            name="memory_histogram",
            field=models.JSONField(db_default={}, default=dict),
        ),
        migrations.AddField(
            model_name="rollup",
            name="memory_max_mb",
            field=models.IntegerField(null=True),
        ),
        migrations.AddField(
            model_name="rollup",
            name="memory_max_percent",
            field=models.FloatField(null=True),
        ),
        migrations.CreateModel(
            name="AccountRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("organization_id", models.BigIntegerField()),
                ("period", models.CharField(choices=[("hour", "Hour"), ("day", "Day")], max_length=4)),
                ("bucket", models.DateTimeField()),
                ("invocations", models.BigIntegerField(default=0)),
                ("errors", models.BigIntegerField(default=0)),
                ("error_count", models.BigIntegerField(default=0)),
                ("timeouts", models.BigIntegerField(default=0)),
                ("out_of_memory", models.BigIntegerField(default=0)),
                ("unknown", models.BigIntegerField(default=0)),
                ("cold_starts", models.BigIntegerField(default=0)),
                ("duration_sum_ms", models.FloatField(default=0)),
                ("duration_max_ms", models.FloatField(default=0)),
                ("duration_count", models.BigIntegerField(default=0)),
                ("histogram", models.JSONField(default=dict)),
                ("billed_ms_sum", models.FloatField(default=0)),
                ("gb_seconds", models.FloatField(default=0)),
                ("cost_usd", models.FloatField(default=0)),
                ("memory_max_mb", models.IntegerField(null=True)),
                ("memory_max_percent", models.FloatField(null=True)),
                ("memory_histogram", models.JSONField(db_default={}, default=dict)),
                ("init_histogram", models.JSONField(db_default={}, default=dict)),
                ("region", models.CharField(max_length=32)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="rollups", to="accounts.awsaccount"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["organization_id", "period", "bucket"], name="accountrollup_org_time")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "region", "period", "bucket"), name="accountrollup_unique_bucket"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ProjectRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("organization_id", models.BigIntegerField()),
                ("period", models.CharField(choices=[("hour", "Hour"), ("day", "Day")], max_length=4)),
                ("bucket", models.DateTimeField()),
                ("invocations", models.BigIntegerField(default=0)),
                ("errors", models.BigIntegerField(default=0)),
                ("error_count", models.BigIntegerField(default=0)),
                ("timeouts", models.BigIntegerField(default=0)),
                ("out_of_memory", models.BigIntegerField(default=0)),
                ("unknown", models.BigIntegerField(default=0)),
                ("cold_starts", models.BigIntegerField(default=0)),
                ("duration_sum_ms", models.FloatField(default=0)),
                ("duration_max_ms", models.FloatField(default=0)),
                ("duration_count", models.BigIntegerField(default=0)),
                ("histogram", models.JSONField(default=dict)),
                ("billed_ms_sum", models.FloatField(default=0)),
                ("gb_seconds", models.FloatField(default=0)),
                ("cost_usd", models.FloatField(default=0)),
                ("memory_max_mb", models.IntegerField(null=True)),
                ("memory_max_percent", models.FloatField(null=True)),
                ("memory_histogram", models.JSONField(db_default={}, default=dict)),
                ("init_histogram", models.JSONField(db_default={}, default=dict)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="rollups", to="monitoring.project"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("project", "period", "bucket"), name="projectrollup_unique_bucket")
                ],
            },
        ),
    ]
