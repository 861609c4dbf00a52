"""Security settings: ``check --deploy`` is clean in production, and every page carries the
headers that keep scripts, framing and sniffing under control.

The production checks run ``manage.py`` in a subprocess, because settings are read once per
process from the environment and ``SQI_ENV=production`` changes what they are.
"""

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from sqi import checks

BASE_DIR = Path(settings.BASE_DIR)
STRONG_SECRET_KEY = "p7Yq-3vN_x9KcT2mW8rZ4uJ6hB1dF5gL0sE-aQoRiVyXnMtUwCkPbHjGfDlSzA"


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE is set while the browser tests run; production never has it.
        if k
        not in (
            "SECRET_KEY",
            "FIELD_ENCRYPTION_KEY",
            "ALLOWED_HOSTS",
            "DEBUG",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
    }
    env.update(
        SQI_ENV="production",
        SECRET_KEY=STRONG_SECRET_KEY,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="sqi.example",
        DEBUG="false",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output and "?:" not in output, output


def test_check_deploy_fails_with_the_development_secret_key():
    env = production_env(
        SECRET_KEY=settings.DEV_SECRET_KEY,
        FIELD_ENCRYPTION_KEY=settings.DEV_FIELD_ENCRYPTION_KEY,
    )
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert checks.E001 in result.stderr and checks.E002 in result.stderr, result.stderr


def test_production_refuses_to_start_without_secrets():
    result = manage("check", env=production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


class TestDevelopmentSecretsCheck:
    """``sqi.E001`` / ``sqi.E002``: deploy-only errors for the keys settings fall back to."""

    def test_is_registered_for_deploy_only(self):
        from django.core.checks.registry import registry

        assert checks.check_no_development_secrets in registry.get_checks(
            include_deployment_checks=True
        )
        assert checks.check_no_development_secrets not in registry.get_checks()

    def test_development_defaults_are_errors(self):
        with override_settings(
            SECRET_KEY=settings.DEV_SECRET_KEY,
            FIELD_ENCRYPTION_KEY=settings.DEV_FIELD_ENCRYPTION_KEY,
        ):
            ids = [e.id for e in checks.check_no_development_secrets()]
        assert ids == [checks.E001, checks.E002]

    def test_development_key_kept_as_a_fallback_is_an_error(self):
        with override_settings(
            SECRET_KEY=STRONG_SECRET_KEY,
            SECRET_KEY_FALLBACKS=[settings.DEV_SECRET_KEY],
            FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ):
            ids = [e.id for e in checks.check_no_development_secrets()]
        assert ids == [checks.E001]

    def test_real_secrets_pass(self):
        with override_settings(
            SECRET_KEY=STRONG_SECRET_KEY, FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode()
        ):
            assert checks.check_no_development_secrets() == []

    def test_fails_manage_py_check_deploy(self):
        with (
            override_settings(SECRET_KEY=settings.DEV_SECRET_KEY),
            pytest.raises(SystemCheckError, match=checks.E001),
        ):
            call_command("check", deploy=True, tags=["security"])

    def test_plain_check_is_not_affected(self):
        with override_settings(SECRET_KEY=settings.DEV_SECRET_KEY):
            call_command("check", tags=["security"])


# --- headers on every response -----------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class InlineScripts(HTMLParser):
    """Collects what this CSP would block in a page: inline scripts and on* handlers."""

    DATA_TYPES = ("application/json", "application/ld+json")

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "script" and not attrs.get("src") and attrs.get("type") not in self.DATA_TYPES:
            self.problems.append("<script> without src")


PAGES = ["/", "/accounts/login/", "/api/docs/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200

    csp = csp_directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_script_the_policy_would_block(client, path):
    response = client.get(path)
    parser = InlineScripts()
    parser.feed(response.content.decode())
    assert parser.problems == []


@pytest.mark.django_db
def test_api_responses_carry_the_headers_too(client):
    response = client.get("/api/v1/insurers/")
    assert response.status_code in (401, 403)
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_the_cache_gets_its_own_redis_database():
    from sqi.settings import _next_database

    assert _next_database("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/1"
    assert _next_database("redis://h:6379/4") == "redis://h:6379/5"
    assert _next_database("redis://h:6379") == "redis://h:6379/1"


def _database_options(**env: str) -> dict:
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    base = {k: v for k, v in os.environ.items() if k != "DB_PREPARED_STATEMENTS"}
    result = manage("shell", "-c", script, env={**base, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_uses_prepared_statements_unless_turned_off():
    url = "postgres://postgres@127.0.0.1:5432/sqi_unused"
    assert _database_options(DATABASE_URL=url) == {
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    assert _database_options(DATABASE_URL=url, DB_PREPARED_STATEMENTS="false") == {}
    assert _database_options(DATABASE_URL="sqlite:////tmp/unused.sqlite3") == {}


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_repeated_statement_is_prepared_on_the_connection():
    from django.db import connection

    from insurers.models import Insurer

    for _ in range(6):
        list(Insurer.objects.filter(pk=1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "insurers_insurer"' in sql for sql in prepared), prepared
