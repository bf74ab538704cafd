"""The engine against the sandbox AWS (which has deliberate misconfigurations)."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import AuditEvent, AwsAccount
from accounts.services import aws_account_configure, aws_account_start, aws_account_validate
from insights.engine import insights_run
from insights.models import Finding, FindingStatus, PillarScore
from monitoring.collection.orchestrator import collect_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner: Any, sandbox: Any) -> AwsAccount:
    account = aws_account_start(organization=owner.organization, name="Sandbox")
    AwsAccount.objects.filter(pk=account.pk).update(external_id=sandbox.state.external_id)
    account.refresh_from_db()
    aws_account_configure(account=account, role_arn=sandbox.state.role_arn, regions=["us-east-1"])
    assert aws_account_validate(account=account).ok
    collect_unit(account, "us-east-1")
    return account


def failing(summary: Any) -> set[tuple[str, str]]:
    return {(f["check"], f["resource"]) for f in summary.failing}


def test_the_sandbox_s_misconfigurations_are_found_and_nothing_on_the_good_ones(
    account: AwsAccount, sandbox: Any
) -> None:
    found = failing(insights_run(account))
    last_function = sandbox.state.functions[-1]["name"]

    expected = {
        ("lambda-function-url-no-auth", "payments-webhook"),
        ("lambda-secrets-in-environment", "payments-webhook"),
        ("lambda-runtime-deprecated", "api-authorizer"),  # python3.9
        ("lambda-runtime-deprecated", "cart-service"),  # nodejs16.x
        ("logs-retention-not-set", last_function),
        ("sqs-no-redrive-policy", "emails"),
        ("sqs-no-encryption", "emails"),
        ("dynamodb-pitr-disabled", "sessions"),
        ("dynamodb-deletion-protection-off", "sessions"),
        ("stepfunctions-logging-off", "order-workflow"),
    }
    assert expected <= found
    well_configured = {
        ("sqs-no-redrive-policy", "orders"),
        ("sqs-no-encryption", "orders"),
        ("sqs-no-redrive-policy", "orders-dlq"),  # a DLQ needs no DLQ
        ("dynamodb-pitr-disabled", "users"),
        ("dynamodb-deletion-protection-off", "users"),
        ("lambda-no-tracing", "orders-create"),
        ("lambda-function-url-no-auth", "orders-create"),
        ("lambda-runtime-deprecated", "orders-create"),
        ("logs-retention-not-set", "orders-create"),
        ("lambda-secrets-in-environment", "orders-create"),
    }
    assert found & well_configured == set()
    webhook = Finding.objects.get(check_id="lambda-secrets-in-environment", resource__name="payments-webhook")
    assert "STRIPE_SECRET_KEY" in json.dumps(webhook.evidence)
    assert "sk_test" not in json.dumps(webhook.evidence)  # names, never values
    assert PillarScore.objects.filter(organization=account.organization).count() == 6


def test_a_finding_resolves_itself_when_the_check_passes_again(account: AwsAccount, sandbox: Any) -> None:
    insights_run(account)
    finding = Finding.objects.get(check_id="dynamodb-pitr-disabled", resource__name="sessions")
    assert finding.status == FindingStatus.OPEN
    ddb = sandbox.admin("dynamodb")
    ddb.update_continuous_backups(
        TableName="sessions", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    try:
        collect_unit(account, "us-east-1")
        insights_run(account)
    finally:
        ddb.update_continuous_backups(
            TableName="sessions", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
        )

    finding.refresh_from_db()
    assert finding.status == FindingStatus.RESOLVED and finding.resolved_at is not None


def test_an_admin_suppresses_a_check_with_a_reason_recorded_in_the_audit_log(account: AwsAccount, owner: Any) -> None:
    insights_run(account)
    finding = Finding.objects.filter(check_id="lambda-runtime-deprecated").first()
    assert finding is not None

    owner.client().post(
        reverse("insights:finding_suppress", args=[finding.pk]),
        {"scope": "check", "reason": "Migration planned for Q1", "days": "30"},
    )

    assert not Finding.objects.filter(check_id="lambda-runtime-deprecated", status=FindingStatus.OPEN).exists()
    event = AuditEvent.objects.get(action="insight.suppressed")
    assert event.changes["reason"] == "Migration planned for Q1"
    insights_run(account)  # still suppressed on the next run
    assert not Finding.objects.filter(check_id="lambda-runtime-deprecated", status=FindingStatus.OPEN).exists()


def test_insights_list_shows_the_catalogue_and_run_prints_json(account: AwsAccount) -> None:
    out = StringIO()
    call_command("insights", "list", stdout=out)
    text = out.getvalue()
    summary_line = text.strip().splitlines()[-1]
    assert int(summary_line.split()[0]) >= 60
    for pillar in [
        "operational_excellence",
        "security",
        "reliability",
        "performance_efficiency",
        "cost_optimization",
        "sustainability",
    ]:
        assert pillar in summary_line

    out = StringIO()
    call_command("insights", "run", account=[account.pk], stdout=out)
    report = json.loads(out.getvalue())
    assert report[0]["account_id"] == account.pk
    assert any(f["check"] == "lambda-function-url-no-auth" for f in report[0]["findings"])


def test_the_insights_pages_render_for_members(account: AwsAccount, teammate: Any) -> None:
    insights_run(account)
    client = teammate.client()
    page = client.get(reverse("insights:index")).content.decode()
    assert "payments-webhook" in page and "Security" in page
    assert "<summary>Suppress</summary>" not in page  # only admins suppress insights
    assert "Why:" in client.get(reverse("insights:catalogue")).content.decode()


def test_findings_are_grouped_by_check_info_folded_and_zero_savings_left_out(account: AwsAccount, owner: Any) -> None:
    from django.utils import timezone

    from insights.selectors import FindingFilters, finding_groups_for

    insights_run(account)
    open_findings = Finding.objects.filter(account=account, status=FindingStatus.OPEN)
    fn = open_findings.exclude(resource=None).first()
    assert fn is not None
    now = timezone.now()
    for saving in (0.001, 12.5):
        Finding.objects.create(
            organization=account.organization, account=account, resource=fn.resource, subject="resource",
            check_id=f"test-cost-{saving}", service="lambda", pillar="cost_optimization", severity="warning",
            message=f"would save about ${saving:,.2f} a month", evidence={"monthly_saving_usd": saving},
            first_seen=now, last_seen=now,
        )  # fmt: skip
    page = owner.client().get(reverse("insights:index")).content.decode()

    def is_negligible(f: Finding) -> bool:
        saving = f.evidence.get("monthly_saving_usd")
        return isinstance(saving, int | float) and saving < 0.005

    every = list(Finding.objects.filter(account=account, status=FindingStatus.OPEN))
    negligible = sum(1 for f in every if is_negligible(f))  # the run's own checks may add some to ours
    for check_id in {f.check_id for f in every if not is_negligible(f)}:
        assert page.count(f'id="check-{check_id}"') == 1, check_id  # one group per check
    assert 'id="check-test-cost-0.001"' not in page
    assert f"{negligible} cost finding{'' if negligible == 1 else 's'} whose saving rounds to $0.00" in page
    assert "saving about $12.50 a month" in page
    grouped = finding_groups_for(account.organization, FindingFilters())
    if grouped.info:
        assert '<details class="panel folded">' in page
    severities = [g.severity for g in grouped.groups]
    assert severities == sorted(severities, key=["critical", "warning"].index)  # most severe first
    shown = owner.client().get(reverse("insights:index"), {"negligible": "1"}).content.decode()
    assert 'id="check-test-cost-0.001"' in shown
    assert owner.client().get(reverse("insights:index"), {"negligible": "maybe"}).status_code == 400
