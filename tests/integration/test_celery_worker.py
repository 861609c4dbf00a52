"""Tasks through a real broker and worker, the subtree query on PostgreSQL, and eager mode.

The ``redis`` tests start an embedded Celery worker (solo pool, in a thread of this
process), send a task through Redis and read its result back from the Redis result
backend: the same path a request's work takes in production. Each uses a queue of its own
so that a developer's worker on the same Redis cannot take the message first.
"""

import os
import subprocess
import sys
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import EagerResult
from django.conf import settings
from django.db import connection, transaction

from insurers.models import OrgUnit
from insurers.roles import STAFF
from insurers.selectors import visible_units
from insurers.tasks import unit_subtree_size
from sqi.celery import app
from tests.factories import Tree, user_in


@pytest.fixture
def own_queue():
    """A fresh queue name; afterwards the app's queue table and Redis are as they were."""
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
        # The queue's list (and priority lists) and kombu's binding sets for it.
        leftovers = list(client.scan_iter(match=f"*{queue}*"))
        if leftovers:
            client.delete(*leftovers)


def stored_in_redis(result) -> bool:
    backend = app.backend
    return bool(backend.client.exists(backend.get_key_for_task(result.id)))


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_subtree_size_through_redis_and_a_worker(own_queue):
    assert app.conf.task_always_eager is False, "with REDIS_URL tasks must go to a worker"
    assert app.conf.broker_url.startswith("redis://")
    assert app.conf.result_backend.startswith("redis://")
    assert unit_subtree_size.acks_late is True
    tree = Tree()  # committed (transaction=True), so the worker's own connection sees it

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[own_queue]):
        results = {
            name: unit_subtree_size.s(getattr(tree, name).pk).set(queue=own_queue).delay()
            for name in ("group", "head_a", "branch_a1", "head_c")
        }
        missing = unit_subtree_size.s(0).set(queue=own_queue).delay()
        counts = {name: result.get(timeout=30) for name, result in results.items()}
        assert missing.get(timeout=30) == 0

    # group G: itself, head offices A and B, A's branches A1 and A2, sub-branch A1a
    assert counts == {"group": 6, "head_a": 4, "branch_a1": 2, "head_c": 2}
    for result in results.values():
        assert not isinstance(result, EagerResult)
        assert result.state == "SUCCESS"
        assert stored_in_redis(result)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_a_broker_delay_only_queues(own_queue):
    """Without a worker nothing runs: ``.delay()`` published the message and returned."""
    tree = Tree()
    result = unit_subtree_size.s(tree.group.pk).set(queue=own_queue).delay()
    assert not isinstance(result, EagerResult)
    assert result.state == "PENDING"
    with app.connection_for_write() as conn:
        assert conn.default_channel.client.llen(own_queue) == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_subtree_is_one_indexed_path_prefix_match_on_postgresql():
    assert connection.vendor == "postgresql"
    tree = Tree()
    user = user_in(tree.head_a, STAFF)
    units = visible_units(user=user)

    sql = str(units.query)
    assert "LIKE" in sql and '"path"' in sql
    assert set(units) == {tree.head_a, tree.branch_a1, tree.sub_a1a, tree.branch_a2}

    # Django gives a unique CharField a second index with varchar_pattern_ops on
    # PostgreSQL; without it a prefix LIKE under a non-C collation cannot use an index.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", [OrgUnit._meta.db_table]
        )
        indexdefs = [row[0] for row in cursor.fetchall()]
    assert any("(path varchar_pattern_ops)" in d for d in indexdefs), indexdefs

    # Tiny tables are scanned sequentially; with that forbidden the plan must use the index.
    compiled, params = units.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {compiled}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # e.g. "Index Scan using insurers_orgunit_path_..._like on …" or "Bitmap Index Scan on
    # insurers_orgunit_path_..._like", with Index Cond: path ~>=~ '0002...'
    assert "Seq Scan" not in plan, plan
    assert "_like" in plan and "Index Cond" in plan and "~>=~" in plan, plan


@pytest.mark.django_db
def test_subtree_size_in_process(tree):
    """The task's logic, run here with ``.apply()`` whatever the broker settings say."""
    assert unit_subtree_size.apply(args=(tree.group.pk,)).get() == 6
    assert unit_subtree_size.apply(args=(tree.sub_a1a.pk,)).get() == 1
    assert unit_subtree_size.apply(args=(tree.head_c.pk,)).get() == 2
    assert unit_subtree_size.apply(args=(0,)).get() == 0


@pytest.mark.django_db
def test_without_redis_delay_runs_in_process(tree):
    """``make run`` needs no broker: in eager mode (what an empty REDIS_URL selects, see
    ``test_celery_mode_follows_redis_url``) ``.delay()`` runs the task right here."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        assert unit_subtree_size.delay(tree.branch_a1.pk).get() == 2
    finally:
        app.conf.task_always_eager = previous


CELERY_MODE = (
    "import django; django.setup(); from sqi.celery import app; "
    "print(app.conf.task_always_eager, app.conf.broker_url.split(':')[0], "
    "app.conf.result_backend.split(':')[0])"
)


@pytest.mark.parametrize(
    ("redis_url", "expected"),
    [("", "True memory cache+memory"), ("redis://127.0.0.1:6379/0", "False redis redis")],
)
def test_celery_mode_follows_redis_url(redis_url, expected):
    """Settings are read once per process, so each configuration gets a process of its own."""
    result = subprocess.run(
        [sys.executable, "-c", CELERY_MODE],
        cwd=settings.BASE_DIR,
        env={**os.environ, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "sqi.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == expected.split()
