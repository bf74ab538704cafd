"""Two-factor secrets stored before MFA_ADAPTER encrypted them (TOTP seeds, recovery-code
seeds) are encrypted in place with FIELD_ENCRYPTION_KEYS. Backwards: decrypted."""

from django.db import migrations


def _convert(apps, change, wanted):
    from accounts.mfa import map_secrets

    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all():
        data = map_secrets(authenticator.data, lambda value: change(value) if wanted(value) else value)
        if data != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def _encrypted(value):
    from accounts.encryption import DecryptionError, decrypt

    try:
        decrypt(value)
    except DecryptionError:
        return False
    return True


def encrypt_secrets(apps, schema_editor):
    from accounts.encryption import encrypt

    _convert(apps, encrypt, lambda value: not _encrypted(value))


def decrypt_secrets(apps, schema_editor):
    from accounts.encryption import decrypt

    _convert(apps, decrypt, _encrypted)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_admin_console"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
