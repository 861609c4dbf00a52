"""The rollup tasks: in-process (eager), through Redis to a real worker, and the nightly
schedule that django-celery-beat reads."""

import datetime as dt
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import EagerResult
from django_celery_beat.models import PeriodicTask

from sqi import tasks
from sqi.celery import app
from sqi.models import Period
from sqi.rollups import recent_periods, rollup_recent_periods

from .conftest import TZ, claim_figures, complaint_counts
from .test_claim_rollup import EXPECTED as CLAIMS
from .test_complaint_rollup import EXPECTED as COMPLAINTS


@pytest.fixture
def eager():
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def own_queue():
    """A fresh queue name; afterwards the app's queue table and Redis are as they were
    (the pattern of tests/integration/test_celery_worker.py)."""
    queue = f"sqi-test-{uuid.uuid4().hex}"
    queues = app.amqp.queues
    consume_from = queues._consume_from  # None until a worker selects queues
    if consume_from is not None:
        consume_from = dict(consume_from)
    yield queue
    queues._consume_from = consume_from
    queues.pop(queue, None)
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        leftovers = list(client.scan_iter(match=f"*{queue}*"))
        if leftovers:
            client.delete(*leftovers)


@pytest.mark.django_db
def test_tasks_in_process(eager, tree, complaints, claims):
    result = tasks.rollup_complaint_statistics.delay("2025")
    assert isinstance(result, EagerResult) and result.get() == 4
    assert tasks.rollup_claim_statistics.delay("2025H1").get() == 2
    assert complaint_counts(tree, "2025") == COMPLAINTS["2025"]
    assert claim_figures(tree, "2025H1") == CLAIMS["2025H1"]
    for task in (
        tasks.rollup_complaint_statistics,
        tasks.rollup_claim_statistics,
        tasks.rollup_recent_periods,
    ):
        assert task.acks_late is True


@pytest.mark.django_db
def test_recent_periods(periods):
    Period.objects.create(code="2026")
    Period.objects.create(code="2026H2")  # not started on the day below
    codes = lambda day: list(recent_periods(today=day).values_list("code", flat=True))  # noqa: E731
    assert codes(dt.date(2026, 6, 30)) == ["2025", "2025H1", "2025H2", "2026"]
    # 2025H1 ended 366 days before 2026-07-01: still in; a day later, out.
    assert codes(dt.date(2026, 7, 1)) == ["2025", "2025H1", "2025H2", "2026", "2026H2"]
    assert codes(dt.date(2026, 7, 2)) == ["2025", "2025H2", "2026", "2026H2"]
    assert codes(dt.date(2025, 12, 31)) == ["2024", "2025", "2025H1", "2025H2"]
    assert codes(dt.date(2027, 1, 2)) == ["2026", "2026H2"]


@pytest.mark.django_db
def test_nightly_job_rolls_up_the_recent_periods(eager, tree, complaints, claims, time_machine):
    done = rollup_recent_periods(today=dt.date(2026, 3, 1))
    assert done == {
        "2025": {"complaints": 4, "claims": 3},
        "2025H1": {"complaints": 2, "claims": 2},
        "2025H2": {"complaints": 3, "claims": 3},
    }
    assert complaint_counts(tree, "2024") == {}  # ended more than a year ago: not touched
    for code in ("2025", "2025H1", "2025H2"):
        assert complaint_counts(tree, code) == COMPLAINTS[code]
        assert claim_figures(tree, code) == CLAIMS[code]
    # The task as the beat scheduler sends it: no arguments, so today in Shanghai decides.
    time_machine.move_to(dt.datetime(2026, 9, 1, 2, 30, tzinfo=TZ), tick=False)
    assert tasks.rollup_recent_periods.delay().get() == {
        "2025": {"complaints": 4, "claims": 3},
        "2025H2": {"complaints": 3, "claims": 3},
    }


@pytest.mark.django_db
def test_the_nightly_rollup_is_scheduled():
    task = PeriodicTask.objects.get(task="sqi.tasks.rollup_recent_periods")
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("30", "2")
    assert str(task.crontab.timezone) == "Asia/Shanghai"
    assert task.args in ("[]", "") and task.kwargs in ("{}", "")
    assert "sqi.tasks.rollup_recent_periods" in app.tasks


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_complaint_rollup_through_redis_and_a_worker(own_queue, tree, complaints):
    assert app.conf.task_always_eager is False, "with REDIS_URL tasks must go to a worker"
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[own_queue]):
        results = [
            tasks.rollup_complaint_statistics.s(code).set(queue=own_queue).delay()
            for code in ("2025", "2025H1", "2025")  # the second 2025 is a retry: no change
        ]
        written = [result.get(timeout=30) for result in results]
        missing = tasks.rollup_complaint_statistics.s("1999").set(queue=own_queue).delay()
        with pytest.raises(Period.DoesNotExist, match="no period with code '1999'"):
            missing.get(timeout=30)
    assert written == [4, 2, 4]
    assert all(not isinstance(r, EagerResult) and r.state == "SUCCESS" for r in results)
    assert complaint_counts(tree, "2025") == COMPLAINTS["2025"]
    assert complaint_counts(tree, "2025H1") == COMPLAINTS["2025H1"]
