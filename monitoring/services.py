"""Writes of the monitoring app. Keyword arguments, typed, atomic."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from accounts.models import AwsAccount, Organization

from .models import ErrorGroup, ErrorGroupStatus, Project
from .store.rollups import projects_stale

# Skipped events are not a state that the next run clears: they stay on the account page
# for this long, whatever the runs after them find.
SKIPPED_KEPT = timedelta(hours=24)


def account_health_record(
    *,
    account: AwsAccount,
    region: str,
    collector: str,
    problems: list[dict[str, Any]],
    now: datetime,
    stamps: list[str] | None = None,
) -> None:
    """Replace this region's problems of one collector; stamp a successful run (and the
    extra `stamps`). Reports of skipped events stay SKIPPED_KEPT.

    Done with a row lock so that two regions finishing at once do not overwrite each other.
    """
    with transaction.atomic():
        locked = AwsAccount.objects.select_for_update().get(pk=account.pk)
        kept = [p for p in locked.problems if not _replaced(p, region, collector, now)]
        locked.problems = kept + [{**p, "collector": collector, "at": now.isoformat()} for p in problems]
        locked.last_collected = {
            **locked.last_collected,
            f"{collector}:{region}": now.isoformat(),
            **{stamp: now.isoformat() for stamp in stamps or []},
        }
        if locked.status == AwsAccount.Status.ERROR and not locked.last_error:
            locked.status = AwsAccount.Status.CONNECTED
        locked.save(update_fields=["problems", "last_collected", "status"])
    account.problems, account.last_collected = locked.problems, locked.last_collected


def _replaced(problem: dict[str, Any], region: str, collector: str, now: datetime) -> bool:
    if problem.get("region") != region or problem.get("collector") != collector:
        return False
    if problem.get("kind") == "skipped":
        try:
            return now - datetime.fromisoformat(problem.get("at", "")) > SKIPPED_KEPT
        except ValueError:
            return True
    return True


def account_access_failed(*, account: AwsAccount, region: str, message: str, now: datetime) -> None:
    """The role could not be assumed: the account is in error with that message, and the
    region's problem says so until a run succeeds. The region's other problems of this run
    (every call denied) were its consequences: that one message replaces them."""
    with transaction.atomic():
        locked = AwsAccount.objects.select_for_update().get(pk=account.pk)
        locked.problems = [p for p in locked.problems if p.get("region") != region or p.get("kind") == "skipped"]
        locked.save(update_fields=["problems"])
    account_health_record(
        account=account,
        region=region,
        collector="access",
        problems=[
            {"kind": "access", "message": message, "service": "sts", "operation": "AssumeRole", "region": region}
        ],
        now=now,
    )
    AwsAccount.objects.filter(pk=account.pk).update(
        status=AwsAccount.Status.ERROR, last_error=message, last_error_at=now
    )
    account.status, account.last_error, account.last_error_at = AwsAccount.Status.ERROR, message, now


def account_access_ok(*, account: AwsAccount, region: str) -> None:
    """A run assumed the role: clear the access problem it had in this region, and once no
    region has one, the error that the failed runs set (a validation's error stays)."""
    with transaction.atomic():
        locked = AwsAccount.objects.select_for_update().get(pk=account.pk)
        had = [p for p in locked.problems if p.get("collector") == "access"]
        if not had:
            return
        locked.problems = [
            p for p in locked.problems if not (p.get("collector") == "access" and p.get("region") == region)
        ]
        fields = ["problems"]
        if not any(p.get("collector") == "access" for p in locked.problems) and locked.last_error in {
            p.get("message") for p in had
        }:
            locked.status, locked.last_error = AwsAccount.Status.CONNECTED, ""
            fields += ["status", "last_error"]
        locked.save(update_fields=fields)
    account.problems, account.status, account.last_error = locked.problems, locked.status, locked.last_error


def error_group_set_status(*, group: ErrorGroup, status: str, now: datetime) -> bool:
    """Resolve, ignore or reopen a group. Conditional UPDATE: returns False when another
    request changed it first. Reopening by hand clears the regression flag."""
    if status not in ErrorGroupStatus.values:
        raise ValueError(f"Unknown error group status {status!r}")
    fields: dict[str, Any] = {"status": status, "status_changed_at": now}
    if status == ErrorGroupStatus.OPEN:
        fields["regression"] = False
    changed = ErrorGroup.objects.filter(pk=group.pk, status=group.status).exclude(status=status).update(**fields)
    if changed:
        for key, value in fields.items():
            setattr(group, key, value)
    return bool(changed)


@transaction.atomic
def project_create(
    *, organization: Organization, name: str, tag_key: str, tag_value: str, name_pattern: str
) -> tuple[Project, bool]:
    """A saved group of resources; returns (project, False) when one of that name exists
    already, unchanged."""
    project, created = Project.objects.get_or_create(
        organization=organization,
        name=name,
        defaults={"tag_key": tag_key, "tag_value": tag_value, "name_pattern": name_pattern},
    )
    if created:  # its rollups are built from its members' once this commits
        projects_stale(projects=[project])
    return project, created


@transaction.atomic
def project_update(*, project: Project, name: str, tag_key: str, tag_value: str, name_pattern: str) -> None:
    """Rename or regroup (validated by monitoring.forms.ProjectForm); names stay unique per organisation."""
    regrouped = (project.tag_key, project.tag_value, project.name_pattern) != (tag_key, tag_value, name_pattern)
    project.name, project.tag_key, project.tag_value, project.name_pattern = name, tag_key, tag_value, name_pattern
    project.save(update_fields=["name", "tag_key", "tag_value", "name_pattern"])
    if regrouped:  # other members: its rollups are rebuilt
        projects_stale(projects=[project])


def project_delete(*, project: Project) -> None:
    """Forget the group; its resources stay."""
    project.delete()
