"""Rules written with the old fixed metric list now name a metric of the kinds' catalogue
(or a derived figure) and its statistic; incidents get their rule's name."""

from __future__ import annotations

from typing import Any

from django.db import migrations

# old metric id -> (metric, statistic)
OLD_METRICS = {
    "duration_max": ("duration", "Maximum"),
    "duration_avg": ("duration", "Average"),
    "throttles": ("AWS/Lambda:Throttles", "Sum"),
    "iterator_age": ("AWS/Lambda:IteratorAge", "Maximum"),
    "sqs_age": ("AWS/SQS:ApproximateAgeOfOldestMessage", "Maximum"),
}


def forwards(apps: Any, schema_editor: Any) -> None:
    AlertRule = apps.get_model("alerts", "AlertRule")
    Incident = apps.get_model("alerts", "Incident")
    for old, (metric, statistic) in OLD_METRICS.items():
        AlertRule.objects.filter(metric=old).update(metric=metric, statistic=statistic)
    for rule in AlertRule.objects.only("pk", "name").iterator():
        Incident.objects.filter(rule_id=rule.pk, rule_name="").update(rule_name=rule.name)


def backwards(apps: Any, schema_editor: Any) -> None:
    AlertRule = apps.get_model("alerts", "AlertRule")
    for old, (metric, statistic) in OLD_METRICS.items():
        AlertRule.objects.filter(metric=metric, statistic=statistic).update(metric=old, statistic="")


class Migration(migrations.Migration):
    dependencies = [("alerts", "0006_rule_conditions_and_incident_triage")]

    operations = [migrations.RunPython(forwards, backwards)]
