"""Against the sandbox AWS: every kind present in the seed, discovered and collected, has a
page whose metric charts show data (the kinds registry drives all three: seed resources,
metric traffic and the page)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db.models import Count
from django.urls import reverse

import kinds
from accounts.models import AwsAccount
from devtools.sandbox.resource_traffic import ResourceMetrics
from devtools.sandbox.service_traffic import ServiceTraffic
from monitoring.collection.orchestrator import collect_unit
from monitoring.models import MetricPoint, Resource

from .conftest import connect, seeded_region, traffic


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


pytestmark = pytest.mark.django_db
REGION = "af-south-1"  # only this module writes here (moto's state is process-wide)


def test_every_kind_s_page_charts_its_metrics_with_data(owner: Any, account: AwsAccount, sandbox: Any) -> None:
    specs = seeded_region(sandbox, REGION, count=3)
    traffic(sandbox, REGION, specs, seed=8, per_minute=60).tick(60)
    ServiceTraffic(sandbox.endpoint, REGION, seed=8).tick(60)
    written = ResourceMetrics(sandbox.endpoint, REGION, seed=8).backfill(15)
    connect(account, sandbox, REGION)
    collect_unit(account, REGION)
    client = owner.client()

    checked = []
    for kind_id in kinds.ids():
        resource = busiest(Resource.objects.filter(account=account, kind=kind_id))
        assert resource is not None, f"the sandbox seeds no {kind_id}: add some to devtools/sandbox/seed.py"
        assert MetricPoint.objects.filter(resource_id=resource.pk).exists(), f"no metric stored for {resource}"
        html = client.get(reverse("monitoring:resource_detail", args=[resource.pk]), {"period": "24h"}).content.decode()
        figures = {
            m.group(1): json.loads(m.group(2))
            for m in re.finditer(r'<script id="(fig-[^"]+)" type="application/json">(.*?)</script>', html, re.S)
        }
        for section in kinds.get(kind_id).sections:
            if section.source != "metrics":
                continue
            figure = figures[f"fig-{section.id}"]
            points = [y for trace in figure["data"] for y in trace["y"] if y is not None]
            assert points, f"{kind_id} {resource.name}: the {section.title!r} chart has no data"
        checked.append(kind_id)
    print(f"{written} metric data written; pages with data: {', '.join(checked)}")
