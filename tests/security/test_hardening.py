# ruff: noqa: F811 - the fixtures are shared with other test modules by importing them
"""Hardening checks of issue 7 item 5 that the other security tests do not make:

* sign-in lockout (django-axes) on the login page and the admin, reset by a success, and no
  password-based API authentication to bypass it;
* CSRF: every POST form of every page carries the token, only DRF views are csrf_exempt and
  a session-authenticated API write without the token is refused;
* production cookies and transport security (in a subprocess with ``SQI_ENV=production``);
* security headers on the admin, error pages, API answers and file downloads;
* uploads are judged by their content, never by their name or declared type;
* anonymous API requests are throttled (authenticated ones are not);
* the public receipt and the error pages show no personal data.

Each test fails if the protection it names is taken away.
"""

import base64
import io
import json
import re
import textwrap
import zipfile
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.views import APIView

from cases import showcase as showcase_services
from cases.models import ShowcaseImage, ShowcaseStatus
from complaints import importing as complaint_importing
from complaints import services as complaint_services
from complaints.models import Attachment, Complaint
from insurers import roles
from sqi import importing as sqi_importing
from sqi.authentication import TokenAuthentication
from sqi.models import OperatingStatistic
from tests.cases.test_showcase import make_case, media, programme  # noqa: F401 - fixtures
from tests.complaints.conftest import intake, people  # noqa: F401 - fixture
from tests.complaints.test_public import form_data, regions  # noqa: F401 - fixture
from tests.factories import Tree, UserFactory, user_in
from tests.sqi.test_settings import manage, production_env

from .crawl import routes
from .test_access_matrix import FORMAT_ONLY, World

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory's
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"  # noqa: E501
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
    b"<script>alert(document.cookie)</script></svg>"
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"PE\x00\x00"


def english(**kwargs) -> Client:
    client = Client(**kwargs)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", errors="replace")
    return response.content.decode("utf-8", errors="replace")


# ---- 1. sign-in lockout (django-axes) ----------------------------------------------------------


def fail_logins(client, url: str, username: str, times: int, **extra):
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "wrong"}, **extra)
        assert response.status_code == 200, response.status_code  # the form, with its error


def test_repeated_failures_lock_the_login_page_even_for_the_right_password():
    user = UserFactory()
    client = english()
    fail_logins(client, LOGIN, user.username, settings.AXES_FAILURE_LIMIT - 1)
    # Just below the limit the right password still works...
    assert client.post(LOGIN, {"username": user.username, "password": PASSWORD}).status_code == 302
    client.logout()  # drops every cookie, the language one too
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    fail_logins(client, LOGIN, user.username, settings.AXES_FAILURE_LIMIT - 1)
    locked = client.post(LOGIN, {"username": user.username, "password": "wrong"})
    assert locked.status_code == 429
    # ...at the limit it does not: the lockout page, not a session.
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = body(response)
    assert 'class="site-header"' in page  # the site's layout, not a bare text answer
    assert "Sign-in temporarily locked" in page
    assert f"after {settings.AXES_FAILURE_LIMIT} failed sign-in attempts" in page
    assert f"try again in {settings.AXES_COOLOFF_TIME * 60} minutes" in page
    assert "system administrator" in page
    assert response["Content-Security-Policy"] and response["X-Frame-Options"] == "DENY"


def test_the_lockout_page_is_translated_and_escapes_nothing_dangerous():
    """The Chinese page (the default language) renders the same template; the username typed
    by the visitor is never echoed back into it."""
    user = UserFactory(username="<script>x</script>")
    client = Client()
    fail_logins(client, LOGIN, user.username, settings.AXES_FAILURE_LIMIT - 1)
    response = client.post(LOGIN, {"username": user.username, "password": "wrong"})
    assert response.status_code == 429
    assert 'lang="zh-Hans"' in body(response)
    assert "登录已暂时锁定" in body(response)
    assert "<script>x</script>" not in body(response)


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout():
    user = UserFactory()
    client = english()
    for i in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": user.username, "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )
    response = client.post(
        LOGIN,
        {"username": user.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code == 429


def test_behind_a_proxy_the_lockout_counts_the_address_the_proxy_passes(settings):
    """CLIENT_IP_HEADER=HTTP_X_REAL_IP: every visitor comes from the proxy's REMOTE_ADDR, and
    the lock falls on the address in the proxy's header, not on everyone."""
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    user = UserFactory()
    attacker, colleague = (
        english(HTTP_X_REAL_IP="203.0.113.9"),
        english(HTTP_X_REAL_IP="198.51.100.20"),
    )
    fail_logins(attacker, LOGIN, user.username, settings.AXES_FAILURE_LIMIT - 1)
    attacker.post(LOGIN, {"username": user.username, "password": "wrong"})  # the limit
    locked = attacker.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert locked.status_code == 429
    signed_in = colleague.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert signed_in.status_code == 302


def test_the_client_address_setting_feeds_the_lockout_and_the_rate_limits():
    env = production_env(
        DATABASE_URL="sqlite:///:memory:", REDIS_URL="", CLIENT_IP_HEADER="HTTP_X_REAL_IP"
    )
    probe = (
        "from django.conf import settings; "
        "print('PROBE', settings.CLIENT_IP_HEADER, settings.AXES_CLIENT_IP_CALLABLE, "
        "settings.RATELIMIT_IP_META_KEY)"
    )
    result = manage("shell", "-c", probe, env=env)
    assert result.returncode == 0, result.stderr
    assert "PROBE HTTP_X_REAL_IP sqi.throttling.client_ip HTTP_X_REAL_IP" in result.stdout


def test_the_lockout_covers_the_admin_login():
    user = UserFactory(is_superuser=True)
    client = english()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(ADMIN_LOGIN, {"username": user.username, "password": "wrong"})
    response = client.post(ADMIN_LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "Sign-in temporarily locked" in body(response)
    # And the lock is the account's on this connection, whichever login page locked it.
    assert client.post(LOGIN, {"username": user.username, "password": PASSWORD}).status_code == 429
    assert client.get("/admin/").status_code == 302  # not signed in


def test_a_successful_sign_in_resets_the_count():
    assert settings.AXES_RESET_ON_SUCCESS
    user = UserFactory()
    client = english()
    for _ in range(3):  # 3 x (limit - 1) failures in all: would lock without the reset
        fail_logins(client, LOGIN, user.username, settings.AXES_FAILURE_LIMIT - 1)
        ok = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
        assert ok.status_code == 302
        client.logout()


def test_the_lockout_is_per_account_and_connection():
    """Another account from the same connection, or this one from elsewhere, is not locked:
    nobody can lock a colleague out from across the internet just by knowing the name."""
    victim, colleague = UserFactory(), UserFactory()
    attacker = english(REMOTE_ADDR="203.0.113.9")
    fail_logins(attacker, LOGIN, victim.username, settings.AXES_FAILURE_LIMIT - 1)
    attacker.post(LOGIN, {"username": victim.username, "password": "wrong"})
    office = english(REMOTE_ADDR="10.1.2.3")
    response = office.post(LOGIN, {"username": victim.username, "password": PASSWORD})
    assert response.status_code == 302
    response = attacker.post(LOGIN, {"username": colleague.username, "password": PASSWORD})
    assert response.status_code == 302


def test_the_api_takes_no_passwords():
    """The API authenticates by session (after the locked-out login page) or by token: no
    HTTP Basic or other password scheme that would let someone guess passwords past axes."""
    allowed = {SessionAuthentication, TokenAuthentication}
    for view in api_views():
        for auth in view.authentication_classes:
            assert auth in allowed, f"{view.__name__} authenticates with {auth.__name__}"
    user = UserFactory(is_superuser=True)
    basic = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
    response = Client().get("/api/v1/insurers/", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code in (401, 403)


# ---- 2. CSRF -----------------------------------------------------------------------------------


def callbacks():
    """(route, view callback) of every URL pattern, the admin site's included."""

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.callback

    yield from walk(get_resolver().url_patterns, "")


def api_views() -> set[type]:
    return {
        cb.cls
        for _, cb in callbacks()
        if isinstance(getattr(cb, "cls", None), type) and issubclass(cb.cls, APIView)
    }


def test_only_api_views_are_csrf_exempt():
    """Django views are never csrf_exempt. DRF views are (by design) and then enforce CSRF
    themselves through SessionAuthentication; TokenAuthentication reads a header a
    cross-site form cannot send."""
    exempt, checked = [], 0
    for route, callback in callbacks():
        checked += 1
        if not getattr(callback, "csrf_exempt", False):
            continue
        cls = getattr(callback, "cls", None)
        if not (isinstance(cls, type) and issubclass(cls, APIView)):
            exempt.append(route)
    assert checked > 100, checked
    assert not exempt, f"csrf_exempt views that are not DRF API views: {exempt}"


def test_a_session_api_write_without_the_csrf_token_is_refused():
    tree = Tree()
    staff = user_in(tree.branch_a1, roles.STAFF)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    data = {
        **{k: str(v) for k, v in intake().items()},
        "insurer": tree.insurer_a.pk,
        "org_unit": tree.branch_a1.pk,
    }
    response = client.post("/api/v1/complaints/", data, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Complaint.objects.exists()
    # The same request with the token gets past CSRF (and files the complaint).
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/complaints/", data, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content
    # A token client needs no CSRF token: no cookie is involved.
    key = Token.objects.create(user=staff).key
    api = Client(enforce_csrf_checks=True)
    data["complainant_phone"] = "13811112222"
    response = api.post(
        "/api/v1/complaints/",
        data,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 201, response.content


class Forms(HTMLParser):
    """Every <form> of a page: its method, action and whether it holds the CSRF token."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._open = {
                "method": (attrs.get("method") or "get").lower(),
                "action": attrs.get("action") or "",
                "token": False,
            }
            self.forms.append(self._open)
        elif (
            tag == "input"
            and self._open is not None
            and attrs.get("name") == "csrfmiddlewaretoken"
            and attrs.get("value")
        ):
            self._open["token"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def _admin_urls() -> list[str]:
    urls = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            name = f"admin:{meta.app_label}_{meta.model_name}_change"
            urls.append(reverse(name, args=[first.pk]))
    return urls


def _urls_for(world) -> list[str]:
    """Every page (not API answers, downloads or exports: they hold no forms)."""
    urls = ["/", LOGIN, ADMIN_LOGIN, "/complaints/new/", "/complaints/status/", "/api/docs/"]
    for r in routes():
        if r.route.startswith("api/") or r.params in FORMAT_ONLY or r.route.endswith(".pdf"):
            continue
        values = world.values(r.name)
        try:
            urls.append(reverse(r.name, kwargs={p: values[p] for p in r.params}))
        except (KeyError, TypeError, NoReverseMatch):  # no record for a parameter
            continue
    return list(dict.fromkeys(urls))


def test_every_post_form_of_every_page_carries_the_csrf_token():
    """Every page reachable by GET, as each kind of user who can see it (and the admin as a
    superuser): each <form method="post"> holds a csrfmiddlewaretoken input."""
    world = World()
    urls = _urls_for(world)
    admin_urls = _admin_urls()
    users = [
        ("anonymous", None),
        *(
            (who, world.users[who])
            for who in ("staff_a1", "officer_a1", "officer_head_a", "index_admin")
        ),
        ("mediator_sh", world.users["mediator_sh"]),
        ("superuser", world.users["superuser"]),
    ]
    missing, get_forms, posts, pages = [], [], 0, 0
    client = Client()
    for who, user in users:
        client.logout()
        if user is not None:
            client.force_login(user)
        for url in urls + (admin_urls if who == "superuser" else []):
            response = client.get(url)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            pages += 1
            html = body(response)
            if "<form" not in html:
                continue
            parser = Forms()
            parser.feed(html)
            for form in parser.forms:
                if form["method"] == "post":
                    posts += 1
                    if not form["token"]:
                        missing.append(f"{url} as {who}: form action={form['action']!r}")
                elif form["method"] != "get":
                    get_forms.append(f"{url}: method={form['method']}")
    assert pages > 150 and posts > 60, (pages, posts)  # not vacuous
    assert not missing, "POST forms without a CSRF token:\n" + "\n".join(sorted(set(missing)))
    assert not get_forms, get_forms


# ---- 3. production cookies and transport security ----------------------------------------------

PRODUCTION_PROBE = textwrap.dedent(
    """
    import json
    from django.conf import settings
    from django.test import Client

    names = [
        "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE", "CSRF_COOKIE_SAMESITE",
        "LANGUAGE_COOKIE_SECURE", "LANGUAGE_COOKIE_HTTPONLY", "LANGUAGE_COOKIE_SAMESITE",
        "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS",
        "SECURE_REFERRER_POLICY", "DEBUG", "API_ANON_RATE",
    ]
    out = {"settings": {n: getattr(settings, n) for n in names}}
    # No collectstatic here: the pages link static files without the manifest's hashes.
    from django.test.utils import override_settings
    plain_static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain_static}).enable()
    client = Client(HTTP_HOST="sqi.example")
    plain = client.get("/accounts/login/")
    out["plain"] = [plain.status_code, plain.get("Location", "")]
    page = client.get("/accounts/login/", secure=True)
    out["headers"] = dict(page.headers)
    out["cookies"] = {}
    for name, morsel in page.cookies.items():
        out["cookies"][name] = {k: morsel[k] for k in ("secure", "httponly", "samesite")}
    lang = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, secure=True)
    for name, morsel in lang.cookies.items():
        out["cookies"][name] = {k: morsel[k] for k in ("secure", "httponly", "samesite")}
    elder = client.post("/prefs/elder/", {"elder": "1"}, secure=True)
    for name, morsel in elder.cookies.items():
        out["cookies"][name] = {k: morsel[k] for k in ("secure", "httponly", "samesite")}
    print("PROBE" + json.dumps(out, default=str))
    """
)


@pytest.fixture(scope="module")
def production():
    env = production_env(DATABASE_URL="sqlite:///:memory:", REDIS_URL="")
    result = manage("shell", "-c", PRODUCTION_PROBE, env=env)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("PROBE"))
    return json.loads(line.removeprefix("PROBE"))


def test_production_cookies_are_secure_httponly_and_samesite(production):
    s = production["settings"]
    assert s["SESSION_COOKIE_SECURE"] and s["SESSION_COOKIE_HTTPONLY"]
    assert s["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert s["CSRF_COOKIE_SECURE"] and s["CSRF_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert s["LANGUAGE_COOKIE_SECURE"] and s["LANGUAGE_COOKIE_HTTPONLY"]
    assert s["LANGUAGE_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert s["DEBUG"] is False
    cookies = production["cookies"]
    assert set(cookies) >= {"csrftoken", settings.LANGUAGE_COOKIE_NAME, settings.ELDER_MODE_COOKIE}
    for name, flags in cookies.items():
        assert flags["secure"] is True, f"{name} is not Secure: {flags}"
        assert flags["samesite"] in ("Lax", "Strict"), f"{name}: {flags}"
        if name != "csrftoken":  # the CSRF token is also in the page for scripts
            assert flags["httponly"] is True, f"{name} is readable by scripts: {flags}"


def test_production_redirects_to_https_and_sends_hsts(production):
    status, location = production["plain"]
    assert status == 301 and location.startswith("https://sqi.example/")
    headers = production["headers"]
    hsts = headers["Strict-Transport-Security"]
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains; preload", hsts), hsts
    assert int(hsts.split("=")[1].split(";")[0]) >= 31536000
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "'unsafe-inline'" not in _script_src(headers["Content-Security-Policy"])


def test_production_throttles_anonymous_api_requests_by_default(production):
    assert production["settings"]["API_ANON_RATE"] == "120/min"


# ---- 4. security headers everywhere ------------------------------------------------------------


def _script_src(csp: str) -> list[str]:
    for part in csp.split(";"):
        name, *values = part.split()
        if name == "script-src":
            return values
    raise AssertionError(f"no script-src in {csp}")


def assert_secure_headers(response, where: str):
    csp = response.get("Content-Security-Policy", "")
    assert csp, f"{where}: no Content-Security-Policy"
    assert _script_src(csp) == ["'self'"], f"{where}: {csp}"
    assert "frame-ancestors 'none'" in csp, where
    assert response.get("X-Content-Type-Options") == "nosniff", where
    assert response.get("Referrer-Policy") == "same-origin", where
    assert response.get("X-Frame-Options") == "DENY", where


@pytest.fixture
def staff_world():
    tree = Tree()
    staff = user_in(tree.branch_a1, roles.STAFF)
    complaint = complaint_services.complaint_create(
        by=staff, insurer=tree.insurer_a, org_unit=tree.branch_a1, **intake()
    )
    attachment = complaint_services.attachment_add(
        complaint=complaint, by=staff, upload=SimpleUploadedFile("a.pdf", PDF)
    )
    return tree, staff, complaint, attachment


def test_headers_on_admin_error_pages_api_and_downloads(staff_world):
    _, staff, complaint, attachment = staff_world
    anonymous = Client()
    assert_secure_headers(anonymous.get(ADMIN_LOGIN), "admin login")
    missing = anonymous.get("/no-such-page/")
    assert missing.status_code == 404
    assert_secure_headers(missing, "404 page")
    assert_secure_headers(anonymous.get("/api/v1/showcase-cases/"), "public API")

    client = Client()
    client.force_login(staff)
    forbidden = client.get("/index/runs/")
    assert forbidden.status_code == 403
    assert_secure_headers(forbidden, "403 page")
    assert_secure_headers(client.get("/api/v1/complaints/"), "API list")
    assert_secure_headers(client.get("/api/v1/nothing/"), "API 404")
    download = client.get(
        reverse("complaints:attachment_download", args=[complaint.reference, attachment.pk])
    )
    assert download.status_code == 200
    assert_secure_headers(download, "attachment download")
    assert download["Content-Disposition"].startswith("attachment;")
    api_download = client.get(
        f"/api/v1/complaints/{complaint.reference}/attachments/{attachment.pk}/download/"
    )
    assert api_download.status_code == 200
    assert_secure_headers(api_download, "API attachment download")
    assert api_download["Content-Disposition"].startswith("attachment;")
    export = client.get(reverse("complaints:export", kwargs={"fmt": "csv"}))
    assert export.status_code == 200
    assert_secure_headers(export, "CSV export")
    assert export["Content-Disposition"].startswith("attachment;")

    superuser = Client()
    superuser.force_login(UserFactory(is_superuser=True))
    assert_secure_headers(superuser.get("/admin/"), "admin index")
    assert_secure_headers(
        superuser.get(reverse("admin:complaints_complaint_changelist")), "admin changelist"
    )


# ---- 5. uploads by content ---------------------------------------------------------------------


def upload_attachment(client, complaint, name, content, content_type="application/pdf"):
    return client.post(
        reverse("complaints:attachment_upload", args=[complaint.reference]),
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
    )


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("photo.png", HTML, "image/png"),
        ("drawing.png", SVG, "image/png"),
        ("scan.svg", SVG, "image/svg+xml"),
        ("bill.pdf", EXE, "application/pdf"),
        ("bill.pdf", b"%PD", "application/pdf"),  # too short to be a PDF
        ("archive.pdf", b"PK\x03\x04" + b"\0" * 64, "application/pdf"),
    ],
)
def test_an_attachment_that_is_no_pdf_or_image_is_refused(staff_world, name, content, declared):
    _, staff, complaint, _ = staff_world
    client = english()
    client.force_login(staff)
    before = Attachment.objects.count()
    response = upload_attachment(client, complaint, name, content, declared)
    assert response.status_code == 200
    assert 'id="id_file_error"' in body(response)
    assert "Only PDF files and images" in body(response)
    assert Attachment.objects.count() == before


def test_an_attachment_is_typed_by_its_content_not_its_name(staff_world):
    """A PNG called .pdf is stored and served as the PNG it is, as a download, with nosniff."""
    _, staff, complaint, _ = staff_world
    client = english()
    client.force_login(staff)
    response = upload_attachment(client, complaint, "receipt.pdf", PNG, "application/pdf")
    assert response.status_code == 302
    attachment = complaint.attachments.get(original_name="receipt.pdf")
    assert attachment.content_type == "image/png"
    download = client.get(
        reverse("complaints:attachment_download", args=[complaint.reference, attachment.pk])
    )
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"


def test_the_api_judges_attachments_by_content_too(staff_world):
    _, staff, complaint, _ = staff_world
    client = Client()
    client.force_login(staff)
    before = Attachment.objects.count()
    url = f"/api/v1/complaints/{complaint.reference}/attachments/"
    for name, content in (("x.png", SVG), ("x.pdf", EXE), ("x.jpg", HTML)):
        upload = SimpleUploadedFile(name, content, content_type="image/png")
        response = client.post(url, {"file": upload})
        assert response.status_code == 400, (name, response.content)
        assert "file" in response.json()
    assert Attachment.objects.count() == before


def test_an_oversized_attachment_is_refused_before_it_is_stored(staff_world, settings):
    _, staff, complaint, _ = staff_world
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    client = english()
    client.force_login(staff)
    before = Attachment.objects.count()
    response = upload_attachment(client, complaint, "big.pdf", PDF + b"\0" * (1024 * 1024))
    assert 'id="id_file_error"' in body(response)
    assert Attachment.objects.count() == before


@pytest.mark.parametrize(
    ("name", "content"),
    [("evil.png", SVG), ("evil.svg", SVG), ("page.png", HTML), ("tool.jpg", EXE)],
)
def test_a_showcase_image_that_is_no_image_is_refused(make_case, people, media, name, content):
    case = make_case()
    with pytest.raises(ValidationError) as refused:
        showcase_services.showcase_image_add(
            case=case, by=people.staff, upload=SimpleUploadedFile(name, content), alt="图"
        )
    assert "image" in refused.value.message_dict
    assert not ShowcaseImage.objects.exists()
    assert not any(media.rglob("*.*"))


def test_a_showcase_image_is_served_as_what_it_is(make_case, people, media):
    """A GIF uploaded as .png is served as image/gif: the type comes from the bytes."""
    case = make_case(ShowcaseStatus.AWARDED)
    image = showcase_services.showcase_image_add(
        case=case, by=people.index_admin, upload=SimpleUploadedFile("photo.png", GIF), alt="图"
    )
    response = Client().get(reverse("cases:showcase_image", args=[case.slug, image.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response
    response.close()


def _zip_bomb(unpacked: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * unpacked)
    return buffer.getvalue()


IMPORT_ATTACKS = {
    "an executable called .xlsx": ("tool.xlsx", EXE),
    "an executable called .csv": ("tool.csv", EXE),
    "an HTML page called .csv": ("page.csv", HTML),
    "a zip that is no workbook": ("archive.xlsx", b"PK\x03\x04" + b"\0" * 64),
    "a zip bomb": ("bomb.xlsx", None),
}


@pytest.mark.parametrize("attack", list(IMPORT_ATTACKS))
@pytest.mark.parametrize("importer", ["complaints", "statistics", "claims"])
def test_imports_refuse_files_by_their_content(attack, importer, monkeypatch):
    monkeypatch.setattr(complaint_importing, "XLSX_MAX_UNPACKED", 256 * 1024)
    name, data = IMPORT_ATTACKS[attack]
    if data is None:
        data = _zip_bomb(1024 * 1024)
        assert len(data) < 10 * 1024  # small on the wire, big once unpacked
    if importer == "complaints":
        tree = Tree()
        user = user_in(tree.branch_a1, roles.STAFF)
        run = complaint_importing.complaints_import
    else:
        user = UserFactory(roles=[roles.INDEX_ADMIN])
        run = getattr(sqi_importing, f"{importer}_import")
    with translation.override("en"):
        result = run(by=user, file=SimpleUploadedFile(name, data), file_name=name)
        message = str(result.errors[0].message) if result.errors else ""
    assert not result.ok
    # Refused as a whole (naming the file), or at its first row: no header of ours there.
    assert result.errors[0].row in (None, 1), result.errors
    if attack == "a zip bomb":
        assert "unpacks to more than" in message
    assert not Complaint.objects.exists()
    assert not OperatingStatistic.objects.exists()


def test_the_import_page_shows_the_refusal(monkeypatch):
    tree = Tree()
    staff = user_in(tree.branch_a1, roles.STAFF)
    client = english()
    client.force_login(staff)
    response = client.post(
        reverse("complaints:import"), {"file": SimpleUploadedFile("tool.xlsx", EXE)}
    )
    assert response.status_code == 200
    assert "tool.xlsx" in body(response)
    assert not Complaint.objects.exists()


# ---- 6. rate limits ----------------------------------------------------------------------------


def test_anonymous_api_requests_are_throttled(settings):
    settings.API_ANON_RATE = "3/min"
    client = Client()
    answers = [client.get("/api/v1/showcase-cases/").status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    throttled = client.get("/api/v1/sqi/results/", {"period": "2025", "peer_group": "property"})
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert throttled.json()["detail"]
    # A forged X-Forwarded-For is no new client.
    again = client.get("/api/v1/showcase-cases/", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert again.status_code == 429
    # Another address is.
    assert Client(REMOTE_ADDR="198.51.100.2").get("/api/v1/showcase-cases/").status_code == 200


def test_authenticated_api_clients_are_not_throttled(settings):
    settings.API_ANON_RATE = "3/min"
    tree = Tree()
    staff = user_in(tree.branch_a1, roles.STAFF)
    key = Token.objects.create(user=staff).key
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    answers = {client.get("/api/v1/complaints/").status_code for _ in range(10)}
    assert answers == {200}


def test_the_api_throttle_can_be_turned_off(settings):
    settings.API_ANON_RATE = None
    client = Client()
    assert {client.get("/api/v1/showcase-cases/").status_code for _ in range(5)} == {200}


def test_the_api_has_no_anonymous_complaint_intake():
    """Complaints are filed anonymously only through the rate-limited form."""
    tree = Tree()
    data = {**{k: str(v) for k, v in intake().items()}, "insurer": tree.insurer_a.pk}
    response = Client().post("/api/v1/complaints/", data, content_type="application/json")
    assert response.status_code in (401, 403)
    assert not Complaint.objects.exists()


# ---- 7. personal data on the receipt and error pages -------------------------------------------


def test_the_receipt_and_error_pages_show_no_personal_data(regions):
    client = english()
    data = form_data(regions, complainant_name="司徒回执", complainant_phone="139 8765 4321")
    response = client.post("/complaints/new/", data)
    assert response.status_code == 302, body(response)
    complaint = Complaint.objects.get()
    receipt = body(client.get(response["Location"]))
    assert complaint.reference in receipt
    phone_digits = "13987654321"
    for secret in ("司徒回执", data["complainant_id_number"], "8765"):
        assert secret not in receipt, secret
    assert phone_digits not in re.sub(r"\D", "", receipt)

    # Error pages never echo the address, which may hold whatever a visitor typed.
    for url in (
        f"/work/complaints/{complaint.reference}/?phone={phone_digits}",
        f"/no-such-page/{phone_digits}/司徒回执/",
        f"/api/v1/nothing/{phone_digits}/",
    ):
        page = body(client.get(url))
        # The language switch sends the visitor back to the address they typed: leave out
        # attribute values, the rest of the page must not repeat it.
        page = re.sub(r'(?:value|action|href)="[^"]*"', "", page)
        assert phone_digits not in page and "司徒回执" not in page, url


def test_a_status_look_up_never_echoes_the_phone_or_the_name(regions):
    client = english()
    data = form_data(regions, complainant_name="司徒查询", complainant_phone="13987650000")
    client.post("/complaints/new/", data)
    complaint = Complaint.objects.get()
    for phone in ("13987650000", "139-8765-0000", "13000000000"):
        page = body(
            client.post("/complaints/status/", {"reference": complaint.reference, "phone": phone})
        )
        assert "司徒查询" not in page
        assert "87650000" not in re.sub(r"\D", "", page)
        assert data["complainant_id_number"] not in page


def test_the_factory_password_is_the_one_these_tests_use():
    # Guards the lockout tests above: UserFactory's password is the one they use.
    user = UserFactory()
    assert get_user_model().objects.get(pk=user.pk).check_password(PASSWORD)
