"""Worker faults: a worker killed mid-run, and a message delivered twice.

``compute_index`` and the other tasks run with ``acks_late``: the message is acknowledged
only after the task returned, so a worker that dies mid-task leaves it unacknowledged in
Redis (kombu's ``unacked`` hash, restored to its queue after the visibility timeout), and
the task may run twice. These tests prove that either is harmless:

* a REAL worker process is SIGKILLed while ``compute_index`` is blocked in step 6 (the test
  holds a PostgreSQL lock on the results table, so the kill lands at a known step): the
  published run stays the previous one, the killed run is swept to ``failed`` by
  ``index_run_sweep_stale``, and the redelivered message, taken by a new worker, recomputes
  the run with the fingerprint and results of an undisturbed run and publishes it;
* the same message delivered twice (same task id and arguments) to one worker changes
  nothing the second time: ``compute_index``, the complaint rollup and intake's
  outbox-relayed batch (summaries and notifications).
"""

import datetime
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from complaints import summaries
from complaints import tasks as complaint_tasks
from complaints.models import Complaint, Notification, Status
from complaints.services import complaint_create
from insurers.roles import STAFF
from outbox import services as outbox_services
from outbox.models import OutboxMessage
from outbox.services import outbox_relay
from sqi import tasks
from sqi.celery import app
from sqi.models import ComplaintStatistic, IndexResult, IndexRun, Period, RunStatus
from sqi.runs import STALE_AFTER, index_run_create, index_run_execute, index_run_sweep_stale
from tests.complaints.conftest import intake
from tests.factories import Tree, user_in
from tests.integration.test_celery_worker import own_queue  # noqa: F401
from tests.sqi.runs.conftest import example, life_market, periods  # noqa: F401

CELERY = Path(settings.BASE_DIR) / ".venv" / "bin" / "celery"


def results_of(run: IndexRun) -> list[tuple]:
    return list(
        run.results.order_by("insurer__slug").values_list(
            "insurer__slug", "total", "rank", "dimensions", "indicators", "ratios", "complaints"
        )
    )


def database_url() -> str:
    """The test database (pytest-django's ``test_…``), for a worker in another process."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return (
        f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/"
        f"{s['NAME']}"
    )


def libpq_params() -> dict:
    s = connection.settings_dict
    return {
        "dbname": s["NAME"],
        "user": s["USER"],
        "password": s.get("PASSWORD") or None,
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
    }


def start_worker_process(queue: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "sqi.settings",
    }
    return subprocess.Popen(
        [
            str(CELERY),
            "-A",
            "sqi",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "--concurrency",
            "1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"faults-{queue}@%h",
            "-l",
            "info",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def unacked_tags(task_id: str) -> list[str]:
    """Delivery tags of the messages of ``task_id`` that a worker took and never acked."""
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        return [
            tag.decode() if isinstance(tag, bytes) else tag
            for tag, raw in client.hgetall("unacked").items()
            if json.loads(raw)[0]["headers"].get("id") == task_id
        ]


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_run_keeps_the_published_index_and_the_rerun_is_identical(
    own_queue,  # noqa: F811
    life_market,  # noqa: F811
    tmp_path,
):
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert tasks.compute_index.acks_late is True
    # The undisturbed run, in-process: published, the reference for the rerun.
    first = index_run_execute(period="2025", peer_group="life", publish=True)
    assert first.status == RunStatus.PUBLISHED
    reference = results_of(first)
    assert reference

    victim = index_run_create(period="2025", peer_group="life")
    log = tmp_path / "worker.log"
    lock = psycopg.connect(**libpq_params())  # a transaction of its own, not the test's
    workers: list[subprocess.Popen] = []
    result = None
    try:
        # Step 6 (store) deletes and inserts results: EXCLUSIVE mode lets the run read
        # everything in steps 1–5 but blocks its first write to the results table.
        lock.execute(f'LOCK TABLE "{IndexResult._meta.db_table}" IN EXCLUSIVE MODE')
        result = tasks.compute_index.s("2025", "life", run_id=victim.pk, publish=True)
        result = result.set(queue=own_queue).delay()
        workers.append(start_worker_process(own_queue, log))

        def blocked_in_step_6():
            victim.refresh_from_db()
            # activity statistics are a snapshot per transaction: this one stays open
            lock.execute("SELECT pg_stat_clear_snapshot()")
            waiting = lock.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchall()
            return victim.status == RunStatus.COMPUTING and victim.progress_done == 5 and waiting

        waiting = wait_for(blocked_in_step_6, 30, "the worker to block in step 6", log)
        os.kill(workers[0].pid, signal.SIGKILL)
        assert workers[0].wait(timeout=10) == -signal.SIGKILL
        lock.rollback()  # release: the dead worker's backend finds its client gone

        def backend_gone():
            pids = [row[0] for row in waiting]
            # Without clearing, the first look's snapshot would be read again and again
            # for the rest of this transaction: a backend still there at the first look
            # would seem to stay forever.
            lock.execute("SELECT pg_stat_clear_snapshot()")
            return not lock.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
            ).fetchall()

        wait_for(backend_gone, 30, "the killed worker's database session to end")
        lock.rollback()

        # The kill changed nothing visible: the first run is still the published one, the
        # killed run is stuck "computing" with no results (step 6 rolled back entirely).
        first.refresh_from_db()
        victim.refresh_from_db()
        assert first.status == RunStatus.PUBLISHED
        published = IndexRun.objects.filter(period__code="2025", status=RunStatus.PUBLISHED)
        assert list(published) == [first]
        assert victim.status == RunStatus.COMPUTING
        assert victim.progress_done == 5 < victim.progress_total == 6
        assert not victim.results.exists()
        # acks_late: the message was not lost, it waits unacknowledged in Redis.
        tags = unacked_tags(result.id)
        assert len(tags) == 1, tags

        # The sweeper leaves a fresh run alone and fails it once it is stale.
        assert index_run_sweep_stale() == []
        later = timezone.now() + STALE_AFTER + datetime.timedelta(minutes=1)
        assert index_run_sweep_stale(now=later) == [victim.pk]
        victim.refresh_from_db()
        assert victim.status == RunStatus.FAILED and "stale" in victim.error
        assert IndexRun.objects.get(status=RunStatus.PUBLISHED) == first

        # Redelivery: kombu puts unacked messages back on their queue once the visibility
        # timeout (an hour) has passed; do now what it would do then, and let a new worker
        # take the message.
        with app.connection_for_write() as conn:
            conn.default_channel.qos.restore_by_tag(tags[0])
        assert unacked_tags(result.id) == []
        workers.append(start_worker_process(own_queue, log))
        outcome = result.get(timeout=40)
    finally:
        lock.close()
        for worker in workers:
            stop(worker)
        if result is not None:
            with app.connection_for_write() as conn:
                for tag in unacked_tags(result.id):
                    conn.default_channel.qos.ack(tag)  # nothing left behind in Redis

    victim.refresh_from_db()
    first.refresh_from_db()
    assert outcome == {"run": victim.pk, "status": "published", "fingerprint": first.fingerprint}
    assert victim.status == RunStatus.PUBLISHED and victim.error == ""
    assert victim.progress_done == victim.progress_total == 6
    assert victim.fingerprint == first.fingerprint
    assert victim.industry_index == first.industry_index
    assert results_of(victim) == reference
    assert first.status == RunStatus.SUPERSEDED
    assert IndexRun.objects.count() == 2


@pytest.fixture
def executions():
    """What each task execution returned and the state it left, in order (the embedded
    worker runs in a thread of this process, so the signal fires here)."""
    seen: list[dict] = []
    snapshots = {}

    def record(sender=None, task_id=None, retval=None, **kwargs):
        snapshot = snapshots.get(sender.name)
        seen.append(
            {
                "task": sender.name,
                "id": task_id,
                "retval": retval,
                "state": snapshot() if snapshot else None,
            }
        )

    task_postrun.connect(record, weak=False)
    yield seen, snapshots
    task_postrun.disconnect(record)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_duplicated_delivery_changes_nothing(
    own_queue,  # noqa: F811
    life_market,  # noqa: F811
    executions,
    monkeypatch,
):
    seen, snapshots = executions
    # -- a complaint whose notification the outbox relays, and accepted complaints to roll up
    tree = Tree()
    staff = user_in(tree.branch_a1, STAFF)
    colleague = user_in(tree.branch_a1, STAFF)
    another = user_in(tree.branch_a1, STAFF)
    received = complaint_tasks.complaints_received
    # The relay sends with the task's default options: route them to this test's queue; and
    # no wake-up of the relay after commit (it would go to the shared default queue).
    monkeypatch.setattr(received, "queue", own_queue, raising=False)
    monkeypatch.setattr(received, "_exec_options", None)
    monkeypatch.setattr(outbox_services, "_next_wake", float("inf"))
    with transaction.atomic():
        complaint = complaint_create(
            by=staff, insurer=tree.insurer_a, org_unit=tree.branch_a1, **intake()
        )
    with transaction.atomic():
        for _ in range(2):
            complaint_create(by=staff, insurer=tree.insurer_a, org_unit=tree.branch_a1, **intake())
    Complaint.objects.update(status=Status.ACCEPTED)
    period = Period.objects.get_or_create(code=str(complaint.received_on.year))[0].code
    rows = list(OutboxMessage.objects.order_by("pk"))
    complaint_ids = Complaint.objects.order_by("pk").values_list("pk", flat=True)
    assert [r.args for r in rows] == [[pk] for pk in complaint_ids]
    assert all(r.batch and r.is_pending for r in rows)
    assert outbox_relay(batches_only=True) == {"sent": 3, "failed": 0}  # one call for three
    assert not Notification.objects.exists()  # sent to our queue, no worker yet
    ids = [r.args[0] for r in rows]
    # The same message again, same task id: a duplicated delivery.
    received.apply_async(args=[ids], task_id=str(rows[0].task_id))

    # -- compute_index twice for one run, with the same task id
    run = index_run_create(period="2025", peer_group="life")
    runs_before = IndexRun.objects.count()
    compute = tasks.compute_index.s("2025", "life", run_id=run.pk, publish=True)
    compute = compute.set(queue=own_queue, task_id=f"compute-{run.pk}")
    compute.delay()
    compute.delay()
    rollup = tasks.rollup_complaint_statistics.s(period).set(
        queue=own_queue, task_id=f"rollup-{period}"
    )
    rollup.delay()
    rollup.delay()
    last = tasks.rollup_complaint_statistics.s(period).set(queue=own_queue).delay()

    snapshots[received.name] = lambda: (
        sorted(Notification.objects.values_list("pk", "user", "complaint", "created")),
        summaries.summary_rows(),
        sorted(Complaint.objects.values_list("pk", "summary_pending")),
    )
    snapshots[tasks.compute_index.name] = lambda: {
        "runs": sorted(IndexRun.objects.values_list("pk", "status", "fingerprint")),
        "run": IndexRun.objects.filter(pk=run.pk)
        .values("started", "finished", "published_at", "timings", "task_id")
        .get(),
        "results": sorted(IndexResult.objects.values_list("pk", "run", "total", "rank")),
    }
    snapshots[tasks.rollup_complaint_statistics.name] = lambda: sorted(
        ComplaintStatistic.objects.filter(period__code=period).values_list(
            "pk", "insurer", "product_line", "complaints", "elder_complaints"
        )
    )

    # One worker, solo pool: the messages run in the order sent; the last one marks the end.
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[own_queue]):
        last.get(timeout=60)

    by_task: dict[str, list[dict]] = {}
    for execution in seen:
        by_task.setdefault(execution["task"], []).append(execution)
    received_runs, computed, rolled = (
        by_task[received.name],
        by_task[tasks.compute_index.name],
        by_task[tasks.rollup_complaint_statistics.name][:2],
    )
    assert len(received_runs) == len(computed) == len(rolled) == 2

    # Intake's batched work: summaries and one notification per person (the unit's staff
    # but not whoever logged it) for each complaint, once; the repeat changed nothing.
    assert [e["id"] for e in received_runs] == [str(rows[0].task_id)] * 2
    assert [e["retval"] for e in received_runs] == [
        {"summarised": 3, "notified": 6},
        {"summarised": 0, "notified": 0},
    ]
    assert received_runs[0]["state"] == received_runs[1]["state"]
    assert Notification.objects.count() == 6
    assert not Complaint.objects.filter(summary_pending=True).exists()
    assert set(Notification.objects.filter(complaint=complaint).values_list("user", flat=True)) == {
        colleague.pk,
        another.pk,
    }

    # compute_index: computed and published by the first delivery; the second found the run
    # published and touched nothing (same timestamps, same results, no new run).
    assert [e["id"] for e in computed] == [f"compute-{run.pk}"] * 2
    assert computed[0]["retval"] == computed[1]["retval"]
    assert computed[0]["retval"]["status"] == "published"
    assert computed[0]["state"] == computed[1]["state"]
    run.refresh_from_db()
    assert run.status == RunStatus.PUBLISHED and run.progress_done == 6
    assert IndexRun.objects.count() == runs_before
    undisturbed = index_run_execute(period="2025", peer_group="life")
    assert undisturbed.fingerprint == run.fingerprint
    assert results_of(undisturbed) == results_of(run)
    assert run.results.count() == undisturbed.results.count() > 0

    # Rollup: the period's rows are the same rows with the same figures after the repeat.
    assert [e["id"] for e in rolled] == [f"rollup-{period}"] * 2
    assert rolled[0]["state"] == rolled[1]["state"]
    assert sum(row[3] for row in rolled[1]["state"]) == Complaint.objects.count() == 3
