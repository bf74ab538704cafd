from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.admin_services import AdminError
from accounts.api_tokens import api_token_create
from accounts.models import ApiToken, Organization


class Command(BaseCommand):
    help = "Create an API token (read-only unless --scope write) for an organisation and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--name", required=True, help="what will use it")
        parser.add_argument(
            "--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.READ, help="read (default) or write"
        )

    def handle(self, *args: Any, org: str, name: str, scope: str, **options: Any) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organisation with slug {org!r}")
        try:
            _, secret = api_token_create(organization=organization, name=name, scope=scope)
        except AdminError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(secret)
