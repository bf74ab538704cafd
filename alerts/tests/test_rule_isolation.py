"""One bad rule affects only itself: it is recorded on the rule, shown on the Alerts page,
skipped, and every other rule of every organisation still evaluates. Rule numbers are
bounded in the form and again at evaluation."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.services import aws_account_start
from alerts.bounds import rule_problems
from alerts.models import AlertRule, Incident
from alerts.services import rules_evaluate
from alerts.tests.test_incidents import failures
from monitoring.models import Resource

OK: dict[str, Any] = {
    "condition": "threshold",
    "window_minutes": 10,
    "evaluation_periods": 2,
    "breaching_periods": 1,
    "threshold": 5.0,
    "min_interval_minutes": 30,
}


def function_of(tenant: Any, name: str) -> Resource:
    account = aws_account_start(organization=tenant.organization, name="Prod")
    now = datetime.now(tz=UTC)
    return Resource.objects.create(
        organization=tenant.organization, account=account, region="us-east-1", kind="lambda.function",
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}", name=name, first_seen=now, last_seen=now,
    )  # fmt: skip


def errors_rule(tenant: Any, name: str) -> AlertRule:
    return AlertRule.objects.create(
        organization=tenant.organization, name=name, metric="errors", operator=">=", threshold=3, window_minutes=10
    )


@pytest.mark.django_db
def test_a_poison_rule_shows_its_error_while_healthy_rules_of_every_organisation_open_incidents(
    owner: Any, outsider: Any
) -> None:
    now = datetime.now(tz=UTC)
    poison = errors_rule(owner, "Poison")  # evaluated first: the lowest id
    with connection.cursor() as cursor:  # as an older version, the admin or SQL could leave it
        cursor.execute("UPDATE alerts_alertrule SET window_minutes = 2147483647 WHERE id = %s", [poison.pk])
    ours, theirs = function_of(owner, "orders"), function_of(outsider, "billing")
    failures(ours, 5, now - timedelta(minutes=3))
    failures(theirs, 5, now - timedelta(minutes=3))
    healthy_ours, healthy_theirs = errors_rule(owner, "Errors"), errors_rule(outsider, "Errors")

    totals = rules_evaluate(now=now)

    assert totals["failed"] == 1
    assert Incident.objects.filter(rule=healthy_ours, resource=ours, status="open").count() == 1
    assert Incident.objects.filter(rule=healthy_theirs, resource=theirs, status="open").count() == 1
    assert not Incident.objects.filter(rule=poison).exists()
    poison.refresh_from_db()
    assert poison.last_error.startswith("Out of bounds: The window × evaluation periods is about 1,491,308 days")
    assert poison.last_error_at is not None and poison.last_evaluated_at is None
    page = owner.client().get(reverse("alerts:index")).content.decode()
    assert "Evaluation failed" in page and "1,491,308 days" in page
    assert "1,491,308 days" not in outsider.client().get(reverse("alerts:index")).content.decode()

    AlertRule.objects.filter(pk=poison.pk).update(window_minutes=10)
    rules_evaluate(now=now + timedelta(minutes=1))
    poison.refresh_from_db()
    assert (poison.last_error, poison.last_error_at) == ("", None)
    assert Incident.objects.filter(rule=poison, resource=ours, status="open").count() == 1


@pytest.mark.django_db
def test_a_rule_that_raises_is_rolled_back_and_recorded_and_the_next_rules_run(owner: Any) -> None:
    now = datetime.now(tz=UTC)
    fn = function_of(owner, "orders")
    failures(fn, 5, now - timedelta(minutes=3))
    broken = errors_rule(owner, "Broken")
    AlertRule.objects.filter(pk=broken.pk).update(operator="!=")  # no such comparison
    healthy = errors_rule(owner, "Healthy")

    assert rules_evaluate(now=now)["failed"] == 1

    broken.refresh_from_db()
    assert broken.last_error == "KeyError: '!='"
    assert Incident.objects.filter(rule=healthy, status="open").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("window_minutes", "2147483647", "at most 7 days of data"),
        ("window_minutes", "0", "a whole number of minutes, at least 1"),
        ("threshold", "inf", "Enter a number"),
        ("threshold", "1e300", "finite number within"),
        ("breaching_periods", "5", "cannot exceed evaluation periods"),
        ("evaluation_periods", "1000", "must be from 1 to 60"),
        ("min_interval_minutes", "99999999", "from 0 to 10,080 minutes"),
    ],
)
def test_the_rule_form_refuses_numbers_out_of_bounds_with_a_field_error(
    owner: Any, field: str, value: str, message: str
) -> None:
    data = {
        "name": "Slow", "condition": "threshold", "metric": "duration", "statistic": "Maximum", "operator": ">", "threshold": "1000",
        "window_minutes": "60", "evaluation_periods": "3", "breaching_periods": "2", "target": "all",
        "min_interval_minutes": "15", field: value,
    }  # fmt: skip

    response = owner.client().post(reverse("alerts:rule_new"), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in errors[field][0], errors
    assert not AlertRule.objects.filter(name="Slow").exists()


@pytest.mark.django_db
def test_an_admin_fixes_a_poison_rule_in_its_form(owner: Any, teammate: Any) -> None:
    rule = errors_rule(owner, "Poison")
    AlertRule.objects.filter(pk=rule.pk).update(window_minutes=2147483647, last_error="Out of bounds: …")
    url = reverse("alerts:rule_edit", args=[rule.pk])
    data = {
        "name": "Poison", "condition": "threshold", "metric": "errors", "operator": ">=", "threshold": "3",
        "window_minutes": "10080", "evaluation_periods": "1", "breaching_periods": "1", "target": "all",
        "min_interval_minutes": "30",
    }  # fmt: skip

    assert teammate.client().post(url, data).status_code == 403
    page = owner.client().get(url).content.decode()
    assert "Last evaluation failed" in page and "Out of bounds" in page
    assert owner.client().post(url, data).status_code == 302

    rule.refresh_from_db()
    assert rule.window_minutes == 10080
    assert AuditEvent.objects.get(action="alert_rule.changed").changes == {"window_minutes": "10080"}


def test_the_bounds_accept_seven_days_and_refuse_a_minute_more() -> None:
    assert rule_problems(**{**OK, "window_minutes": 1440, "evaluation_periods": 7, "breaching_periods": 7}) == {}
    assert set(rule_problems(**{**OK, "window_minutes": 1441, "evaluation_periods": 7})) == {"window_minutes"}


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"threshold": math.nan}, {"threshold"}),
        ({"threshold": -math.inf}, {"threshold"}),
        ({"threshold": None}, {"threshold"}),
        ({"threshold": None, "condition": "new_error_group"}, set()),
        ({"window_minutes": 0}, {"window_minutes"}),
        ({"window_minutes": True}, {"window_minutes"}),
        ({"evaluation_periods": 0, "breaching_periods": 0}, {"evaluation_periods", "breaching_periods"}),
        ({"breaching_periods": 3}, {"breaching_periods"}),
        ({"min_interval_minutes": -1}, {"min_interval_minutes"}),
        ({"window_minutes": None, "evaluation_periods": "2"}, {"window_minutes", "evaluation_periods"}),
    ],
)
def test_the_bounds_name_every_field_out_of_range(changes: dict[str, Any], fields: set[str]) -> None:
    assert set(rule_problems(**{**OK, **changes})) == fields
