"""One row per piece of work a request hands to Celery (see :mod:`outbox.services`)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A Celery task call, saved with the change that asked for it and sent on later.

    ``task_id`` is the Celery task id every send of this row uses, so a row sent twice (by
    the request and by the relay when no worker confirmed it in time, or relayed again
    after a crash before ``dispatched_at`` was saved) is the same task twice, which the
    receiving task, idempotent, turns into one effect. ``dispatched_at``: when a worker
    started the task, or when the relay sent it.
    """

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("positional arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    key = models.CharField(
        _("deduplication key"), max_length=200, null=True, blank=True, unique=True
    )
    task_id = models.UUIDField(_("Celery task id"), default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(_("created"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    #: Sent with the other pending rows of its task as one message, by the relay (see
    #: :func:`outbox.services.outbox_enqueue`), instead of on its own right after commit.
    batch = models.BooleanField(_("batched"), default=False)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["pk"]
        indexes = [
            # The relay's only question: what is still pending, oldest first.
            models.Index(
                fields=["id"], name="outbox_pending_idx", condition=Q(dispatched_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.dispatched_at is None
