import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "outbox"
    verbose_name = _("Task outbox")

    def ready(self):
        from celery.signals import task_prerun

        task_prerun.connect(_confirm, dispatch_uid="outbox.confirm", weak=False)


def _confirm(sender=None, task_id=None, task=None, **kwargs) -> None:
    """A task starts in a worker: if it came from the outbox, its row has been delivered.
    (In-process, eager tasks are marked by the relay that runs them.)"""
    from .services import outbox_confirm

    if task is not None and getattr(task.request, "is_eager", False):
        return

    try:
        outbox_confirm(task_id=task_id)
    except Exception:  # never stop the task for the bookkeeping: the relay re-sends
        logging.getLogger(__name__).warning("outbox: could not confirm %s", task_id, exc_info=True)
