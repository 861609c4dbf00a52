"""Celery tasks for complaints: thin, idempotent wrappers around the services."""

import datetime

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def sweep_deadlines(today: str | None = None) -> dict[str, int]:
    """Reminders three days before the due date, escalation to the officer on breach.
    Scheduled by django-celery-beat (see migration 0002); safe to run any number of times."""
    day = datetime.date.fromisoformat(today) if today else None
    return services.deadline_sweep(today=day)


@shared_task(acks_late=True)
def rebuild_dashboard_summaries() -> int:
    """Recompute the dashboard's summary tables from the complaints (nightly, see migration
    0005; the services keep them current in between). Idempotent; returns the rows written."""
    from .summaries import summaries_rebuild

    return summaries_rebuild()
