from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.services import organization_create, user_create_verified

DEMO_EMAIL = "demo@example.com"
DEMO_ORGANIZATION = "Demo"


class Command(BaseCommand):
    help = "Create the demo organisation and user (idempotent) and print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        # The password lives in var/ (local only) and is the source of truth: a database
        # that was reset, or another one, gets the same credentials the user was shown.
        credentials = settings.VAR_DIR / "demo-credentials"
        if not credentials.exists():
            settings.VAR_DIR.mkdir(exist_ok=True)
            credentials.write_text(secrets.token_urlsafe(9))
            credentials.chmod(0o600)
        password = credentials.read_text().strip()
        with transaction.atomic():
            user = User.objects.filter(email__iexact=DEMO_EMAIL).first()
            if user is None:
                organization_create(
                    name=DEMO_ORGANIZATION, owner=user_create_verified(email=DEMO_EMAIL, password=password)
                )
            elif not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS(f"Demo sign-in: {DEMO_EMAIL} / {password}"))
