"""The public index in a real browser: the home page's ranking board, switching peer group,
an insurer's profile with its ECharts charts (in normal and elder mode), the full ranking
sorted and downloaded as CSV, and the methodology page.

Screenshots go to tests/e2e/artifacts/index-*.png. Expected texts come from Django's gettext,
so the checks hold whether or not the catalogue has this page's strings yet.
"""

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils.translation import gettext, override
from playwright.sync_api import expect

from cases.models import KeyFigure, ShowcaseCase, ShowcaseStatus
from insurers.models import LicenceType
from sqi.models import RunStatus
from tests.factories import InsurerFactory
from tests.sqi.public.conftest import make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ELDER = re.compile(r"(^|\s)elder(\s|$)")

# Fictional insurers: the scores below are made up for the test.
NAMES = {
    "property": ["东方示范财险", "北辰示范财险", "南山示范财险", "西江示范财险", "中原示范财险",
                 "长风示范财险", "远航示范财险", "青禾示范财险"],
    "life": ["安康示范人寿", "福泰示范人寿", "长青示范人寿", "和顺示范人寿", "永宁示范人寿",
             "嘉禾示范人寿"],
    "health": ["仁心示范健康", "康宁示范健康", "百岁示范健康"],
}  # fmt: skip
LICENCE = {"property": LicenceType.PROPERTY, "life": LicenceType.LIFE, "health": LicenceType.HEALTH}


def zh(message: str) -> str:
    with override("zh-hans"):
        return gettext(message)


def painted_pixels(page, selector: str) -> int:
    """How many pixels of the chart's canvas are not transparent."""
    return page.eval_on_selector(
        selector,
        """el => {
            const canvas = el.querySelector('canvas');
            if (!canvas || !canvas.width || !canvas.height) return 0;
            const w = canvas.width, h = canvas.height;
            const data = canvas.getContext('2d').getImageData(0, 0, w, h).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
            return n;
        }""",
    )


@pytest.fixture
def index(transactional_db):
    members = {}
    for group, names in NAMES.items():
        members[group] = [
            InsurerFactory(
                name_zh=f"{name}保险股份有限公司",
                short_name=name,
                name_en=f"Demo {group.title()} {i + 1} Insurance Co., Ltd.",
                slug=f"demo-{group}-{i + 1}",
                licence_type=LICENCE[group],
            )
            for i, name in enumerate(names)
        ]
    shape = {"property": (96.5, 3.7), "life": (92.4, 5.1), "health": (88.3, 14.2)}
    for code, shift, industry in (
        ("2023", -6.2, "84.37"),
        ("2024", -2.9, "86.40"),
        ("2025", 0, "88.12"),
    ):
        for group, (top, step) in shape.items():
            make_run(
                code, group, members[group], top=top + shift, step=step, industry_index=industry
            )
    # The profile opened below: the second life insurer, with uneven dimensions.
    target = members["life"][1]
    result = target.index_results.get(run__period__code="2025")
    result.dimensions = {
        "convenience": 94.3,
        "benefit": 81.6,
        "recognition": 88.9,
        "improvement": 97.2,
    }
    result.save()
    # Never public: a validated run with other numbers.
    make_run("2025", "life", members["life"], status=RunStatus.VALIDATED, top=12.34)
    case = ShowcaseCase.objects.create(
        slug="demo-life-case", title="示范理赔直付服务", year=2025, summary="示范案例概述。"
    )
    case.insurers.add(target)
    KeyFigure.objects.create(case=case, label="平均结案时长", value=Decimal("1.8"), unit="天")
    ShowcaseCase.objects.filter(pk=case.pk).update(status=ShowcaseStatus.AWARDED)
    draft = ShowcaseCase.objects.create(
        slug="demo-draft", title="草稿不应公开", year=2025, summary="x"
    )
    draft.insurers.add(target)
    return {"members": members, "target": target}


def test_home_switch_group_open_profile_charts_and_download_csv(
    live_server, index, page, page_problems, screenshot
):
    target = index["target"]
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    tabs = page.get_by_role("tablist")
    property_tab = tabs.get_by_role("tab", name=re.compile(re.escape(zh("Property insurers"))))
    life_tab = tabs.get_by_role("tab", name=re.compile(re.escape(zh("Life insurers"))))
    expect(property_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#sqi-panel-property")).to_be_visible()
    expect(page.locator("#sqi-panel-life")).to_be_hidden()
    expect(page.locator("#sqi-panel-property tbody tr")).to_have_count(8)
    expect(page.get_by_text("12.34")).to_have_count(0)
    page.locator("#sqi-board").scroll_into_view_if_needed()
    screenshot(page, "index-01-home-property")

    # switch peer group in place: the address follows, nothing reloads
    life_tab.click()
    expect(life_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#sqi-panel-life")).to_be_visible()
    expect(page.locator("#sqi-panel-property")).to_be_hidden()
    expect(page).to_have_url(re.compile(r"group=life"))
    expect(page.locator("#sqi-panel-life tbody tr")).to_have_count(6)
    # the keyboard moves between tabs too
    life_tab.focus()
    page.keyboard.press("ArrowRight")
    expect(
        tabs.get_by_role("tab", name=re.compile(re.escape(zh("Health insurers"))))
    ).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(life_tab).to_have_attribute("aria-selected", "true")
    screenshot(page, "index-02-home-life")

    # open an insurer's profile: both charts are drawn
    page.locator("#sqi-panel-life").get_by_role("link", name=target.short_name).click()
    expect(page.locator("h1")).to_have_text(target.name_zh)
    for chart in ("#sqi-history-chart", "#sqi-radar-chart"):
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
        assert painted_pixels(page, chart) > 2000, chart
    expect(page.get_by_role("link", name="示范理赔直付服务")).to_be_visible()
    expect(page.get_by_text("草稿不应公开")).to_have_count(0)
    expect(page.get_by_text("12.34")).to_have_count(0)
    expect(page.locator(".sqi-table--indicators tbody tr")).to_have_count(7)
    screenshot(page, "index-03-profile-zh")

    # elder mode: larger, one column, and the charts are drawn again
    page.get_by_role("button", name=zh("Elder mode")).click()
    expect(page.locator("body")).to_have_class(ELDER)
    for chart in ("#sqi-history-chart", "#sqi-radar-chart"):
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
        assert painted_pixels(page, chart) > 2000, chart
    screenshot(page, "index-04-profile-elder")
    page.get_by_role("button", name=zh("Elder mode")).click()
    expect(page.locator("body")).not_to_have_class(ELDER)

    # the full ranking: sort by total, lowest first, then download the CSV
    page.locator(".sqi-breadcrumbs").get_by_role("link", name=re.compile("2025")).click()
    expect(page).to_have_url(re.compile(r"/index/2025/life/$"))
    rows = page.locator("#ranking-table tbody tr")
    expect(rows).to_have_count(6)
    page.locator("#ranking-table thead").get_by_role(
        "link", name=re.compile(zh("Total score"))
    ).click()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    page.locator("#ranking-table thead").get_by_role(
        "link", name=re.compile(zh("Total score"))
    ).click()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text(NAMES["life"][-1])
    screenshot(page, "index-05-ranking-sorted")

    with page.expect_download() as info:
        page.get_by_role("link", name=zh("CSV (Excel)")).click()
    download = info.value
    assert download.suggested_filename == "sqi-2025-life.csv"
    content = Path(download.path()).read_text(encoding="utf-8")
    assert content.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(content[1:])))
    assert len(table) == 7
    assert table[1][:2] == ["1", NAMES["life"][0]]
    assert table[2][1] == target.short_name
    assert "12.34" not in content

    # search the ranking
    page.get_by_label(zh("Find an insurer")).fill("长青")
    page.get_by_role("search").get_by_role("button", name=zh("Search")).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("长青示范人寿")

    page.get_by_role("navigation", name=zh("Main navigation")).get_by_role(
        "link", name=zh("Methodology")
    ).click()
    expect(page.locator("#weights-caption")).to_be_visible()
    screenshot(page, "index-06-methodology")

    assert page_problems == []


def test_english_and_empty_states(live_server, transactional_db, page, page_problems, screenshot):
    page.goto(live_server.url + "/index/")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".sqi-empty")).to_be_visible()
    screenshot(page, "index-07-empty-en")
    lone = InsurerFactory(short_name="孤星示范财险", slug="lone-star")
    page.goto(f"{live_server.url}/insurers/{lone.slug}/")
    expect(page.locator(".sqi-empty").first).to_be_visible()
    expect(page.locator("canvas")).to_have_count(0)
    screenshot(page, "index-08-profile-empty-en")
    assert page_problems == []
