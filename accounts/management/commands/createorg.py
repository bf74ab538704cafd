from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from accounts.services import organization_create, user_create_verified


class Command(BaseCommand):
    help = "Create an organisation and its owner (a verified user) without the browser."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Organisation name")
        parser.add_argument("--owner", required=True, help="Owner's email; the user is created")
        parser.add_argument("--password", help="Owner's password; generated and printed when omitted")

    def handle(self, *args: Any, name: str, owner: str, password: str | None, **options: Any) -> None:
        try:
            validate_email(owner)
        except ValidationError as exc:
            raise CommandError(f"--owner {owner!r} is not an email address") from exc
        existing = get_user_model().objects.filter(email__iexact=owner).first()
        if existing is not None and password is not None:
            raise CommandError(f"{owner} already has an account; omit --password to give them the new organisation.")
        generated = existing is None and password is None
        password = password or secrets.token_urlsafe(12)
        try:
            with transaction.atomic():
                user = existing or user_create_verified(email=owner, password=password)
                org = organization_create(name=name, owner=user)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created organisation {org.name!r} (slug {org.slug}) owned by {owner}"))
        if generated:
            self.stdout.write(f"Password (shown once): {password}")
