from __future__ import annotations

from celery import shared_task

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


@shared_task(name="alerts.send_digests", soft_time_limit=600, time_limit=660)
def send_digests() -> int:
    """Beat: send the digests due this hour (each period once, however often this runs)."""
    from .digests import digest_send, due

    return sum(1 for item in due() if digest_send(item))
