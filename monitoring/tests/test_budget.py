"""The CloudWatch API budget: which resources are polled less often, stored, applied by the
metrics step, and shown on the account page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, AwsAccount
from accounts.services import aws_account_budget_set
from monitoring.budget import budget_view, plan_inputs, poll_plan_update
from monitoring.collection.metrics import Query
from monitoring.collection.orchestrator import collect_metrics
from monitoring.models import Resource
from monitoring.own_cost import Polled, budget_plan, monthly_usd
from monitoring.store.metrics import store_points

REGION = "ap-southeast-4"  # no AWS call is made here: a recording CloudWatch stands in


def polled(rid: int, activity: float, queries: int = 13, base: int = 60) -> Polled:
    return Polled(rid, f"fn-{rid}", "lambda.function", queries, base, activity)


# --- the plan (pure) ---------------------------------------------------------------------------


def test_a_budget_above_the_projection_changes_nothing() -> None:
    resources = [polled(i, activity=i) for i in range(5)]
    plan = budget_plan(resources, fixed_usd=2.0, budget_usd=1000.0)
    assert set(plan.multipliers.values()) == {1}
    assert plan.planned_usd == plan.base_usd == pytest.approx(2.0 + 5 * monthly_usd(13, 60))
    assert not plan.over


def test_the_least_active_are_slowed_first_and_the_most_active_keep_their_interval() -> None:
    resources = [polled(i, activity=10.0 * i) for i in range(10)]  # fn-0 idle … fn-9 busiest
    one = monthly_usd(13, 60)  # $5.62 a month per function at 1×
    budget = 10 * one - 2.5 * one  # three functions' worth less

    plan = budget_plan(resources, fixed_usd=0.0, budget_usd=budget)

    assert plan.planned_usd <= budget
    # fn-0 at 15× saves 14/15 of one, fn-1 at 15× as much, fn-2 at 5× 4/5: 2.67 ≥ 2.5.
    assert [plan.multipliers[i] for i in range(10)] == [15, 15, 5, 1, 1, 1, 1, 1, 1, 1]
    assert plan.slowed == 3


def test_a_budget_below_what_no_interval_changes_slows_everything_and_says_so() -> None:
    resources = [polled(i, activity=i) for i in range(3)]
    plan = budget_plan(resources, fixed_usd=50.0, budget_usd=20.0)
    assert set(plan.multipliers.values()) == {15}
    assert plan.over
    assert plan.planned_usd == pytest.approx(50.0 + 3 * monthly_usd(13, 60 * 15))


# --- stored on the resources, through the account setting ---------------------------------------


@pytest.fixture
def account(owner: Any) -> AwsAccount:
    return AwsAccount.objects.create(
        organization=owner.organization,
        name="prod",
        aws_account_id="123456789012",
        role_arn="arn:aws:iam::123456789012:role/dashbird",
        regions=[REGION],
        status=AwsAccount.Status.CONNECTED,
    )


@pytest.fixture
def functions(account: AwsAccount) -> list[Resource]:
    """Six functions: busy-0 … busy-5, invoked 0, 10, 20 … 50 times an hour over the last day."""
    now = datetime.now(UTC)
    out = [
        Resource.objects.create(
            organization=account.organization,
            account=account,
            region=REGION,
            kind="lambda.function",
            arn=f"arn:aws:lambda:{REGION}:123456789012:function:busy-{i}",
            name=f"busy-{i}",
            first_seen=now,
            last_seen=now,
        )
        for i in range(6)
    ]
    hour = now.replace(minute=0, second=0, microsecond=0)
    points = [
        (Query(fn.pk, "AWS/Lambda:Invocations", "Sum", {}), hour - timedelta(hours=h), float(10 * i))
        for i, fn in enumerate(out)
        for h in range(1, 24)
        if i
    ]
    store_points(account.pk, points)
    return out


def multipliers(functions: list[Resource]) -> list[int]:
    return [Resource.objects.get(pk=fn.pk).poll_multiplier for fn in functions]


def test_a_budget_under_the_projection_slows_the_least_active_only_and_removing_it_restores_them(
    owner: Any, account: AwsAccount, functions: list[Resource], settings: Any
) -> None:
    settings.LOGS_POLL_SECONDS = 60
    inputs = plan_inputs(account)
    one = monthly_usd(13, 60)
    # What two functions at 15× save, and a cent more than that.
    budget = Decimal(str(round(inputs.fixed_usd + 6 * one - 2 * one * 14 / 15 + 0.01, 2)))

    aws_account_budget_set(account=account, budget_usd=budget)

    assert multipliers(functions) == [15, 15, 1, 1, 1, 1]
    busy_1 = Resource.objects.get(pk=functions[1].pk)
    assert busy_1.poll_activity == pytest.approx(10 * 23)
    view = budget_view(AwsAccount.objects.get(pk=account.pk))
    assert view["planned_usd"] <= float(budget) < view["base_usd"]
    assert [row["resource"].name for row in view["slowed"]] == ["busy-0", "busy-1"]

    page = owner.client().get(reverse("accounts:aws_account_detail", args=[account.pk]))
    html = page.content.decode()
    assert 'id="polled-less-often"' in html
    assert "busy-0" in html and "900 s" in html  # 15 × 60 s
    assert "within the budget" in html

    aws_account_budget_set(account=account, budget_usd=None)

    assert multipliers(functions) == [1] * 6
    html = owner.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).content.decode()
    assert 'id="polled-less-often"' not in html


def test_the_budget_form_saves_audits_and_refuses_bad_values(
    owner: Any, account: AwsAccount, functions: list[Resource]
) -> None:
    url = reverse("accounts:aws_account_budget", args=[account.pk])
    client = owner.client()

    response = client.post(url, {"budget_usd": "0.50"})

    assert response.status_code == 302
    assert AwsAccount.objects.get(pk=account.pk).cloudwatch_budget_usd == Decimal("0.50")
    entry = AuditEvent.objects.get(action="aws_account.budget_changed")
    assert entry.changes == {"cloudwatch_budget_usd": [None, "0.50"]}
    assert max(multipliers(functions)) == 15  # $0.50 is under what even the log polls cost

    for bad in ("-5", "0", "abc", "1e400", "12.345", "99999999"):
        response = client.post(url, {"budget_usd": bad})
        assert response.status_code == 400, bad
        assert "budget_usd" in response.context["budget_form"].errors
    assert AwsAccount.objects.get(pk=account.pk).cloudwatch_budget_usd == Decimal("0.50")

    client.post(url, {"budget_usd": ""})
    assert AwsAccount.objects.get(pk=account.pk).cloudwatch_budget_usd is None
    assert multipliers(functions) == [1] * 6


# --- applied by the metrics step -----------------------------------------------------------------


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def for_service(self, service: str) -> Any:
        return self

    def get_metric_data(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return {"MetricDataResults": []}

    def asked(self) -> set[str]:
        return {
            d["Value"]
            for call in self.calls
            for q in call["MetricDataQueries"]
            for d in q["MetricStat"]["Metric"]["Dimensions"]
            if d["Name"] == "FunctionName"
        }


def test_a_slowed_resource_is_polled_every_nth_time_over_the_time_it_missed(
    account: AwsAccount, functions: list[Resource]
) -> None:
    Resource.objects.filter(pk=functions[0].pk).update(poll_multiplier=5)
    t0 = datetime(2026, 12, 2, 10, 0, 30, tzinfo=UTC)
    seen: list[set[str]] = []
    starts: list[datetime] = []
    for minute in range(11):
        cloudwatch = RecordingCloudWatch()
        collect_metrics(cloudwatch.for_service, account, REGION, t0 + timedelta(minutes=minute))
        seen.append(cloudwatch.asked())
        starts.append(cloudwatch.calls[0]["StartTime"])

    polled_at = [m for m, names in enumerate(seen) if "busy-0" in names]
    assert polled_at == [0, 5, 10]  # 5 × the 60 s interval
    assert all({f"busy-{i}" for i in range(1, 6)} <= names for names in seen)  # the others every time
    # Its window reaches back to the end of its last one (less the 5 minutes CloudWatch revises).
    assert starts[5] == t0.replace(second=0) + timedelta(minutes=1) - timedelta(minutes=5)
    assert starts[4] == t0.replace(second=0) + timedelta(minutes=4) - timedelta(minutes=5)

    # Back at 1× (budget removed): polled at once, from where it stopped.
    Resource.objects.filter(pk=functions[0].pk).update(poll_multiplier=1)
    cloudwatch = RecordingCloudWatch()
    collect_metrics(cloudwatch.for_service, account, REGION, t0 + timedelta(minutes=12))
    assert "busy-0" in cloudwatch.asked()
    assert cloudwatch.calls[0]["StartTime"] == t0.replace(second=0) + timedelta(minutes=11) - timedelta(minutes=5)


def test_the_hourly_plan_follows_activity(account: AwsAccount, functions: list[Resource]) -> None:
    # $36.55 a month at 1× (six functions at $5.62, and the log polls and account series).
    AwsAccount.objects.filter(pk=account.pk).update(cloudwatch_budget_usd=Decimal("30"))
    account.refresh_from_db()
    poll_plan_update(account=account)
    assert multipliers(functions) == [15, 2, 1, 1, 1, 1]

    # The idle one gets busy and the busiest is deleted: the next plan follows.
    Resource.objects.filter(pk=functions[-1].pk).update(gone_at=datetime.now(UTC))
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    store_points(
        account.pk,
        [(Query(functions[0].pk, "AWS/Lambda:Invocations", "Sum", {}), hour - timedelta(hours=2), 10_000.0)],
    )
    poll_plan_update(account=account)

    assert multipliers(functions) == [1, 2, 1, 1, 1, 1]  # busy-1 is now the least active


# --- what the account page shows -----------------------------------------------------------------


def test_the_page_shows_the_figures_of_every_resource_at_its_multiplier(
    owner: Any, account: AwsAccount, functions: list[Resource], settings: Any
) -> None:
    """The account page counts resources per kind and multiplier instead of reading each one:
    the same figures as adding up `plan_inputs`' resources one by one, a load balancer's
    queries from its own target groups, the slowed ones listed."""
    settings.LOGS_POLL_SECONDS = 60
    settings.METRICS_POLL_SECONDS = {"default": 300, "lambda.function": 60}
    now = datetime.now(UTC)

    def resource(kind: str, name: str, **fields: Any) -> Resource:
        fields.setdefault("region", REGION)
        return Resource.objects.create(
            organization=account.organization, account=account, kind=kind, name=name, first_seen=now, last_seen=now,
            arn=f"arn:aws:{kind}:{fields['region']}:123456789012:{name}", **fields,
        )  # fmt: skip

    groups = [{"dimension": f"targetgroup/tg-{i}/0123456789abcdef"} for i in range(3)]
    resource("elb.application", "front", config={"target_groups": groups}, poll_multiplier=2, poll_activity=7.0)
    resource("elb.application", "back", config={"target_groups": groups[:1]})
    resource("sqs.queue", "jobs", poll_multiplier=5, poll_activity=3.0)
    resource("lambda.function", "elsewhere", region="eu-west-1", poll_multiplier=15)  # a region not collected
    resource("lambda.function", "deleted", gone_at=now, poll_multiplier=15)
    multiplier = {0: 15, 1: 15, 2: 5}
    for i, fn in enumerate(functions):
        Resource.objects.filter(pk=fn.pk).update(poll_multiplier=multiplier.get(i, 1), poll_activity=float(10 * i))
    Resource.objects.filter(pk=functions[3].pk).update(gone_at=now)
    account.cloudwatch_budget_usd = Decimal("100")
    account.save()

    inputs = plan_inputs(account)
    by_id = {r.pk: r for r in inputs.resources}
    view = budget_view(account)

    assert view["resources"] == len(inputs.polled) == 8  # 5 functions, 2 load balancers, a queue
    assert view["fixed_usd"] == pytest.approx(inputs.fixed_usd, rel=1e-12)
    assert view["fixed_parts"] == inputs.fixed_parts
    assert view["base_usd"] == pytest.approx(inputs.fixed_usd + sum(p.monthly_usd() for p in inputs.polled), rel=1e-12)
    planned = inputs.fixed_usd + sum(p.monthly_usd(by_id[p.resource_id].poll_multiplier) for p in inputs.polled)
    assert view["planned_usd"] == pytest.approx(planned, rel=1e-12)
    # The figures themselves: 5 functions × 13 queries a minute (their log polls' 5 more), a
    # load balancer 3 target groups × 2 + 6, the other 1 × 2 + 6, a queue 7, every 300 s.
    fixed = monthly_usd(5, 60) + inputs.fixed_parts[1][1]
    assert view["base_usd"] == pytest.approx(fixed + monthly_usd(5 * 13, 60) + monthly_usd(12 + 8 + 7, 300))
    assert view["planned_usd"] == pytest.approx(
        fixed
        + monthly_usd(13, 900) * 2
        + monthly_usd(13, 300)
        + monthly_usd(13, 60) * 2
        + monthly_usd(12, 600)
        + monthly_usd(8, 300)
        + monthly_usd(7, 1500)
    )
    assert [(row["resource"].name, row["seconds"], row["multiplier"]) for row in view["slowed"]] == [
        ("busy-0", 900, 15),
        ("busy-1", 900, 15),
        ("jobs", 1500, 5),
        ("busy-2", 300, 5),
        ("front", 600, 2),
    ]
    assert view["slowed"][-1]["saved_usd"] == pytest.approx(monthly_usd(12, 300) - monthly_usd(12, 600))

    html = owner.client().get(reverse("accounts:aws_account_detail", args=[account.pk])).content.decode()
    assert f"${view['base_usd']:.2f} a month for 8 resource(s)" in html
    assert f"${view['planned_usd']:.2f} a month" in html
    assert "5 function(s) every 60 s" in html
