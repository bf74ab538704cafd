"""What the HTML pages of the monitoring app draw."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from accounts.services import aws_account_start
from monitoring.models import Resource, Rollup


def test_the_resources_page_draws_each_function_s_last_24_hours(owner: Any) -> None:
    account = aws_account_start(organization=owner.organization, name="Prod")
    now = timezone.now()
    function = Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind="lambda.function",
        arn="arn:aws:lambda:us-east-1:1:function:f", name="f", first_seen=now, last_seen=now,
    )  # fmt: skip
    hour = now.replace(minute=0, second=0, microsecond=0)
    for hours_ago, invocations in ((0, 7), (3, 5)):
        Rollup.objects.create(
            organization_id=owner.organization.pk, account_id=account.pk, resource=function, period="hour",
            bucket=hour - timedelta(hours=hours_ago), invocations=invocations,
        )  # fmt: skip

    page = owner.client().get(reverse("monitoring:resources")).content.decode()

    assert '<svg class="spark" width="96" height="20"' in page
    assert 'aria-label="12 invocations in 24 h"' in page
    # The newest hour is the highest point (y = 1.0) at the right edge (x = 96.0).
    assert "96.0,1.0" in page


def test_a_one_hour_chart_spans_its_hour_by_the_minute_not_fractions_of_a_second_around_one_bucket(owner: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from monitoring import dashboard

    start = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    period = dashboard.Period("1h", start, start + timedelta(hours=1))
    series = dashboard.trend(dashboard.Scope(owner.organization), period)
    for figure in (
        dashboard.figure_invocations(series),
        dashboard.figure_duration(series),
        dashboard.figure_cost(series),
    ):
        low, high = (datetime.fromisoformat(x) for x in figure["layout"]["xaxis"]["range"])
        assert (low, high) == (start, start + timedelta(hours=1))  # the period, not milliseconds around a point
        assert all(trace["xperiod"] == 60_000 for trace in figure["data"])  # each value fills its minute
    assert len(series["t"]) == 60
    assert dashboard.figure_duration(series)["data"][0]["mode"] == "lines+markers"  # a single point stays visible
