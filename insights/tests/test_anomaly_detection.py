"""Detecting and storing anomalies over an account's rollups and metric points."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from accounts.models import AwsAccount
from accounts.services import aws_account_start
from insights.anomalies.services import anomalies_detect
from insights.models import Anomaly
from insights.tasks import detect_anomalies
from kinds import sqs_queue
from monitoring.models import Invocation, Resource
from monitoring.store.partitions import ensure_partitions_for
from monitoring.store.rollups import rollups_recompute

from .anomalies_support import JUDGED, NOW, histogram_for, history, normal_invocations, queue_age, resource

pytestmark = pytest.mark.django_db


def figures(page: str) -> dict[str, Any]:
    found = re.findall(r'<script id="(fig-[^"]+)" type="application/json">(.*?)</script>', page, re.S)
    return {fid: json.loads(body) for fid, body in found}


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return aws_account_start(organization=owner.organization, name="Prod")


def test_a_steady_function_has_no_anomaly(account: AwsAccount) -> None:
    history(resource(account, "steady"))
    result = anomalies_detect(account=account, now=NOW)
    assert result.anomalies == 0 and result.judged_hours == 3
    assert not Anomaly.objects.exists()


def test_a_latency_step_and_a_traffic_drop_are_stored_with_their_band(account: AwsAccount) -> None:
    fn = resource(account, "checkout")
    n = normal_invocations(JUDGED)
    history(fn, override={JUDGED: {"invocations": n // 10, "histogram": histogram_for(600, n // 10)}})

    anomalies_detect(account=account, now=NOW)

    found = {a.metric: a for a in Anomaly.objects.filter(resource=fn)}
    assert {"invocations", "duration_p95_ms", "duration_p50_ms"} <= set(found)
    drop = found["invocations"]
    assert drop.hour == JUDGED and drop.observed == n // 10 and drop.direction == "down"
    assert drop.low <= drop.expected <= drop.high and drop.observed < drop.low
    assert found["duration_p95_ms"].direction == "up" and found["duration_p95_ms"].observed > 500


def test_an_hour_without_any_invocation_is_a_drop_to_zero(account: AwsAccount) -> None:
    fn = resource(account, "checkout")
    history(fn, override={JUDGED: {"invocations": 0}})
    anomalies_detect(account=account, now=NOW)
    [drop] = Anomaly.objects.filter(resource=fn, metric="invocations")
    assert drop.observed == 0


def test_a_catalogued_metric_of_another_kind_is_judged(account: AwsAccount) -> None:
    queue = resource(account, "jobs", kind=sqs_queue.KIND)
    queue_age(queue, spike_at=JUDGED)
    anomalies_detect(account=account, now=NOW)
    [a] = Anomaly.objects.filter(resource=queue)
    assert a.metric == "AWS/SQS:ApproximateAgeOfOldestMessage:Maximum" and a.observed == 7200


def test_detection_is_idempotent_and_late_data_clears_an_hour(account: AwsAccount) -> None:
    fn = resource(account, "checkout")
    history(fn, override={JUDGED: {"invocations": 0}})
    anomalies_detect(account=account, now=NOW)
    anomalies_detect(account=account, now=NOW + timedelta(minutes=5))
    assert Anomaly.objects.filter(resource=fn, metric="invocations").count() == 1

    # The hour's invocations arrive late: the hour is normal after all.
    from monitoring.models import Rollup

    Rollup.objects.create(
        organization_id=fn.organization_id, account_id=fn.account_id, resource=fn, period="hour", bucket=JUDGED,
        invocations=normal_invocations(JUDGED), histogram=histogram_for(120, 1),
    )  # fmt: skip
    anomalies_detect(account=account, now=NOW + timedelta(minutes=10))
    assert not Anomaly.objects.filter(resource=fn, metric="invocations").exists()


def test_gone_resources_and_other_accounts_are_left_alone(account: AwsAccount, outsider: Any) -> None:
    gone = resource(account, "old")
    history(gone, override={JUDGED: {"invocations": 0}})
    Resource.objects.filter(pk=gone.pk).update(gone_at=NOW)
    other = aws_account_start(organization=outsider.organization, name="Theirs")
    history(resource(other, "theirs"), override={JUDGED: {"invocations": 0}})

    anomalies_detect(account=account, now=NOW)
    assert not Anomaly.objects.exists()


def test_the_task_detects_for_one_account(account: AwsAccount) -> None:
    history(resource(account, "checkout"), override={JUDGED: {"invocations": 0}})
    with time_machine.travel(NOW, tick=False):
        assert detect_anomalies(account.pk) >= 1
        assert detect_anomalies(987654321) == 0


def test_the_resource_and_overview_pages_list_anomalies_to_their_organisation_only(
    account: AwsAccount, owner: Any, outsider: Any
) -> None:
    fn = resource(account, "checkout")
    history(fn, override={JUDGED: {"invocations": 0}})
    anomalies_detect(account=account, now=NOW)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        page = owner.client().get(reverse("monitoring:resource_detail", args=[fn.pk])).content.decode()
        overview = owner.client().get(reverse("monitoring:overview")).content.decode()
        theirs = outsider.client().get(reverse("monitoring:overview")).content.decode()
    assert 'id="anomalies"' in page and "Invocations" in page and "▼" in page
    assert 'class="anomaly anomaly-down"' in overview and "checkout" in overview
    assert "checkout" not in theirs
    assert outsider.client().get(reverse("monitoring:resource_detail", args=[fn.pk])).status_code == 404


def test_the_resource_charts_shade_the_anomalous_hour(account: AwsAccount, owner: Any) -> None:
    fn = resource(account, "checkout")
    history(fn, override={JUDGED: {"invocations": 0}})
    anomalies_detect(account=account, now=NOW)
    with time_machine.travel(NOW, tick=False):
        page = owner.client().get(reverse("monitoring:resource_detail", args=[fn.pk])).content.decode()
    shapes = [s for f in figures(page).values() for s in f["layout"].get("shapes", []) if s["type"] == "rect"]
    assert len(shapes) == 1  # the invocations chart only: durations were normal
    assert shapes[0]["name"].startswith("Anomaly: Invocations 0 (normal")
    x0 = shapes[0]["x0"]
    assert x0.startswith(JUDGED.strftime("%Y-%m-%dT%H:00"))


def invocation(fn: Resource, n: int, *, duration_ms: float, memory_mb: int = 80) -> Invocation:
    when = NOW - timedelta(minutes=10 + n)
    ensure_partitions_for("monitoring_invocation", [when])
    return Invocation.objects.create(
        organization_id=fn.organization_id, account_id=fn.account_id, resource=fn, request_id=f"r-{n}",
        status="success", started_at=when, log_stream="s", duration_ms=duration_ms, max_memory_used_mb=memory_mb,
        memory_size_mb=512,
    )  # fmt: skip


def test_invocations_far_outside_their_function_s_distribution_are_flagged(account: AwsAccount, owner: Any) -> None:
    fn = resource(account, "checkout")
    history(fn)  # a week of 120 ms invocations
    usual = [invocation(fn, n, duration_ms=118 + n % 5) for n in range(60)]
    slow = invocation(fn, 100, duration_ms=30_000)
    hungry = invocation(fn, 101, duration_ms=120, memory_mb=480)
    with time_machine.travel(NOW, tick=False):
        page = owner.client().get(reverse("monitoring:resource_detail", args=[fn.pk])).content.decode()
        slow_page = owner.client().get(reverse("monitoring:invocation_detail", args=[slow.pk])).content.decode()
        hungry_page = owner.client().get(reverse("monitoring:invocation_detail", args=[hungry.pk])).content.decode()
        usual_page = owner.client().get(reverse("monitoring:invocation_detail", args=[usual[0].pk])).content.decode()
    assert page.count('<tr class="outlier">') == 2
    assert 'id="outlier-duration"' in slow_page and 'id="outlier-memory"' not in slow_page
    assert 'id="outlier-memory"' in hungry_page and 'id="outlier-duration"' not in hungry_page
    assert "unusual" not in usual_page


def test_a_jump_in_memory_used_is_an_anomaly(account: AwsAccount) -> None:
    fn = resource(account, "checkout")
    hours = [JUDGED - timedelta(days=k) for k in range(15)]
    ensure_partitions_for("monitoring_invocation", hours)
    Invocation.objects.bulk_create(
        Invocation(
            organization_id=fn.organization_id,
            account_id=fn.account_id,
            resource=fn,
            request_id=f"m-{k}",
            status="success",
            started_at=h + timedelta(minutes=5),
            log_stream="s",
            duration_ms=100,
            max_memory_used_mb=400 if k == 0 else 80 + k % 3,
            memory_size_mb=512,
        )
        for k, h in enumerate(hours)
    )
    rollups_recompute(resource=fn, times=hours)  # as the ingest path does: the hour's highest is in its rollup
    anomalies_detect(account=account, now=NOW)
    [a] = Anomaly.objects.filter(resource=fn, metric="memory_max_mb")
    assert a.hour == JUDGED and a.observed == 400 and a.label == "Max memory used (MB)"
