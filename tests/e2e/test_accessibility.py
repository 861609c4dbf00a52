"""Accessibility of the public site in a real browser (issue 7, item 6).

* Every public page and the complaint form (empty, with errors, and its receipt), in
  Chinese and English, in normal and elder mode, has no axe-core violation of the WCAG 2.1
  A and AA rules. axe-core is the npm package vendored by static/vendor/fetch.sh into
  tests/e2e/vendor/axe-core/; it is evaluated in the page by Playwright (``page.evaluate``
  is not subject to the site's CSP, which forbids inline scripts).
* Elder mode reaches a base font size of at least 20 px, and body text has a contrast
  ratio of at least 7:1 (WCAG AAA) against its background.
* The public complaint form can be completed with the keyboard alone, and the focused
  control is always visibly marked.

Screenshots of every page in both modes go to tests/e2e/artifacts/a11y-<page>-<lang>-<mode>.png.

The demo data set is loaded once for the module and served by a live server of this module:
pytest-django's ``live_server`` and ``django_db`` helper would empty the database after every
test, and loading the data for each of the ~60 tests would take minutes. The tests are still
marked ``django_db`` (so that the test database is set up), but the per-test helper is
replaced by one that leaves the shared data alone; the database is emptied when the module
is done, as a transactional test would leave it.
"""

import io
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text("utf-8")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGUAGES = ["zh-hans", "en"]
MODES = ["normal", "elder"]
REFERENCE = re.compile(r"^TS\d{4}-\d{6}$")


# --- the site -------------------------------------------------------------------------------


@dataclass
class Site:
    url: str
    paths: dict[str, str] = field(default_factory=dict)
    phones: list[str] = field(default_factory=list)
    connection: Any = None

    def db(self, function, *args, **kwargs):
        """Database work of a test, on the module's connection (see ``_on_connection``)."""
        return _on_connection(self.connection, function, *args, **kwargs)

    def phone(self) -> str:
        """A fresh mobile number for each complaint filed (the form limits filings per phone)."""
        number = f"139{len(self.phones):08d}"
        self.phones.append(number)
        return number


def _first_link(client, path: str, pattern: str) -> str:
    body = client.get(path).content.decode()
    match = re.search(r'href="(' + pattern + r')"', body)
    assert match, f"no link matching {pattern} on {path}"
    return match.group(1)


def _on_connection(connection, function, *args, **kwargs):
    """``function(*args, **kwargs)`` run in a thread of its own on ``connection``.

    While Playwright's event loop runs in this thread, Django keeps database connections
    per async context rather than per thread (asgiref's Local), so code here can be handed
    a new connection that nobody closes (with PostgreSQL the test database then cannot be
    dropped). The module's database work is therefore done on one connection, shared with
    a worker thread the way the live server shares it."""
    from django.db import connections

    outcome = {}

    def run():
        connections["default"] = connection
        try:
            outcome["result"] = function(*args, **kwargs)
        except BaseException as exc:  # re-raised in the calling thread
            outcome["error"] = exc

    connection.inc_thread_sharing()
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        connection.dec_thread_sharing()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def _close_after_each_response(thread) -> None:
    """Serve HTTP/1.0: one request per connection. With keep-alive, the session's Chromium
    keeps server threads (and their database connections) alive after the module's server
    has stopped, and the test database cannot be dropped at the end of the session."""
    from django.test.testcases import QuietWSGIRequestHandler

    class Handler(QuietWSGIRequestHandler):
        protocol_version = "HTTP/1.0"

    def create_server(connections_override=None):
        return thread.server_class(
            (thread.host, thread.port),
            Handler,
            allow_reuse_address=False,
            connections_override=connections_override,
        )

    thread._create_server = create_server


@pytest.fixture
def _django_db_helper(site):
    """Overrides pytest-django's per-test transaction/flush: see the module docstring."""
    yield


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client, override_settings
    from pytest_django.live_server_helper import LiveServer

    # The form's per-IP limits would stop the filings this module makes for its pages.
    rates = override_settings(PUBLIC_COMPLAINT_RATE_IP="1000/h", PUBLIC_STATUS_RATE_IP="1000/h")
    with django_db_blocker.unblock(), rates:
        cache.clear()
        connection = connections["default"]
        _on_connection(
            connection,
            call_command,
            *("seed_demo", "--size", "small", "--seed", "1"),
            stdout=io.StringIO(),
        )
        client = Client()
        paths = _on_connection(
            connection,
            lambda: {
                "home": "/",
                "index": "/index/",
                "ranking": _first_link(client, "/index/", r"/index/[^\"/?]+/[^\"/?]+/"),
                "profile": _first_link(client, "/index/", r"/insurers/[^\"/?]+/"),
                "methodology": "/methodology/",
                "cases": "/cases/",
                "case": _first_link(client, "/cases/", r"/cases/[^\"/?]+/"),
                "complaint": "/complaints/new/",
                "complaint-errors": "/complaints/new/",
                "receipt": "/complaints/new/received/",
                "status": "/complaints/status/",
                "status-result": "/complaints/status/",
                "login": "/accounts/login/",
                "404": "/no-such-page/",
            },
        )
        server = LiveServer("localhost", start=False)
        _close_after_each_response(server.thread)
        server.start()
        server._live_server_modified_settings.enable()
        try:
            yield Site(url=server.url, paths=paths, connection=connection)
        finally:
            server._live_server_modified_settings.disable()
            server.stop()
            cache.clear()
            _on_connection(connection, call_command, "flush", interactive=False, verbosity=0)
            connection.close()


@pytest.fixture(scope="module")
def contexts(request, site):
    """One browser context per language and mode for the module, its cookies set once: pages
    after the first load the site's CSS and scripts from the browser's cache.

    The session's browser is asked for only now, so that ``site`` loads the data before
    Playwright's event loop runs in this thread (see ``_on_connection``)."""
    browser = request.getfixturevalue("browser")
    made = {}

    def get(lang: str, mode: str):
        if (lang, mode) not in made:
            context = browser.new_context(
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
                viewport={"width": 1280, "height": 900},
                reduced_motion="reduce",
            )
            context.set_default_timeout(15_000)
            cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": site.url}]
            if mode == "elder":
                cookies.append({"name": settings.ELDER_MODE_COOKIE, "value": "1", "url": site.url})
            context.add_cookies(cookies)
            made[(lang, mode)] = context
        return made[(lang, mode)]

    yield get
    for context in made.values():
        context.close()


@pytest.fixture
def open_page(contexts, page_problems):
    """``open_page(lang, mode)``: a new tab in that language and mode, watched for console
    errors, CSP violations and failed requests, and closed after the test."""
    pages = []

    def new(lang: str, mode: str):
        page = contexts(lang, mode).new_page()
        page_problems.watch(page)
        pages.append(page)
        return page

    yield new
    for page in pages:
        page.close()


# --- getting pages into the state to check ----------------------------------------------------


def fill_complaint(page, site: Site) -> None:
    """Fill the public complaint form with the mouse (the keyboard test does it by keys)."""
    page.select_option("#id_insurer", index=1)
    page.select_option("#id_province", "310000")
    page.select_option("#id_product_line", index=1)
    page.select_option("#id_category", index=1)
    page.fill("#id_narrative", "车辆出险一个多月，理赔一直没有结果。")
    page.fill("#id_complainant_name", "赵六")
    page.fill("#id_complainant_phone", site.phone())
    page.check("#id_consent")


def file_complaint(page, site: Site) -> str:
    page.goto(site.url + site.paths["complaint"])
    fill_complaint(page, site)
    page.locator("form.public-form button[type=submit]").click()
    page.wait_for_url("**/complaints/new/received/")
    return page.locator(".receipt-ref").inner_text().strip()


def goto(page, site: Site, name: str):
    """Open the page ``name`` in the state to be checked; returns the document response."""
    url = site.url + site.paths[name]
    if name == "complaint-errors":
        page.goto(url)
        with page.expect_navigation():
            page.locator("form.public-form button[type=submit]").click()
        return None
    if name == "receipt":
        file_complaint(page, site)
        return None
    if name == "status-result":
        reference = file_complaint(page, site)
        phone = site.phones[-1]
        page.goto(url)
        page.fill("#id_reference", reference)
        page.fill("#id_phone", phone)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").first.click()
        return None
    return page.goto(url)


# --- axe ------------------------------------------------------------------------------------


def axe_run(page) -> dict:
    """axe-core's results for the page: violations, and the checks it could not decide
    ("incomplete", for a person to review; they do not fail the test)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(
        """async tags => {
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations', 'incomplete'],
            });
            const keep = list => list.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary})),
            }));
            return {violations: keep(r.violations), incomplete: keep(r.incomplete),
                    version: axe.version};
        }""",
        AXE_TAGS,
    )


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"][:8]:
            target = " ".join(str(t) for t in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {target}: {summary[:300]}")
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


# Text colour, size and weight of an element, and the colour stops of the nearest
# background gradient behind it.
GRADIENT_JS = """el => {
    const style = getComputedStyle(el);
    let stops = [];
    for (let node = el; node; node = node.parentElement) {
        const image = getComputedStyle(node).backgroundImage;
        if (image && image.includes('gradient')) {
            stops = image.match(/rgba?\\([^)]*\\)/g) || [];
            break;
        }
    }
    return {color: style.color, size: parseFloat(style.fontSize),
            bold: parseInt(style.fontWeight, 10) >= 700, stops: stops};
}"""


def gradient_contrast_failures(page, incomplete: list[dict]) -> list[str]:
    """Text on a gradient whose contrast falls below AA against any of its colour stops."""
    failures = []
    for check in incomplete:
        if check["id"] != "color-contrast":
            continue
        for node in check["nodes"]:
            if "gradient" not in (node.get("failureSummary") or ""):
                continue
            selector = node["target"][-1]
            found = page.locator(selector).first.evaluate(GRADIENT_JS)
            assert found["stops"], f"no gradient found behind {selector}"
            large = found["size"] >= 24 or (found["bold"] and found["size"] >= 18.66)
            needed = 3.0 if large else 4.5
            for stop in found["stops"]:
                background = over(parse_rgba(stop), (255.0, 255.0, 255.0, 1.0))
                ratio = contrast(over(parse_rgba(found["color"]), background), background)
                if ratio < needed:
                    failures.append(f"{selector}: {ratio:.2f}:1 on {stop} (needs {needed}:1)")
    return failures


PAGES = [
    "home",
    "index",
    "ranking",
    "profile",
    "methodology",
    "cases",
    "case",
    "complaint",
    "complaint-errors",
    "receipt",
    "status",
    "status-result",
    "login",
    "404",
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_no_axe_violations(site, open_page, page_problems, name, lang, mode):
    page = open_page(lang, mode)
    response = goto(page, site, name)
    if response is not None:
        assert response.status == (404 if name == "404" else 200), page.url
    page.wait_for_load_state("load")
    html_lang = page.get_attribute("html", "lang")
    assert html_lang == ("zh-Hans" if lang == "zh-hans" else "en")
    body_class = page.get_attribute("body", "class") or ""
    assert ("elder" in body_class.split()) == (mode == "elder")

    ARTIFACTS.mkdir(exist_ok=True)
    artifact = ARTIFACTS / f"a11y-{name}-{lang}-{mode}"
    page.screenshot(path=str(artifact.with_suffix(".png")), full_page=True)

    result = axe_run(page)
    artifact.with_suffix(".json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    violations = result["violations"]
    assert not violations, f"axe-core on {name} ({lang}, {mode}):\n{describe(violations)}"
    # axe cannot tell the contrast of text on a gradient ("incomplete"): check it against
    # every colour stop of the gradient here instead.
    low = gradient_contrast_failures(page, result["incomplete"])
    assert not low, f"text on a gradient too faint on {name} ({lang}, {mode}): {low}"
    # The 404 page answers 404 on purpose; Chromium logs that as a console error.
    problems = [p for p in page_problems if not (name == "404" and site.paths["404"] in p)]
    assert not problems, problems


# --- elder mode: size and contrast ----------------------------------------------------------


def parse_rgba(value: str) -> tuple[float, float, float, float]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", value)]
    r, g, b = numbers[:3]
    a = numbers[3] if len(numbers) > 3 else 1.0
    return r, g, b, a


def over(top: tuple, bottom: tuple) -> tuple:
    """``top`` (r, g, b, a) composited over an opaque ``bottom``."""
    a = top[3]
    return (*(top[i] * a + bottom[i] * (1 - a) for i in range(3)), 1.0)


def luminance(rgb: tuple) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple, b: tuple) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# The text colour of an element and the background colours from it up to <html>.
COLOURS_JS = """el => {
    const backgrounds = [];
    for (let node = el; node; node = node.parentElement) {
        backgrounds.push(getComputedStyle(node).backgroundColor);
    }
    return {color: getComputedStyle(el).color, backgrounds: backgrounds,
            text: (el.innerText || '').trim().slice(0, 60)};
}"""


def text_contrast(element) -> tuple[float, str]:
    found = element.evaluate(COLOURS_JS)
    background = (255.0, 255.0, 255.0, 1.0)  # the canvas behind <html>
    for colour in reversed(found["backgrounds"]):
        background = over(parse_rgba(colour), background)
    text = over(parse_rgba(found["color"]), background)
    return contrast(text, background), found["text"]


@pytest.mark.parametrize("name", ["home", "complaint", "case", "methodology"])
def test_elder_mode_is_large_and_high_contrast(site, open_page, name):
    page = open_page("zh-hans", "elder")
    goto(page, site, name)
    body = page.locator("body")
    size = body.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 20, f"elder mode body font size {size}px"

    body_ratio, _ = text_contrast(body)
    assert body_ratio >= 7, f"elder mode body text contrast {body_ratio:.2f}:1"
    paragraphs = page.locator("main p:visible")
    assert paragraphs.count() > 0
    lowest = (99.0, "")
    for i in range(paragraphs.count()):
        paragraph = paragraphs.nth(i)
        ratio, text = text_contrast(paragraph)
        assert ratio >= 7, f"elder mode paragraph contrast {ratio:.2f}:1 on {name}: {text!r}"
        lowest = min(lowest, (ratio, text))
        p_size = paragraph.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
        assert p_size >= 16, f"elder mode paragraph font size {p_size}px on {name}: {text!r}"
    ARTIFACTS.mkdir(exist_ok=True)
    metrics = {
        "body_font_size_px": size,
        "body_contrast": round(body_ratio, 2),
        "paragraphs": paragraphs.count(),
        "lowest_paragraph_contrast": round(lowest[0], 2),
        "lowest_paragraph_text": lowest[1],
    }
    (ARTIFACTS / f"a11y-elder-metrics-{name}.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=1)
    )


# --- the complaint form with the keyboard alone ---------------------------------------------


FOCUS_JS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    return {
        tag: el.tagName.toLowerCase(), id: el.id, type: el.type || '',
        name: el.getAttribute('name') || '', text: (el.innerText || '').trim().slice(0, 40),
        outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0,
        boxShadow: style.boxShadow, visible: el.matches(':focus-visible'),
    };
}"""


def focus_is_visible(focus: dict) -> bool:
    outlined = focus["outlineStyle"] != "none" and focus["outlineWidth"] > 0
    shadowed = focus["boxShadow"] not in ("", "none")
    return outlined or shadowed


@pytest.mark.parametrize("mode", MODES)
def test_complaint_form_with_the_keyboard_alone(site, open_page, page_problems, mode):
    from complaints.models import Complaint

    page = open_page("zh-hans", mode)
    page.goto(site.url + site.paths["complaint"])
    keyboard = page.keyboard
    seen: list[str] = []

    def tab_to(element_id: str, *, limit: int = 60) -> None:
        """Tab forward until ``element_id`` has focus, checking each stop shows its focus."""
        for _ in range(limit):
            keyboard.press("Tab")
            focus = page.evaluate(FOCUS_JS)
            assert focus is not None, "focus left the page"
            label = f"{focus['tag']}#{focus['id'] or focus['name'] or focus['text']}"
            seen.append(label)
            assert focus_is_visible(focus), f"no visible focus on {label}: {focus}"
            if focus["id"] == element_id:
                return
        raise AssertionError(f"#{element_id} not reached by Tab; went through {seen}")

    def choose(element_id: str, presses: int = 1) -> None:
        tab_to(element_id)
        for _ in range(presses):
            keyboard.press("ArrowDown")
        assert page.eval_on_selector(f"#{element_id}", "el => el.value"), element_id

    # The skip link comes first and takes the visitor to the main content.
    keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    choose("id_insurer")
    choose("id_province")
    choose("id_product_line")
    choose("id_category")
    # The dependent subcategory offers only the chosen category's options (optional).
    tab_to("id_subcategory")
    keyboard.press("ArrowDown")
    options = page.eval_on_selector_all(
        "#id_subcategory option[value]:not([value=''])", "els => els.map(e => e.dataset.category)"
    )
    category = page.eval_on_selector("#id_category", "el => el.value")
    assert options and set(options) == {category}
    tab_to("id_narrative")
    keyboard.type("车辆出险一个多月，理赔一直没有结果，客服也说不清进度。")
    tab_to("id_amount_in_dispute")
    keyboard.type("5000")
    tab_to("id_complainant_name")
    keyboard.type("赵六")
    tab_to("id_complainant_phone")
    phone = site.phone()
    keyboard.type(phone)
    tab_to("id_consent")
    keyboard.press("Space")
    assert page.is_checked("#id_consent")
    # Shift+Tab goes back, Tab forward again, to the submit button; Enter sends the form.
    keyboard.press("Shift+Tab")
    keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "id_consent"
    keyboard.press("Tab")
    focus = page.evaluate(FOCUS_JS)
    assert focus["tag"] == "button" and focus["type"] == "submit", focus
    assert focus_is_visible(focus), focus
    with page.expect_navigation():
        keyboard.press("Enter")

    assert page.url.endswith("/complaints/new/received/")
    reference = page.locator(".receipt-ref").inner_text().strip()
    assert REFERENCE.match(reference), reference
    complaint = site.db(Complaint.objects.get, reference=reference)
    assert complaint.complainant_phone.replace(" ", "").endswith(phone[-8:])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"a11y-keyboard-receipt-{mode}.png"), full_page=True)
    assert not page_problems, page_problems
