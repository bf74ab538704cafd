"""A check failing on many functions is one group of the insights list: counted and summed
in full, its largest savings listed first, the rest a page away."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import aws_account_start
from insights.models import Finding
from insights.selectors import SHOWN_PER_GROUP, FindingFilters, finding_groups_for
from monitoring.models import Resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(owner: Any) -> int:
    """120 functions failing a cost check (savings 0.50 … 60.00) and one failing another."""
    account = aws_account_start(organization=owner.organization, name="Prod")
    now = timezone.now()
    resources = Resource.objects.bulk_create(
        Resource(organization=owner.organization, account=account, region="eu-west-1", kind="lambda.function",
                 arn=f"arn:aws:lambda:eu-west-1:1:function:fn-{i:03d}", name=f"fn-{i:03d}", first_seen=now,
                 last_seen=now)
        for i in range(120)
    )  # fmt: skip
    Finding.objects.bulk_create(
        Finding(organization=owner.organization, account=account, resource=r, subject=f"r{r.pk}",
                check_id="lambda-memory-overprovisioned", service="lambda", pillar="cost_optimization", severity="warning",
                message=f"saves {i}", evidence={"monthly_saving_usd": 0.5 * (i + 1)}, first_seen=now, last_seen=now)
        for i, r in enumerate(resources)
    )  # fmt: skip
    Finding.objects.create(
        organization=owner.organization, account=account, resource=resources[0], subject=f"r{resources[0].pk}",
        check_id="lambda-timeouts", service="lambda", pillar="reliability", severity="critical", message="times out",
        evidence={"monthly_saving_usd": True}, first_seen=now, last_seen=now,
    )  # fmt: skip
    return len(resources)


def test_a_group_counts_and_sums_all_its_findings_but_lists_the_largest_savings(owner: Any, many: int) -> None:
    grouped = finding_groups_for(owner.organization, FindingFilters())

    critical, cost = grouped.groups
    assert (critical.check_id, critical.resources, critical.monthly_saving_usd) == ("lambda-timeouts", 1, None)
    assert (cost.resources, cost.monthly_saving_usd) == (many, pytest.approx(0.5 * many * (many + 1) / 2))
    assert len(cost.findings) == SHOWN_PER_GROUP and cost.hidden == many - SHOWN_PER_GROUP
    assert [f.message for f in cost.findings[:3]] == ["saves 119", "saves 118", "saves 117"]


def test_the_page_lists_one_page_of_a_group_and_links_to_all_of_it(owner: Any, many: int) -> None:
    page = owner.client().get(reverse("insights:index")).content.decode()
    assert page.count("<td>saves ") == SHOWN_PER_GROUP and "<td>times out</td>" in page
    assert f">all {many}</a>" in page and "check=lambda-memory-overprovisioned" in page

    second = owner.client().get(reverse("insights:index"), {"check": "lambda-memory-overprovisioned", "page": "2"})
    html = second.content.decode()
    assert second.status_code == 200 and "51–100 of 120" in html
    assert 'id="check-lambda-timeouts"' not in html  # the other check is filtered out
    assert re.findall(r"<td>saves (\d+)</td>", html)[0] == "69"
    assert owner.client().get(reverse("insights:index"), {"check": "no-such-check"}).status_code == 400


def test_the_overview_names_the_groups_that_matter_with_their_full_count(owner: Any, many: int) -> None:
    page = owner.client().get(reverse("monitoring:overview")).content.decode()
    assert f"· {many} resources" in page
