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


@shared_task(acks_late=True, ignore_result=True)
def complaints_received(complaint_ids: list[int]) -> dict[str, int]:
    """Summaries and notifications for newly received complaints. Intake enqueues one
    outbox row per complaint (``batch``), and the relay sends all pending rows as one call
    with their ids. Idempotent: a redelivered or repeated call changes nothing."""
    return services.complaints_received_process(complaint_ids=list(complaint_ids))


@shared_task(acks_late=True)
def notify_complaint_received(complaint_id: int) -> int:
    """Notify the handling unit's staff of a new complaint: what intake sent through the
    outbox before ``complaints_received`` (kept for rows enqueued then). Idempotent (one
    notification per complaint and person)."""
    from .models import Complaint

    complaint = Complaint.objects.select_related("org_unit").filter(pk=complaint_id).first()
    if complaint is None:
        return 0
    return services.complaint_received_notify(complaint=complaint)
