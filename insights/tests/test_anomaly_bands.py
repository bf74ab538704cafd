"""The detector's normal band, drawn on the resource page's charts: the bounds the detector
judges each hour by, for every series with enough history, and nothing without."""

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
from insights.anomalies.detector import baseline
from insights.anomalies.metrics import HOURLY_SENSITIVITY, catalogue_sensitivity
from insights.anomalies.services import anomalies_detect
from insights.models import Anomaly
from kinds import sqs_queue
from monitoring.dashboard import chart_time

from .anomalies_support import JUDGED, NOW, history, normal_invocations, queue_age, resource

pytestmark = pytest.mark.django_db


def figures(page: str) -> dict[str, Any]:
    found = re.findall(r'<script id="(fig-[^"]+)" type="application/json">(.*?)</script>', page, re.S)
    return {fid: json.loads(body) for fid, body in found}


def band(figure: dict[str, Any], series: str = "") -> dict[str, tuple[float, float]]:
    """{x: (low, high)} of the figure's band of a series (named in its hover on a chart of
    several), from the hover data of its traces."""
    out: dict[str, tuple[float, float]] = {}
    for trace in figure["data"]:
        named = trace.get("hovertemplate", "").startswith(f"{series}: " if series else "normal range")
        if trace.get("name") == "normal range" and trace.get("fill") == "tonexty" and named:
            out.update({x: (low, high) for x, (low, high) in zip(trace["x"], trace["customdata"], strict=True)})
    return out


def approx(pair: tuple[float, float]) -> Any:
    return pytest.approx(pair, rel=1e-5)


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return aws_account_start(organization=owner.organization, name="Prod")


def page(owner: Any, resource_id: int, **query: str) -> dict[str, Any]:
    with time_machine.travel(NOW, tick=False):
        html = owner.client().get(reverse("monitoring:resource_detail", args=[resource_id]), query).content.decode()
    return figures(html)


def test_a_function_s_charts_draw_the_band_the_detector_judges_by(account: AwsAccount, owner: Any) -> None:
    fn = resource(account, "checkout")
    history(fn, override={JUDGED: {"invocations": 0}})
    anomalies_detect(account=account, now=NOW)
    [drop] = Anomaly.objects.filter(resource=fn, metric="invocations")

    charts = page(owner, fn.pk)  # 24 hours, by the hour

    drawn = band(charts["fig-invocations"], "Invocations")
    # The anomalous hour: the band is the detector's, and the hour is still shaded.
    assert drawn[chart_time(JUDGED)] == approx((drop.low, drop.high)) and drop.observed < drop.low
    assert any(s["type"] == "rect" for s in charts["fig-invocations"]["layout"]["shapes"])
    # Any other complete hour: the same hour's invocations on the earlier days, judged as counts.
    hour = JUDGED - timedelta(hours=5)
    seeded = {hour - timedelta(days=k): float(normal_invocations(hour - timedelta(days=k))) for k in range(1, 15)}
    sensitivity = HOURLY_SENSITIVITY["invocations"]
    expected = baseline(seeded, hour, sensitivity)
    assert expected is not None
    assert drawn[chart_time(hour)] == approx(expected.band(sensitivity.threshold))
    # Complete hours only: the current one is not over.
    assert chart_time(NOW.replace(minute=0)) not in drawn and len(drawn) == 23
    # The other rollup charts have theirs (120 ms every hour: a band around it).
    low, high = band(charts["fig-duration"])[chart_time(hour)]
    assert low < 125 < high
    assert band(charts["fig-cost"])
    hover = next(t for t in charts["fig-duration"]["data"] if t.get("fill") == "tonexty")["hovertemplate"]
    assert hover.startswith("normal range %{customdata[0]")
    # One legend entry per chart, whatever the number of bands on it.
    legend = [t for t in charts["fig-invocations"]["data"] if t.get("name") == "normal range" and t["showlegend"]]
    assert len(legend) == 1


def test_a_catalogued_metric_s_chart_draws_its_band_on_each_bucket_of_the_hour(account: AwsAccount, owner: Any) -> None:
    queue = resource(account, "jobs", kind=sqs_queue.KIND)
    queue_age(queue, spike_at=JUDGED)

    charts = page(owner, queue.pk)  # 24 hours, by 5 minutes

    drawn = band(charts["fig-age"])
    samples = {JUDGED - timedelta(days=k): 30.0 + (JUDGED.hour % 3) for k in range(1, 15)}
    sensitivity = catalogue_sensitivity("AWS/SQS:ApproximateAgeOfOldestMessage", "Maximum")
    expected = baseline(samples, JUDGED, sensitivity)
    assert expected is not None
    for minute in range(0, 60, 5):  # a maximum is not scaled to the bucket
        assert drawn[chart_time(JUDGED + timedelta(minutes=minute))] == approx(expected.band(sensitivity.threshold))


def test_without_enough_history_there_is_no_band_and_no_error(account: AwsAccount, owner: Any) -> None:
    fn = resource(account, "new")
    history(fn, days=2)  # the detector wants 3 earlier days of the same hour

    charts = page(owner, fn.pk)

    assert charts["fig-invocations"]["data"] and not any(
        t.get("name", "").startswith("normal range") for f in charts.values() for t in f["data"]
    )


def test_daily_charts_draw_no_band(account: AwsAccount, owner: Any) -> None:
    fn = resource(account, "checkout")
    history(fn)

    charts = page(owner, fn.pk, period="30d")  # by the day: the band is hourly

    assert not any(t.get("name", "").startswith("normal range") for f in charts.values() for t in f["data"])
