from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from accounts.models import AwsAccount

from .anomalies.services import anomalies_detect
from .engine import insights_run


@shared_task(name="insights.run_account", soft_time_limit=300, time_limit=360)
def run_account(account_id: int) -> int:
    account = AwsAccount.objects.filter(pk=account_id).exclude(status=AwsAccount.Status.PAUSED).first()
    return len(insights_run(account).failing) if account else 0


@shared_task(name="insights.run_all", soft_time_limit=60, time_limit=120)
def run_all() -> int:
    """Beat: queue one evaluation per connected account."""
    ids = list(AwsAccount.objects.filter(status=AwsAccount.Status.CONNECTED).values_list("pk", flat=True))
    for pk in ids:
        run_account.apply_async((pk,), expires=600)
    return len(ids)


@shared_task(name="insights.detect_anomalies", soft_time_limit=300, time_limit=360)
def detect_anomalies(account_id: int) -> int:
    account = AwsAccount.objects.filter(pk=account_id).exclude(status=AwsAccount.Status.PAUSED).first()
    return anomalies_detect(account=account, now=timezone.now()).anomalies if account else 0


@shared_task(name="insights.detect_anomalies_all", soft_time_limit=60, time_limit=120)
def detect_anomalies_all() -> int:
    """Beat, hourly: queue one anomaly detection per connected account."""
    ids = list(AwsAccount.objects.filter(status=AwsAccount.Status.CONNECTED).values_list("pk", flat=True))
    for pk in ids:
        detect_anomalies.apply_async((pk,), expires=3000)
    return len(ids)
