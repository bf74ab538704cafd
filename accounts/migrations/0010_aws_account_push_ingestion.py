from __future__ import annotations

import secrets

from django.db import migrations, models

import accounts.encryption
import accounts.models


def fill_tokens(apps, schema_editor):  # type: ignore[no-untyped-def]
    AwsAccount = apps.get_model("accounts", "AwsAccount")
    for account in AwsAccount.objects.filter(push_token=None):
        account.push_token = secrets.token_urlsafe(24)
        account.save(update_fields=["push_token"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_api_token_scope")]

    operations = [
        migrations.AddField(
            model_name="awsaccount",
            name="log_ingestion",
            field=models.CharField(
                choices=[
                    ("poll", "Polling (FilterLogEvents)"),
                    ("push", "Push (CloudWatch Logs subscription → Firehose)"),
                ],
                default="poll",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="awsaccount",
            name="push_token",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.RunPython(fill_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="awsaccount",
            name="push_token",
            field=models.CharField(default=accounts.models._push_token, editable=False, max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name="awsaccount",
            name="push_access_key",
            field=accounts.encryption.EncryptedJSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="awsaccount",
            name="push_received_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
