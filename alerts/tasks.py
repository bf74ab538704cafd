from __future__ import annotations

from celery import shared_task

from .delivery import TEST_TIMEOUT_SECONDS, channel_test_run
from .recipients import recipient_link_send
from .services import event_dispatch, pending_events, rules_evaluate


@shared_task(name="alerts.evaluate", soft_time_limit=120, time_limit=180)
def evaluate_rules() -> int:
    """Beat: evaluate every enabled rule (a failing one is recorded and skipped), then queue
    the deliveries of the events written."""
    rules_evaluate()
    return dispatch_pending()


@shared_task(name="alerts.dispatch_pending", soft_time_limit=60, time_limit=120)
def dispatch_pending() -> int:
    ids = pending_events()
    for pk in ids:
        dispatch_event.apply_async((pk,), expires=3600)
    return len(ids)


# Channel sends retry inside (up to ~3 minutes with Retry-After): give the task room.
@shared_task(name="alerts.dispatch_event", soft_time_limit=300, time_limit=360)
def dispatch_event(event_id: int) -> int:
    return len(event_dispatch(event_id))


# A channel test: one attempt, never retried and never redelivered (acks_late off: a worker
# lost mid-send must not send the test again), ended after TEST_TIMEOUT_SECONDS.
@shared_task(
    name="alerts.channel_test",
    acks_late=False,
    max_retries=0,
    soft_time_limit=TEST_TIMEOUT_SECONDS,
    time_limit=TEST_TIMEOUT_SECONDS + 5,
)
def send_channel_test(notification_id: int) -> str:
    notification = channel_test_run(notification_id=notification_id)
    return notification.status if notification is not None else "not pending"


@shared_task(name="alerts.recipient_link", acks_late=False, max_retries=0, soft_time_limit=30, time_limit=40)
def send_recipient_link(recipient_id: int) -> bool:
    return recipient_link_send(recipient_id=recipient_id)


@shared_task(name="alerts.send_digests", soft_time_limit=600, time_limit=660)
def send_digests() -> int:
    """Beat: send the digests due this hour (each period once, however often this runs)."""
    from .digests import digest_send, due

    return sum(1 for item in due() if digest_send(item))
