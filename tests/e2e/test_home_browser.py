"""The site in a real browser: language switch, elder mode, staff sign-in and the admin.

Every page is watched for console errors, CSP violations and failed asset requests
(``page_problems``); screenshots go to tests/e2e/artifacts/ for a person to look at.

Expected texts are looked up through Django's own gettext, so the assertions hold whether
or not the project's catalogue is compiled yet; labels that Django itself translates
(首页, 登录, 用户名 …) prove that the page really is in Chinese.
"""

import re

import pytest
from django.utils.translation import gettext, override
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ELDER_CLASS = re.compile(r"(^|\s)elder(\s|$)")


def zh(message: str) -> str:
    with override("zh-hans"):
        return gettext(message)


def en(message: str) -> str:
    with override("en"):
        return gettext(message)


def font_size(page, selector: str = "body") -> float:
    return page.eval_on_selector(selector, "el => parseFloat(getComputedStyle(el).fontSize)")


def column_count(page, selector: str) -> int:
    return page.eval_on_selector(
        selector, "el => getComputedStyle(el).gridTemplateColumns.split(' ').length"
    )


def test_home_in_chinese_then_english(live_server, page, page_problems, screenshot):
    response = page.goto(live_server.url + "/")
    assert response.status == 200
    html = page.locator("html")
    nav = page.get_by_role("navigation", name=zh("Main navigation"))

    expect(html).to_have_attribute("lang", "zh-Hans")
    expect(nav.get_by_role("link", name="首页", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_role("link", name="登录", exact=True)).to_be_visible()
    expect(page.locator("h1")).to_have_text(zh("SQI Consumer Protection"))
    expect(page.get_by_role("button", name="简体中文")).to_have_attribute("aria-pressed", "true")
    # htmx is loaded from this origin and configured not to evaluate code.
    assert page.evaluate("() => window.htmx !== undefined && htmx.config.allowEval === false")
    # Cards for pages not built yet say so instead of linking nowhere.
    expect(page.locator(".card--soon a")).to_have_count(0)

    # Keyboard users land on the skip link first, and it is visible when focused.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到主要内容")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Escape")
    page.mouse.click(5, 400)
    screenshot(page, "home-zh")

    page.get_by_role("button", name="English").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text(en("SQI Consumer Protection"))
    nav = page.get_by_role("navigation", name=en("Main navigation"))
    expect(nav.get_by_role("link", name="Home", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")

    page.reload()
    expect(html).to_have_attribute("lang", "en")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("sqi_language") == "en"
    screenshot(page, "home-en")

    page.get_by_role("button", name="简体中文").click()
    expect(html).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("link", name="登录", exact=True)).to_be_visible()

    assert page_problems == []

    # The custom 404 page, styled like the rest; Chromium logs the 404 itself, nothing else.
    missing = page.goto(live_server.url + "/no-such-page/")
    assert missing.status == 404
    expect(page.locator("h1")).to_have_text(zh("Page not found"))
    expect(page.get_by_role("link", name="登录", exact=True)).to_be_visible()
    assert [p for p in page_problems if "/no-such-page/" not in p] == []


def test_elder_mode_is_larger_and_remembered(live_server, page, page_problems, screenshot):
    page.goto(live_server.url + "/")
    body = page.locator("body")
    switch = page.get_by_role("button", name=zh("Elder mode"))
    expect(body).not_to_have_class(ELDER_CLASS)
    expect(switch).to_have_attribute("aria-pressed", "false")
    normal_size = font_size(page)
    normal_h1 = font_size(page, "h1")
    assert column_count(page, ".cards") > 1

    switch.click()
    expect(body).to_have_class(ELDER_CLASS)
    expect(switch).to_have_attribute("aria-pressed", "true")
    assert font_size(page) >= 20 > normal_size
    assert font_size(page, "h1") > normal_h1
    assert column_count(page, ".cards") == 1, "elder mode lays the cards out in one column"
    button_height = page.eval_on_selector(".hero-actions .btn", "el => el.offsetHeight")
    assert button_height >= 48, "elder mode buttons are big touch targets"

    page.reload()
    expect(body).to_have_class(ELDER_CLASS)
    screenshot(page, "home-elder")

    page.get_by_role("button", name=zh("Elder mode")).click()
    expect(body).not_to_have_class(ELDER_CLASS)
    expect(switch).to_have_attribute("aria-pressed", "false")
    assert font_size(page) == normal_size
    cookies = {c["name"] for c in page.context.cookies()}
    assert "sqi_elder" not in cookies

    assert page_problems == []


def test_officer_signs_in_and_opens_the_org_tree(
    live_server, demo_data, page, page_problems, screenshot
):
    from insurers.demo import DEMO_PASSWORD
    from insurers.models import OrgUnit, ServiceOfficer

    own_unit = ServiceOfficer.objects.get(
        user__username="demo_officer", ended__isnull=True
    ).org_unit

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("用户名").fill("demo_officer")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    screenshot(page, "login")
    page.get_by_role("main").get_by_role("button", name="登录").click()

    expect(page).to_have_url(live_server.url + "/")
    scope = page.get_by_role("region", name=zh("Your scope"))
    expect(scope).to_contain_text(zh("Service officer"))
    expect(scope).to_contain_text(own_unit.name)
    expect(page.get_by_role("button", name=zh("Log out"))).to_be_visible()

    nav = page.get_by_role("navigation", name=zh("Main navigation"))
    nav.get_by_role("link", name=zh("Administration"), exact=True).click()
    expect(page).to_have_url(live_server.url + "/admin/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.locator("#header .lang-switch")).to_be_visible()
    screenshot(page, "admin")

    page.goto(live_server.url + "/admin/insurers/orgunit/")
    result = page.locator("#result_list")
    expect(result).to_be_visible()
    expect(result).to_contain_text(own_unit.name)
    # Expanding a node loads its children through the admin's own script (CSP-safe).
    child = OrgUnit.objects.get_children(own_unit).first()
    assert child is not None, "the demo officer's unit has branches"
    expect(result).not_to_contain_text(child.name)
    result.locator("a.treebeard-collapse").first.click()
    expect(result).to_contain_text(child.name)
    screenshot(page, "org-tree")

    page.goto(live_server.url + "/")
    page.get_by_role("button", name=zh("Log out")).click()
    expect(page.get_by_role("link", name="登录", exact=True)).to_be_visible()

    assert page_problems == []
