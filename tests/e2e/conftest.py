"""Browser fixtures: the system Chromium driven by Playwright, against pytest-django's
live server (which also serves static files).

Playwright's sync API runs an event loop in this thread, which makes Django think the ORM
is being called from async code; the live server and fixtures are plain sync code, so that
check is switched off while the browser runs.
"""

import io
import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (started only when a browser test runs)."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageProblems(list):
    """Console errors, CSP violations, uncaught exceptions and failed requests of a page."""

    def watch(self, page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.append(f"uncaught exception: {exc}"))
        page.on("requestfailed", self._on_failed)
        page.on("response", self._on_response)

    def _on_failed(self, request) -> None:
        # A navigation the test starts aborts whatever the previous page was still loading
        # (net::ERR_ABORTED): that says nothing about the page. A missing or broken asset
        # answers 4xx/5xx, which _on_response reports.
        if "ERR_ABORTED" in (request.failure or ""):
            return
        self.append(f"request failed: {request.url} ({request.failure})")

    def _on_console(self, message) -> None:
        text = message.text
        if message.type == "error" or "Content Security Policy" in text:
            self.append(f"console {message.type}: {text} ({message.location.get('url', '')})")

    def _on_response(self, response) -> None:
        # A page that answers 4xx on purpose (the 404 page) is fine; its assets are not.
        if response.status >= 400 and response.request.resource_type != "document":
            self.append(f"HTTP {response.status}: {response.url}")


@pytest.fixture
def page_problems():
    return PageProblems()


@pytest.fixture
def browser_context(browser):
    """A fresh context (own cookies) with a Chinese locale, like a visitor in China."""
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context, page_problems):
    page = browser_context.new_page()
    page_problems.watch(page)
    yield page
    page.close()


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")`` saves a full-page PNG to tests/e2e/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def demo_data(transactional_db):
    """The small demo data set, exactly as ``make run`` loads it."""
    from django.core.management import call_command

    call_command("seed_demo", "--size", "small", "--seed", "1", stdout=io.StringIO())
