"""`manage.py rotatekeys`: re-encrypt every stored secret with the newest key.

Run it after putting a new key first in FIELD_ENCRYPTION_KEYS (and restarting web and
workers); once it reports nothing left under an old key, drop the old keys.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts.encryption import DecryptionError, EncryptedJSONField, is_current, rotate
from accounts.mfa import map_secrets

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (channel configurations, two-factor seeds) with the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would be re-encrypted; change nothing")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        try:
            counts = rotate_all(dry_run=dry_run)
        except DecryptionError as exc:
            raise CommandError(str(exc)) from exc
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        for what, (changed, current) in counts.items():
            self.stdout.write(f"{what}: {verb} {changed}, already under the newest key {current}")


def rotate_all(*, dry_run: bool = False) -> dict[str, tuple[int, int]]:
    """{what: (re-encrypted, already current)} over every encrypted field and MFA secret."""
    counts: dict[str, tuple[int, int]] = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedJSONField):
                counts[f"{model._meta.label}.{field.name}"] = _rotate_column(
                    model._meta.db_table, model._meta.pk.column, field.column, dry_run=dry_run
                )
    counts["mfa.Authenticator secrets"] = _rotate_authenticators(dry_run=dry_run)
    return counts


def _rotate_column(table: str, pk: str, column: str, *, dry_run: bool) -> tuple[int, int]:
    # Raw SQL on the tokens themselves: no JSON decoding, and the UPDATE only lands where the
    # row still holds the token we read, so a concurrent save is never overwritten.
    quote = connection.ops.quote_name
    changed = current = 0
    last = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            where = f"WHERE {quote(column)} IS NOT NULL" + (f" AND {quote(pk)} > %s" if last is not None else "")
            cursor.execute(
                f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} {where} ORDER BY {quote(pk)} LIMIT {BATCH}",  # noqa: S608
                [last] if last is not None else [],
            )
            rows = cursor.fetchall()
            for key, token in rows:
                if is_current(token):
                    current += 1
                    continue
                fresh = rotate(token)
                changed += 1
                if not dry_run:
                    cursor.execute(
                        f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s AND {quote(column)} = %s",  # noqa: S608
                        [fresh, key, token],
                    )
        if len(rows) < BATCH:
            return changed, current
        last = rows[-1][0]


def _rotate_authenticators(*, dry_run: bool) -> tuple[int, int]:
    from allauth.mfa.models import Authenticator

    changed = current = 0
    for authenticator in Authenticator.objects.order_by("pk").iterator(chunk_size=BATCH):
        data = map_secrets(authenticator.data, lambda token: token if is_current(token) else rotate(token))
        if data == authenticator.data:
            current += 1
            continue
        changed += 1
        if not dry_run:
            # Only where the row is still what we read: a concurrent enrolment wins.
            Authenticator.objects.filter(pk=authenticator.pk, data=authenticator.data).update(data=data)
    return changed, current
