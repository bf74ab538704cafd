from __future__ import annotations

import re

from django.contrib.postgres.search import SearchVectorField
from django.db import models

import kinds
from accounts.models import AwsAccount, Organization

from .parsing.lambda_logs import INVOCATION_MEASURES as PARSED_MEASURES


class Resource(models.Model):
    """One discovered AWS resource and its latest configuration."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="resources")
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="resources")
    region = models.CharField(max_length=32)
    # A callable: the registry is the one list, and a new kind needs no migration.
    kind = models.CharField(max_length=32, choices=kinds.choices)
    arn = models.CharField(max_length=2048)
    name = models.CharField(max_length=512)
    config = models.JSONField(default=dict)
    tags = models.JSONField(default=dict)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    # Set when discovery no longer finds it, or when the account's filters exclude it
    # (`excluded`); cleared when it comes back. Either way it is no longer collected.
    gone_at = models.DateTimeField(null=True, blank=True)
    excluded = models.BooleanField(default=False)
    # Incremental discovery (docs/collection.md, "Discovery"): what the listing said of the
    # resource when its details were last read (Lambda: LastModified and RevisionId), and when.
    # An unchanged listing reuses the stored details until the daily refresh comes round.
    detail_fingerprint = models.CharField(max_length=200, blank=True, default="")
    details_read_at = models.DateTimeField(null=True, blank=True)
    # The CloudWatch API budget (docs/own-cost.md, "A budget"): how many times its kind's
    # interval the resource's metrics are polled at (1, 2, 5, 15), its activity in the day the
    # plan was made on, and when its metrics were last polled.
    poll_multiplier = models.PositiveSmallIntegerField(default=1, db_default=1)
    poll_activity = models.FloatField(null=True, blank=True)
    metrics_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["account", "arn"], name="resource_unique_arn_per_account")]
        indexes = [
            models.Index(fields=["organization", "kind", "name"]),
            models.Index(fields=["account", "region", "kind"]),
        ]

    def __str__(self) -> str:
        # get_kind_display() without normalising the choices again on every call (a tenth of
        # a millisecond each: a second for a list of ten thousand resources).
        return f"{kinds.labels().get(self.kind, self.kind)} {self.name}"

    @property
    def details(self) -> str:
        """The resources list's one-line summary, as the resource's kind writes it."""
        return kinds.details(self.kind, self.config)


class ResourceChange(models.Model):
    """A configuration change seen by discovery: drawn as a deployment marker on charts."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="changes")
    detected_at = models.DateTimeField()
    # {"field.path": [old, new], ...}; the first sighting is not a change.
    diff = models.JSONField()

    class Meta:
        ordering = ["-detected_at"]
        indexes = [models.Index(fields=["resource", "-detected_at"])]

    def __str__(self) -> str:
        return f"{self.resource_id} changed {', '.join(self.diff)} at {self.detected_at:%Y-%m-%d %H:%M}"


# --- Time series (docs/architecture.md §6) ---------------------------------------------------------------------
# Invocations and log lines are PostgreSQL tables partitioned by day (see migration 0002 and
# monitoring/store/partitions.py): retention drops whole partitions, never deletes row by row. So
# their primary key in the database is (id, time) and they hold plain ids, not foreign-key
# constraints: removing an account deletes its rows explicitly (monitoring.store.invocations.account_data_purge).


class InvocationStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    ERROR = "error", "Error"
    TIMEOUT = "timeout", "Timeout"
    OUT_OF_MEMORY = "out_of_memory", "Out of memory"
    UNKNOWN = "unknown", "Unknown"


# What the logs say of an invocation, named alike in the parser's ParsedInvocation, in this
# table and in the API: storage copies them as they are and the API shows them as they are.
INVOCATION_MEASURES = PARSED_MEASURES  # the parser declares them once (monitoring/parsing)


class Invocation(models.Model):
    """One execution of a function, from its logs. Identified by (function, request id, attempt)."""

    id = models.BigAutoField(primary_key=True)
    organization_id = models.BigIntegerField()
    account_id = models.BigIntegerField()
    resource = models.ForeignKey(Resource, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    request_id = models.CharField(max_length=64)
    attempt = models.SmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=InvocationStatus.choices)
    started_at = models.DateTimeField()
    # How started_at is known: "start" (the START line), "report" (REPORT time − Duration,
    # exact to a few ms) or "lines" (the earliest line seen: only a bound, until a re-read
    # brings the START or the REPORT).
    start_source = models.CharField(max_length=8, default="start", db_default="start")
    ended_at = models.DateTimeField(null=True)
    duration_ms = models.FloatField(null=True)
    billed_duration_ms = models.FloatField(null=True)
    memory_size_mb = models.IntegerField(null=True)
    max_memory_used_mb = models.IntegerField(null=True)
    init_duration_ms = models.FloatField(null=True)
    restore_duration_ms = models.FloatField(null=True)
    billed_restore_duration_ms = models.FloatField(null=True)
    cold_start = models.BooleanField(default=False)
    xray_trace_id = models.CharField(max_length=64, null=True)
    error_type = models.CharField(max_length=256, null=True)
    error_message = models.TextField(null=True)
    log_stream = models.CharField(max_length=512)
    complete = models.BooleanField(default=False)
    cost_usd = models.FloatField(null=True)
    error_group_id = models.BigIntegerField(null=True)

    class Meta:
        managed = True
        indexes = [models.Index(fields=["resource", "started_at"], name="invocation_resource_time")]

    def __str__(self) -> str:
        return f"{self.request_id} ({self.status})"


class LogLine(models.Model):
    """One CloudWatch Logs event of a function. Its identity is (function, time, event id),
    unique in the database (an overlap re-read stores nothing twice); `id` orders lines of
    the same millisecond and pages the search, drawn from a sequence but not a constraint
    (an index per line costs ingestion more than it gives: nothing looks a line up by id).
    Searched through `LogBlock`."""

    id = models.BigAutoField(primary_key=True)
    resource_id = models.BigIntegerField()
    account_id = models.BigIntegerField()
    invocation_id = models.BigIntegerField(null=True)
    request_id = models.CharField(max_length=64, null=True)
    ts = models.DateTimeField()
    log_stream = models.CharField(max_length=512)
    event_id = models.CharField(max_length=64)
    message = models.TextField()

    def __str__(self) -> str:
        return self.message[:80]


class LogBlock(models.Model):
    """Up to `BLOCK_LINES` log lines of one function, written together within one UTC day,
    and the keys of their words: what log search reads first (monitoring/logsearch/keys.py).
    Partitioned by day like the lines, so retention drops both together."""

    id = models.BigAutoField(primary_key=True)
    account_id = models.BigIntegerField()
    resource_id = models.BigIntegerField()
    ts_min = models.DateTimeField()
    ts_max = models.DateTimeField()
    lines = models.IntegerField()
    keys = SearchVectorField()

    def __str__(self) -> str:
        return f"{self.resource_id} {self.ts_min:%Y-%m-%d %H:%M}–{self.ts_max:%H:%M} ({self.lines} lines)"


class ErrorGroupStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"


class ErrorGroup(models.Model):
    """One bug: invocations failing with the same fingerprint on one function."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="error_groups")
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="error_groups")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="error_groups")
    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=InvocationStatus.choices)  # error | timeout | out_of_memory
    error_type = models.CharField(max_length=256, blank=True)
    message = models.TextField(blank=True)  # normalised
    sample_message = models.TextField(blank=True)
    frames = models.JSONField(default=list)
    count = models.BigIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ErrorGroupStatus.choices, default=ErrorGroupStatus.OPEN)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    regression = models.BooleanField(default=False)
    sample_invocation_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "fingerprint"], name="errorgroup_unique_per_function")
        ]
        indexes = [models.Index(fields=["organization", "status", "-last_seen"])]

    def __str__(self) -> str:
        return f"{self.error_type or self.kind}: {self.message[:60]}"


class RollupPeriod(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class RollupFigures(models.Model):
    """What every rollup holds for its bucket (an hour or a UTC day), whatever it sums:
    one function, one account × region, or one project (docs/architecture.md §6)."""

    Period = RollupPeriod

    organization_id = models.BigIntegerField()
    period = models.CharField(max_length=4, choices=RollupPeriod.choices)
    bucket = models.DateTimeField()
    invocations = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)  # error + timeout + out_of_memory
    error_count = models.BigIntegerField(default=0)
    timeouts = models.BigIntegerField(default=0)
    out_of_memory = models.BigIntegerField(default=0)
    unknown = models.BigIntegerField(default=0)
    cold_starts = models.BigIntegerField(default=0)
    duration_sum_ms = models.FloatField(default=0)
    duration_max_ms = models.FloatField(default=0)
    duration_count = models.BigIntegerField(default=0)
    # {bucket index: count} over log-spaced duration buckets (monitoring/histogram.py).
    histogram = models.JSONField(default=dict)
    billed_ms_sum = models.FloatField(default=0)
    gb_seconds = models.FloatField(default=0)
    cost_usd = models.FloatField(default=0)
    # Memory used (REPORT's Max Memory Used): the highest, the highest as a percentage of
    # the memory size the invocation ran with, and {bucket index: count} of the MB (same
    # log-spaced buckets). None / empty where no invocation reported it.
    memory_max_mb = models.IntegerField(null=True)
    memory_max_percent = models.FloatField(null=True)
    memory_histogram = models.JSONField(default=dict, db_default={})
    # {bucket index: count} of the cold starts' Init Duration (ms).
    init_histogram = models.JSONField(default=dict, db_default={})

    class Meta:
        abstract = True


# What the top lists sum: the rollup indexes carry them (Rollup.Meta).
TOP_LIST_FIGURES = ["errors", "duration_sum_ms", "duration_count", "cost_usd", "cold_starts"]


class Rollup(RollupFigures):
    """Per function per hour (and per day): what long windows read instead of raw invocations."""

    account_id = models.BigIntegerField()
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="rollups")

    class Meta:
        # Covering what the top lists sum, both ways: of some functions (a project's), from
        # this one; of every function of an organisation, from the next. Read from the index
        # alone, not from rows three histograms wide.
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "period", "bucket"],
                name="rollup_unique_bucket",
                include=["organization_id", "account_id", *TOP_LIST_FIGURES],
            )
        ]
        indexes = [
            models.Index(
                fields=["organization_id", "period", "bucket"],
                include=["resource", "account_id", *TOP_LIST_FIGURES],
                name="rollup_org_time_covering",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.period} {self.bucket:%Y-%m-%d %H:00}"


class AccountRollup(RollupFigures):
    """The sum of an account's functions in one region, per hour and per day: what the
    overview, the digests and the API read for an organisation, an account or a region
    (a few rows per bucket, whatever the number of functions)."""

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="rollups")
    region = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "period", "bucket"], name="accountrollup_unique_bucket"
            )
        ]
        indexes = [models.Index(fields=["organization_id", "period", "bucket"], name="accountrollup_org_time")]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region} {self.period} {self.bucket:%Y-%m-%d %H:00}"


class ProjectRollup(RollupFigures):
    """The sum of a project's functions per hour and per day, valid while its project's
    `rollups_built` equals its `rollups_generation` (monitoring/store/rollups.py)."""

    project = models.ForeignKey("Project", on_delete=models.CASCADE, related_name="rollups")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "period", "bucket"], name="projectrollup_unique_bucket")
        ]

    def __str__(self) -> str:
        return f"project {self.project_id} {self.period} {self.bucket:%Y-%m-%d %H:00}"


class LogCheckpoint(models.Model):
    """Where the next poll of one function's log group starts (and what is still open)."""

    resource = models.OneToOneField(Resource, on_delete=models.CASCADE, related_name="log_checkpoint")
    # Events up to here are stored; the next poll re-reads from `resume_from_ms`, which
    # sits before the earliest still-open invocation so that it can be completed.
    last_event_ms = models.BigIntegerField(default=0)
    resume_from_ms = models.BigIntegerField(default=0)
    # The end of the last window read: a minute whose Invocations datapoint ends (plus the
    # settling time) before it is already read, so an idle function costs no call.
    polled_to_ms = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.resource_id} @ {self.last_event_ms}"


class Trace(models.Model):
    """The X-Ray trace of one invocation (docs/traces.md): its spans, compact (see
    `monitoring.collection.traces.Span`). Partitioned by day on the invocation's start, like
    invocations, so retention drops both together. `found` is False when X-Ray had no trace
    for an id we asked for (not sampled after all, or expired): the page says so."""

    id = models.BigAutoField(primary_key=True)
    organization_id = models.BigIntegerField()
    account_id = models.BigIntegerField()
    resource_id = models.BigIntegerField()
    invocation_id = models.BigIntegerField()
    trace_id = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    fetched_at = models.DateTimeField()
    reason = models.CharField(max_length=8)  # failed | slowest | sample
    found = models.BooleanField(default=True)
    spans = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.trace_id} ({self.reason})"


class TraceCheckpoint(models.Model):
    """Per account × region: invocations started before `considered_to` have had their
    chance at a trace; an uncovered one after it is "not fetched yet"."""

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="trace_checkpoints")
    region = models.CharField(max_length=32)
    considered_to = models.DateTimeField()
    last_run_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "region"], name="tracecheckpoint_unique_unit")]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region} traced to {self.considered_to:%H:%M}"


class MetricPoint(models.Model):
    """One CloudWatch datapoint: (resource, metric, statistic, period start) → value.
    Partitioned by day like invocations. Resource 0 is the account itself, whose series are
    one per region (Lambda's account concurrency is a regional figure): `region` names it.
    A resource's points leave `region` empty, the resource has one."""

    id = models.BigAutoField(primary_key=True)
    account_id = models.BigIntegerField()
    resource_id = models.BigIntegerField()
    region = models.CharField(max_length=32, default="", blank=True)
    metric = models.CharField(max_length=200)  # "AWS/Lambda:Duration"
    stat = models.CharField(max_length=16)
    period = models.IntegerField()  # seconds
    ts = models.DateTimeField()
    value = models.FloatField()

    def __str__(self) -> str:
        return f"{self.metric} {self.stat} {self.ts:%H:%M} = {self.value}"


class MetricCheckpoint(models.Model):
    """Per account × region × resource kind: CloudWatch periods up to `collected_until` are stored."""

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="metric_checkpoints")
    region = models.CharField(max_length=32)
    kind = models.CharField(max_length=32)
    collected_until = models.DateTimeField()
    last_polled_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "region", "kind"], name="metriccheckpoint_unique_unit")
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region}/{self.kind} until {self.collected_until:%H:%M}"


class AccountRegion(models.Model):
    """What collection knows of one account × region beyond its resources: Lambda's account
    settings (read once per discovery) and how many resources the account's filters left out."""

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="region_states")
    region = models.CharField(max_length=32)
    # lambda:GetAccountSettings → AccountLimit: the regional concurrency quota, and what the
    # functions' reservations leave of it for every other function.
    lambda_concurrency_limit = models.IntegerField(null=True, blank=True)
    lambda_unreserved_concurrency = models.IntegerField(null=True, blank=True)
    lambda_settings_read_at = models.DateTimeField(null=True, blank=True)
    # Resources the last discovery listed but the include/exclude filters left out.
    excluded_resources = models.IntegerField(default=0)
    discovered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["region"]
        constraints = [models.UniqueConstraint(fields=["account", "region"], name="accountregion_unique")]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region}"


class Project(models.Model):
    """A saved group of resources: by tag, by name pattern, or both."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=120)
    tag_key = models.CharField(max_length=128, blank=True)
    tag_value = models.CharField(max_length=256, blank=True)
    name_pattern = models.CharField(max_length=200, blank=True, help_text="Shell-style, e.g. checkout-*")
    created_at = models.DateTimeField(auto_now_add=True)
    # Its rollups (ProjectRollup) sum its members' only while `rollups_built` equals
    # `rollups_generation`: anything that may change who its members are bumps the
    # generation, and a rebuild sets `rollups_built` (monitoring/store/rollups.py).
    rollups_generation = models.PositiveIntegerField(default=1)
    rollups_built = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="project_unique_name")]

    def __str__(self) -> str:
        return self.name

    def resources(self) -> models.QuerySet[Resource]:
        qs = Resource.objects.filter(organization_id=self.organization_id)
        if self.tag_key:
            qs = (
                qs.filter(tags__contains={self.tag_key: self.tag_value})
                if self.tag_value
                else qs.filter(tags__has_key=self.tag_key)
            )
        if self.name_pattern:
            like = self.name_pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            qs = qs.extra(where=["name LIKE %s"], params=[like.replace("*", "%").replace("?", "_")])
        return qs

    def includes(self, *, tags: object, name: str) -> bool:
        """Whether a resource with these tags and this name is a member: `resources()`
        in Python, for one resource (tested to agree)."""
        if self.tag_key:
            if not isinstance(tags, dict) or self.tag_key not in tags:
                return False
            if self.tag_value and tags[self.tag_key] != self.tag_value:
                return False
        if self.name_pattern:
            regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in self.name_pattern)
            return re.fullmatch(regex, name, flags=re.DOTALL) is not None
        return True

    @property
    def rollups_current(self) -> bool:
        return self.rollups_built == self.rollups_generation


class UsageDay(models.Model):
    """Our AWS calls in one account × region on one UTC day, by service and operation, and
    what is billed with them (GetMetricData's metrics, Firehose's records and bytes): what
    aws/usage.py counts in Redis, added here every few minutes (`monitoring.flush_usage`), so
    that it outlives a Redis restart and Redis's 35 days. Kept as long as the organisation's
    rollups."""

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=32, blank=True)  # empty: pushed, region unknown
    day = models.DateField()
    service = models.CharField(max_length=64)
    operation = models.CharField(max_length=128)
    unit = models.CharField(max_length=16)  # calls, metrics, records, bytes, billed_bytes
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "day", "service", "operation", "unit"], name="usageday_unique_counter"
            )
        ]
        indexes = [models.Index(fields=["account", "day"], name="usageday_account_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.region} {self.service}:{self.operation} {self.value} {self.unit}"


class UsageFlush(models.Model):
    """A batch of counts taken from Redis and added to UsageDay, by the id the flush gave it:
    a flush retried after a crash adds nothing twice."""

    id = models.CharField(max_length=64, primary_key=True)
    flushed_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.id
