"""Configuration as code: `manage.py config export` / `config apply`."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import AuditEvent, AwsAccount, Membership, Organization
from accounts.services import organization_create
from alerts.config.apply import ConfigInvalid, config_apply
from alerts.config.document import MAX_BYTES, DocumentError, load
from alerts.models import AlertRule, Channel, DigestSubscription
from insights.models import Finding, FindingStatus, Suppression
from insights.services import suppression_create
from monitoring.models import Project, Resource

pytestmark = pytest.mark.django_db

PD_KEY = "a" * 32
HOOK_SECRET = "s3cret-signing-key-1234"


def run(*args: str) -> str:
    out = StringIO()
    call_command("config", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def export(org: Organization) -> str:
    return run("export", "--org", org.slug)


def body(text: str) -> Any:
    return yaml.safe_load(text)


def apply(org: Organization, text: str, tmp_path: Path, *flags: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return run("apply", str(path), "--org", org.slug, *flags)


def configure(org: Organization, user: Any) -> None:
    """A configuration touching every section and most rule fields."""
    checkout = Project.objects.create(organization=org, name="Checkout", tag_key="team", tag_value="checkout")
    Project.objects.create(organization=org, name="Queues", name_pattern="orders-*")
    email = Channel.objects.create(
        organization=org, kind="email", name="Ops mail", config={"recipients": ["owner@acme.test"]}
    )
    pager = Channel.objects.create(organization=org, kind="pagerduty", name="Pager", config={"routing_key": PD_KEY})
    Channel.objects.create(
        organization=org,
        kind="webhook",
        name="Hook",
        enabled=False,
        config={"url": "https://hooks.example.com/in", "secret": HOOK_SECRET},
    )
    AlertRule.objects.filter(organization=org).delete()  # the defaults of a new organisation
    slow = AlertRule.objects.create(
        organization=org, name="Slow checkout", metric="duration", statistic="Maximum", operator=">=", threshold=2500.5,
        window_minutes=10, evaluation_periods=3, breaching_periods=2, target="project", target_project=checkout,
        min_interval_minutes=60,
    )  # fmt: skip
    slow.channels.set([email, pager])
    errors = AlertRule.objects.create(
        organization=org, name="New errors", condition="new_error_group", error_kinds=["timeout", "error"],
        muted=True,
    )  # fmt: skip
    errors.channels.set([pager])
    AlertRule.objects.create(
        organization=org, name="Queue age", metric="AWS/SQS:ApproximateAgeOfOldestMessage", statistic="Maximum", threshold=300, target="kind", target_kind="sqs.queue",
        enabled=False,
    )  # fmt: skip
    suppression_create(organization=org, scope="check", check_id="lambda-no-tracing", reason="No X-Ray here")
    DigestSubscription.objects.create(organization=org, user=user, frequency="weekly", hour=7)


@pytest.fixture
def secrets_env(monkeypatch: Any) -> None:
    monkeypatch.setenv("DASHBIRD_CHANNEL_PAGER_ROUTING_KEY", PD_KEY)
    monkeypatch.setenv("DASHBIRD_CHANNEL_HOOK_SECRET", HOOK_SECRET)


def test_export_then_apply_on_an_empty_organisation_reproduces_it(
    owner: Any, tmp_path: Path, secrets_env: None
) -> None:
    configure(owner.organization, owner.user)
    exported = export(owner.organization)
    empty = organization_create(name="Empty", owner=owner.user)

    plan = apply(empty, exported, tmp_path, "--prune")

    assert body(export(empty)) == body(exported)
    assert "+ alert rule 'Slow checkout'" in plan and "- alert rule 'Timeouts'" in plan  # a default rule goes
    copy = Channel.objects.get(organization=empty, name="Pager")
    assert copy.config == {"routing_key": PD_KEY} and copy.enabled
    assert not Channel.objects.get(organization=empty, name="Hook").enabled
    rule = AlertRule.objects.get(organization=empty, name="Slow checkout")
    assert rule.target_project is not None and rule.target_project.organization == empty
    assert sorted(c.name for c in rule.channels.all()) == ["Ops mail", "Pager"]
    assert apply(empty, exported, tmp_path, "--prune").strip() == "No changes."


def test_the_export_is_stable_names_things_and_holds_no_secret(owner: Any) -> None:
    configure(owner.organization, owner.user)
    text = export(owner.organization)
    doc = body(text)

    assert PD_KEY not in text and HOOK_SECRET not in text
    assert "DASHBIRD_CHANNEL_PAGER_ROUTING_KEY" in text.split("version:")[0]  # the header lists the variables
    assert [c["name"] for c in doc["channels"]] == ["Hook", "Ops mail", "Pager"]
    assert doc["channels"][2]["config"] == {"routing_key": "${DASHBIRD_CHANNEL_PAGER_ROUTING_KEY}"}
    slow = next(r for r in doc["alert_rules"] if r["name"] == "Slow checkout")
    assert slow["target_project"] == "Checkout" and slow["channels"] == ["Ops mail", "Pager"]
    assert "id" not in slow and "organization" not in slow
    assert doc["suppressions"] == [{"scope": "check", "check": "lambda-no-tracing", "reason": "No X-Ray here"}]
    assert doc["digests"] == [{"member": "owner@acme.test", "frequency": "weekly", "hour": 7}]
    assert export(owner.organization) == text


def test_a_disabled_kind_s_secrets_stay_out_of_the_export_too(owner: Any, settings: Any) -> None:
    settings.ALERTS_CHANNEL_PAGERDUTY = False
    Channel.objects.create(organization=owner.organization, kind="pagerduty", name="P", config={"routing_key": PD_KEY})
    Channel.objects.create(organization=owner.organization, kind="gone", name="G", config={"token": "t0ps3cret"})
    text = export(owner.organization)
    assert PD_KEY not in text and "t0ps3cret" not in text and "${DASHBIRD_CHANNEL_G_TOKEN}" in text


def test_apply_prints_the_plan_as_a_diff_and_a_dry_run_changes_nothing(
    owner: Any, tmp_path: Path, secrets_env: None
) -> None:
    org = owner.organization
    configure(org, owner.user)
    doc = body(export(org))
    slow = next(r for r in doc["alert_rules"] if r["name"] == "Slow checkout")
    slow["threshold"] = 3000
    slow["channels"] = ["Pager"]
    doc["projects"].append({"name": "Payments", "tag": "team=payments"})
    doc["alert_rules"] = [r for r in doc["alert_rules"] if r["name"] != "Queue age"]
    text = yaml.safe_dump(doc)

    dry = apply(org, text, tmp_path, "--prune", "--dry-run")
    assert AlertRule.objects.get(organization=org, name="Slow checkout").threshold == 2500.5
    assert not Project.objects.filter(organization=org, name="Payments").exists()
    assert "Dry run: 1 to create, 1 to update, 1 to delete; nothing changed." in dry

    done = apply(org, text, tmp_path, "--prune")
    assert "+ project 'Payments'" in done
    assert (
        "~ alert rule 'Slow checkout'\n    threshold: 2500.5 → 3000.0\n    channels: [Ops mail, Pager] → [Pager]"
        in done
    )
    assert "- alert rule 'Queue age'" in done
    assert AlertRule.objects.get(organization=org, name="Slow checkout").threshold == 3000
    assert not AlertRule.objects.filter(organization=org, name="Queue age").exists()
    assert AuditEvent.objects.filter(organization=org, action="alert_rule.changed", actor_label="config apply").exists()
    assert apply(org, text, tmp_path, "--prune").strip() == "No changes."


def test_without_prune_nothing_is_deleted_and_a_left_out_section_is_left_alone(owner: Any, tmp_path: Path) -> None:
    org = owner.organization
    configure(org, owner.user)
    apply(org, "version: 1\nalert_rules: []\n", tmp_path)
    assert AlertRule.objects.filter(organization=org).count() == 3
    apply(org, "version: 1\nalert_rules: []\n", tmp_path, "--prune")
    assert AlertRule.objects.filter(organization=org).count() == 0
    assert Channel.objects.filter(organization=org).count() == 3  # no channels: section, untouched


def test_a_secret_left_out_keeps_the_stored_one_and_a_missing_variable_is_an_error(
    owner: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    org = owner.organization
    configure(org, owner.user)
    kept = "version: 1\nchannels:\n- {name: Pager, kind: pagerduty, config: {}}\n"
    assert apply(org, kept, tmp_path).strip() == "No changes."

    monkeypatch.delenv("DASHBIRD_CHANNEL_PAGER_ROUTING_KEY", raising=False)
    with pytest.raises(CommandError) as error:
        apply(org, export(org), tmp_path)
    assert "channels[2].config.routing_key: environment variable DASHBIRD_CHANNEL_PAGER_ROUTING_KEY is not set" in str(
        error.value
    )

    monkeypatch.setenv("NEW_KEY", "b" * 32)
    changed = "version: 1\nchannels:\n- {name: Pager, kind: pagerduty, config: {routing_key: '${NEW_KEY}'}}\n"
    plan = apply(org, changed, tmp_path)
    assert "config.routing_key: (secret) → (secret, changed)" in plan and "b" * 32 not in plan
    assert Channel.objects.get(organization=org, name="Pager").config["routing_key"] == "b" * 32


def test_validation_errors_name_the_field_and_change_nothing(owner: Any, tmp_path: Path) -> None:
    org = owner.organization
    before = AlertRule.objects.filter(organization=org).count()
    document = """
version: 1
projects:
  - name: Fine
    name_pattern: fine-*
  - name: Nothing
channels:
  - {name: Mail, kind: email, config: {recipients: [not-an-address]}}
  - {name: Fax, kind: fax, config: {}}
alert_rules:
  - {name: ok, metric: errors, threshold: 1}
  - {name: typed, metric: errors, threshold: "five", window_minutes: 2.5, enabled: "yes"}
  - {name: spooky, metric: errors, threshold: 1, colour: red, channels: [Nope]}
  - {name: ok, metric: errors, threshold: 1}
  - [not, a, mapping]
  - {name: far, metric: errors, threshold: 1, window_minutes: 999999999}
suppressions:
  - {scope: check, check: no-such-check, reason: x}
digests:
  - {member: stranger@example.com, frequency: daily, hour: 25}
"""
    with pytest.raises(ConfigInvalid) as error:
        config_apply(organization=org, document=load(document))
    problems = error.value.problems
    assert "alert_rules[4]: must be a mapping" in problems
    with pytest.raises(ConfigInvalid) as error:
        config_apply(organization=org, document=load(document.replace("  - [not, a, mapping]\n", "")))
    problems = error.value.problems
    expected = [
        "projects[1].name_pattern: A project needs a tag (key=value) or a name pattern (e.g. checkout-*).",
        "channels[0].config.recipients: 'not-an-address' is not a valid email address",
        "channels[1].kind: must be one of: email, slack, teams, pagerduty, opsgenie, webhook, sns",
        "alert_rules[1].threshold: must be a number",
        "alert_rules[1].window_minutes: must be a whole number",
        "alert_rules[1].enabled: must be true or false",
        "alert_rules[2].colour: unknown field",
        "alert_rules[2].channels[0]: no channel 'Nope' in this organisation",
        "alert_rules[3]: alert rule 'ok' is given twice (also alert_rules[0])",
        "alert_rules[4].window_minutes:",
        "suppressions[0].check: Select a valid choice.",
        "digests[0].member: 'stranger@example.com' is not a member of this organisation",
        "digests[0].hour:",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert AlertRule.objects.filter(organization=org).count() == before
    assert not Project.objects.filter(organization=org, name="Fine").exists()

    path = tmp_path / "bad.yaml"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(CommandError) as failed:
        run("apply", str(path), "--org", org.slug)
    assert "nothing changed" in str(failed.value) and "alert_rules[1].threshold: must be a number" in str(failed.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("a: &a [1, 2]\nb: [*a, *a]\n", "anchors and aliases"),
        (
            'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
            "anchors and aliases",
        ),
        ("projects: !!python/object/apply:os.system [echo hi]\n", "YAML tags"),
        ("version: !!binary aGVsbG8=\n", "YAML tags"),
        ("version: 1\nversion: 2\n", "'version' is given twice"),
        ("[" * 50 + "]" * 50, "nests deeper"),
        ("- just\n- a list\n", "must be a mapping"),
        ("key: [unclosed\n", "not valid YAML"),
        ("? [a, b]\n: c\n", "plain value"),
    ],
)
def test_hostile_yaml_is_refused_with_a_clear_error(document: str, message: str) -> None:
    with pytest.raises(DocumentError, match=message.replace("[", r"\[").replace("?", r"\?")):
        load(document)


def test_huge_and_binary_documents_are_refused() -> None:
    with pytest.raises(DocumentError, match="at most"):
        load(b"# " + b"x" * MAX_BYTES)
    with pytest.raises(DocumentError, match="not UTF-8"):
        load(b"version: \xff\xfe")
    with pytest.raises(DocumentError, match="more than"):
        load("x: [" + ",".join(["1"] * 210_000) + "]")


def test_wrong_shapes_are_problems_not_crashes(owner: Any) -> None:
    org = owner.organization
    cases: list[tuple[dict[str, Any], str]] = [
        ({"alert_rules": {"name": "x"}}, "alert_rules: must be a list"),
        ({"version": 2}, "version: must be 1"),
        ({"rules": []}, "rules: unknown section"),
        ({"alert_rules": [{"name": ["x"]}]}, "alert_rules[0].name: is required (text)"),
        ({"alert_rules": [{"name": "x", "channels": "Pager"}]}, "alert_rules[0].channels: must be a list"),
        ({"alert_rules": [{"name": "x", "metric": "errors", "threshold": float("nan")}]}, "must be a number"),
        ({"channels": [{"name": "x", "kind": "email", "config": "a@b.c"}]}, "channels[0].config: must be a mapping"),
        ({"channels": [{"name": "x", "kind": "email", "config": {"to": "a@b.c"}}]}, "channels[0].config.to:"),
        ({"suppressions": [{"scope": "finding", "check": "x", "resource": "arn:nope", "reason": "r"}]}, "no finding"),
        ({"suppressions": [{"reason": "r"}]}, "suppressions[0].scope: is required"),
    ]
    for document, problem in cases:
        with pytest.raises(ConfigInvalid) as error:
            config_apply(organization=org, document=document)
        assert any(p.startswith(problem) or problem in p for p in error.value.problems), (problem, error.value.problems)


def test_references_resolve_to_resources_accounts_and_findings(owner: Any, tmp_path: Path) -> None:
    org = owner.organization
    account = AwsAccount.objects.create(organization=org, name="Prod", aws_account_id="123456789012")
    now = timezone.now()
    fn = Resource.objects.create(
        organization=org, account=account, region="eu-west-1", kind="lambda.function", name="pay",
        arn="arn:aws:lambda:eu-west-1:123456789012:function:pay", first_seen=now, last_seen=now,
    )  # fmt: skip
    finding = Finding.objects.create(
        organization=org, account=account, resource=fn, subject=f"r{fn.pk}", check_id="lambda-no-tracing",
        service="lambda", pillar="operational_excellence", severity="info", first_seen=now, last_seen=now,
    )  # fmt: skip
    document = f"""
version: 1
alert_rules:
  - name: pay errors
    metric: errors
    threshold: 1
    target: resources
    target_resources: ["{fn.arn}"]
  - name: prod errors
    metric: errors
    threshold: 1
    target: account
    target_account: 123456789012
suppressions:
  - scope: finding
    check: lambda-no-tracing
    resource: "{fn.arn}"
    reason: accepted risk
    expires_at: 2099-01-01T00:00:00Z
  - scope: resource
    resource: "{fn.arn}"
    reason: legacy
"""
    apply(org, document, tmp_path)
    rule = AlertRule.objects.get(organization=org, name="pay errors")
    assert list(rule.target_resources.all()) == [fn]
    assert AlertRule.objects.get(organization=org, name="prod errors").target_account == account
    finding.refresh_from_db()
    assert finding.status == FindingStatus.SUPPRESSED
    assert Suppression.objects.filter(organization=org, finding=finding).exists()
    assert apply(org, document, tmp_path).strip() == "No changes."
    exported = body(export(org))
    assert exported["suppressions"][0]["expires_at"] == "2099-01-01T00:00:00Z"

    # Pruning lifts the suppressions (kept as history) and the finding opens again.
    apply(org, "version: 1\nsuppressions: []\n", tmp_path, "--prune")
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert Suppression.objects.filter(organization=org, lifted_at__isnull=False).count() == 2


def test_the_organisation_must_be_named_when_there_are_several(owner: Any, outsider: Any) -> None:
    with pytest.raises(CommandError, match="--org"):
        run("export")
    with pytest.raises(CommandError, match="No organisation"):
        run("export", "--org", "nope")
    assert Membership.objects.count() >= 2


def test_only_secret_settings_read_the_environment_and_never_the_installation_s_secrets(
    owner: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    org = owner.organization
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.com/x")
    stolen = "version: 1\nchannels:\n- {name: Leak, kind: webhook, config: {url: 'https://example.com/h', secret: '${SECRET_KEY}'}}\n"
    with pytest.raises(CommandError) as error:
        apply(org, stolen, tmp_path)
    assert "channels[0].config.secret: SECRET_KEY is the installation's own secret" in str(error.value)
    plain = "version: 1\nchannels:\n- {name: Hook, kind: webhook, config: {url: '${HOOK_URL}'}}\n"
    with pytest.raises(CommandError) as error:
        apply(org, plain, tmp_path)
    assert "channels[0].config.url: only a secret setting may read an environment variable" in str(error.value)
    assert not Channel.objects.filter(organization=org).exists()
