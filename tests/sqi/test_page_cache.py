"""The cache of the public pages (sqi/page_cache.py): anonymous visitors of the home page,
the index home and insurer profiles are served a stored page with their own CSRF token, and
every change of what those pages show — above all publishing a run — drops the stored pages.
"""

import re

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cases.models import ShowcaseCase, ShowcaseStatus
from insurers.services import insurer_update
from sqi import page_cache
from sqi.models import RunStatus
from sqi.runs import index_run_publish
from tests.factories import UserFactory
from tests.sqi.public.conftest import insurers, make_run

pytestmark = pytest.mark.django_db

LANG_COOKIE = settings.LANGUAGE_COOKIE_NAME
ELDER_COOKIE = settings.ELDER_MODE_COOKIE
META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')


@pytest.fixture
def ranking(db):
    """A published 2025 property ranking of two insurers (totals from 91.11) and a
    validated run of the same period (totals from 77.77) waiting to be published."""
    members = insurers(2, "property")
    members[0].short_name, members[0].slug = "缓存财险", "cached-property"
    members[0].save()
    return {
        "insurer": members[0],
        "published": make_run("2025", "property", members, top=91.11),
        "next": make_run("2025", "property", members, top=77.77, status=RunStatus.VALIDATED),
    }


def queries_of(client, url: str, **extra) -> int:
    """How many SQL queries a GET of ``url`` runs (0: served from the cache)."""
    with CaptureQueriesContext(connection) as context:
        assert client.get(url, **extra).status_code == 200
    return len(context)


def commit_time_invalidations() -> list:
    """The page cache's callbacks waiting for the test's transaction to commit (it never
    does: tests run them by hand to see what the commit would do)."""
    return [f for _sids, f, _robust in connection.run_on_commit if f is page_cache._new_generation]


def profile_url(ranking) -> str:
    return f"/insurers/{ranking['insurer'].slug}/"


def tokens(response) -> set[str]:
    html = response.content.decode()
    return set(META_TOKEN.findall(html)) | set(FORM_TOKEN.findall(html))


def without_tokens(response) -> str:
    return FORM_TOKEN.sub("", META_TOKEN.sub("", response.content.decode()))


# ---- served from the cache ------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/", "/index/", "profile"])
def test_second_request_is_served_from_the_cache(client, ranking, django_assert_num_queries, page):
    url = profile_url(ranking) if page == "profile" else page
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.status_code == 200
    assert second["Content-Type"] == first["Content-Type"]
    assert without_tokens(second) == without_tokens(first)
    assert "91.11" in second.content.decode()


def test_the_board_parameters_get_entries_of_their_own(client, ranking, django_assert_num_queries):
    client.get("/")
    life = client.get("/?group=life")
    assert 'value="/?group=life"' in life.content.decode()  # the switches come back here
    with django_assert_num_queries(0):
        again = client.get("/?group=life")
    assert without_tokens(again) == without_tokens(life)


def test_other_query_parameters_are_not_cached(client, ranking):
    client.get("/?utm_source=mail")
    assert queries_of(client, "/?utm_source=mail") > 0


def test_unknown_profile_is_a_404_with_a_real_token(client, ranking):
    for _ in range(2):
        response = client.get("/insurers/no-such-insurer/")
        assert response.status_code == 404
        assert page_cache.CSRF_PLACEHOLDER not in response.content.decode()


# ---- invalidation ---------------------------------------------------------------------------


def test_publishing_a_run_changes_home_and_profile_at_once(client, ranking):
    for url in ("/", "/index/", profile_url(ranking)):
        assert "91.11" in client.get(url).content.decode()
    index_run_publish(run=ranking["next"])
    for url in ("/", "/index/", profile_url(ranking)):
        html = client.get(url).content.decode()
        assert "77.77" in html and "91.11" not in html, url


def test_publishing_drops_pages_rendered_before_the_commit(client, ranking):
    """A page rendered between publishing and the commit (in production: by another
    process, from the old data) is dropped when the transaction commits."""
    index_run_publish(run=ranking["next"])
    client.get("/")  # stored under the generation set when publishing began
    assert queries_of(client, "/") == 0
    # One commit-time invalidation for the whole transaction (the fixture's writes, the
    # superseded and the published run), run here as the commit would run it.
    (invalidation,) = commit_time_invalidations()
    invalidation()
    assert queries_of(client, "/") > 0


def test_commit_time_invalidation_is_registered_again_after_a_rollback(ranking):
    connection.run_on_commit.clear()  # as if the fixture's writes had committed
    with pytest.raises(RuntimeError), transaction.atomic():
        index_run_publish(run=ranking["next"])
        assert len(commit_time_invalidations()) == 1
        raise RuntimeError
    assert commit_time_invalidations() == []  # rolled back: nothing to invalidate on commit
    insurer_update(insurer=ranking["insurer"], data={"short_name": "改名财险"})
    assert len(commit_time_invalidations()) == 1


def test_renaming_an_insurer_changes_the_cached_pages(client, ranking):
    assert "缓存财险" in client.get(profile_url(ranking)).content.decode()
    assert "缓存财险" in client.get("/").content.decode()
    insurer_update(insurer=ranking["insurer"], data={"short_name": "改名财险"})
    for url in ("/", profile_url(ranking)):
        html = client.get(url).content.decode()
        assert "改名财险" in html and "缓存财险" not in html, url


def test_awarding_a_showcase_case_changes_the_profile(client, ranking):
    case = ShowcaseCase.objects.create(slug="cache-case", title="缓存案例", year=2025, summary="x")
    ShowcaseCase.objects.filter(pk=case.pk).update(status=ShowcaseStatus.AWARDED)
    assert "缓存案例" not in client.get(profile_url(ranking)).content.decode()
    case.insurers.add(ranking["insurer"])  # awarded to this insurer
    assert "缓存案例" in client.get(profile_url(ranking)).content.decode()


def test_unpublished_runs_do_not_invalidate(client, ranking):
    health = insurers(1, "health")
    client.get("/")
    make_run("2025", "health", health, status=RunStatus.COMPUTING)
    assert queries_of(client, "/") == 0


def test_a_lost_generation_never_revives_old_pages(client, ranking, settings):
    settings.PUBLIC_PAGE_CACHE_RECHECK_SECONDS = 0  # ask Redis on every request
    client.get("/")
    cache.delete(page_cache.GENERATION_KEY)  # evicted, or a flushed cache
    assert queries_of(client, "/") > 0
    assert queries_of(client, "/") == 0


# ---- variants -------------------------------------------------------------------------------


def test_language_and_elder_mode_get_entries_of_their_own(client, ranking):
    zh = client.get("/").content.decode()
    assert '<html lang="zh-Hans">' in zh
    client.cookies[LANG_COOKIE] = "en"
    en = client.get("/").content.decode()
    assert '<html lang="en">' in en and ">Home<" in en
    client.cookies[ELDER_COOKIE] = "1"
    elder = client.get("/").content.decode()
    assert '<body class="elder' in elder and '<html lang="en">' in elder
    del client.cookies[LANG_COOKIE]
    elder_zh = client.get("/").content.decode()
    assert '<body class="elder' in elder_zh and '<html lang="zh-Hans">' in elder_zh
    del client.cookies[ELDER_COOKIE]
    again = client.get("/").content.decode()
    assert '<html lang="zh-Hans">' in again and '<body class="elder' not in again
    browser_en = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en">' in browser_en


def test_cached_page_varies_on_language_and_cookie(client, ranking):
    client.get("/")
    response = client.get("/")
    vary = {v.strip().lower() for v in response["Vary"].split(",")}
    assert {"accept-language", "cookie"} <= vary
    assert response["Content-Language"] == "zh-hans"


def test_signed_in_pages_are_neither_cached_nor_shared(ranking):
    user = UserFactory(username="cache_officer", first_name="缓存用户")
    signed_in, anonymous = Client(), Client()
    signed_in.force_login(user)
    for _ in range(2):
        assert queries_of(signed_in, "/") > 0  # rendered every time
        assert "缓存用户" in signed_in.get("/").content.decode()
    assert queries_of(anonymous, "/") > 0  # the signed-in requests stored nothing
    assert "缓存用户" not in anonymous.get("/").content.decode()
    assert queries_of(anonymous, "/") == 0
    assert "缓存用户" in signed_in.get("/").content.decode()  # not the anonymous entry


def test_flash_messages_bypass_the_cache(client, ranking):
    client.get("/")
    client.cookies["messages"] = "anything"
    assert queries_of(client, "/") > 0


# ---- CSRF -----------------------------------------------------------------------------------


def test_csrf_tokens_are_never_shared(ranking):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    one = first.get("/")
    two = second.get("/")  # from the cache
    assert page_cache.CSRF_PLACEHOLDER not in two.content.decode()
    (token_one,), (token_two,) = tokens(one), tokens(two)  # one token throughout a page
    assert token_one != token_two
    cookie_one = first.cookies[settings.CSRF_COOKIE_NAME].value
    cookie_two = second.cookies[settings.CSRF_COOKIE_NAME].value
    assert cookie_one and cookie_two and cookie_one != cookie_two

    for client, token in ((first, token_one), (second, token_two)):
        response = client.post(
            "/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": token}
        )
        assert response.status_code == 302
        response = client.post("/prefs/elder/", {"elder": "1", "csrfmiddlewaretoken": token})
        assert response.status_code == 302
    # One visitor's token is worthless with another's cookie.
    response = second.post("/prefs/elder/", {"elder": "1", "csrfmiddlewaretoken": token_one})
    assert response.status_code == 403


def test_a_returning_visitor_keeps_the_cookie_and_gets_a_valid_token(ranking):
    visitor = Client(enforce_csrf_checks=True)
    visitor.get("/")
    cookie = visitor.cookies[settings.CSRF_COOKIE_NAME].value
    (token,) = tokens(visitor.get("/"))
    assert visitor.cookies[settings.CSRF_COOKIE_NAME].value == cookie
    response = visitor.post("/prefs/elder/", {"elder": "1", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


# ---- headers --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/", "profile"])
def test_cached_responses_carry_the_security_headers(client, ranking, page):
    url = profile_url(ranking) if page == "profile" else page
    client.get(url)
    response = client.get(url)
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert settings.CSRF_COOKIE_NAME in response.cookies


def test_health_endpoint(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz/")
    assert response.status_code == 200 and response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert response["X-Frame-Options"] == "DENY"


# ---- with Redis -----------------------------------------------------------------------------


@pytest.mark.redis
def test_through_redis(client, ranking, django_assert_num_queries):
    from django_redis.cache import RedisCache

    assert isinstance(caches["default"], RedisCache)
    url = profile_url(ranking)
    assert "91.11" in client.get(url).content.decode()
    with django_assert_num_queries(0):
        cached = client.get(url)
    assert "91.11" in cached.content.decode()
    assert page_cache.CSRF_PLACEHOLDER not in cached.content.decode()
    index_run_publish(run=ranking["next"])
    assert "77.77" in client.get(url).content.decode()
    assert "77.77" in client.get("/").content.decode()


# ---- the recheck window ---------------------------------------------------------------------


def test_recheck_window_trusts_the_generation_it_read_for_that_long(
    client, ranking, settings, monkeypatch
):
    """With ``PUBLIC_PAGE_CACHE_RECHECK_SECONDS`` a worker serves its pages without asking
    the shared cache for that long; its own publications show at once, another worker's
    once the window has passed."""
    settings.PUBLIC_PAGE_CACHE_RECHECK_SECONDS = 0.5
    now = [1000.0]
    monkeypatch.setattr(page_cache, "monotonic", lambda: now[0])
    client.get("/")
    asked = []
    real_get = page_cache.cache.get
    monkeypatch.setattr(
        page_cache.cache, "get", lambda *a, **k: asked.append(a) or real_get(*a, **k)
    )
    assert queries_of(client, "/") == 0 and asked == []  # neither the database nor Redis

    index_run_publish(run=ranking["next"])  # this worker: at once
    assert "77.77" in client.get("/").content.decode()

    page_cache.cache.set(page_cache.GENERATION_KEY, 12345, timeout=None)  # another worker
    now[0] += 0.2
    assert queries_of(client, "/") == 0  # still inside the window: the page it has
    now[0] += 0.4
    assert queries_of(client, "/") > 0  # the window has passed: asks, and renders afresh


# ---- when the cache is down -----------------------------------------------------------------


def test_a_cache_outage_serves_the_pages_uncached_and_lets_writes_through(
    client, ranking, monkeypatch
):
    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(page_cache.cache, "get", down)
    monkeypatch.setattr(page_cache.cache, "set", down)
    for url in ("/", profile_url(ranking)):
        response = client.get(url)
        assert response.status_code == 200 and "91.11" in response.content.decode()
        assert page_cache.CSRF_PLACEHOLDER not in response.content.decode()
    index_run_publish(run=ranking["next"])  # the publication does not fail for it
    assert "77.77" in client.get("/").content.decode()


def test_a_page_this_process_holds_is_served_before_url_resolution(client, ranking, monkeypatch):
    from django.urls.resolvers import URLResolver

    url = profile_url(ranking)
    first = client.get(url)

    def no_resolving(*args, **kwargs):
        raise AssertionError("resolved")

    monkeypatch.setattr(URLResolver, "resolve", no_resolving)
    second = client.get(url)
    assert second.status_code == 200 and without_tokens(second) == without_tokens(first)
    assert tokens(second) and tokens(second) != tokens(first)
    assert second["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in second
    with pytest.raises(AssertionError, match="resolved"):
        client.get(url + "?utm_source=mail")  # not a page it holds: on to the URLs
