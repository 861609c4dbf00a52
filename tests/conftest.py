"""Shared fixtures, and the rule for tests that need real services.

Tests marked ``postgres``, ``redis`` or ``browser`` need PostgreSQL (``DATABASE_URL``),
Redis (``REDIS_URL``) or ``/usr/bin/chromium``. Where one is missing they are skipped with
a message naming it — except in CI (``CI=true``), where a missing service is a failure.
"""

import os
import shutil
import socket
from functools import cache
from urllib.parse import urlparse

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium"


@cache
def _redis_problem() -> str | None:
    url = settings.REDIS_URL
    if not url:
        return "Redis is not configured (set REDIS_URL=redis://127.0.0.1:6379/0)"
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=2) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                return f"Redis at {url} did not answer PING"
    except OSError as exc:
        return f"Redis at {url} is not reachable ({exc})"
    return None


def _postgres_problem() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "PostgreSQL is not configured (set DATABASE_URL=postgres://postgres@127.0.0.1/sqi)"
    return None


def _browser_problem() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


PROBLEMS = {"postgres": _postgres_problem, "redis": _redis_problem, "browser": _browser_problem}


def pytest_runtest_setup(item):
    for marker, problem_of in PROBLEMS.items():
        if item.get_closest_marker(marker) is None:
            continue
        problem = problem_of()
        if problem is None:
            continue
        if IN_CI:
            pytest.fail(f"CI needs this service: {problem}", pytrace=False)
        pytest.skip(problem)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.3 s a user; the tests create hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: rate-limit counters and cached lookups of one
    test (or of an earlier run, with Redis) never leak into the next."""
    from django.core.cache import cache

    from sqi import page_cache

    cache.clear()
    page_cache.forget_local()
    yield


@pytest.fixture
def tree(db):
    from tests.factories import Tree

    return Tree()
