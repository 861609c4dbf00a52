"""The periodic relay (every minute, see migration 0002)."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def relay_outbox(limit: int = 500) -> dict[str, int]:
    """Send the outbox rows that are still pending, and drop those sent a week ago. Safe to
    run any number of times, also concurrently: each row is sent under its own row lock and
    marked once."""
    counts = services.outbox_relay(limit=limit)
    counts["pruned"] = services.outbox_prune()
    return counts
