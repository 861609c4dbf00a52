"""Site-wide pages through Django's test client: home, language and elder-mode switches,
login and the error pages."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from insurers.models import Level
from insurers.roles import INDEX_ADMIN, OFFICER, STAFF
from sqi import views
from sqi.page_cache import public_pages_changed
from tests.factories import InsurerFactory, UserFactory, unit, user_in

pytestmark = pytest.mark.django_db

LANG_COOKIE = settings.LANGUAGE_COOKIE_NAME
ELDER_COOKIE = settings.ELDER_MODE_COOKIE


def html_of(response) -> str:
    return response.content.decode()


def nav_of(html: str) -> str:
    return re.search(r'<nav class="site-nav".*?</nav>', html, re.S).group(0)


# ---- home and language ----------------------------------------------------------------


def test_home_is_chinese_by_default(client):
    html = html_of(client.get("/"))
    assert '<html lang="zh-Hans">' in html
    assert "首页" in nav_of(html)  # "Home", translated by Django's own catalogue


def test_home_in_english_from_the_language_cookie(client):
    client.cookies[LANG_COOKIE] = "en"
    html = html_of(client.get("/"))
    assert '<html lang="en">' in html
    assert ">Home<" in nav_of(html)
    assert 'aria-pressed="true">English<' in html


def test_home_follows_the_browser_language_when_no_choice_is_stored(client):
    html = html_of(client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    assert '<html lang="en">' in html
    html = html_of(client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"))
    assert '<html lang="zh-Hans">' in html


def test_language_switch_posts_to_set_language_and_is_remembered(client):
    html = html_of(client.get("/"))
    assert f'action="{reverse("set_language")}"' in html
    assert 'name="language" value="en"' in html

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[LANG_COOKIE].value == "en"
    assert '<html lang="en">' in html_of(client.get("/"))


def test_home_has_no_inline_script_and_a_strict_csp(client):
    response = client.get("/")
    html = html_of(response)
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "htmx and app.js are loaded"
    assert all(" src=" in tag and " defer" in tag for tag in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html), "no inline event handlers"
    assert "echarts" not in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "/static/vendor/htmx/htmx.min.js" in html


def test_cards_for_pages_not_built_yet_are_not_links(client, monkeypatch):
    from sqi import views

    html = html_of(client.get("/"))
    assert 'class="card card--soon"' not in html  # every page the cards name exists now
    assert f'class="card-link" href="{reverse("admin:index")}"' in html
    later = views.Card("Later", "Not built yet.", "sqi:not_built_yet", "star")
    monkeypatch.setattr(views, "PUBLIC_CARDS", (*views.PUBLIC_CARDS, later))
    public_pages_changed()  # a new release (its migrate) drops the cached pages
    html = html_of(client.get("/"))
    soon = re.findall(r'<li class="card card--soon">.*?</li>', html, re.S)
    assert len(soon) == 1 and "Not built yet." in soon[0]
    assert "<a " not in soon[0]


# ---- signed-in users ----------------------------------------------------------------------


def test_anonymous_visitor_sees_login_and_no_staff_links(client):
    html = html_of(client.get("/"))
    assert f'href="{reverse("login")}?next=/"' in html
    assert reverse("api-docs") not in html
    assert "scope-title" not in html


def test_staff_user_sees_scope_roles_units_and_staff_links(client, tree):
    user = user_in(tree.branch_a1, STAFF)
    client.force_login(user)
    client.cookies[LANG_COOKIE] = "en"
    html = html_of(client.get("/"))
    assert 'id="scope-title"' in html
    assert "Consumer-protection staff" in html
    assert tree.branch_a1.name in html
    assert tree.sub_a1a.name not in html, "only the top units are listed"
    nav = nav_of(html)
    assert reverse("admin:index") in nav
    assert reverse("api-docs") in nav
    assert f'action="{reverse("logout")}"' in html


def test_officer_scope_names_the_officer_role(client, tree):
    client.force_login(user_in(tree.head_a, OFFICER, officer=True))
    client.cookies[LANG_COOKIE] = "en"
    html = html_of(client.get("/"))
    assert "Service officer" in html
    assert tree.head_a.name in html


def test_market_wide_user_sees_a_few_top_units_and_a_count_of_the_rest(client, tree):
    for _ in range(views.SCOPE_UNITS_SHOWN):
        unit(Level.HEAD_OFFICE, insurer=InsurerFactory())
    roots = 2 + views.SCOPE_UNITS_SHOWN  # the tree's group and head office C, plus these
    client.force_login(UserFactory(roles=[INDEX_ADMIN]))
    client.cookies[LANG_COOKIE] = "en"
    html = html_of(client.get("/"))
    assert "Index administrator" in html
    assert html.count('<span class="unit-name">') == views.SCOPE_UNITS_SHOWN
    assert f"and {roots - views.SCOPE_UNITS_SHOWN} more units" in html


def test_user_without_roles_or_units_is_told_so(client):
    client.force_login(UserFactory())
    client.cookies[LANG_COOKIE] = "en"
    html = html_of(client.get("/"))
    assert "No role has been given to your account yet." in html
    assert "You are not placed in any org unit yet" in html


# ---- elder mode ---------------------------------------------------------------------------


def test_elder_mode_on_sets_a_cookie_and_enlarges_the_page(client):
    html = html_of(client.get("/"))
    assert '<body class="' in html
    assert not re.search(r'<body class="[^"]*\belder\b', html)
    assert 'name="elder" value="1"' in html
    assert 'aria-pressed="false"' in html

    response = client.post(reverse("elder_mode"), {"elder": "1", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    cookie = response.cookies[ELDER_COOKIE]
    assert cookie.value == "1"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) >= 300 * 24 * 3600

    html = html_of(client.get("/"))
    assert re.search(r'<body class="[^"]*\belder\b', html)
    assert 'name="elder" value="0"' in html
    assert re.search(r'class="switch" aria-pressed="true"', html)


def test_elder_mode_off_clears_the_cookie(client):
    client.cookies[ELDER_COOKIE] = "1"
    response = client.post(reverse("elder_mode"), {"elder": "0", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[ELDER_COOKIE].value == ""
    assert int(response.cookies[ELDER_COOKIE]["max-age"]) == 0
    assert not re.search(r'<body class="[^"]*\belder\b', html_of(client.get("/")))


def test_elder_mode_refuses_get(client):
    response = client.get(reverse("elder_mode"), {"elder": "1"})
    assert response.status_code == 405
    assert ELDER_COOKIE not in response.cookies


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/path", "http://evil.example", "javascript:alert(1)"],
)
def test_elder_mode_does_not_redirect_off_site(client, target):
    response = client.post(reverse("elder_mode"), {"elder": "1", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_elder_mode_returns_to_the_page_it_was_switched_on(client):
    response = client.post(reverse("elder_mode"), {"elder": "1", "next": "/accounts/login/?a=1"})
    assert response["Location"] == "/accounts/login/?a=1"


def test_elder_mode_needs_a_csrf_token():
    response = Client(enforce_csrf_checks=True).post(reverse("elder_mode"), {"elder": "1"})
    assert response.status_code == 403


# ---- login and error pages ---------------------------------------------------------------


def test_login_page_renders_labelled_fields(client):
    client.cookies[LANG_COOKIE] = "en"
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = html_of(response)
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'autocomplete="current-password"' in html
    assert "registration/login.html" in [t.name for t in response.templates]


def test_login_page_in_chinese(client):
    html = html_of(client.get(reverse("login")))
    assert '<label for="id_username">用户名</label>' in html
    assert '<label for="id_password">密码</label>' in html


def test_failed_login_shows_the_error(client):
    client.cookies[LANG_COOKIE] = "en"
    UserFactory(username="someone")
    response = client.post(reverse("login"), {"username": "someone", "password": "wrong"})
    assert response.status_code == 200
    html = html_of(response)
    assert 'role="alert"' in html
    assert "Please enter a correct" in html


def test_login_goes_home(client):
    UserFactory(username="someone")
    response = client.post(
        reverse("login"), {"username": "someone", "password": "pw-for-tests-only"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_404_uses_the_site_template(client):
    client.cookies[LANG_COOKIE] = "en"
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    html = html_of(response)
    assert "Page not found" in html
    assert 'class="site-header"' in html


def test_403_uses_the_site_template():
    request = RequestFactory().get("/somewhere/", HTTP_ACCEPT_LANGUAGE="en")
    request.user = AnonymousUser()
    request.COOKIES[LANG_COOKIE] = "en"
    response = defaults.permission_denied(request, exception=None)
    assert response.status_code == 403
    html = html_of(response)
    assert "Access denied" in html
    assert 'class="site-header"' in html
    assert f'href="{reverse("login")}?next=/somewhere/"' in html


def test_500_renders_without_a_request():
    html = loader.get_template("500.html").render()
    assert "<html lang=" in html
    assert "500" in html
    assert 'href="/"' in html


# ---- the index on the home page ---------------------------------------------------------------


def test_home_leads_with_the_index_board_and_links_the_index_pages(client):
    client.cookies[LANG_COOKIE] = "en"
    html = html_of(client.get("/"))
    assert 'id="sqi-board"' in html
    assert "No index has been published yet." in html, "nothing is published in this test"
    nav = nav_of(html)
    assert f'href="{reverse("sqi:index_home")}"' in nav
    assert f'href="{reverse("sqi:methodology")}"' in nav
    assert f'class="card-link" href="{reverse("sqi:index_home")}"' in html
    # the board comes before the services, and signed-out visitors see no scope panel
    assert html.index('id="sqi-board"') < html.index('id="public-services"')
    assert '<link rel="stylesheet" href="/static/sqi/index.css">' in html
    assert '<script src="/static/sqi/index.js" defer></script>' in html


def test_signed_in_users_see_the_board_above_their_scope(client, tree):
    client.force_login(user_in(tree.branch_a1, STAFF))
    html = html_of(client.get("/"))
    assert html.index('id="sqi-board"') < html.index('id="scope-title"')
