from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from accounts.onboarding import parse_regions
from accounts.services import aws_account_connect


class Command(BaseCommand):
    help = "Validate a cross-account role and connect it to an organisation (for automation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--role-arn", required=True)
        parser.add_argument("--external-id", required=True, help="the sts:ExternalId the role's trust policy expects")
        parser.add_argument(
            "--regions",
            required=True,
            help="comma-separated, e.g. us-east-1,eu-west-1, or 'all' for every region the account has enabled",
        )
        parser.add_argument("--name", default="", help="display name (default: the AWS account id)")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organisation with slug {options['org']!r}")
        try:
            all_regions = options["regions"].strip().lower() == "all"
            regions = [] if all_regions else parse_regions(options["regions"])
            account, report = aws_account_connect(
                organization=org,
                role_arn=options["role_arn"],
                regions=regions,
                all_regions=all_regions,
                name=options["name"],
                external_id=options["external_id"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not options["name"] and account.name == "AWS account" and account.aws_account_id:
            account.name = account.aws_account_id
            account.save(update_fields=["name"])
        self.stdout.write(
            json.dumps({"id": account.pk, "name": account.name, "status": account.status, "messages": report.messages})
        )
        if not report.ok:
            raise CommandError("Validation failed: " + " ".join(report.messages))
