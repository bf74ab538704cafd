"""Our AWS usage counts move from Redis to PostgreSQL: nothing lost or counted twice, whatever
dies when, and the page reads both."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AwsAccount
from aws import usage
from monitoring.models import UsageDay
from monitoring.store.usage import _store, usage_days, usage_flush

pytestmark = pytest.mark.django_db
REGION = "ap-southeast-5"  # no AWS call is made here


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return AwsAccount.objects.create(
        organization=owner.organization, name="prod", aws_account_id="123456789012", regions=[REGION]
    )


def count(account: AwsAccount, calls: int = 3) -> None:
    for _ in range(calls):
        usage.record_call(account_id=account.pk, region=REGION, service="lambda", operation="ListFunctions")
    usage.record_metrics(account_id=account.pk, region=REGION, metrics=500)
    usage.record_push(account_id=account.pk, region="", records=2, bytes_=300)


def stored(account: AwsAccount) -> dict[tuple[str, str, str, str], int]:
    return {
        (row.region, row.service, row.operation, row.unit): row.value
        for row in UsageDay.objects.filter(account=account, day=timezone.now().date())
    }


def today(account: AwsAccount) -> dict[str, dict[str, int]]:
    day = timezone.now().date().isoformat()
    return {region: by_day[day] for region, by_day in usage_days(account.pk, days=1).items()}


def test_a_flush_moves_the_counts_to_rows_by_service_and_operation(account: AwsAccount, redis_db: Any) -> None:
    count(account)

    assert usage_flush()["batches"] == 2  # the region's and the pushed (region unknown)

    assert stored(account) == {
        (REGION, "lambda", "ListFunctions", "calls"): 3,
        (REGION, "cloudwatch", "GetMetricData", "metrics"): 500,
        ("", "firehose", "HTTP endpoint delivery", "records"): 2,
        ("", "firehose", "HTTP endpoint delivery", "bytes"): 300,
        ("", "firehose", "HTTP endpoint delivery", "billed_bytes"): 2 * 5 * 1024,
    }
    assert usage.usage_of(account.pk) == {}  # nothing left in Redis
    assert usage_flush()["batches"] == 0  # a flush with nothing new adds nothing

    # Counted after the flush: the page adds Redis's to the stored.
    count(account, calls=2)
    assert today(account)[REGION] == {"call:lambda:ListFunctions": 5, "metrics:GetMetricData": 1000}
    usage_flush()
    assert stored(account)[(REGION, "lambda", "ListFunctions", "calls")] == 5
    assert today(account)[REGION] == {"call:lambda:ListFunctions": 5, "metrics:GetMetricData": 1000}


def test_a_flush_that_died_is_finished_by_the_next_without_counting_twice(account: AwsAccount) -> None:
    count(account)
    # One died after taking the counts from Redis, before storing them…
    assert len(list(usage.flush_claim())) == 2
    assert usage_flush()["batches"] == 2
    assert stored(account)[(REGION, "lambda", "ListFunctions", "calls")] == 3

    # …another after storing, before deleting them from Redis.
    count(account)
    taken = list(usage.flush_claim())
    now = timezone.now()
    for claimed in taken:
        assert _store(claimed, now)
    assert usage_flush()["already_stored"] == 2
    assert stored(account)[(REGION, "lambda", "ListFunctions", "calls")] == 6
    assert today(account)[REGION]["call:lambda:ListFunctions"] == 6


def test_the_counts_outlive_a_redis_restart_and_its_35_days(owner: Any, account: AwsAccount, redis_db: Any) -> None:
    count(account)
    usage_flush()
    UsageDay.objects.create(
        account=account,
        region=REGION,
        day=timezone.now().date() - timedelta(days=40),
        service="cloudwatch",
        operation="GetMetricData",
        unit="metrics",
        value=123,
    )
    redis_db.flushdb()  # Redis restarted empty

    assert today(account)[REGION] == {"call:lambda:ListFunctions": 3, "metrics:GetMetricData": 500}
    older = usage_days(account.pk, days=60)[REGION]
    assert older[(timezone.now().date() - timedelta(days=40)).isoformat()] == {"metrics:GetMetricData": 123}
    page = owner.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).content.decode()
    assert "What our calls cost, counted" in page
    assert "ListFunctions" in page


def test_the_counts_of_a_removed_account_are_dropped(account: AwsAccount) -> None:
    count(account)
    AwsAccount.objects.filter(pk=account.pk).delete()

    assert usage_flush()["accounts_gone"] == 2
    assert not UsageDay.objects.exists()
    assert usage.usage_of(account.pk) == {}


@pytest.mark.parametrize(
    "counter",
    ["call:lambda:ListFunctions", "call:logs:FilterLogEvents", "metrics:GetMetricData", "push:records", "push:bytes"],
)
def test_a_counter_survives_the_round_trip_through_its_columns(counter: str) -> None:
    assert usage.counter_name(*usage.counter_parts(counter)) == counter
