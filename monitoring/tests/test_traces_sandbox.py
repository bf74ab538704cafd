"""Against the sandbox AWS: traced invocations write X-Ray segments; collection fetches
their traces; the execution page draws the waterfall with the failing call marked, and the
function page's downstream table and the service map count exactly the calls written."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AwsAccount
from devtools.sandbox.seed import admin_client
from devtools.sandbox.traffic import TrafficGenerator
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import Invocation, Resource, Trace

from .conftest import connect, seeded_region

pytestmark = pytest.mark.django_db
REGION = "ap-south-2"  # only this module writes here (moto's state is process-wide)


def figures(html: str) -> dict[str, Any]:
    return {
        m.group(1): json.loads(m.group(2))
        for m in re.finditer(r'<script id="(fig-[^"]+)" type="application/json">(.*?)</script>', html, re.S)
    }


def test_traces_are_fetched_drawn_and_counted_exactly(
    owner: Any, account: AwsAccount, sandbox: Any, settings: Any
) -> None:
    # Every traced invocation is fetched, so the counts can be compared with what was written.
    settings.XRAY_TRACES_PER_RUN = settings.XRAY_TRACES_PER_HOUR = 10_000
    settings.XRAY_SAMPLE_RATE = 1.0
    specs = seeded_region(sandbox, REGION, count=4)
    for spec in specs:
        spec.error_rate = 0.2
    generator = TrafficGenerator(
        specs,
        logs=admin_client("logs", sandbox.endpoint, REGION),
        cloudwatch=admin_client("cloudwatch", sandbox.endpoint, REGION),
        xray=admin_client("xray", sandbox.endpoint, REGION),
        seed=17,
        per_minute=120,
    )
    # Ended two minutes ago: past the traces step's settling time.
    generator.tick(120, now=datetime.now(tz=UTC) - timedelta(minutes=2))
    written = generator.ledger
    assert written.traces, "the sandbox wrote no trace: no traced function got traffic"
    connect(account, sandbox, REGION)
    summary = collect_unit(account, REGION).as_dict()
    assert summary["traces"]["traces_stored"] == len(written.traces), summary["traces"]
    assert summary["traces"]["xray_calls"] == -(-len(written.traces) // 5)
    assert Trace.objects.filter(account_id=account.pk, found=True).count() == len(written.traces)

    client = owner.client()
    # A failed traced invocation: its waterfall, with the failing call marked.
    failed = (
        Invocation.objects.filter(account_id=account.pk, xray_trace_id__isnull=False)
        .exclude(status="success")
        .order_by("started_at")
        .first()
    )
    assert failed is not None
    html = client.get(reverse("monitoring:invocation_detail", args=[failed.pk])).content.decode()
    bars = figures(html)["fig-waterfall"]["data"][0]
    # the failing call (a 5xx, or throttling after retries) in red or amber, below the function
    assert {"#dc2626", "#f59e0b"} & set(bars["marker"]["color"][1:])
    assert re.search(r'data-state="(failed|throttled)"', html)
    assert "No trace for this invocation" not in html

    # An untraced invocation says why.
    untraced = Invocation.objects.filter(account_id=account.pk, xray_trace_id__isnull=True).first()
    assert untraced is not None
    html = client.get(reverse("monitoring:invocation_detail", args=[untraced.pk])).content.decode()
    assert "Tracing is off for this function" in html

    # The function page's downstream table and the service map: counts equal what was written.
    shown_map: dict[tuple[str, str], int] = {}
    map_html = client.get(reverse("monitoring:service_map"), {"period": "24h"}).content.decode()
    for fn, service, calls in re.findall(
        r'<tr data-edge="([^"]+)→([^"]+)">.*?<td class="num">(\d+)</td>', map_html, re.S
    ):
        shown_map[(fn, service)] = int(calls)
    expected_map: dict[tuple[str, str], int] = {}
    for name, targets in written.trace_calls.items():
        fn = Resource.objects.get(account=account, name=name)
        html = client.get(reverse("monitoring:resource_detail", args=[fn.pk]), {"period": "24h"}).content.decode()
        shown = {
            t: int(n)
            for t, n in re.findall(r'<tr data-target="([^"]+)"><td>.*?</td><td class="num">(\d+)</td>', html, re.S)
        }
        assert shown == {t: counts[0] for t, counts in targets.items()}, name
        assert '<span class="badge" title="Its X-Ray trace was fetched' in html  # the list marks traced ones
        for target, counts in targets.items():
            service = target.split(" ")[0]
            expected_map[(name, service)] = expected_map.get((name, service), 0) + counts[0]
    assert shown_map == expected_map
    assert "fig-service-map" in figures(map_html)
