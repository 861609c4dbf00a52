"""Celery tasks of the insurers app: thin, idempotent, safe to retry.

Without ``REDIS_URL`` the settings run tasks in-process; with it they go through Redis to a
worker (``celery -A sqi worker``). Tasks take primary keys, never model instances, so a
message means the same thing whenever it is delivered; ``acks_late`` (from settings) makes
a task killed mid-run be delivered again, which a read-only task can always take.
"""

from celery import shared_task

from .models import OrgUnit


@shared_task(name="insurers.unit_subtree_size")
def unit_subtree_size(unit_id: int) -> int:
    """How many org units lie in the subtree of ``unit_id``, the unit itself included.

    One indexed ``path LIKE 'prefix%'`` count, the same prefix match ``visible_units`` uses
    for scope. A unit deleted before the task runs has an empty subtree: 0, not an error,
    because retrying would not make it exist again.
    """
    path = OrgUnit.objects.filter(pk=unit_id).values_list("path", flat=True).first()
    if path is None:
        return 0
    return OrgUnit.objects.filter(path__startswith=path).count()
