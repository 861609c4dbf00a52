"""The monthly reports task: registered under its explicit name, scheduled at 03:00 on the
1st (Asia/Shanghai), idempotent — in-process and through Redis and a real worker."""

import datetime as dt
import os
import subprocess
import sys

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from celery.result import EagerResult
from django.conf import settings
from django_celery_beat.models import PeriodicTask

from complaints.models import Notification
from sqi.celery import app
from sqi.models import UnitReport
from sqi.tasks_reports import monthly_reports
from tests.integration.test_celery_worker import own_queue  # noqa: F401

from .conftest import TZ, build_story


def test_task_has_its_name_and_acks_late():
    assert monthly_reports.name == "sqi.tasks_reports.monthly_reports"
    assert monthly_reports.acks_late is True


def test_a_worker_registers_the_task_through_autodiscovery():
    """What a worker process does at start: autodiscover ``sqi.tasks`` (which imports
    ``sqi.tasks_reports``). A fresh interpreter, so that this test module's import does not
    register it first."""
    code = (
        "import django; django.setup(); from sqi.celery import app; "
        "app.loader.import_default_modules(); "
        "print('sqi.tasks_reports.monthly_reports' in app.tasks)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "sqi.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "True", result.stderr


@pytest.mark.django_db
def test_beat_runs_it_at_three_on_the_first_of_every_month():
    task = PeriodicTask.objects.get(task="sqi.tasks_reports.monthly_reports")
    assert task.enabled
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "0",
        "3",
        "1",
        "*",
        "*",
    )
    assert str(cron.timezone) == "Asia/Shanghai"


@pytest.mark.django_db
def test_in_process_default_month_is_the_month_before(story):
    with time_machine.travel(dt.datetime(2026, 3, 1, 3, 0, tzinfo=TZ), tick=False):
        first = monthly_reports.apply().get()
        second = monthly_reports.apply().get()
    assert first == {"month": "2026-02", "built": 5, "existing": 0, "failed": []}
    assert second == {"month": "2026-02", "built": 0, "existing": 5, "failed": []}
    assert UnitReport.objects.filter(month=dt.date(2026, 2, 1)).count() == 5


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_through_redis_and_a_worker_one_report_per_unit_once(tree, own_queue):  # noqa: F811
    assert app.conf.task_always_eager is False, "with REDIS_URL tasks must go to a worker"
    story = build_story(tree)  # committed, so the worker's connection sees it
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[own_queue]):
        first = monthly_reports.s("2026-02").set(queue=own_queue).delay()
        assert not isinstance(first, EagerResult)
        assert first.get(timeout=180) == {
            "month": "2026-02",
            "built": 5,
            "existing": 0,
            "failed": [],
        }
        second = monthly_reports.s("2026-02").set(queue=own_queue).delay()
        assert second.get(timeout=180) == {
            "month": "2026-02",
            "built": 0,
            "existing": 5,
            "failed": [],
        }
    assert first.state == second.state == "SUCCESS"
    units = set(UnitReport.objects.values_list("org_unit", flat=True))
    assert units == {u.pk for u in story.with_officer}
    assert UnitReport.objects.count() == 5
    for report in UnitReport.objects.all():
        with report.pdf.open("rb") as f:
            assert f.read(5) == b"%PDF-"
    assert Notification.objects.filter(dedupe_key__startswith="unit-report:").count() == 5
