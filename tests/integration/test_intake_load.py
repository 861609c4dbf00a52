"""Intake under load, the short version of bench/intake.py: a real gunicorn (2 workers) on
the test database and Redis, a few clients posting complaints for about three seconds, then
50 clients sending one request with one Idempotency-Key at the same moment.

Every 201 must be a row and every row a 201, with no 5xx; the storm must make exactly one
complaint and give every client its reference. Celery messages go to a Redis database of
their own (REDIS_URL's number + 6), emptied at the end: no worker of the developer's runs a
task for this throwaway database.
"""

import pytest
from django.conf import settings
from django.db import connection

from bench.intake import (
    Gunicorn,
    body_maker,
    build_org,
    drop_celery_queue,
    idempotency_storm,
    redis_db_url,
    run_load,
)
from complaints.models import Complaint, IdempotencyKey

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def server():
    db = settings.REDIS_URL.rstrip("/").rpartition("/")[2]
    redis_url = redis_db_url(settings.REDIS_URL, (int(db) if db.isdigit() else 0) + 6)
    gunicorn = Gunicorn(database_url=database_url(), redis_url=redis_url, worker_class="sync")
    gunicorn.start()
    try:
        yield gunicorn
    finally:
        gunicorn.stop()
        drop_celery_queue(redis_url)


def test_every_201_is_a_row_and_the_storm_makes_one_complaint(server):
    insurer, branches, _user, token = build_org()
    make_body = body_maker(insurer.pk, [b.pk for b in branches])

    load = run_load(port=server.port, token=token, make_body=make_body, clients=4, seconds=3)
    rows = Complaint.objects.count()
    assert load.errors_5xx == 0, (load.statuses, load.samples, server.tail())
    assert load.connection_errors == 0, server.tail()
    assert load.created > 0, (load.statuses, load.samples)
    assert load.created == rows, load.statuses
    assert set(load.statuses) == {201}, load.samples

    storm = idempotency_storm(
        port=server.port, token=token, body=make_body(10**6), key="storm-1", clients=50
    )
    codes = sorted(code for code, _ in storm)
    assert len(storm) == 50
    assert codes.count(201) == 1, codes
    assert codes.count(200) == 49, codes
    references = {reference for _, reference in storm}
    assert len(references) == 1 and None not in references, references
    assert Complaint.objects.count() == rows + 1
    assert IdempotencyKey.objects.filter(key="storm-1").count() == 1
    assert Complaint.objects.filter(reference=references.pop()).exists()
