"""An organisation "Acme" (owner ops@acme.test) with the sandbox connected and collected once,
for browser tests. The sandbox lives for the whole session: resources and traffic are written
to a region the first time only, and later tests collect what is already there."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.core.management import call_command

from accounts.models import AwsAccount, Organization
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from devtools.sandbox.catalog import functions
from devtools.sandbox.resource_traffic import ResourceMetrics
from devtools.sandbox.seed import admin_client, create_resources
from devtools.sandbox.service_traffic import ServiceTraffic
from devtools.sandbox.traffic import TrafficGenerator
from monitoring.collection.orchestrator import collect_unit

EMAIL, PASSWORD = "ops@acme.test", "S3cret-pass!"


def sandbox_world(
    sandbox: Any, region: str, *, count: int, seed: int, traffic_seed: int, per_minute: int, minutes: int
) -> tuple[Organization, AwsAccount]:
    call_command("createorg", name="Acme", owner=EMAIL, password=PASSWORD, stdout=StringIO())
    organization = Organization.objects.get(name="Acme")
    specs = functions(count, seed=seed)
    for spec in specs:
        spec.error_rate = 0.2  # enough failures to have error groups
    if not admin_client("lambda", sandbox.endpoint, region).list_functions()["Functions"]:
        create_resources(sandbox.endpoint, region, specs)
        TrafficGenerator(
            specs,
            logs=admin_client("logs", sandbox.endpoint, region),
            cloudwatch=admin_client("cloudwatch", sandbox.endpoint, region),
            xray=admin_client("xray", sandbox.endpoint, region),
            seed=traffic_seed,
            per_minute=per_minute,
        ).tick(minutes)
        ServiceTraffic(sandbox.endpoint, region, seed=traffic_seed).tick(60)
        ResourceMetrics(sandbox.endpoint, region, seed=traffic_seed).backfill(minutes)
    account = aws_account_start(organization=organization, name="Sandbox")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=[region])
    assert aws_account_validate(account=account).ok
    collect_unit(account, region)
    return organization, account
