"""The public showcase gallery in a real browser: filter by a topic and a year, search a
word, open a case, in Chinese, English and elder mode; a draft is never reachable.

Screenshots go to tests/e2e/artifacts/showcase-*.png. Expected texts come from Django's
gettext, so the checks hold whether or not the catalogue has this page's strings yet.
"""

import re

import pytest
from django.utils.translation import gettext, override
from playwright.sync_api import expect

from cases.demo import showcase_demo_build
from cases.models import ShowcaseCase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def zh(message: str) -> str:
    with override("zh-hans"):
        return gettext(message)


def en(message: str) -> str:
    with override("en"):
        return gettext(message)


def columns(page, selector: str) -> int:
    return page.eval_on_selector(
        selector, "el => getComputedStyle(el).gridTemplateColumns.split(' ').length"
    )


@pytest.fixture
def cases(transactional_db):
    showcase_demo_build()
    # A draft, as a staff member would leave it: never on the public pages.
    ShowcaseCase.objects.create(slug="2026-草稿", title="草稿案例不应公开", year=2026, summary="x")


def test_browse_filter_search_and_open_a_case(live_server, cases, page, page_problems, screenshot):
    page.goto(live_server.url + "/cases/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("h1")).to_have_text(zh("Showcase cases"))
    cards = page.locator(".case-card")
    expect(cards).to_have_count(12)  # the first page of 16
    expect(page.get_by_text("草稿案例不应公开")).to_have_count(0)
    screenshot(page, "showcase-01-gallery-zh")

    # a topic, then a year: both end up in the address
    topics = page.get_by_role("navigation", name=zh("Topics"))
    topics.get_by_role("link", name=re.compile("^适老")).click()
    expect(page).to_have_url(re.compile(r"tag=%E9%80%82%E8%80%81"))
    expect(cards).to_have_count(4)
    expect(topics.get_by_role("link", name=re.compile("适老"))).to_have_attribute(
        "aria-current", "true"
    )
    page.get_by_label(zh("Year")).select_option("2021")
    page.get_by_role("button", name=zh("Apply filters")).click()
    expect(page).to_have_url(re.compile(r"year=2021"))
    expect(page).to_have_url(re.compile(r"tag=%E9%80%82%E8%80%81"))
    expect(cards).to_have_count(3)
    expect(page.locator(".sc-chips li")).to_have_count(2)
    shared = page.url
    screenshot(page, "showcase-02-filtered-zh")

    # the address is the filter: opened afresh it shows the same cases
    page.goto(shared)
    expect(cards).to_have_count(3)

    # a search keeps the filters until they are cleared
    page.get_by_role("link", name=zh("Clear all")).click()
    page.get_by_label(zh("Search titles and texts")).fill("理赔")
    page.get_by_role("search", name=zh("Search the showcase cases")).get_by_role(
        "button", name=zh("Search")
    ).click()
    expect(page).to_have_url(re.compile(r"q=%E7%90%86%E8%B5%94"))
    expect(page.get_by_role("link", name="全流程无人工理赔")).to_be_visible()
    expect(page.get_by_role("link", name="在线理赔工厂")).to_be_visible()
    screenshot(page, "showcase-03-search-zh")

    page.get_by_role("link", name="全流程无人工理赔").click()
    expect(page.locator("h1")).to_have_text("全流程无人工理赔")
    figures = page.get_by_role("complementary", name=zh("Key figures"))
    expect(figures).to_contain_text("最快结案")
    expect(figures).to_contain_text("1300")
    expect(page.locator(".sc-demo-note")).to_be_visible()
    expect(page.locator(".sc-body")).to_contain_text("（演示文字）")
    screenshot(page, "showcase-04-case-zh")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("complementary", name=en("Key figures"))).to_be_visible()
    screenshot(page, "showcase-05-case-en")
    page.get_by_role("link", name=en("All showcase cases")).click()
    expect(page.locator("h1")).to_have_text(en("Showcase cases"))
    screenshot(page, "showcase-06-gallery-en")

    page.get_by_role("button", name=en("Elder mode")).click()
    expect(page.locator("body")).to_have_class(re.compile(r"(^|\s)elder(\s|$)"))
    assert columns(page, ".case-grid") == 1
    assert columns(page, ".showcase-layout") == 1
    screenshot(page, "showcase-07-gallery-elder")
    page.locator(".case-card a").first.click()
    expect(page.locator(".sc-key-figures, .sc-summary").first).to_be_visible()
    screenshot(page, "showcase-08-case-elder")

    assert page_problems == []

    # no draft is reachable, whatever its address
    missing = page.goto(live_server.url + "/cases/2026-草稿/")
    assert missing.status == 404
    assert [p for p in page_problems if "2026-" not in p and "%E8%8D%89" not in p] == []
