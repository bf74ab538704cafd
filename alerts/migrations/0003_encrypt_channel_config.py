"""Channel configurations become one Fernet token each (FIELD_ENCRYPTION_KEYS).

The column turns from jsonb into text (PostgreSQL casts each row to its JSON text), then
every row that is still plain JSON is encrypted in place. Backwards: decrypted to JSON
text, then cast back to jsonb.
"""

import json

from django.db import migrations

import accounts.encryption


def encrypt_rows(apps, schema_editor):
    from accounts.encryption import encrypt

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, config FROM alerts_channel")
        for pk, text in cursor.fetchall():
            if _is_json(text):
                cursor.execute("UPDATE alerts_channel SET config = %s WHERE id = %s", [encrypt(text), pk])


def decrypt_rows(apps, schema_editor):
    from accounts.encryption import decrypt

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, config FROM alerts_channel")
        for pk, text in cursor.fetchall():
            if not _is_json(text):
                cursor.execute("UPDATE alerts_channel SET config = %s WHERE id = %s", [decrypt(text), pk])


def _is_json(text):
    # A Fernet token is base64 text, never valid JSON; a stored config always is.
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_digestsent_digestsubscription"),
    ]

    operations = [
        migrations.AlterField(
            model_name="channel",
            name="config",
            field=accounts.encryption.EncryptedJSONField(default=dict),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
