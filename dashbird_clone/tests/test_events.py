"""Lower apps announce events, higher apps act on them (see docs/architecture.md, "Apps and
their order"). Celery has no broker in the tests: queuing is recorded at `apply_async`."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from accounts.models import AwsAccount, Membership, Organization
from accounts.services import aws_account_remove, aws_account_start, organization_create, user_create_verified
from accounts.signals import aws_account_connected
from alerts.models import AlertRule
from alerts.tasks import evaluate_rules
from insights.tasks import run_account
from monitoring import tasks as monitoring_tasks
from monitoring.signals import collection_stored

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch: Any) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def recorder(name: str) -> Any:
        return lambda *args, **kwargs: calls.append((name, args, kwargs))

    monkeypatch.setattr(run_account, "apply_async", recorder("insights.run_account"))
    monkeypatch.setattr(evaluate_rules, "apply_async", recorder("alerts.evaluate"))
    monkeypatch.setattr(monitoring_tasks.collect_account_region, "delay", recorder("monitoring.collect"))
    return calls


def test_a_new_organisation_starts_with_the_default_alert_rules() -> None:
    user = user_create_verified(email="first@acme.test", password="Correct-horse-42")
    organization = organization_create(name="Acme", owner=user)
    assert AlertRule.objects.filter(organization=organization).count() >= 1


def test_the_rules_and_the_organisation_are_created_together_or_not_at_all(monkeypatch: Any) -> None:
    from alerts import receivers

    def broken(**_: Any) -> None:
        raise RuntimeError("rules could not be created")

    monkeypatch.setattr(receivers, "default_rules_create", broken)
    user = user_create_verified(email="first@acme.test", password="Correct-horse-42")
    with pytest.raises(RuntimeError):
        organization_create(name="Acme", owner=user)
    assert not Organization.objects.filter(name="Acme").exists()
    assert not Membership.objects.filter(user=user).exists()


def test_a_connected_account_is_collected_in_each_region_once_committed(
    owner: Any, queued: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    account = aws_account_start(organization=owner.organization, name="Production")
    account.regions = ["eu-west-1", "us-east-1"]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        aws_account_connected.send(sender=AwsAccount, account=account)
        assert queued == []  # not before the validation is committed
    assert queued == [
        ("monitoring.collect", (account.pk, "eu-west-1"), {}),
        ("monitoring.collect", (account.pk, "us-east-1"), {}),
    ]


def test_a_collection_that_stored_something_queues_insights_then_alerts(
    owner: Any, queued: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    account = aws_account_start(organization=owner.organization, name="Production")
    with django_capture_on_commit_callbacks(execute=True):
        collection_stored.send(
            sender=AwsAccount, account=account, region="eu-west-1", changes=frozenset({"invocations"}), summary={}
        )
    assert queued == [
        ("insights.run_account", ((account.pk,),), {"expires": 600}),
        ("alerts.evaluate", (), {"expires": 60}),
    ]


class _Summary:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def as_dict(self) -> dict[str, Any]:
        return self.data


@pytest.mark.parametrize(
    ("summary", "changes"),
    [
        ({"resources_by_type": {"lambda.function": 2}, "logs": {"invocations": 0}}, {"configuration"}),
        ({"resources_by_type": {}, "logs": {"invocations": 7}}, {"invocations"}),
        ({"resources_by_type": {"sqs.queue": 1}, "logs": {"invocations": 3}}, {"configuration", "invocations"}),
        ({"resources_by_type": {}, "logs": {"invocations": 0}}, None),
    ],
)
def test_the_collection_task_announces_what_it_stored(
    owner: Any, monkeypatch: Any, summary: dict[str, Any], changes: set[str] | None
) -> None:
    account = aws_account_start(organization=owner.organization, name="Production")
    AwsAccount.objects.filter(pk=account.pk).update(status=AwsAccount.Status.CONNECTED, regions=["eu-west-1"])
    monkeypatch.setattr(monitoring_tasks, "collect_unit", lambda *args, **kwargs: _Summary(summary))
    heard: list[dict[str, Any]] = []

    def listener(**kwargs: Any) -> None:
        heard.append(kwargs)

    # Only this listener: the real subscribers would queue tasks.
    monkeypatch.setattr(collection_stored, "receivers", [])
    monkeypatch.setattr(collection_stored, "sender_receivers_cache", {})
    collection_stored.connect(listener, weak=False)

    assert monitoring_tasks.collect_account_region(account.pk, "eu-west-1") == summary
    if changes is None:
        assert heard == []
    else:
        [event] = heard
        assert (event["account"].pk, event["region"], event["changes"]) == (account.pk, "eu-west-1", changes)


def test_removing_an_account_purges_its_raw_rows_before_the_row_goes(owner: Any, monkeypatch: Any) -> None:
    from monitoring import receivers

    account = aws_account_start(organization=owner.organization, name="Production")
    purged: list[tuple[int, bool]] = []
    real = receivers.account_data_purge

    def purge(*, account_id: int) -> None:
        purged.append((account_id, AwsAccount.objects.filter(pk=account_id).exists()))
        real(account_id=account_id)

    monkeypatch.setattr(receivers, "account_data_purge", purge)
    pk = account.pk
    aws_account_remove(account=account)
    assert purged == [(pk, True)]
    assert not AwsAccount.objects.filter(pk=pk).exists()
