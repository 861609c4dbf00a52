"""An index run through Redis to a real Celery worker: compute → validate → publish."""

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import EagerResult

from sqi.celery import app
from sqi.models import IndexRun, RunStatus
from sqi.runs import index_run_create
from sqi.tasks import compute_index
from tests.integration.test_celery_worker import own_queue, stored_in_redis  # noqa: F401
from tests.sqi.runs.conftest import EXAMPLE, example, life_market, periods  # noqa: F401


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_index_run_through_redis_and_a_worker(own_queue, life_market):  # noqa: F811
    assert app.conf.task_always_eager is False
    assert compute_index.acks_late is True
    first = index_run_create(period="2025", peer_group="life")
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[own_queue]):
        result = compute_index.s("2025", "life", run_id=first.pk, publish=True)
        result = result.set(queue=own_queue).delay()
        outcome = result.get(timeout=60)
        second = compute_index.s("2025", "life", publish=True).set(queue=own_queue).delay()
        outcome2 = second.get(timeout=60)

    assert not isinstance(result, EagerResult) and stored_in_redis(result)
    first.refresh_from_db()
    assert outcome == {"run": first.pk, "status": "published", "fingerprint": first.fingerprint}
    assert first.task_id == result.id  # the worker recorded which task computed it
    assert first.progress_done == first.progress_total == 6
    assert str(first.industry_index) == f"{EXAMPLE['expected']['industry_index']:.2f}"
    # the second run of the same inputs: same fingerprint, identical results, and it
    # replaced the first publication
    latest = IndexRun.objects.get(pk=outcome2["run"])
    first.refresh_from_db()
    assert latest.status == RunStatus.PUBLISHED and first.status == RunStatus.SUPERSEDED
    assert latest.fingerprint == first.fingerprint

    def rows(run):
        return list(run.results.order_by("insurer__slug").values_list("total", "rank"))

    assert rows(latest) == rows(first)
