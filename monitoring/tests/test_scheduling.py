"""Collection on Celery: a queue per kind of work, the beat's fan-out, and each unit's log
poll scheduling its next one from its own start."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings

from accounts.models import AwsAccount
from accounts.services import aws_account_start
from dashbird_clone.celery import app
from dashbird_clone.queues import QUEUES
from monitoring import tasks
from monitoring.collection import orchestrator
from monitoring.collection.orchestrator import UnitBusy

pytestmark = pytest.mark.django_db


def queue_of(task: str) -> str:
    return str(app.amqp.router.route({}, task)["queue"].name)


def test_each_kind_of_work_has_its_queue() -> None:
    assert queue_of("monitoring.discover_account_region") == "discovery"
    assert queue_of("monitoring.discovery_fan_out") == "discovery"
    assert queue_of("monitoring.poll_metrics") == "metrics"
    assert queue_of("monitoring.poll_logs") == "logs"
    assert queue_of("insights.run_account") == "insights"
    assert queue_of("alerts.evaluate") == "alerts"
    assert queue_of("dashbird_clone.heartbeat") == "celery"
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    assert ours and all(queue_of(name) in QUEUES for name in ours)


@pytest.fixture
def account(owner: Any) -> Iterator[AwsAccount]:
    account = aws_account_start(organization=owner.organization, name="Scheduled")
    AwsAccount.objects.filter(pk=account.pk).update(
        status=AwsAccount.Status.CONNECTED, role_arn="arn:aws:iam::123456789012:role/Dashbird", regions=["ca-west-1"]
    )
    account.refresh_from_db()
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(tasks._chain_key(account.pk, "ca-west-1"))
    yield account
    client.delete(tasks._chain_key(account.pk, "ca-west-1"))


@pytest.fixture
def queued(monkeypatch: Any) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    for task in (tasks.discover_account_region, tasks.poll_metrics, tasks.poll_logs, tasks.refresh_regions):
        monkeypatch.setattr(
            task, "apply_async", lambda args, name=task.name, **kw: calls.append((name, tuple(args), kw))
        )
    return calls


def test_the_fan_out_queues_what_is_due_and_starts_one_log_chain_per_unit(account: AwsAccount, queued: Any) -> None:
    tasks.discovery_fan_out()

    names = [(name, args[:2]) for name, args, _ in queued]
    unit = (account.pk, "ca-west-1")
    assert ("monitoring.discover_account_region", unit) in names
    assert ("monitoring.poll_metrics", unit) in names
    assert names.count(("monitoring.poll_logs", unit)) == 1

    queued.clear()
    tasks.discovery_fan_out()  # the chain runs: not started again

    assert ("monitoring.poll_logs", unit) not in [(name, args[:2]) for name, args, _ in queued]


class _Summary:
    def as_dict(self) -> dict[str, Any]:
        return {"resources_by_type": {}, "logs": {"invocations": 0}}


def test_a_log_poll_schedules_the_next_from_its_own_start(
    account: AwsAccount, queued: Any, monkeypatch: Any, settings: Any
) -> None:
    settings.LOGS_POLL_SECONDS = 30
    runs: list[tuple[Any, ...]] = []

    def collect(*args: Any, **kwargs: Any) -> _Summary:
        runs.append(kwargs["steps"])
        return _Summary()

    monkeypatch.setattr(tasks, "collect_unit", collect)
    tasks.discovery_fan_out()
    [(_, args, _)] = [q for q in queued if q[0] == "monitoring.poll_logs"]
    queued.clear()

    tasks.poll_logs(*args)

    assert runs == [("logs",)]
    [(name, next_args, options)] = queued
    assert (name, next_args) == ("monitoring.poll_logs", args)
    assert 29 <= options["countdown"] <= 30


def test_a_busy_unit_s_log_poll_is_tried_again_in_seconds(account: AwsAccount, queued: Any, monkeypatch: Any) -> None:
    def busy(*args: Any, **kwargs: Any) -> Any:
        raise UnitBusy("being collected")

    monkeypatch.setattr(tasks, "collect_unit", busy)
    tasks.discovery_fan_out()
    [(_, args, _)] = [q for q in queued if q[0] == "monitoring.poll_logs"]
    queued.clear()

    tasks.poll_logs(*args)

    assert [(n, o["countdown"]) for n, _, o in queued] == [("monitoring.poll_logs", tasks.BUSY_RETRY_SECONDS)]


def test_a_superseded_chain_ends(account: AwsAccount, queued: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(tasks, "collect_unit", lambda *a, **kw: pytest.fail("a superseded chain polled"))
    tasks.discovery_fan_out()
    queued.clear()

    tasks.poll_logs(account.pk, "ca-west-1", "an-older-token")

    assert queued == []


def test_a_paused_account_s_chain_ends(account: AwsAccount, queued: Any) -> None:
    tasks.discovery_fan_out()
    [(_, args, _)] = [q for q in queued if q[0] == "monitoring.poll_logs"]
    AwsAccount.objects.filter(pk=account.pk).update(status=AwsAccount.Status.PAUSED)
    queued.clear()

    assert tasks.poll_logs(*args) is None

    assert queued == []
    assert not redis.Redis.from_url(settings.REDIS_URL).exists(tasks._chain_key(account.pk, "ca-west-1"))


def test_a_unit_s_logs_are_read_before_its_metrics(account: AwsAccount, monkeypatch: Any) -> None:
    order: list[str] = []
    monkeypatch.setattr(orchestrator, "_assume", lambda *a: True)
    monkeypatch.setattr(orchestrator, "_discover", lambda *a: order.append("discovery"))
    monkeypatch.setattr(orchestrator, "_logs", lambda *a: order.append("logs"))
    monkeypatch.setattr(orchestrator, "_metrics", lambda *a: order.append("metrics"))
    monkeypatch.setattr(orchestrator, "account_access_ok", lambda **kw: None)

    orchestrator.collect_unit(account, "ca-west-1")
    orchestrator.collect_unit(account, "ca-west-1", steps=("metrics",))

    assert order == ["discovery", "logs", "metrics", "metrics"]
