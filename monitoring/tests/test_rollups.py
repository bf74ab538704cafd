"""Account × region and project rollups stay the sum of their functions' rollups through
everything that changes those (docs/architecture.md §6), and carry memory used."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from accounts.models import Organization
from accounts.services import aws_account_remove, aws_account_start
from monitoring.collection.discovery import DiscoveryResult
from monitoring.models import AccountRollup, Invocation, Project, ProjectRollup, Resource, Rollup
from monitoring.parsing.lambda_logs import parse_events
from monitoring.services import project_create, project_update
from monitoring.store.invocations import invocations_store
from monitoring.store.partitions import ensure_partitions
from monitoring.store.resources import resources_sync
from monitoring.store.retention import prune
from monitoring.store.rollups import ADDED, COUNTS, HISTOGRAMS, MAXES, projects_build_stale, rollups_recompute

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 10, 10, 5, tzinfo=UTC)


def report(rid: str, start: datetime, *, duration: float = 100.0, used: int = 80, size: int = 256, status: str = "",
           init: float | None = None) -> dict[str, Any]:  # fmt: skip
    """A REPORT line as Lambda writes it (its time: the end of the invocation)."""
    end = start + timedelta(milliseconds=duration)
    extra = (f"\tInit Duration: {init:.2f} ms" if init else "") + (f"\tStatus: {status}" if status else "")
    return {
        "timestamp": int(end.timestamp() * 1000),
        "message": f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {int(duration) + 1} ms\t"
        f"Memory Size: {size} MB\tMax Memory Used: {used} MB{extra}\t\n",
        "logStreamName": "2026/11/10/[$LATEST]abc",
        "eventId": f"e-{rid}",
    }


def store(fn: Resource, events: list[dict[str, Any]]) -> None:
    invocations_store(resource=fn, result=parse_events(events), new_after_ms=None)


def function(account: Any, name: str, *, region: str = "eu-west-1", tags: dict[str, str] | None = None) -> Resource:
    return Resource.objects.create(
        organization_id=account.organization_id, account=account, region=region, kind="lambda.function",
        arn=f"arn:aws:lambda:{region}:1:function:{name}", name=name, tags=tags or {},
        config={"memory_mb": 256}, first_seen=NOW, last_seen=NOW,
    )  # fmt: skip


def _add(into: dict[str, Any], row: Any) -> None:
    for c in ADDED:
        into[c] = into.get(c, 0) + getattr(row, c)
    for c in MAXES:
        values = [v for v in (into.get(c), getattr(row, c)) if v is not None]
        into[c] = max(values) if values else None
    for name in HISTOGRAMS:
        merged = into.setdefault(name, {})
        for k, n in getattr(row, name).items():
            merged[int(k)] = merged.get(int(k), 0) + int(n)


def _figures(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _add(out, row)
    return out


def _same(actual: dict[Any, dict[str, Any]], expected: dict[Any, dict[str, Any]]) -> None:
    assert set(actual) == set(expected)
    for key, want in expected.items():
        got = actual[key]
        for c in COUNTS:
            assert got[c] == want[c], (key, c)
        for c in set(ADDED) - set(COUNTS):
            assert got[c] == pytest.approx(want[c], rel=1e-9, abs=1e-9), (key, c)
        for c in MAXES:
            assert got[c] == pytest.approx(want[c]) if want[c] is not None else got[c] is None, (key, c)
        for name in HISTOGRAMS:
            assert got[name] == want[name], (key, name)


def assert_scopes_sum_their_functions(organization: Organization) -> None:
    """Every account × region row, and every current project's, equals the sum of the
    function rows it stands for; and there is no row without one."""
    expected: dict[Any, dict[str, Any]] = defaultdict(dict)
    for r in Rollup.objects.filter(organization_id=organization.pk).select_related("resource"):
        _add(expected[(r.account_id, r.resource.region, r.period, r.bucket)], r)
    actual = {
        (a.account_id, a.region, a.period, a.bucket): _figures(a)
        for a in AccountRollup.objects.filter(organization_id=organization.pk)
    }
    _same(actual, expected)
    for project in Project.objects.filter(organization=organization):
        if not project.rollups_current:
            continue
        members = set(project.resources().values_list("pk", flat=True))
        want: dict[Any, dict[str, Any]] = defaultdict(dict)
        for r in Rollup.objects.filter(resource_id__in=members):
            _add(want[(r.period, r.bucket)], r)
        got = {(p.period, p.bucket): _figures(p) for p in ProjectRollup.objects.filter(project=project)}
        _same(got, want)


@pytest.fixture(autouse=True)
def builds_run_at_once(monkeypatch: Any) -> None:
    """The build a membership change queues runs in the test's process."""
    from monitoring import tasks

    monkeypatch.setattr(tasks.build_project_rollups, "delay", lambda pk: tasks.build_project_rollups(pk))


@pytest.fixture
def fleet(owner: Any) -> dict[str, Any]:
    """Two accounts, two regions, four functions; a project of the team=pay ones."""
    prod, dev = (
        aws_account_start(organization=owner.organization, name="Prod"),
        aws_account_start(organization=owner.organization, name="Dev"),
    )
    fns = {
        "pay-api": function(prod, "pay-api", tags={"team": "pay"}),
        "pay-worker": function(prod, "pay-worker", region="us-east-1", tags={"team": "pay"}),
        "search": function(prod, "search", tags={"team": "find"}),
        "pay-dev": function(dev, "pay-dev", tags={"team": "pay"}),
    }
    project, _ = project_create(organization=owner.organization, name="Payments", tag_key="team", tag_value="pay",
                                name_pattern="")  # fmt: skip
    projects_build_stale()
    return {"prod": prod, "dev": dev, "fns": fns, "project": Project.objects.get(pk=project.pk)}


def traffic(fns: dict[str, Resource], *, hours: int = 30, per_hour: int = 3, seed: int = 0) -> dict[str, list[Any]]:
    """Events of each function over the last `hours`, some failing, cold or with memory to spare."""
    out: dict[str, list[Any]] = {}
    for j, (name, fn) in enumerate(fns.items()):
        events = []
        for h in range(hours):
            for k in range(per_hour):
                i = (h * per_hour + k) * 7 + j + seed
                start = NOW - timedelta(hours=h, minutes=3 + 17 * k + j)
                events.append(
                    report(f"{name}-{seed}-{h}-{k}", start, duration=20.0 + (i * 37) % 900, used=60 + i % 150,
                           status="timeout" if i % 11 == 0 else "", init=150.0 + i % 50 if i % 5 == 0 else None)
                )  # fmt: skip
        out[fn.name] = events
        store(fn, events)
    return out


def test_account_and_project_rollups_are_the_sum_of_their_functions_after_ingest(owner: Any, fleet: Any) -> None:
    traffic(fleet["fns"])

    assert_scopes_sum_their_functions(owner.organization)
    prod_eu = AccountRollup.objects.filter(account=fleet["prod"], region="eu-west-1", period="day")
    assert sum(r.invocations for r in prod_eu) == 2 * 30 * 3  # pay-api and search
    pay = ProjectRollup.objects.filter(project=fleet["project"], period="hour")
    assert sum(r.invocations for r in pay) == 3 * 30 * 3  # pay-api, pay-worker, pay-dev
    assert max(r.memory_max_mb or 0 for r in pay) == max(
        Invocation.objects.filter(
            resource__in=[fleet["fns"][n] for n in ("pay-api", "pay-worker", "pay-dev")]
        ).values_list("max_memory_used_mb", flat=True),
        key=lambda mb: mb or 0,
    )


def test_reingesting_the_same_events_changes_nothing(owner: Any, fleet: Any) -> None:
    events = traffic(fleet["fns"])
    before = {a.pk: _figures(a) for a in AccountRollup.objects.all()}

    for fn in fleet["fns"].values():
        store(fn, events[fn.name])  # a re-read window
        store(fn, events[fn.name][:5])  # and an overlap

    # (sums of floats recomputed in another order may differ in their last bit)
    _same({a.pk: _figures(a) for a in AccountRollup.objects.all()}, before)
    assert_scopes_sum_their_functions(owner.organization)


def test_late_events_for_an_old_hour_reach_the_hour_and_the_day(owner: Any, fleet: Any) -> None:
    traffic(fleet["fns"], hours=3)
    old_hour = (NOW - timedelta(days=2)).replace(minute=0)
    fn = fleet["fns"]["pay-worker"]

    store(fn, [report(f"late-{i}", old_hour + timedelta(minutes=i), used=300) for i in range(4)])

    hour = AccountRollup.objects.get(account=fleet["prod"], region="us-east-1", period="hour", bucket=old_hour)
    day = AccountRollup.objects.get(account=fleet["prod"], region="us-east-1", period="day",
                                    bucket=old_hour.replace(hour=0))  # fmt: skip
    assert (hour.invocations, day.invocations, hour.memory_max_mb) == (4, 4, 300)
    assert sum(hour.memory_histogram.values()) == 4
    assert_scopes_sum_their_functions(owner.organization)


def test_a_row_moving_to_another_hour_lowers_the_maxima_it_held(owner: Any, fleet: Any) -> None:
    fn, other = fleet["fns"]["pay-api"], fleet["fns"]["search"]
    hour = (NOW - timedelta(hours=5)).replace(minute=0)
    store(fn, [report("big", hour + timedelta(minutes=10), duration=5000, used=240), report("small", hour, used=90)])
    store(other, [report("o", hour + timedelta(minutes=20), duration=300, used=120)])
    row = AccountRollup.objects.get(account=fleet["prod"], region="eu-west-1", period="hour", bucket=hour)
    assert (row.duration_max_ms, row.memory_max_mb) == (5000, 240)

    # A better view of "big" corrects its start into the previous hour (what the store does
    # for a start first known only from its lines).
    moved = hour - timedelta(minutes=30)
    Invocation.objects.filter(resource=fn, request_id="big").update(started_at=moved)
    rollups_recompute(resource=fn, times=[hour, moved])

    row.refresh_from_db()
    assert (row.invocations, row.duration_max_ms, row.memory_max_mb) == (2, 300, 120)
    assert_scopes_sum_their_functions(owner.organization)


def test_retention_deletes_the_same_buckets_everywhere(owner: Any, fleet: Any) -> None:
    traffic(fleet["fns"], hours=2)
    long_ago = NOW - timedelta(days=500)
    store(fleet["fns"]["search"], [report("ancient", long_ago)])
    assert AccountRollup.objects.filter(bucket__lt=NOW - timedelta(days=400)).exists()

    summary = prune(now=NOW)

    assert summary.rollups_deleted > 0
    assert not AccountRollup.objects.filter(bucket__lt=NOW - timedelta(days=400)).exists()
    assert_scopes_sum_their_functions(owner.organization)


def test_removing_an_account_rebuilds_the_projects_its_functions_were_in(
    owner: Any, fleet: Any, django_capture_on_commit_callbacks: Any
) -> None:
    traffic(fleet["fns"], hours=4)
    with django_capture_on_commit_callbacks(execute=True):
        aws_account_remove(account=fleet["dev"])

    project = Project.objects.get(pk=fleet["project"].pk)
    assert project.rollups_current
    assert sum(r.invocations for r in ProjectRollup.objects.filter(project=project, period="day")) == 2 * 4 * 3
    assert not AccountRollup.objects.filter(account_id=fleet["dev"].pk).exists()
    assert_scopes_sum_their_functions(owner.organization)


def test_a_retagged_function_moves_between_projects_and_the_overview_is_right_meanwhile(
    owner: Any, fleet: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from monitoring import dashboard

    traffic(fleet["fns"], hours=4)
    search = fleet["fns"]["search"]
    project = fleet["project"]
    snapshot = DiscoveryResult(region="eu-west-1")
    for fn in Resource.objects.filter(account=fleet["prod"], region="eu-west-1"):
        snapshot.snapshots.append(_snapshot(fn, tags={"team": "pay"} if fn == search else fn.tags))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resources_sync(account=fleet["prod"], result=snapshot, now=timezone.now())

    # Stale until rebuilt: the overview of the project reads its members' own rollups.
    project.refresh_from_db()
    assert not project.rollups_current
    period = dashboard.Period("custom", NOW - timedelta(hours=6), NOW, NOW)
    scope = dashboard.Scope(owner.organization, project=project.pk)
    assert scope.source().table == "monitoring_rollup"
    assert dashboard.kpis(scope, period)["invocations"] == 4 * 4 * 3
    for callback in callbacks:
        callback()
    project.refresh_from_db()
    assert project.rollups_current and dashboard.Scope(owner.organization, project=project.pk).source().table == (
        "monitoring_projectrollup"
    )
    assert dashboard.kpis(scope, period)["invocations"] == 4 * 4 * 3
    assert_scopes_sum_their_functions(owner.organization)


def _snapshot(fn: Resource, *, tags: dict[str, str]) -> Any:
    from kinds.describe import Snapshot

    return Snapshot(kind=fn.kind, arn=fn.arn, name=fn.name, config=fn.config, tags=tags)


def test_regrouping_a_project_rebuilds_it(owner: Any, fleet: Any, django_capture_on_commit_callbacks: Any) -> None:
    traffic(fleet["fns"], hours=2)
    project = fleet["project"]
    with django_capture_on_commit_callbacks(execute=True):
        project_update(project=project, name="Payments", tag_key="", tag_value="", name_pattern="*-api")
    assert Project.objects.get(pk=project.pk).rollups_current
    assert sum(r.invocations for r in ProjectRollup.objects.filter(project=project, period="day")) == 2 * 3
    assert_scopes_sum_their_functions(owner.organization)


@pytest.mark.parametrize(
    ("tag_key", "tag_value", "pattern"),
    [("team", "pay", ""), ("team", "", ""), ("", "", "pay-*"), ("", "", "*_x%"), ("", "", "pay-?ev"),
     ("team", "pay", "*api"), ("", "", "a\\b*"), ("", "", "PAY-*")],
)  # fmt: skip
def test_a_project_includes_in_python_exactly_what_it_selects_in_sql(
    owner: Any, tag_key: str, tag_value: str, pattern: str
) -> None:
    account = aws_account_start(organization=owner.organization, name="A")
    names = ["pay-api", "pay-dev", "pay_x%", "payXxx", "a\\bc", "search", "PAY-API", "pay-\nz"]
    tag_sets: list[dict[str, Any]] = [{"team": "pay"}, {"team": "payments"}, {}, {"team": ""}, {"Team": "pay"}]
    for i, name in enumerate(names):
        function(account, name, tags=tag_sets[i % len(tag_sets)])
    project = Project(organization=owner.organization, name="p", tag_key=tag_key, tag_value=tag_value,
                      name_pattern=pattern)  # fmt: skip

    in_sql = set(project.resources().values_list("pk", flat=True))
    in_python = {r.pk for r in Resource.objects.filter(account=account) if project.includes(tags=r.tags, name=r.name)}
    assert in_python == in_sql


@pytest.mark.django_db(transaction=True)
def test_concurrent_ingests_of_one_account_add_up(owner: Any) -> None:
    account = aws_account_start(organization=owner.organization, name="Prod")
    fns = [function(account, f"fn-{i}") for i in range(4)]
    hour = (timezone.now() - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    errors: list[BaseException] = []
    for table in ("monitoring_invocation", "monitoring_logline"):  # as the beat does ahead of time
        ensure_partitions(table, [hour.date()])

    def ingest(fn: Resource, n: int) -> None:
        try:
            for batch in range(3):
                store(fn, [report(f"{fn.name}-{batch}-{k}", hour + timedelta(minutes=batch * 10 + k), used=50 + n * 10 + k)
                           for k in range(5)])  # fmt: skip
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ingest, args=(fn, i)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    row = AccountRollup.objects.get(account=account, region="eu-west-1", period="hour", bucket=hour)
    assert row.invocations == 4 * 3 * 5 and row.memory_max_mb == 50 + 30 + 4
    assert_scopes_sum_their_functions(owner.organization)
    connection.close()


def test_rollups_built_in_bulk_equal_those_the_ingest_path_keeps(owner: Any, fleet: Any) -> None:
    """Bulk-written rows (a backfill, the benchmark's older days) get the same rollups from
    `function_rollups_build` as ingestion would have given them."""
    from monitoring.store.rollups import function_rollups_build

    traffic(fleet["fns"], hours=50)
    kept = {(r.resource_id, r.period, r.bucket): _figures(r) for r in Rollup.objects.all()}
    Rollup.objects.all().delete()
    first_day = (NOW - timedelta(hours=50)).replace(hour=0, minute=0)
    function_rollups_build(start=first_day, end=first_day + timedelta(days=2))  # whole days, one pass
    function_rollups_build(start=first_day + timedelta(days=2), end=NOW)  # the rest of today

    _same({(r.resource_id, r.period, r.bucket): _figures(r) for r in Rollup.objects.all()}, kept)


def test_scope_rollups_rebuilt_from_raw_rows_or_from_function_rollups_are_the_same(owner: Any, fleet: Any) -> None:
    from monitoring.store.rollups import projects_built, scope_rollups_build

    traffic(fleet["fns"], hours=40)
    first, end = (NOW - timedelta(hours=40)).replace(hour=0, minute=0), NOW + timedelta(hours=1)
    AccountRollup.objects.all().delete()
    ProjectRollup.objects.all().delete()

    scope_rollups_build(organization_id=owner.organization.pk, start=first, end=end, from_raw=True)
    projects_built(organization_id=owner.organization.pk)
    assert_scopes_sum_their_functions(owner.organization)
    from_raw = {(a.account_id, a.region, a.period, a.bucket): _figures(a) for a in AccountRollup.objects.all()}

    scope_rollups_build(organization_id=owner.organization.pk, start=first, end=end)
    assert_scopes_sum_their_functions(owner.organization)
    _same({(a.account_id, a.region, a.period, a.bucket): _figures(a) for a in AccountRollup.objects.all()}, from_raw)


@pytest.mark.parametrize("exclusive", [True, False])
def test_days_built_one_by_one_give_the_same_rollups_and_hold_the_organisations_lock_as_asked(
    owner: Any, fleet: Any, exclusive: bool
) -> None:
    """A seed builds its days one call each, two at a time on two connections: not
    exclusive, each call holds the organisation's lock shared (still keeping project builds
    out), so that the calls of different days do not wait for each other; the rollups are
    those ingestion kept either way."""
    from monitoring.store.rollups import LOCK_ORGANIZATION, _key, bulk_days_build

    traffic(fleet["fns"], hours=40)
    kept = {(r.resource_id, r.period, r.bucket): _figures(r) for r in Rollup.objects.all()}
    Rollup.objects.all().delete()
    AccountRollup.objects.all().delete()
    ProjectRollup.objects.all().delete()

    day = (NOW - timedelta(hours=40)).replace(hour=0, minute=0)
    while day <= NOW:
        bulk_days_build(
            organization_id=owner.organization.pk, start=day, end=day + timedelta(days=1), exclusive=exclusive
        )
        day += timedelta(days=1)

    _same({(r.resource_id, r.period, r.bucket): _figures(r) for r in Rollup.objects.all()}, kept)
    assert_scopes_sum_their_functions(owner.organization)
    # The lock taken, on an organisation whose lock nothing else took in this test (a
    # transaction's advisory locks last until the test's transaction ends).
    other = Organization.objects.create(name="Other")
    bulk_days_build(organization_id=other.pk, start=NOW, end=NOW + timedelta(hours=1), exclusive=exclusive)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
            "AND classid = %s AND objid = %s AND objsubid = 2",
            [LOCK_ORGANIZATION, _key(other.pk)],
        )
        assert [mode for (mode,) in cursor.fetchall()] == ["ExclusiveLock" if exclusive else "ShareLock"]


def test_whole_days_built_in_one_pass_equal_function_then_scope_rollups_from_raw_rows(owner: Any, fleet: Any) -> None:
    """`bulk_days_build` (a benchmark's bulk days) gives every function, account × region and
    project the rollups that ingestion kept for them, and that the two separate builds give;
    another organisation's scopes are left alone."""
    from monitoring.store.rollups import bulk_days_build, projects_built

    other = Organization.objects.create(name="Other")
    elsewhere = function(aws_account_start(organization=other, name="Else"), "else")
    traffic({**fleet["fns"], "else": elsewhere}, hours=40)
    kept = {(r.resource_id, r.period, r.bucket): _figures(r) for r in Rollup.objects.all()}
    others = {(a.account_id, a.region, a.period, a.bucket): _figures(a) for a in AccountRollup.objects.all()}
    others = {k: v for k, v in others.items() if k[0] == elsewhere.account_id}
    Rollup.objects.filter(organization_id=owner.organization.pk).delete()
    AccountRollup.objects.filter(organization_id=owner.organization.pk).delete()
    ProjectRollup.objects.all().delete()

    first = (NOW - timedelta(hours=40)).replace(hour=0, minute=0)
    bulk_days_build(organization_id=owner.organization.pk, start=first, end=NOW + timedelta(hours=1))
    projects_built(organization_id=owner.organization.pk)

    _same({(r.resource_id, r.period, r.bucket): _figures(r) for r in Rollup.objects.all()}, kept)
    assert_scopes_sum_their_functions(owner.organization)
    assert ProjectRollup.objects.filter(project=fleet["project"]).exists()
    _same(
        {
            (a.account_id, a.region, a.period, a.bucket): _figures(a)
            for a in AccountRollup.objects.filter(account_id=elsewhere.account_id)
        },
        others,
    )
