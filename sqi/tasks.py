"""Celery tasks of the index: thin, idempotent wrappers around services.

Each is safe to retry (``acks_late``): the rollups replace a period's figures with a fresh
aggregate, and ``compute_index`` resumes the run it was given or recomputes it identically.
"""

from celery import shared_task

from . import rollups, runs


@shared_task(acks_late=True)
def rollup_complaint_statistics(period: str) -> int:
    """Count accepted complaints per insurer × product line for ``period`` (a code)."""
    return rollups.rollup_complaint_statistics(period=period)


@shared_task(acks_late=True)
def rollup_claim_statistics(period: str) -> int:
    """Aggregate raw claim records into the claim figures of ``period`` (a code)."""
    return rollups.rollup_claim_statistics(period=period)


@shared_task(acks_late=True)
def rollup_recent_periods() -> dict[str, dict[str, int]]:
    """The nightly job (django-celery-beat, migration 0002): both rollups for every period
    that is still open or ended within the last year."""
    return rollups.rollup_recent_periods()


@shared_task(bind=True, acks_late=True)
def compute_index(
    self,
    period: str,
    peer_group: str,
    methodology: str | None = None,
    run_id: int | None = None,
    publish: bool = False,
) -> dict:
    """Compute (and optionally publish) the index for ``period`` and ``peer_group``.

    Given ``run_id`` it works on that run (the admin and the run page create the run first so
    that its progress can be shown); otherwise it creates one.
    """
    run = runs.index_run_execute(
        period=period,
        peer_group=peer_group,
        methodology=methodology,
        run_id=run_id,
        publish=publish,
        task_id=self.request.id or "",
    )
    return {"run": run.pk, "status": run.status, "fingerprint": run.fingerprint}


@shared_task(acks_late=True)
def sweep_stale_runs() -> list[int]:
    """Every ten minutes (django-celery-beat, migration 0004): runs whose worker was lost
    are marked failed instead of staying "computing" forever."""
    return runs.index_run_sweep_stale()


# The monthly reports task lives in its own module; importing it here registers it with
# workers (Celery autodiscovery imports ``tasks.py`` only).
from . import tasks_reports  # noqa: E402, F401
