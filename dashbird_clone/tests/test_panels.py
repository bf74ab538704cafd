"""The panel registry (web/panels.py): how a lower app's page shows a higher app's data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import RequestFactory

from web import panels

SLOT = "tests.page"


@pytest.fixture(autouse=True)
def _clean_slot() -> Iterator[None]:
    yield
    for panel in panels.registered(SLOT):
        panels.unregister(SLOT, panel.name)


def test_a_page_renders_its_panels_in_order_and_skips_those_with_nothing_to_show(tmp_path: Any, settings: Any) -> None:
    (tmp_path / "one.html").write_text("<p>{{ object }}: {{ word }}</p>")
    settings.TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [tmp_path]}]
    panels.register(SLOT, name="second", template="one.html", context=lambda r, o: {"word": "<b>"}, order=20)
    panels.register(SLOT, name="first", template="one.html", context=lambda r, o: {"word": "hello"}, order=10)
    panels.register(SLOT, name="hidden", template="one.html", context=lambda r, o: None, order=5)

    html = panels.render(SLOT, RequestFactory().get("/"), "thing")

    assert html == ["<p>thing: hello</p>", "<p>thing: &lt;b&gt;</p>"]  # escaped by the template engine


def test_registering_again_under_the_same_name_replaces_the_panel() -> None:
    panels.register(SLOT, name="one", template="a.html", context=lambda r, o: {})
    panels.register(SLOT, name="one", template="b.html", context=lambda r, o: {})
    assert [p.template for p in panels.registered(SLOT)] == ["b.html"]


def test_a_slot_without_panels_renders_nothing() -> None:
    assert panels.render("tests.nothing-here", RequestFactory().get("/")) == []


# --- The pages that show a higher app's panels look as they did --------------------------


@pytest.mark.django_db
def test_the_settings_page_shows_the_members_own_digest_preferences(owner: Any) -> None:
    from django.urls import reverse

    client = owner.client()
    client.post(reverse("alerts:digest_preferences"), {"frequency": "weekly", "hour": "6"})
    page = client.get(reverse("accounts:settings")).content.decode()
    assert "Your e-mail digest" in page
    assert f'action="{reverse("alerts:digest_preferences")}"' in page
    assert '<option value="weekly" selected>' in page
    assert 'value="6"' in page
    assert page.index("Your e-mail digest") < page.index('id="members"')  # where it always was


@pytest.mark.django_db
def test_the_aws_account_page_shows_resources_and_intervals_to_those_who_may_change_them(
    owner: Any, teammate: Any
) -> None:
    from django.urls import reverse
    from django.utils import timezone

    from accounts.services import aws_account_start
    from monitoring.models import Resource

    account = aws_account_start(organization=owner.organization, name="Production")
    now = timezone.now()
    for n, gone in ((1, None), (2, None), (3, now)):
        Resource.objects.create(
            organization=owner.organization, account=account, region="eu-west-1", kind="sqs.queue",
            arn=f"arn:aws:sqs:eu-west-1:1:q{n}", name=f"q{n}", first_seen=now, last_seen=now, gone_at=gone,
        )  # fmt: skip
    url = reverse("accounts:aws_account_detail", args=[account.pk])

    page = owner.client().get(url).content.decode()
    assert f'<dt>Resources</dt><dd><a href="{reverse("monitoring:resources")}?account={account.pk}">2</a></dd>' in page
    assert f'action="{reverse("accounts:aws_account_intervals", args=[account.pk])}"' in page
    assert "Metric poll intervals" in page

    page = teammate.client().get(url).content.decode()
    assert "<dt>Resources</dt>" in page
    assert "Metric poll intervals" not in page


@pytest.mark.django_db
def test_the_resource_page_shows_its_open_findings_and_the_overview_its_pillar_scores(owner: Any) -> None:
    from django.urls import reverse
    from django.utils import timezone

    from accounts.services import aws_account_start
    from insights.models import Finding, PillarScore
    from monitoring.models import Resource

    account = aws_account_start(organization=owner.organization, name="Production")
    now = timezone.now()
    resource = Resource.objects.create(
        organization=owner.organization, account=account, region="eu-west-1", kind="sqs.queue",
        arn="arn:aws:sqs:eu-west-1:1:orders", name="orders", first_seen=now, last_seen=now,
    )  # fmt: skip
    for check, status in (("sqs.no_dlq", "open"), ("sqs.unencrypted", "resolved")):
        Finding.objects.create(
            organization=owner.organization, account=account, resource=resource, subject=f"r{resource.pk}",
            check_id=check, service="sqs", pillar="reliability", severity="warning", status=status,
            message=f"{check} message", first_seen=now, last_seen=now,
        )  # fmt: skip
    PillarScore.objects.create(organization=owner.organization, pillar="reliability", day=now.date(), score=87.4)
    client = owner.client()

    page = client.get(reverse("monitoring:resource_detail", args=[resource.pk])).content.decode()
    assert "<strong>sqs.no_dlq</strong> — sqs.no_dlq message" in page
    assert "sqs.unencrypted" not in page

    page = client.get(reverse("monitoring:overview")).content.decode()
    assert "Insights by pillar" in page
    assert "87 / 100" in page
