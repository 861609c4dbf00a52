"""Hand work to Celery so that a broker outage never fails a request nor loses the work.

``outbox_enqueue`` writes an :class:`~outbox.models.OutboxMessage` row in the caller's
transaction: the work commits with the change or not at all. Once that transaction commits
it tries to send the row at once (a short broker timeout, errors logged and swallowed); a
row it could not send stays pending, and the periodic ``outbox.tasks.relay_outbox`` (every
minute, django-celery-beat) or a manual ``outbox_relay()`` sends it when the broker is back.

Delivery is exactly once in effect:

* a row is marked dispatched only once its task reached a worker, or a relay round sent it
  under the row's lock. The send right after commit writes nothing when the broker accepts
  the message (it runs in every request: no second statement, no second commit); the worker
  marks the row as the task starts (:func:`outbox_confirm`, on Celery's ``task_prerun``).
  A send that fails records the error on the row, which makes it the relay's at once;
* a relay round sends the pending rows whose immediate send failed, and any other pending
  row older than ``OUTBOX_CONFIRM_SECONDS`` (default 300): one that no worker has started
  by then, because the process died between commit and send, or the workers are that far
  behind. Each row is sent in a short transaction that holds its lock (``SELECT … FOR
  UPDATE SKIP LOCKED`` on PostgreSQL), so two rounds never send one row; in eager mode,
  without a broker, the task runs in-process right after the row's transaction, and a
  failure makes the row pending again;
* every send of a row uses the row's stable ``task_id``, so a row sent twice (by the request
  and, much later, by the relay; or a crash between the broker's acceptance and the commit
  of ``dispatched_at``) is the same task twice, and the receiving tasks are idempotent
  (dedupe keys, upserts), so the second delivery has no effect. Receiving tasks must
  therefore be idempotent — as every task in this project already is (DESIGN §3).

Batched rows (``outbox_enqueue(batch=True)``, intake's summaries and notifications) are not
sent one by one: a commit that wrote some wakes the relay (:func:`outbox_wake`, at most once
per ``OUTBOX_BATCH_SECONDS`` and process, with that countdown), and the relay sends all
pending batched rows of a task as one call with the list of their arguments, under the
rows' locks, marking them as it sends (the first row's task id is the call's). The receiving
task must be idempotent for each element, as every task here is.

Tasks are sent with ``ignore_result``: nobody waits on an outbox task's result, and not
touching the result backend keeps a send to a dead Redis to one quick connection failure.
"""

import datetime
import importlib
import json
import logging
import time
import uuid
from collections import defaultdict

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

# One quick reconnect (a pooled connection gone stale after a broker restart), never more:
# a request that relays on commit must not wait for a broker that is down.
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
ERROR_LENGTH = 2000


class OutboxError(RuntimeError):
    """``outbox_enqueue`` was called outside a transaction or with unusable arguments."""


def _task_name(task) -> str:
    return task if isinstance(task, str) else task.name


def outbox_enqueue(
    *, task, args=(), kwargs=None, key: str | None = None, batch: bool = False
) -> OutboxMessage:
    """Record a call of ``task`` (a Celery task or its registered name) in the caller's
    transaction and try to send it once that transaction commits.

    With ``key`` the call is recorded once: a second enqueue with the same key returns the
    first row. Arguments must be JSON (what the Celery serializer accepts anyway).

    ``batch``: for work that is much cheaper done for many rows at once (intake's summaries
    and notifications). The row has exactly one positional argument; nothing is sent after
    commit but, at most once a second per process, a wake-up of the relay
    (:func:`outbox_wake`), which sends all pending rows of the task as **one** call with
    the list of their arguments. The task must accept that list and be idempotent for every
    element.
    """
    if not connection.in_atomic_block:
        raise OutboxError("outbox_enqueue must run inside the transaction of the change")
    args, kwargs = list(args), dict(kwargs or {})
    if batch and (len(args) != 1 or kwargs):
        raise OutboxError("a batched outbox task takes exactly one positional argument")
    try:
        json.dumps([args, kwargs])
    except TypeError as exc:
        raise OutboxError(f"outbox task arguments must be JSON: {exc}") from exc
    message = OutboxMessage(task=_task_name(task), args=args, kwargs=kwargs, key=key, batch=batch)
    if key is None:
        message.save(force_insert=True)
    else:
        pk = _insert_unless_key_exists(message)
        if pk is None:  # enqueued before under this key: that row stands
            return OutboxMessage.objects.get(key=key)
        message.pk = pk
    transaction.on_commit(lambda: relay_after_commit(message))
    return message


def _insert_unless_key_exists(message: OutboxMessage) -> int | None:
    """One ``INSERT … ON CONFLICT (key) DO NOTHING RETURNING id`` (PostgreSQL and SQLite):
    the new row's id, or None when a row with this key exists. No savepoint, no SELECT
    first, and a concurrent enqueue of the same key waits for ours and then does nothing."""
    fields = [f for f in OutboxMessage._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(OutboxMessage._meta.db_table)} "  # noqa: S608 - names from the model
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote('key')}) DO NOTHING RETURNING {quote('id')}"
    )
    params = [f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def relay_after_commit(message: OutboxMessage) -> None:
    """Send one freshly committed row now; whatever goes wrong, the request carries on and
    the periodic relay sends the row later.

    With a broker this is one publish and nothing else: the worker marks the row when the
    task starts (:func:`outbox_confirm`). A failed publish is recorded (attempts, error),
    which hands the row to the next relay round (see the module docstring). A batched row
    only wakes the relay (:func:`outbox_wake`)."""
    try:
        if current_app.conf.task_always_eager:
            outbox_relay(ids=[message.pk])
            return
        if message.batch:
            outbox_wake()
            return
        try:
            _publish(message)
        except Exception as exc:
            OutboxMessage.objects.filter(pk=message.pk, dispatched_at__isnull=True).update(
                attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]
            )
            logger.warning("outbox: could not send %s (%s); it stays pending", message, exc)
    except Exception:
        logger.exception("outbox: immediate relay of %s failed; it stays pending", message)


def batch_seconds() -> float:
    return getattr(settings, "OUTBOX_BATCH_SECONDS", 1.0)


# When this process may next wake the relay (time.monotonic()).
_next_wake = 0.0


def outbox_wake() -> bool:
    """Have the relay send the pending batched rows in ``OUTBOX_BATCH_SECONDS``: one Celery
    message (``outbox.tasks.relay_batches`` with that countdown), at most once per that
    interval and process. Every batched row this process commits meanwhile was committed
    before the relay runs, so it goes with that round. True if a wake-up was sent; a broker
    that is down is logged, and the minute's relay sends the rows when it is back."""
    global _next_wake
    now = time.monotonic()
    if now < _next_wake:
        return False
    seconds = batch_seconds()
    _next_wake = now + seconds
    try:
        _task("outbox.tasks.relay_batches").apply_async(
            countdown=seconds, ignore_result=True, retry=True, retry_policy=PUBLISH_RETRY_POLICY
        )
    except Exception as exc:
        logger.warning("outbox: could not wake the relay (%s); the periodic relay will", exc)
        return False
    return True


def outbox_confirm(*, task_id) -> bool:
    """Mark the row of ``task_id`` dispatched: its task reached a worker. One conditional
    UPDATE (nothing for tasks that did not come from the outbox, or rows already marked).
    True if a row was marked."""
    try:
        task_id = uuid.UUID(str(task_id))
    except ValueError:
        return False
    marked = OutboxMessage.objects.filter(task_id=task_id, dispatched_at__isnull=True).update(
        dispatched_at=timezone.now()
    )
    return bool(marked)


def confirm_seconds() -> int:
    return getattr(settings, "OUTBOX_CONFIRM_SECONDS", 300)


def _task(name: str):
    """The registered task, importing its module if autodiscovery has not run yet."""
    app = current_app
    try:
        return app.tasks[name]
    except KeyError:
        importlib.import_module(name.rpartition(".")[0])
        return app.tasks[name]


def _publish(message: OutboxMessage) -> None:
    _task(message.task).apply_async(
        args=message.args,
        kwargs=message.kwargs,
        task_id=str(message.task_id),
        ignore_result=True,
        retry=True,
        retry_policy=PUBLISH_RETRY_POLICY,
    )


def _is_broker_down(exc: BaseException) -> bool:
    from kombu.exceptions import OperationalError

    return isinstance(exc, OperationalError | ConnectionError | TimeoutError | OSError)


def pending_messages():
    return OutboxMessage.objects.filter(dispatched_at__isnull=True)


def _failed(message: OutboxMessage, exc: Exception) -> str:
    message.dispatched_at = None
    message.last_error = f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]
    message.save(update_fields=["attempts", "dispatched_at", "last_error"])
    logger.warning("outbox: could not send %s (%s)", message, exc)
    return "down" if _is_broker_down(exc) else "failed"


def _send(pk: int) -> str | None:
    """Send one pending row: "sent", "failed", "down" (the broker), or None (not pending,
    or another relay holds it)."""
    eager = current_app.conf.task_always_eager
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(Q(pk=pk), Q(dispatched_at__isnull=True))
            .first()
        )
        if message is None:
            return None
        message.attempts += 1
        if not eager:
            try:
                _publish(message)  # under the row lock: no other relay sends it meanwhile
            except Exception as exc:
                return _failed(message, exc)
        message.dispatched_at = timezone.now()
        message.save(update_fields=["attempts", "dispatched_at"])
    if eager:
        # In-process mode (no broker: make run, tests) the task itself runs here, after the
        # row's short transaction and never inside it; if it fails the row is pending again.
        try:
            _publish(message)
        except Exception as exc:
            return _failed(message, exc)
    return "sent"


def _send_batch(task: str, pks: list[int]) -> tuple[int, str | None]:
    """Send the pending batched rows ``pks`` of ``task`` as one call with the list of their
    arguments, under their locks: (rows sent, None) or (0, "failed" | "down")."""
    eager = current_app.conf.task_always_eager
    failure: Exception | None = None
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk__in=pks, dispatched_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "args", "task_id")
        )
        if not rows:
            return 0, None
        locked, values = [row[0] for row in rows], [row[1][0] for row in rows]
        if not eager:
            try:  # under the rows' locks: no other relay sends them meanwhile
                _task(task).apply_async(
                    args=[values],
                    task_id=str(rows[0][2]),  # the first row's: a re-send is the same task
                    ignore_result=True,
                    retry=True,
                    retry_policy=PUBLISH_RETRY_POLICY,
                )
            except Exception as exc:
                failure = exc
        if failure is None:
            OutboxMessage.objects.filter(pk__in=locked).update(
                dispatched_at=timezone.now(), attempts=F("attempts") + 1
            )
    if eager and failure is None:
        try:  # in-process, after the rows' transaction (as _send)
            _task(task).apply_async(args=[values])
        except Exception as exc:
            failure = exc
    if failure is not None:
        OutboxMessage.objects.filter(pk__in=locked).update(
            dispatched_at=None,
            attempts=F("attempts") + (0 if eager else 1),
            last_error=f"{type(failure).__name__}: {failure}"[:ERROR_LENGTH],
        )
        logger.warning("outbox: could not send %d rows of %s (%s)", len(locked), task, failure)
        return 0, "down" if _is_broker_down(failure) else "failed"
    return len(locked), None


def outbox_relay(
    *, limit: int = 500, ids: list[int] | None = None, batches_only: bool = False
) -> dict[str, int]:
    """Send up to ``limit`` pending rows (oldest first; only ``ids`` when given): those
    whose immediate send failed, those no worker confirmed in ``OUTBOX_CONFIRM_SECONDS``,
    and every batched row (only those with ``batches_only``).

    Each single row is sent in its own short transaction holding its lock, and marked
    dispatched only after the broker accepted it; the batched rows of one task go as one
    call, under their locks, the same way. A failed send leaves the rows pending with
    ``attempts`` + 1 and ``last_error``; a broker that is down ends this round (the next
    round retries). Returns ``{"sent": n, "failed": n}`` (rows).
    """
    candidates = pending_messages().order_by("pk")
    if ids is not None:
        candidates = candidates.filter(pk__in=ids)
    elif batches_only:
        candidates = candidates.filter(batch=True)
    else:
        # Rows sent right after their commit are the workers' to confirm; the relay takes
        # them only if no worker has started their task by OUTBOX_CONFIRM_SECONDS.
        stale = timezone.now() - datetime.timedelta(seconds=confirm_seconds())
        candidates = candidates.filter(Q(batch=True) | Q(attempts__gt=0) | Q(created__lt=stale))
    rows = list(candidates.values_list("pk", "task", "batch")[:limit])
    counts = {"sent": 0, "failed": 0}
    batches: dict[str, list[int]] = defaultdict(list)
    for pk, task, batch in rows:
        if batch:
            batches[task].append(pk)
            continue
        outcome = _send(pk)
        if outcome == "sent":
            counts["sent"] += 1
        elif outcome is not None:
            counts["failed"] += 1
            if outcome == "down":
                return counts
    for task, pks in batches.items():
        sent, outcome = _send_batch(task, pks)
        counts["sent"] += sent
        if outcome is not None:
            counts["failed"] += len(pks)
            if outcome == "down":
                return counts
    return counts


def outbox_relay_batches(*, limit: int = 1000, seconds: float = 50) -> dict[str, int]:
    """Send the pending batched rows, ``limit`` rows a call, until none are left, the broker
    fails, or ``seconds`` have passed (a backlog after an outage drains in one go)."""
    total = {"sent": 0, "failed": 0}
    deadline = time.monotonic() + seconds
    while True:
        counts = outbox_relay(limit=limit, batches_only=True)
        for name, n in counts.items():
            total[name] += n
        if counts["failed"] or counts["sent"] < limit or time.monotonic() > deadline:
            return total


def outbox_prune(*, days: int = 7) -> int:
    """Delete rows dispatched more than ``days`` ago (pending rows are never deleted).
    Returns how many were deleted."""
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = OutboxMessage.objects.filter(dispatched_at__lt=cutoff).delete()
    return deleted
