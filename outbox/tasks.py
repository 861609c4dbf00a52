"""The periodic relay (every minute, see migration 0002)."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def relay_outbox(limit: int = 500) -> dict[str, int]:
    """Send the outbox rows that are still pending, and drop those sent a week ago. Safe to
    run any number of times, also concurrently: each row is sent under its own row lock and
    marked once."""
    counts = services.outbox_relay(limit=limit)
    if not counts["failed"]:
        for name, n in services.outbox_relay_batches().items():
            counts[name] += n
    counts["pruned"] = services.outbox_prune()
    return counts


@shared_task(acks_late=True, ignore_result=True)
def relay_batches() -> dict[str, int]:
    """Send the pending batched rows (woken by ``outbox_wake`` after a commit that added
    some). Safe to run any number of times, also concurrently."""
    return services.outbox_relay_batches()
