from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import AwsAccount, Membership, Organization
from accounts.services import aws_account_start, organization_create, user_create_verified

DEMO_EMAIL = "demo@example.com"
DEMO_ORGANIZATION = "Demo"
SANDBOX_ACCOUNT_NAME = "Sandbox AWS"


class Command(BaseCommand):
    help = (
        "Create the demo organisation and user (idempotent), and the pending AWS account the "
        "sandbox connects as; print how to sign in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the details as JSON")

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
                org = organization_create(
                    name=DEMO_ORGANIZATION, owner=user_create_verified(email=DEMO_EMAIL, password=password)
                )
            else:
                if not user.check_password(password):
                    user.set_password(password)
                    user.save(update_fields=["password"])
                membership = Membership.objects.filter(user=user).select_related("organization").first()
                org = membership.organization if membership else organization_create(name=DEMO_ORGANIZATION, owner=user)
            account = AwsAccount.objects.filter(organization=org, name=SANDBOX_ACCOUNT_NAME).first()
            if account is None:
                account = aws_account_start(organization=org, name=SANDBOX_ACCOUNT_NAME)
        if options["json"]:
            self.stdout.write(json.dumps(self._details(org, password, account)))
        else:
            self.stdout.write(self.style.SUCCESS(f"Demo sign-in: {DEMO_EMAIL} / {password}"))

    @staticmethod
    def _details(org: Organization, password: str, account: AwsAccount) -> dict[str, Any]:
        return {
            "email": DEMO_EMAIL,
            "password": password,
            "organization": org.slug,
            "sandbox_account_id": account.pk,
            "sandbox_external_id": account.external_id,
        }
