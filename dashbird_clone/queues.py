"""The Celery queues, one per kind of work, so that each scales on its own workers
(README, "Deployment"), and which task goes where. Plain data: settings, `make demo` and the
compose file's workers read it.

- discovery: the beat's fan-out, region listings, discovery runs (and a new account's first
  collection);
- metrics: CloudWatch metric polls;
- logs: the log poll chains (each unit's poll schedules its next);
- insights: the checks; alerts: rule evaluation, notifications, digests;
- the default queue, "celery": housekeeping (the heartbeat, partitions, retention, project
  rollup builds).

A worker started without `-Q` consumes only the default queue. Push ingestion has no queue:
the web process stores a Firehose delivery before answering it (Firehose retries what it was
not told is stored), so it scales with the web processes.
"""

from __future__ import annotations

DEFAULT_QUEUE = "celery"
QUEUES = (DEFAULT_QUEUE, "discovery", "metrics", "logs", "insights", "alerts")

TASK_ROUTES = {
    "monitoring.discovery_fan_out": {"queue": "discovery"},
    "monitoring.refresh_regions": {"queue": "discovery"},
    "monitoring.collect_account_region": {"queue": "discovery"},
    "monitoring.discover_account_region": {"queue": "discovery"},
    "monitoring.poll_metrics": {"queue": "metrics"},
    "monitoring.poll_plans": {"queue": "metrics"},
    "monitoring.poll_logs": {"queue": "logs"},
    "insights.*": {"queue": "insights"},
    "alerts.*": {"queue": "alerts"},
}
