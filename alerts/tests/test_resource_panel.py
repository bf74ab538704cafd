"""The resource page shows the alert rules that watch the resource and its incidents, for
every kind: a rule applies when its target includes the resource and its condition can hold
for the resource's kind."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import aws_account_start
from alerts.models import AlertRule, Incident
from kinds import lambda_function, sqs_queue
from monitoring.models import Project, Resource

pytestmark = pytest.mark.django_db


def make(owner: Any, kind: str, name: str, tags: dict[str, str] | None = None) -> Resource:
    account = aws_account_start(organization=owner.organization, name="Prod")
    now = timezone.now()
    return Resource.objects.create(
        organization=owner.organization, account=account, region="us-east-1", kind=kind, name=name,
        arn=f"arn:aws:x:us-east-1:1:{name}", tags=tags or {}, first_seen=now, last_seen=now,
    )  # fmt: skip


def alerts_panel(owner: Any, resource: Resource) -> str:
    html = owner.client().get(reverse("monitoring:resource_detail", args=[resource.pk])).content.decode()
    return html.split('<section class="panel" id="alerts">', 1)[1].split("</section>", 1)[0]


def test_a_queue_shows_the_rules_that_can_fire_for_it_and_its_incidents(owner: Any, outsider: Any) -> None:
    queue = make(owner, sqs_queue.KIND, "orders", {"team": "checkout"})
    org = owner.organization
    backlog = AlertRule.objects.create(
        organization=org, name="Queue backlog", target="kind", target_kind=sqs_queue.KIND, metric="AWS/SQS:ApproximateAgeOfOldestMessage", statistic="Maximum",
        threshold=300,
    )  # fmt: skip
    project = Project.objects.create(organization=org, name="Checkout", tag_key="team", tag_value="checkout")
    AlertRule.objects.create(organization=org, name="Checkout findings", target="project", target_project=project,
                             condition="new_finding")  # fmt: skip
    AlertRule.objects.create(organization=org, name="Other team", target="project",
                             target_project=Project.objects.create(organization=org, name="Growth", tag_key="team",
                                                                   tag_value="growth"), condition="new_finding")  # fmt: skip
    AlertRule.objects.create(organization=outsider.organization, name="Theirs", condition="new_finding")
    Incident.objects.create(
        organization=org, rule=backlog, resource=queue, subject=f"r{queue.pk}", title="Backlog > 300 on orders",
        opened_at=timezone.now(),
    )  # fmt: skip

    panel = alerts_panel(owner, queue)

    assert "Queue backlog" in panel and "Checkout findings" in panel and "New critical findings" in panel
    # The default Lambda rules (error rate, timeouts) and new error groups cannot fire for a queue.
    assert "Error rate above 5 %" not in panel and "New errors and regressions" not in panel
    assert "Other team" not in panel and "Theirs" not in panel
    assert "Backlog &gt; 300 on orders" in panel


def test_a_function_shows_the_default_rules_and_says_when_it_has_no_incident(owner: Any) -> None:
    function = make(owner, lambda_function.KIND, "api")

    panel = alerts_panel(owner, function)

    assert "Error rate above 5 %" in panel and "New errors and regressions" in panel
    assert "No incident on it." in panel
