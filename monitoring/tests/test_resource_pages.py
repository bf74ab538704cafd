"""Every kind's page and list row, from the kinds registry: charts of its catalogued metrics
over the period, KPIs, deployment markers, related resources as links, configuration for
people, and bounded queries whatever the number of resources."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import kinds
from accounts.models import AwsAccount
from accounts.services import aws_account_start
from kinds import lambda_function, sqs_queue
from monitoring.collection.metrics import Query
from monitoring.models import Resource, ResourceChange
from monitoring.resource_page import format_number
from monitoring.store.metrics import store_points

PYTHON_REPR = re.compile(r"\[\{'|\{'|\['|\bNone\b")


def make(account: AwsAccount, kind: str, name: str, config: dict[str, Any] | None = None, arn: str = "") -> Resource:
    now = timezone.now()
    return Resource.objects.create(
        organization=account.organization, account=account, region="us-east-1", kind=kind, name=name,
        arn=arn or f"arn:aws:{kind.split('.')[0]}:us-east-1:123456789012:{name}", config=config or {},
        first_seen=now - timedelta(days=2), last_seen=now,
    )  # fmt: skip


def put(resource: Resource, series: str, values: list[float], end: datetime | None = None) -> None:
    """One point a minute, the newest `values[-1]` one minute before `end` (by default now)."""
    metric, stat = kinds.series_key(series)
    end = (end or timezone.now()).replace(second=0, microsecond=0)
    q = Query(resource.pk, metric, stat, {})
    store_points(resource.account_id, [(q, end - timedelta(minutes=len(values) - i), v) for i, v in enumerate(values)])


def figures_of(html: str) -> dict[str, Any]:
    return {
        m.group(1): json.loads(m.group(2))
        for m in re.finditer(r'<script id="(fig-[^"]+)" type="application/json">(.*?)</script>', html, re.S)
    }


def visible_text(html: str) -> str:
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return aws_account_start(organization=owner.organization, name="Prod")


@pytest.mark.parametrize("kind_id", kinds.ids())
def test_every_kind_s_page_charts_each_metric_section_with_its_data(
    owner: Any, account: AwsAccount, kind_id: str
) -> None:
    kind = kinds.get(kind_id)
    resource = make(account, kind_id, "thing", {"stages": [{"name": "prod", "web_acl": None}]})
    for i, series in enumerate(kind.chart_series):
        put(resource, series, [float(i + 1), float(i + 2), float(i + 3)])

    response = owner.client().get(reverse("monitoring:resource_detail", args=[resource.pk]), {"period": "1h"})

    assert response.status_code == 200
    html = response.content.decode()
    figures = figures_of(html)
    for section in (s for s in kind.sections if s.source == "metrics"):
        figure = figures[f"fig-{section.id}"]
        assert [t["name"] for t in figure["data"]] == [kinds.series_label(s) for s in section.series]
        for trace in figure["data"]:
            assert [y for y in trace["y"] if y is not None], f"{section.id}: {trace['name']} has no point"
        # The last 60 minutes by the minute (the first one partly), on an axis that spans them.
        assert len(figure["data"][0]["x"]) in (60, 61) and figure["data"][0].get("xperiod") == 60_000
        assert all(datetime.fromisoformat(x).second == 0 for x in figure["data"][0]["x"])
        assert f'id="{section.id}-chart"' in html and section.title.split(" ")[0] in html
    assert not PYTHON_REPR.search(visible_text(html))


def test_kpis_sum_counts_and_keep_the_worst_of_gauges_over_the_period(owner: Any, account: AwsAccount) -> None:
    queue = make(account, sqs_queue.KIND, "orders")
    put(queue, "AWS/SQS:NumberOfMessagesSent:Sum", [10, 20, 30])
    put(queue, sqs_queue.OLDEST, [5, 400, 7])

    html = owner.client().get(reverse("monitoring:resource_detail", args=[queue.pk])).content.decode()
    kpis = re.findall(r'<span class="kpi-name">([^<]+)</span><strong class="kpi-value">([^<]+)</strong>', html)

    assert ("Number of messages sent", "60") in kpis
    assert ("Approximate age of oldest message (max)", "400 s") in kpis
    assert ("Number of messages deleted", "—") in kpis
    assert "No datapoint in this period" in html  # the deleted-messages chart says why it is empty


def test_a_chart_buckets_a_day_by_five_minutes_and_marks_configuration_changes(owner: Any, account: AwsAccount) -> None:
    queue = make(account, sqs_queue.KIND, "orders")
    put(queue, sqs_queue.VISIBLE, [1, 9, 4])  # three minutes: one or two buckets, their maximum
    ResourceChange.objects.create(
        resource=queue, detected_at=timezone.now() - timedelta(hours=2), diff={"visibility_timeout_s": [30, 60]}
    )

    html = (
        owner.client().get(reverse("monitoring:resource_detail", args=[queue.pk]), {"period": "24h"}).content.decode()
    )
    figure = figures_of(html)["fig-backlog"]

    assert len(figure["data"][0]["x"]) in (24 * 12, 24 * 12 + 1)  # the first 5 minutes partly
    assert max(y for y in figure["data"][0]["y"] if y is not None) == 9
    assert len(figure["layout"]["shapes"]) == 1 and figure["layout"]["shapes"][0]["line"]["dash"] == "dot"


def test_related_resources_link_both_ways_and_an_unmonitored_arn_is_text(owner: Any, account: AwsAccount) -> None:
    dlq = make(account, sqs_queue.KIND, "orders-dlq")
    queue = make(account, sqs_queue.KIND, "orders", {"dead_letter_target": dlq.arn})
    function = make(
        account,
        lambda_function.KIND,
        "worker",
        {
            "event_source_mappings": [{"event_source_arn": queue.arn, "batch_size": 10}],
            "async": {"on_failure_destination": "arn:aws:sns:us-east-1:123456789012:elsewhere"},
        },
    )
    client = owner.client()

    queue_page = client.get(reverse("monitoring:resource_detail", args=[queue.pk])).content.decode()
    function_page = client.get(reverse("monitoring:resource_detail", args=[function.pk])).content.decode()
    dlq_page = client.get(reverse("monitoring:resource_detail", args=[dlq.pk])).content.decode()

    related = queue_page.split('id="related"', 1)[1].split("</section>", 1)[0]
    assert re.search(rf'Dead-letter queue</td>\s*<td><a href="/resources/{dlq.pk}/">orders-dlq</a>', related)
    assert re.search(rf'Read by</td>\s*<td><a href="/resources/{function.pk}/">worker</a>', related)
    assert re.search(rf'Reads from</td>\s*<td><a href="/resources/{queue.pk}/">orders</a>', function_page)
    assert (
        '<code>arn:aws:sns:us-east-1:123456789012:elsewhere</code> <span class="muted">(not monitored)' in function_page
    )
    assert re.search(rf'Dead-letter queue of</td>\s*<td><a href="/resources/{queue.pk}/">orders</a>', dlq_page)


def test_another_organisation_s_resource_is_never_related(owner: Any, outsider: Any, account: AwsAccount) -> None:
    theirs = make(aws_account_start(organization=outsider.organization, name="X"), sqs_queue.KIND, "secret-dlq")
    queue = make(account, sqs_queue.KIND, "orders", {"dead_letter_target": theirs.arn})

    html = owner.client().get(reverse("monitoring:resource_detail", args=[queue.pk])).content.decode()

    assert f"/resources/{theirs.pk}/" not in html


def _page_queries(client: Any, url: str, params: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries)


def test_a_page_s_queries_do_not_grow_with_its_related_resources_or_series(owner: Any, account: AwsAccount) -> None:
    client = owner.client()
    queue = make(account, sqs_queue.KIND, "orders")
    url = reverse("monitoring:resource_detail", args=[queue.pk])
    for series in kinds.get(sqs_queue.KIND).chart_series:
        put(queue, series, [1, 2])
    make(account, lambda_function.KIND, "c0", {"event_source_mappings": [{"event_source_arn": queue.arn}]})
    _page_queries(client, url)  # warm the session and the caches
    few = _page_queries(client, url)
    for i in range(1, 15):
        make(account, lambda_function.KIND, f"c{i}", {"event_source_mappings": [{"event_source_arn": queue.arn}]})
    assert _page_queries(client, url) == few
    print(f"resource page: {few} queries")


def test_the_list_shows_key_numbers_in_queries_that_do_not_grow_with_its_rows(owner: Any, account: AwsAccount) -> None:
    client = owner.client()
    url = reverse("monitoring:resources")

    def add_queue(name: str, depth: float, age: float) -> None:
        queue = make(account, sqs_queue.KIND, name)
        put(queue, sqs_queue.VISIBLE, [depth + 5, depth])
        put(queue, sqs_queue.OLDEST, [age * 2, age])

    add_queue("q-a", 12, 30)
    api = make(account, "apigateway.restapi", "shop")
    put(api, "AWS/ApiGateway:Count:Sum", [100, 100])
    put(api, "AWS/ApiGateway:5XXError:Sum", [1, 4])
    _page_queries(client, url)
    few = _page_queries(client, url)
    html = client.get(url).content.decode()
    assert re.search(r"<strong>12</strong> waiting</span><span class=\"key-number\"><strong>30 s</strong> oldest", html)
    assert "<strong>200</strong> requests" in html and "<strong>2.5 %</strong> 5XX" in html

    for i in range(25):
        add_queue(f"q-{i:02}", i, i)
    many = _page_queries(client, url)
    assert many == few, f"{few} queries for 2 resources, {many} for 27"
    print(f"resources list: {few} queries for 2 resources, {many} for 27")


def test_numbers_read_as_numbers() -> None:
    assert format_number(None) == "—"
    assert format_number(1234.0) == "1,234"
    assert format_number(2.5, "%") == "2.5 %"
    assert format_number(0.123456, "ms") == "0.12 ms"
    assert format_number(1234.56, "ms") == "1,235 ms"
    assert format_number(512.0, "bytes") == "512 bytes"
    assert format_number(18_518_008.0, "bytes") == "17.66 MB"


def test_every_series_of_every_kind_s_sections_and_key_numbers_is_one_it_polls() -> None:
    for kind in kinds.all_kinds():
        polled = set(kind.polled_series)
        assert set(kind.chart_series) <= polled, kind.id
        assert set(kind.key_number_series) <= polled, kind.id
        assert any(s.source == "metrics" for s in kind.sections), f"{kind.id} charts none of its metrics"
        # The list shows a function's sparkline, and every other kind's key numbers.
        assert kind.key_numbers or any(s.source == "rollups" for s in kind.sections), f"{kind.id}: no key number"


def test_an_api_links_to_the_functions_behind_it_and_they_back(owner: Any, account: AwsAccount) -> None:
    fn = make(account, lambda_function.KIND, "orders-create", arn="arn:aws:lambda:us-east-1:123456789012:function:oc")
    api = make(
        account,
        "apigateway.restapi",
        "shop",
        {"integrations": [{"route": "POST /orders", "type": "AWS_PROXY", "target": fn.arn},
                          {"route": "GET /", "type": "HTTP_PROXY", "target": "https://example.com/"}]},
    )  # fmt: skip
    client = owner.client()

    api_page = client.get(reverse("monitoring:resource_detail", args=[api.pk])).content.decode()
    fn_page = client.get(reverse("monitoring:resource_detail", args=[fn.pk])).content.decode()

    assert re.search(rf'Integration</td>\s*<td><a href="/resources/{fn.pk}/">orders-create</a>', api_page)
    assert re.search(rf'Behind API</td>\s*<td><a href="/resources/{api.pk}/">shop</a>', fn_page)
    assert "https://example.com/" in api_page.split('id="configuration"', 1)[1]  # in the table, not related
