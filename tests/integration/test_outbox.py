"""The transactional outbox: work handed to Celery survives a broker outage, exactly once.

Unit-level tests run anywhere (SQLite, eager Celery). The ``redis`` test is the whole story
end to end: complaints come in through the API while a private Redis (started here, on a
port of its own) is stopped; every request answers 201 and leaves its work in the outbox;
Redis comes back, the relay sends the work, and a real worker runs each task exactly once.
"""

import contextlib
import datetime
import os
import shutil
import socket
import subprocess
import time

import pytest
from celery import shared_task
from celery.contrib.testing.worker import start_worker
from celery.signals import task_prerun
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from complaints import tasks as complaint_tasks
from complaints.models import Complaint, Notification
from complaints.models_summaries import ComplaintSummary
from insurers.roles import STAFF
from outbox import services
from outbox.models import OutboxMessage
from outbox.services import OutboxError, outbox_confirm, outbox_enqueue, outbox_relay
from sqi.celery import app
from tests.complaints.conftest import intake
from tests.conftest import IN_CI
from tests.factories import Tree, user_in

URL = "/api/v1/complaints/"
CALLS: list[tuple[str, object]] = []


@shared_task(bind=True, name="tests.outbox.record")
def record(self, value):
    """A receiving task for the unit tests: remembers each run and its task id."""
    CALLS.append((self.request.id, value))
    return value


@pytest.fixture(autouse=True)
def relay_takes_fresh_rows(settings):
    """Most of these tests hand rows straight to the relay (their transactions never commit,
    so nothing was sent after a commit): no waiting for a worker's confirmation. The tests
    of that wait set their own."""
    settings.OUTBOX_CONFIRM_SECONDS = 0


@pytest.fixture
def eager():
    """Tasks run in-process (what an empty REDIS_URL selects), whatever the settings say."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    CALLS.clear()
    yield CALLS
    app.conf.task_always_eager = previous
    CALLS.clear()


def _reset_connections() -> None:
    # Forget, never close: kombu keeps one pool per broker URL for the whole process, and
    # the other tests go on using the shared Redis's pool.
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@contextlib.contextmanager
def broker_at(url: str):
    """Point the Celery app at ``url`` (broker and result backend), then restore it."""
    keys = ("broker_url", "result_backend", "task_always_eager")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    _reset_connections()
    try:
        yield
    finally:
        _reset_connections()
        app.conf.update(saved)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_payload(tree) -> dict:
    data = intake()
    data["amount_in_dispute"] = str(data["amount_in_dispute"])
    return {"insurer": tree.insurer_a.pk, "org_unit": tree.branch_a1.pk, **data}


# ---- unit level -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(
    eager, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        outbox_enqueue(task=record, args=["lost"], key="k-lost")
        assert OutboxMessage.objects.count() == 1
        raise RuntimeError("the change fails")
    assert not OutboxMessage.objects.exists()
    assert callbacks == []
    assert eager == []


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused():
    with pytest.raises(OutboxError):
        outbox_enqueue(task=record, args=[1])
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_enqueue_refuses_arguments_that_are_not_json():
    with pytest.raises(OutboxError), transaction.atomic():
        outbox_enqueue(task=record, args=[object()])


@pytest.mark.django_db
def test_relay_sends_with_the_rows_task_id_and_marks_it_dispatched(eager):
    with transaction.atomic():
        message = outbox_enqueue(task=record, args=["a"], key="k-a")
        again = outbox_enqueue(task="tests.outbox.record", args=["a"], key="k-a")
    assert again.pk == message.pk and OutboxMessage.objects.count() == 1
    assert message.is_pending and eager == []  # on_commit does not run in this test's atomic

    assert outbox_relay() == {"sent": 1, "failed": 0}
    message.refresh_from_db()
    assert message.dispatched_at is not None and message.attempts == 1
    assert message.last_error == ""
    assert eager == [(str(message.task_id), "a")]

    assert outbox_relay() == {"sent": 0, "failed": 0}  # a second relay sends nothing twice
    assert eager == [(str(message.task_id), "a")]


@pytest.mark.django_db
def test_committing_sends_at_once(eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = outbox_enqueue(task=record, kwargs={"value": 7})
    message.refresh_from_db()
    assert message.dispatched_at is not None
    assert eager == [(str(message.task_id), 7)]


@pytest.mark.django_db
def test_a_broker_error_leaves_the_row_pending(eager, monkeypatch):
    with transaction.atomic():
        first = outbox_enqueue(task=record, args=[1])
        second = outbox_enqueue(task=record, args=[2])

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(record, "apply_async", broker_down)
    assert outbox_relay() == {"sent": 0, "failed": 1}  # a dead broker ends the round
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_pending and first.attempts == 1 and "Connection refused" in first.last_error
    assert second.is_pending and second.attempts == 0

    monkeypatch.undo()
    assert outbox_relay() == {"sent": 2, "failed": 0}
    first.refresh_from_db()
    assert first.attempts == 2 and not first.is_pending
    assert [value for _, value in eager] == [1, 2]


@pytest.mark.django_db
def test_a_failure_on_commit_never_reaches_the_caller(
    eager, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "_publish", lambda message: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = outbox_enqueue(task=record, args=[1])
    message.refresh_from_db()
    assert message.is_pending and message.attempts == 1
    assert "ZeroDivisionError" in message.last_error


@pytest.fixture
def broker(monkeypatch):
    """A broker in place (not eager) whose publishes are recorded instead of sent."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    sent: list[tuple[str, list]] = []
    monkeypatch.setattr(
        services, "_publish", lambda message: sent.append((str(message.task_id), message.args))
    )
    yield sent
    app.conf.task_always_eager = previous


@pytest.mark.django_db
def test_with_a_broker_commit_publishes_once_and_the_worker_marks_the_row(
    broker, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOX_CONFIRM_SECONDS = 300  # the default
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = outbox_enqueue(task=record, args=["now"], key="k-now")
        again = outbox_enqueue(task=record, args=["now"], key="k-now")  # no second send
    assert again.pk == message.pk and OutboxMessage.objects.count() == 1
    assert broker == [(str(message.task_id), ["now"])]
    message.refresh_from_db()
    # The send wrote nothing: the row waits for a worker to start its task.
    assert message.is_pending and message.attempts == 0 and not message.last_error
    assert outbox_relay() == {"sent": 0, "failed": 0}  # not the relay's (yet)
    assert outbox_confirm(task_id=message.task_id) is True  # the worker starts it
    assert outbox_confirm(task_id=str(message.task_id)) is False  # once
    message.refresh_from_db()
    assert not message.is_pending and message.attempts == 0
    assert outbox_relay() == {"sent": 0, "failed": 0} and len(broker) == 1


@pytest.mark.django_db
def test_a_row_no_worker_confirmed_in_time_is_sent_again_by_the_relay(
    broker, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOX_CONFIRM_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = outbox_enqueue(task=record, args=["lost"])
    assert outbox_relay() == {"sent": 0, "failed": 0}
    # E.g. the process died between commit and send, or the workers are far behind.
    OutboxMessage.objects.filter(pk=message.pk).update(
        created=timezone.now() - datetime.timedelta(seconds=61)
    )
    assert outbox_relay() == {"sent": 1, "failed": 0}
    message.refresh_from_db()
    assert not message.is_pending and message.attempts == 1
    # The same task id both times: the idempotent task makes one effect of the two.
    assert broker == [(str(message.task_id), ["lost"])] * 2
    assert outbox_relay() == {"sent": 0, "failed": 0}


def test_confirming_something_that_is_not_an_outbox_task_id_changes_nothing(db):
    assert outbox_confirm(task_id="not-a-uuid") is False
    assert outbox_confirm(task_id=None) is False
    assert outbox_confirm(task_id="9a1f4f1e-3a7e-4c1e-9a55-1d1c0b6c9a01") is False


@pytest.mark.django_db
def test_with_the_broker_down_commit_leaves_the_row_to_the_relay(
    broker, monkeypatch, django_capture_on_commit_callbacks
):
    def down(message):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(services, "_publish", down)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = outbox_enqueue(task=record, args=["later"])
    message.refresh_from_db()
    assert message.is_pending and message.attempts == 1
    assert "Connection refused" in message.last_error

    monkeypatch.setattr(
        services, "_publish", lambda message: broker.append((str(message.task_id), message.args))
    )
    assert outbox_relay() == {"sent": 1, "failed": 0}
    message.refresh_from_db()
    assert not message.is_pending and message.attempts == 2
    assert broker == [(str(message.task_id), ["later"])]


@pytest.mark.django_db
def test_a_key_enqueued_in_an_earlier_transaction_is_not_enqueued_again(eager):
    with transaction.atomic():
        first = outbox_enqueue(task=record, args=[1], key="k-once")
    outbox_relay()
    with transaction.atomic():
        again = outbox_enqueue(task=record, args=[1], key="k-once")
    assert again.pk == first.pk and not again.is_pending
    assert OutboxMessage.objects.count() == 1 and len(eager) == 1


@pytest.mark.django_db
def test_the_periodic_task_relays_and_prunes_what_was_sent_long_ago(eager):
    from outbox.tasks import relay_outbox

    with transaction.atomic():
        old = outbox_enqueue(task=record, args=["old"])
        new = outbox_enqueue(task=record, args=["new"])
    OutboxMessage.objects.filter(pk=old.pk).update(
        dispatched_at=timezone.now() - datetime.timedelta(days=8)
    )
    assert relay_outbox.apply().get() == {"sent": 1, "failed": 0, "pruned": 1}
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [new.pk]
    assert [value for _, value in eager] == ["new"]


@pytest.mark.django_db
def test_the_relay_is_scheduled_every_minute():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="outbox.tasks.relay_outbox")
    assert task.enabled and task.interval.every == 1 and task.interval.period == "minutes"


# ---- complaint intake -----------------------------------------------------------------------


@pytest.fixture
def wake_now(monkeypatch):
    """This process may wake the relay at once (the wake-up's once-a-second limit is per
    process, and other tests may just have used it)."""
    monkeypatch.setattr(services, "_next_wake", 0.0)


@pytest.mark.django_db
def test_intake_leaves_summaries_and_a_notification_to_one_batched_row(eager):
    tree = Tree()
    staff = user_in(tree.branch_a1, STAFF)
    colleague = user_in(tree.branch_a1, STAFF)
    response = _api(staff).post(URL, api_payload(tree), format="json")
    assert response.status_code == 201, response.json()
    complaint = Complaint.objects.get()
    assert complaint.summary_pending  # owed to the summary tables, not added in the request
    assert not ComplaintSummary.objects.exists()
    message = OutboxMessage.objects.get()
    assert message.task == "complaints.tasks.complaints_received" and message.batch
    assert message.args == [complaint.pk] and message.key == f"received:{complaint.pk}"

    assert outbox_relay() == {"sent": 1, "failed": 0}
    assert list(Notification.objects.values_list("user", flat=True)) == [colleague.pk]
    complaint.refresh_from_db()
    assert not complaint.summary_pending
    assert _received(tree.head_a) == 1
    # idempotent: a second delivery of the same call changes nothing
    again = complaint_tasks.complaints_received.apply(args=[[complaint.pk]]).get()
    assert again == {"summarised": 0, "notified": 0}
    assert Notification.objects.count() == 1
    assert _received(tree.head_a) == 1


@pytest.mark.django_db
def test_the_relay_sends_a_tasks_batched_rows_as_one_call(eager):
    with transaction.atomic():
        for value in ("a", "b", "c"):
            outbox_enqueue(task=record, args=[value], batch=True)
        outbox_enqueue(task=record, args=["single"])
    assert outbox_relay() == {"sent": 4, "failed": 0}
    assert sorted((value for _id, value in CALLS), key=str) == [["a", "b", "c"], "single"]
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    assert outbox_relay() == {"sent": 0, "failed": 0}


def test_a_batched_row_takes_exactly_one_positional_argument(db):
    with transaction.atomic(), pytest.raises(OutboxError):
        outbox_enqueue(task=record, args=[1, 2], batch=True)
    with transaction.atomic(), pytest.raises(OutboxError):
        outbox_enqueue(task=record, args=[1], kwargs={"x": 1}, batch=True)


@pytest.mark.django_db
def test_a_failed_batch_leaves_every_row_pending(eager, monkeypatch):
    with transaction.atomic():
        for value in (1, 2):
            outbox_enqueue(task=record, args=[value], batch=True)

    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(record, "apply_async", broken)
    assert outbox_relay() == {"sent": 0, "failed": 2}
    rows = list(OutboxMessage.objects.order_by("pk"))
    assert all(r.is_pending and r.last_error for r in rows)
    monkeypatch.undo()
    assert outbox_relay() == {"sent": 2, "failed": 0}
    assert [value for _id, value in CALLS] == [[1, 2]]


@pytest.mark.django_db
def test_committing_a_batched_row_wakes_the_relay_once_a_second(
    settings, wake_now, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OUTBOX_BATCH_SECONDS = 60
    sent = []
    monkeypatch.setattr(
        app.tasks["outbox.tasks.relay_batches"], "apply_async", lambda **kw: sent.append(kw)
    )
    previous, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        for value in (1, 2):
            with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
                outbox_enqueue(task=record, args=[value], batch=True)
    finally:
        app.conf.task_always_eager = previous
    # one wake-up, due after the interval: both rows were committed before it runs
    assert [kw["countdown"] for kw in sent] == [60]
    assert OutboxMessage.objects.filter(dispatched_at__isnull=True, attempts=0).count() == 2


def _received(unit) -> int:
    """Complaints received, in the head office's summary rows."""
    return ComplaintSummary.objects.filter(org_unit=unit).aggregate(n=Sum("received"))["n"] or 0


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_intake_answers_201_with_a_dead_broker(wake_now, django_capture_on_commit_callbacks):
    tree = Tree()
    staff = user_in(tree.branch_a1, STAFF)
    with broker_at(f"redis://127.0.0.1:{free_port()}/0"):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = _api(staff).post(URL, api_payload(tree), format="json")
        took = time.monotonic() - started
    assert response.status_code == 201, response.json()
    assert took < 10
    message = OutboxMessage.objects.get()
    assert message.is_pending  # the relay's, once the broker is back
    assert Complaint.objects.count() == 1


# ---- end to end: Redis stopped and started again ----------------------------------------------


class RedisServer:
    """A private, throwaway redis-server (no persistence) on a port of its own."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.answers():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def queued(self, queue: str = "celery") -> int:
        import redis

        return redis.Redis(port=self.port).llen(queue)


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def executions():
    """Task id → (how often a worker started it, its complaint ids), for intake's task."""
    counts: dict[str, tuple[int, list]] = {}

    def count(sender=None, task_id=None, args=None, **kwargs):
        if sender is not None and sender.name == "complaints.tasks.complaints_received":
            runs, _ids = counts.get(task_id, (0, None))
            counts[task_id] = (runs + 1, list(args[0]))

    task_prerun.connect(count, weak=False)
    yield counts
    task_prerun.disconnect(count)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_broker_outage_keeps_the_work_and_delivers_it_once(private_redis, executions, wake_now):
    tree = Tree()
    staff = user_in(tree.branch_a1, STAFF)
    colleague = user_in(tree.branch_a1, STAFF)
    api = _api(staff)

    with broker_at(private_redis.url):
        private_redis.stop()  # the broker goes down
        assert not private_redis.answers()
        for n in range(3):
            started = time.monotonic()
            headers = {"HTTP_IDEMPOTENCY_KEY": f"outage-{n}"} if n == 0 else {}
            response = api.post(URL, api_payload(tree), format="json", **headers)
            assert response.status_code == 201, response.json()
            assert time.monotonic() - started < 10, "a dead broker must not hold up a request"
        assert Complaint.objects.count() == 3
        pending = list(OutboxMessage.objects.order_by("pk"))
        assert len(pending) == 3 and all(m.is_pending and m.batch for m in pending)
        assert outbox_relay() == {"sent": 0, "failed": 3}  # still down: nothing lost
        assert all(m.attempts == 1 and m.last_error for m in OutboxMessage.objects.all())
        assert not Notification.objects.exists()
        assert Complaint.objects.filter(summary_pending=True).count() == 3

        private_redis.start()  # the broker is back, on the same port, empty
        assert outbox_relay() == {"sent": 3, "failed": 0}
        assert outbox_relay() == {"sent": 0, "failed": 0}
        assert private_redis.queued() == 1  # the three rows go as one call

        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                Notification.objects.count() < 3 or private_redis.queued()
            ):
                time.sleep(0.1)
            # With the broker up, a new complaint wakes the relay after its commit; the
            # relay (in the worker) sends its row within OUTBOX_BATCH_SECONDS.
            services._next_wake = 0.0
            response = api.post(URL, api_payload(tree), format="json")
            assert response.status_code == 201, response.json()
            fresh = OutboxMessage.objects.latest("pk")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                fresh.is_pending or Notification.objects.count() < 4
            ):
                time.sleep(0.1)
                fresh.refresh_from_db()
            assert not fresh.is_pending and fresh.attempts == 1 and not fresh.last_error
            time.sleep(0.5)  # room for a duplicate delivery to show itself
            assert outbox_relay() == {"sent": 0, "failed": 0}

    assert private_redis.queued() == 0
    assert all(runs == 1 for runs, _ids in executions.values())  # each call ran once
    delivered = sorted(pk for _runs, ids in executions.values() for pk in ids)
    assert delivered == sorted(Complaint.objects.values_list("pk", flat=True))  # each once
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    notified = Notification.objects.values_list("user", "complaint")
    assert sorted(notified) == sorted(
        (colleague.pk, pk) for pk in Complaint.objects.values_list("pk", flat=True)
    )
    assert not Complaint.objects.filter(summary_pending=True).exists()
    assert _received(tree.head_a) == 4  # every complaint counted once in the summary tables
    assert os.environ.get("REDIS_URL") != private_redis.url  # the shared Redis was untouched
