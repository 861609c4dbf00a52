"""The officer dashboard in a real browser, as the demo's group chief service officer:
sign in, drill down from the group to a head office and on to a branch, change the period,
climb back to the head office by the breadcrumb, run a what-if in its index panel, download
the figures (CSV) and the monthly report (PDF, which must render to a page image).

Screenshots go to tests/e2e/artifacts/dashboard-*.png. Expected texts come from Django's
gettext, so the checks hold whether or not the catalogue has this page's strings yet.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.translation import gettext, override
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("#dash-trend-chart", "#dash-categories-chart", "#dash-children-chart")


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


def assert_charts_drawn(page, charts=CHARTS) -> None:
    for chart in charts:
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
        assert painted_pixels(page, chart) > 2000, chart


def scored_head_office(group):
    """The head office under ``group`` whose insurer ranks lowest in a published index (so
    that a what-if has room to move it)."""
    from insurers.models import Level, OrgUnit
    from sqi.models import IndexResult, RunStatus

    heads = {
        u.insurer_id: u
        for u in OrgUnit.objects.filter(
            path__startswith=group.path, level=Level.HEAD_OFFICE
        ).exclude(numchild=0)
    }
    results = IndexResult.objects.filter(
        run__status=RunStatus.PUBLISHED, insurer_id__in=heads
    ).order_by("-run__period__code", "-rank")
    first = results.first()
    return heads[first.insurer_id] if first else None


def test_chief_drills_down_changes_period_runs_what_if_and_downloads(
    live_server, demo_data, page, page_problems, screenshot, tmp_path
):
    from insurers.demo import DEMO_PASSWORD
    from insurers.models import OrgUnit, ServiceOfficer

    group = ServiceOfficer.objects.get(user__username="demo_chief", ended__isnull=True).org_unit
    head = scored_head_office(group)
    assert head is not None, "the demo has a scored insurer in the chief's group"
    branch = OrgUnit.objects.get_children(head).order_by("name").first()

    # sign in straight into the dashboard
    page.goto(live_server.url + reverse("sqi:dashboard"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/dashboard/$"))
    page.get_by_label("用户名").fill("demo_chief")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="登录").click()

    # the group's dashboard: figures, the three charts, the units below
    expect(page).to_have_url(live_server.url + "/dashboard/")
    expect(page.locator("h1")).to_have_text(group.name)
    expect(page.locator(".dash-kpi")).to_have_count(6)
    expect(page.locator(".dash-now-tile a")).to_have_count(3)
    assert_charts_drawn(page)
    units_below = page.locator("table.dash-children")
    expect(units_below.get_by_role("link", name=head.name)).to_be_visible()
    screenshot(page, "dashboard-01-group")

    # one level down: the head office
    units_below.get_by_role("link", name=head.name).click()
    expect(page).to_have_url(re.compile(rf"/dashboard/{head.pk}/$"))
    expect(page.locator("h1")).to_have_text(head.name)
    crumbs = page.get_by_role("navigation", name=zh("Your units"))
    expect(crumbs.get_by_role("link")).to_have_text([group.name])
    assert_charts_drawn(page)
    expect(page.locator("#sqi-index-panel .whatif-form")).to_be_visible()
    screenshot(page, "dashboard-02-head-office")

    # two levels down: a branch
    page.locator("table.dash-children").get_by_role("link", name=branch.name).click()
    expect(page).to_have_url(re.compile(rf"/dashboard/{branch.pk}/$"))
    expect(page.locator("h1")).to_have_text(branch.name)
    expect(crumbs.get_by_role("link")).to_have_text([group.name, head.name])
    expect(crumbs.locator("[aria-current=page]")).to_have_text(branch.name)
    # a branch is part of an insurer: no index position, said in words
    expect(page.locator("#sqi-index-panel .whatif-form")).to_have_count(0)
    screenshot(page, "dashboard-03-branch")

    # a custom range the wrong way round: the error beside the field, and no figures
    page.get_by_label(zh("Period"), exact=True).select_option("custom")
    expect(page.get_by_label(zh("Which one"))).to_be_hidden()
    page.get_by_label(zh("From")).fill("2026-06-30")
    page.get_by_label(zh("Until")).fill("2026-06-01")
    page.get_by_role("button", name=zh("Show")).click()
    expect(page.locator("#id_end_error")).to_have_text(
        zh("The last day comes before the first day.")
    )
    expect(page.locator(".dash-kpi")).to_have_count(0)
    screenshot(page, "dashboard-03b-branch-bad-range")

    # change the period: the kind first (the page reloads with its last full quarter), then
    # an earlier quarter
    page.get_by_label(zh("Period"), exact=True).select_option("quarter")
    expect(page).to_have_url(re.compile(r"period=quarter"))
    which = page.get_by_label(zh("Which one"))
    options = which.locator("option")
    assert options.count() > 3
    earlier = options.nth(2).get_attribute("value")
    which.select_option(earlier)
    page.get_by_role("button", name=zh("Show")).click()
    expect(page).to_have_url(re.compile(rf"value={earlier}"))
    expect(page.get_by_label(zh("Which one"))).to_have_value(earlier)
    headline = page.locator("#headline-title")
    expect(headline).to_contain_text(earlier[-1])  # the quarter's number
    assert_charts_drawn(page, CHARTS[:2])
    screenshot(page, "dashboard-04-branch-quarter")

    # back up by the breadcrumb: the period comes along
    crumbs.get_by_role("link", name=head.name).click()
    expect(page).to_have_url(re.compile(rf"/dashboard/{head.pk}/\?period=quarter&value={earlier}"))

    # what if: one indicator better, the score and rank recomputed in place (htmx)
    form = page.locator("#sqi-index-panel .whatif-form")
    first_input = form.locator("input[type=number]").first
    first_input.fill("-10")
    form.locator("select").first.select_option("percent")
    form.get_by_role("button").click()
    result = page.locator("#sqi-whatif-result")
    expect(result).not_to_be_empty()
    expect(result.locator("table").first).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/dashboard/{head.pk}/"))  # no page change
    result.scroll_into_view_if_needed()
    screenshot(page, "dashboard-05-what-if")

    # the figures table as CSV, for the same period
    with page.expect_download() as csv_download:
        page.locator("#all-figures").get_by_role("link", name=zh("Download CSV")).click()
    csv_path = tmp_path / "figures.csv"
    csv_download.value.save_as(csv_path)
    text = csv_path.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    assert earlier.encode() in csv_download.value.suggested_filename.encode()

    # the monthly report of the head office as PDF, and it renders
    report_link = page.locator("a[data-report-pdf]")
    expect(report_link).to_have_attribute(
        "href", re.compile(rf"/reports/{head.pk}/\d{{4}}-\d{{2}}/")
    )
    with page.expect_download(timeout=90_000) as pdf_download:
        report_link.click()
    pdf_path = tmp_path / "report.pdf"
    pdf_download.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm is needed to render the PDF (apt-get install poppler-utils)"
    out = ARTIFACTS / "dashboard-07-report-page"
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf_path),
         str(out)],
        check=True,
        timeout=60,
    )  # fmt: skip
    image = Path(f"{out}.png")
    assert image.exists() and image.stat().st_size > 5_000

    # elder mode: the same page, larger and one column
    page.get_by_role("button", name=zh("Elder mode")).click()
    expect(page.locator("body")).to_have_class(re.compile(r"(^|\s)elder(\s|$)"))
    assert_charts_drawn(page)
    screenshot(page, "dashboard-06-head-office-elder")

    assert page_problems == []


def test_officer_logs_and_edits_a_reception_day(
    live_server, transactional_db, page, page_problems, screenshot
):
    from insurers import roles
    from tests.factories import Tree, user_in

    tree = Tree()
    officer = user_in(tree.branch_a1, roles.OFFICER, officer=True, username="branch-officer")
    page.goto(live_server.url + reverse("insurers:reception_days"))
    page.get_by_label("用户名").fill(officer.username)
    page.get_by_label("密码").fill("pw-for-tests-only")
    page.get_by_role("main").get_by_role("button", name="登录").click()
    expect(page.locator("h1")).to_have_text(zh("Reception days"))

    form = page.locator(".reception-form form")
    form.locator("#id_place").fill("上海分公司营业厅")
    form.locator("#id_consumers_met").fill("12")
    form.locator("#id_issues_raised").fill("理赔进度咨询；保单贷款利率")
    form.locator("#id_follow_ups_open").fill("2")
    form.get_by_role("button").click()
    # open follow-ups need a description: said beside the field, nothing saved
    expect(page.locator("#id_follow_ups_error")).to_have_text(
        zh("Describe the follow-ups that are still open.")
    )
    expect(page.locator("#id_place")).to_have_value("上海分公司营业厅")
    screenshot(page, "dashboard-08-reception-error")

    page.locator("#id_follow_ups").fill("两位客户的理赔材料三日内回访")
    page.locator(".reception-form form").get_by_role("button").click()
    expect(page.locator(".message--success")).to_be_visible()
    rows = page.locator(".reception-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("上海分公司营业厅")
    screenshot(page, "dashboard-09-reception-logged")

    rows.first.get_by_role("link").click()
    page.locator("#id_consumers_met").fill("15")
    page.get_by_role("button", name=zh("Save the changes")).click()
    expect(page.locator(".reception-list tbody tr").first).to_contain_text("15")

    assert page_problems == []
