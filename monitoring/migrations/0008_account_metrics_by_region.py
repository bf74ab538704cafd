"""Account-level metric points (resource 0) keyed by region: before, regions overwrote each
other's series. Existing account-level points of single-region accounts are that region's;
those of multi-region accounts are a mix nobody can untangle, so they are dropped and the
account-level checkpoint reset: the next poll re-reads CloudWatch's last hours per region."""

from django.db import migrations, models

SQL = """
ALTER TABLE monitoring_metricpoint ADD COLUMN region varchar(32) NOT NULL DEFAULT '';
UPDATE monitoring_metricpoint p SET region = a.regions->>0 FROM accounts_awsaccount a
 WHERE p.resource_id = 0 AND p.account_id = a.id AND jsonb_array_length(a.regions) = 1;
DELETE FROM monitoring_metricpoint WHERE resource_id = 0 AND region = '';
DELETE FROM monitoring_metriccheckpoint c USING accounts_awsaccount a
 WHERE c.kind = 'account' AND c.account_id = a.id AND jsonb_array_length(a.regions) <> 1;
DROP INDEX metricpoint_unique;
CREATE UNIQUE INDEX metricpoint_unique ON monitoring_metricpoint (account_id, resource_id, region, metric, stat, period, ts);
"""

REVERSE = """
DELETE FROM monitoring_metricpoint WHERE resource_id = 0;
DROP INDEX metricpoint_unique;
CREATE UNIQUE INDEX metricpoint_unique ON monitoring_metricpoint (account_id, resource_id, metric, stat, period, ts);
ALTER TABLE monitoring_metricpoint DROP COLUMN region;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_sso_and_profile"),
        ("monitoring", "0007_kind_choices_from_registry"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="metricpoint",
                    name="region",
                    field=models.CharField(blank=True, default="", max_length=32),
                ),
            ],
            database_operations=[migrations.RunSQL(sql=SQL, reverse_sql=REVERSE)],
        ),
    ]
