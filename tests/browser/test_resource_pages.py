"""One resource of every registered kind, in Chromium, on sandbox data: each page draws its
metric charts with data, shows its configuration for people (no Python value) and logs no
console error. The walk iterates the kinds registry, so a kind added later is walked too."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db.models import Count

import kinds
from conftest import screenshot
from monitoring.models import MetricPoint, Resource
from tests.browser.sandbox_world import sandbox_world


def busiest(resources: Any) -> Resource | None:
    """The resource of the most stored points (a seeded resource may be idle on purpose)."""
    counts = (
        MetricPoint.objects.filter(resource_id__in=resources.values("pk"))
        .values("resource_id")
        .annotate(n=Count("id"))
        .order_by("-n", "resource_id")
    )
    top = counts.first()
    return resources.filter(pk=top["resource_id"]).first() if top else resources.order_by("name").first()


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REGION = "me-south-1"
PYTHON_REPR = re.compile(r"\[\{'|\{'[a-z_]+':|\['[^']*'[,\]]|(?<![\w-])(None|True|False)(?![\w-])")


def test_one_resource_of_every_kind_charts_its_metrics_and_reads_as_prose(
    live_server: Any, page: Any, sandbox: Any
) -> None:
    org, _account = sandbox_world(sandbox, REGION, count=3, seed=61, traffic_seed=6, per_minute=120, minutes=20)
    base = live_server.url
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(f"{page.url}: {e}"))
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "ops@acme.test")
    page.fill("input[name=password]", "S3cret-pass!")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    walked = []
    for kind_id in kinds.ids():
        resource = busiest(Resource.objects.filter(organization=org, kind=kind_id))
        assert resource is not None, f"the sandbox seeds no {kind_id}"
        response = page.goto(f"{base}/resources/{resource.pk}/?period=1h")
        assert response is not None and response.status == 200
        charts = page.locator(".metric-chart [data-figure]")
        assert charts.count() == sum(1 for s in kinds.get(kind_id).sections if s.source == "metrics")
        for i in range(charts.count()):
            chart = charts.nth(i)
            chart.locator(".main-svg").first.wait_for()  # plotly drew it under the CSP
            assert chart.get_attribute("data-has-data") == "1", f"{kind_id}: chart {i} has no data"
            # A bar or a line's marker drawn for a datapoint (plotly: path.point in the trace layers).
            # Plotly drew a bar of some height or a line's marker for a datapoint.
            chart.locator(".barlayer .point, .scatterlayer .point").first.wait_for(state="attached")
            drawn = chart.evaluate(
                "el => [...el.querySelectorAll('.barlayer .point path, .scatterlayer .point')]"
                ".filter(p => { const b = p.getBBox(); return b.height > 0 || b.width > 0; }).length"
            )
            assert drawn > 0, f"{kind_id}: chart {i} drew no datapoint"
        text = page.locator("main").inner_text()
        assert not PYTHON_REPR.search(text), f"{kind_id}: {PYTHON_REPR.search(text)}"
        assert "{'" not in text and "[{" not in text
        screenshot(page, f"resource-{kind_id}")
        walked.append(kind_id)

    page.goto(f"{base}/resources/")
    assert page.locator(".key-number").count() > 0  # the list's key numbers of the other kinds
    screenshot(page, "resources-key-numbers")
    assert console_errors == []
    assert walked == kinds.ids()
