from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from alerts.config.apply import ConfigInvalid, config_apply, export_document, secret_variables
from alerts.config.document import MAX_BYTES, DocumentError, dump, load


class Command(BaseCommand):
    help = (
        "Configuration as code. `config export [--org SLUG] [-o FILE]` writes the organisation's projects, "
        "channels, alert rules, suppressions and digests as one YAML document; `config apply FILE [--org SLUG] "
        "[--dry-run] [--prune]` makes the organisation match it and prints the plan."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        export = commands.add_parser("export", help="write the configuration as YAML")
        export.add_argument("--org", help="organisation slug (optional when there is one organisation)")
        export.add_argument("-o", "--output", help="file to write (default: standard output)")
        apply = commands.add_parser("apply", help="make the organisation match a YAML document")
        apply.add_argument("file", help="the YAML document, or - for standard input")
        apply.add_argument("--org", help="organisation slug (optional when there is one organisation)")
        apply.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
        apply.add_argument("--prune", action="store_true", help="also delete what the document does not list")

    def handle(self, *args: Any, action: str, org: str | None = None, **options: Any) -> None:
        organization = _organization(org)
        if action == "export":
            self._export(organization, options.get("output"))
        else:
            self._apply(organization, options["file"], dry_run=options["dry_run"], prune=options["prune"])

    def _export(self, organization: Organization, output: str | None) -> None:
        document = export_document(organization)
        variables = secret_variables(document)
        header = (
            f"# Configuration of {organization.name} ({organization.slug}): `manage.py config apply FILE` applies it.\n"
        )
        if variables:
            header += "# Secrets are read from these environment variables at apply time:\n"
            header += "".join(f"#   {name}\n" for name in variables)
        text = dump(document, header)
        if output and output != "-":
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}.")
        else:
            self.stdout.write(text, ending="")

    def _apply(self, organization: Organization, file: str, *, dry_run: bool, prune: bool) -> None:
        try:
            if file == "-":
                raw = sys.stdin.buffer.read(MAX_BYTES + 1)
            else:
                with open(file, "rb") as handle:
                    raw = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            document = load(raw)
            plan = config_apply(
                organization=organization, document=document, prune=prune, dry_run=dry_run, env=os.environ
            )
        except DocumentError as exc:
            raise CommandError(f"{file}: {exc}") from None
        except ConfigInvalid as exc:
            lines = "\n".join(f"  {p}" for p in exc.problems)
            raise CommandError(f"{file}: nothing changed; {len(exc.problems)} problem(s):\n{lines}") from None
        for change in plan:
            for line in change.lines():
                self.stdout.write(line)
        if not plan:
            self.stdout.write("No changes.")
            return
        counts = {op: sum(c.op == op for c in plan) for op in "+~-"}
        summary = f"{counts['+']} to create, {counts['~']} to update, {counts['-']} to delete"
        self.stdout.write(f"Dry run: {summary}; nothing changed." if dry_run else f"Applied: {summary}.")


def _organization(slug: str | None) -> Organization:
    if slug:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organisation with slug {slug!r}.")
        return organization
    organizations = list(Organization.objects.order_by("slug")[:2])
    if len(organizations) != 1:
        raise CommandError("Name the organisation: --org SLUG." if organizations else "There is no organisation yet.")
    return organizations[0]
