"""The run pages and the run admin: who may see, start and publish; progress without reload."""

import json

import pytest

from insurers.roles import INDEX_ADMIN, OFFICER, STAFF
from sqi import methodology as method
from sqi import runs
from sqi.models import IndexRun, Period, RunStatus
from sqi.tasks import compute_index
from tests.factories import UserFactory


@pytest.fixture
def index_admin(db):
    return UserFactory(roles=[INDEX_ADMIN])


@pytest.fixture
def in_process(monkeypatch):
    """Run what the page hands to Celery here, whatever the broker settings say."""
    monkeypatch.setattr(
        compute_index,
        "apply_async",
        lambda args, kwargs, **options: compute_index.apply(args, kwargs, **options),
    )


def computed(publish=False) -> IndexRun:
    return runs.index_run_execute(period="2025", peer_group="life", publish=publish)


def test_start_a_run_from_the_page_and_publish_it(
    client, index_admin, life_market, in_process, django_capture_on_commit_callbacks
):
    client.force_login(index_admin)
    page = client.get("/index/runs/")
    assert page.status_code == 200
    assert "计算指数" in page.content.decode() or "Compute the index" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/index/runs/", {"period": "2025", "peer_group": "life", "methodology": ""}
        )
    run = IndexRun.objects.get()
    assert response.status_code == 302 and response.url == f"/index/runs/{run.pk}/"
    run.refresh_from_db()
    assert run.status == RunStatus.VALIDATED and run.created_by == index_admin

    detail = client.get(response.url).content.decode()
    assert run.fingerprint in detail
    assert "recomputation_identical" in detail
    assert 'hx-trigger="every 1s"' not in detail  # finished: nothing to poll
    assert f'action="/index/runs/{run.pk}/publish/"' in detail

    published = client.post(f"/index/runs/{run.pk}/publish/")
    assert published.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.PUBLISHED and run.published_by == index_admin


def test_the_form_refuses_bad_input(client, index_admin, life_market):
    client.force_login(index_admin)
    response = client.post("/index/runs/", {"period": "1999", "peer_group": "pension"})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"period", "peer_group"}
    assert not IndexRun.objects.exists()


def test_progress_fragment_polls_until_finished(client, index_admin, life_market):
    client.force_login(index_admin)
    run = runs.index_run_create(period="2025", peer_group="life")
    fragment = client.get(f"/index/runs/{run.pk}/progress/?watching=1")
    text = fragment.content.decode()
    assert 'hx-trigger="every 1s"' in text
    assert 'max="6" value="0"' in text
    assert "HX-Refresh" not in fragment.headers
    runs.index_run_compute(run=run)
    done = client.get(f"/index/runs/{run.pk}/progress/?watching=1")
    assert done.headers["HX-Refresh"] == "true"
    assert 'hx-trigger="every 1s"' not in done.content.decode()


def test_the_inputs_download_reproduces_the_run(client, index_admin, life_market):
    client.force_login(index_admin)
    run = computed()
    response = client.get(f"/index/runs/{run.pk}/inputs.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    inputs = json.loads(response.content)
    again = method.compute(inputs)
    stored = dict(run.results.values_list("insurer__slug", "rank"))
    assert {r["code"]: r["rank"] for r in again["results"]} == stored


@pytest.mark.parametrize("role", [STAFF, OFFICER, None])
def test_others_may_not_see_or_start_runs(client, life_market, role):
    user = UserFactory(roles=[role] if role else [])
    client.force_login(user)
    run = computed()
    for url in (
        "/index/runs/",
        f"/index/runs/{run.pk}/",
        f"/index/runs/{run.pk}/progress/",
        f"/index/runs/{run.pk}/inputs.json",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/index/runs/{run.pk}/publish/").status_code == 403
    assert client.post("/index/runs/", {"period": "2025", "peer_group": "life"}).status_code == 403
    run.refresh_from_db()
    assert run.status == RunStatus.VALIDATED
    assert IndexRun.objects.count() == 1


def test_anonymous_visitors_are_sent_to_sign_in(client, life_market):
    run = computed()
    response = client.get(f"/index/runs/{run.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_publishing_a_failed_run_is_refused_with_a_message(client, index_admin, life_market):
    client.force_login(index_admin)
    run = runs.index_run_create(period="2025", peer_group="property")
    run = runs.index_run_compute(run=run)
    assert run.status == RunStatus.FAILED
    response = client.post(f"/index/runs/{run.pk}/publish/", follow=True)
    assert "validated" in response.content.decode() or "已验证" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED


def test_run_list_query_count_is_constant(client, index_admin, life_market, periods):
    client.force_login(index_admin)
    computed()

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/index/runs/").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for _ in range(5):
        computed()
    Period.objects.create(code="2025H1")
    assert count() == few


# --- admin ---------------------------------------------------------------------------------


def test_admin_lists_runs_with_constant_queries(admin_client, life_market):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    computed()
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/admin/sqi/indexrun/").status_code == 200
    for _ in range(4):
        computed()
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get("/admin/sqi/indexrun/").status_code == 200
    assert len(many) == len(few)


def test_admin_change_page_shows_progress_and_results(admin_client, life_market):
    run = computed()
    page = admin_client.get(f"/admin/sqi/indexrun/{run.pk}/change/").content.decode()
    assert 'id="run-progress"' in page
    assert "htmx.min.js" in page
    assert f"/index/runs/{run.pk}/" in page
    assert run.fingerprint in page
    pending = runs.index_run_create(period="2025", peer_group="life")
    page = admin_client.get(f"/admin/sqi/indexrun/{pending.pk}/change/").content.decode()
    assert 'hx-trigger="every 1s"' in page


def test_admin_publish_action(client, index_admin, life_market):
    client.force_login(index_admin)
    old = computed(publish=True)
    new = computed()
    response = client.post(
        "/admin/sqi/indexrun/",
        {"action": "publish_runs", "_selected_action": [new.pk]},
        follow=True,
    )
    assert response.status_code == 200
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == (RunStatus.SUPERSEDED, RunStatus.PUBLISHED)


def test_officers_cannot_open_the_run_admin(client, life_market):
    client.force_login(UserFactory(roles=[OFFICER]))
    run = computed()
    assert client.get("/admin/sqi/indexrun/").status_code == 403
    assert client.get(f"/admin/sqi/indexrun/{run.pk}/change/").status_code in (302, 403)
