"""Before this, the wizard recorded the AWS account id from the typed role ARN before the
role was assumed, so an organisation could claim another's account id. Forget the ids of
accounts never validated; validation records them again from STS."""

import re

from django.db import migrations

ROLE_ARN_ACCOUNT = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/")


def forget(apps, schema_editor):
    AwsAccount = apps.get_model("accounts", "AwsAccount")
    AwsAccount.objects.filter(validated_at=None).exclude(aws_account_id="").update(aws_account_id="")


def restore(apps, schema_editor):
    AwsAccount = apps.get_model("accounts", "AwsAccount")
    for account in AwsAccount.objects.filter(validated_at=None, aws_account_id=""):
        match = ROLE_ARN_ACCOUNT.match(account.role_arn)
        if match:
            AwsAccount.objects.filter(pk=account.pk).update(aws_account_id=match.group(1))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_encrypt_mfa_secrets")]

    operations = [migrations.RunPython(forget, restore)]
