"""The monthly reports task (django-celery-beat, migration 0006: 03:00 on the 1st).

Thin and idempotent like every task here: ``sqi.reports.monthly_reports_build`` leaves a
unit's existing report alone, so a redelivered or repeated run builds only what is missing.
The name is given explicitly because Celery's autodiscovery imports ``tasks.py`` only;
``sqi.tasks`` imports this module so that workers register it.
"""

from celery import shared_task

from . import reports


@shared_task(name="sqi.tasks_reports.monthly_reports", acks_late=True)
def monthly_reports(month: str | None = None) -> dict:
    """Reports of ``month`` (``YYYY-MM``; default the month before today) for every org
    unit with an active service officer."""
    return reports.monthly_reports_build(month=month)
