"""A complaint's whole life in a real browser: filed on the public form, found by staff in
the workbench by its reference, accepted, decided and closed, with each step on the timeline.

Screenshots of every step go to tests/e2e/artifacts/flow-*.png for a person to look at; every
page is watched for console errors and CSP violations (``page_problems``). Expected texts
come from Django's gettext, so the assertions hold whether or not the catalogue has the
newest strings compiled yet.
"""

import re

import pytest
from django.utils.translation import gettext, override
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory's


def zh(message: str) -> str:
    with override("zh-hans"):
        return gettext(message)


@pytest.fixture
def handler():
    """A small tree and a consumer-protection staff member at branch A1, which is where the
    public form routes a complaint about insurer A from Shanghai (the branches' region)."""
    from insurers import roles
    from tests.factories import Tree, user_in

    tree = Tree()
    staff = user_in(tree.branch_a1, roles.STAFF, username="e2e_staff", first_name="小李")
    return tree, staff


def action_form(page, name: str):
    return page.locator(f'form[action$="/actions/{name}/"]')


def test_public_complaint_is_handled_to_the_end(
    live_server, handler, page, page_problems, screenshot
):
    from complaints.models import Complaint, Status
    from tests.complaints.conftest import id_number

    tree, staff = handler

    # 1. A consumer files the complaint on the public form.
    page.goto(live_server.url + "/complaints/new/")
    page.select_option("#id_insurer", str(tree.insurer_a.pk))
    page.select_option("#id_province", "310000")
    page.select_option("#id_product_line", "motor")
    page.select_option("#id_category", "claims")
    page.select_option("#id_subcategory", "claim_delay")
    page.fill("#id_amount_in_dispute", "5000")
    page.fill("#id_narrative", "车辆出险一个多月，理赔一直没有结果，客服也说不清进度。")
    page.fill("#id_complainant_name", "赵六")
    page.fill("#id_complainant_phone", "138 1234 5678")
    page.fill("#id_complainant_id_number", id_number())
    page.check("#id_consent")
    screenshot(page, "flow-01-public-form")
    page.get_by_role("button", name=zh("Send the complaint")).click()

    reference_box = page.locator(".receipt-ref")
    expect(reference_box).to_have_text(re.compile(r"^TS\d{4}-\d{6}$"))
    reference = reference_box.inner_text().strip()
    complaint = Complaint.objects.get(reference=reference)
    assert complaint.org_unit == tree.branch_a1
    screenshot(page, "flow-02-receipt")

    # 2. Staff sign in and land on the workbench, where the complaint waits in the queue.
    page.goto(live_server.url + "/accounts/login/?next=/work/")
    page.get_by_label("用户名").fill(staff.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="登录").click()
    expect(page).to_have_url(live_server.url + "/work/")
    expect(page.locator("h1")).to_have_text(zh("Complaint workbench"))
    queue = page.locator("#queue")
    expect(queue.get_by_role("link", name=reference)).to_be_visible()
    expect(queue.locator(".deadline--on_track")).to_contain_text(zh("On track"))
    screenshot(page, "flow-03-workbench")

    # 3. …and find it by searching for its reference.
    page.fill("#quick-q", reference)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/work/complaints/\?s=[\w-]+$"))  # no term in URL
    results = page.locator("#results")
    expect(results.locator("tbody tr")).to_have_count(1)
    screenshot(page, "flow-04-search")
    results.get_by_role("link", name=reference).click()
    expect(page.locator("h1")).to_contain_text(reference)
    status = page.get_by_test_id("status")
    expect(status).to_have_text(zh("Received"))
    # personal data: name and phone shown to staff in scope, the ID number masked
    expect(page.locator(".detail-side")).to_contain_text("赵六")
    expect(page.locator(".detail-side")).to_contain_text(complaint.id_number_masked)
    screenshot(page, "flow-05-detail")

    # 4. Accept.
    action_form(page, "accept").get_by_role("button").click()
    expect(status).to_have_text(zh("Accepted"))
    expect(page.locator(".messages")).to_contain_text(zh("Complaint accepted."))

    # 5. Decide: the form opens from its button; an empty reply is refused by the service.
    page.locator("details.action summary", has_text=zh("Decide")).click()
    decide = action_form(page, "decide")
    decide.locator("select").select_option("partly_upheld")
    decide.locator("input[name='decide-remedy_amount']").fill("3000")
    decide.locator("textarea").fill(" ")
    decide.get_by_role("button").click()
    expect(page.locator("#id_decide-reply_error")).to_be_visible()
    expect(status).to_have_text(zh("Accepted"))
    decide = action_form(page, "decide")
    decide.locator("textarea").fill("经核实，同意按定损金额赔付 3000 元，款项三个工作日内到账。")
    screenshot(page, "flow-06-decide")
    decide.get_by_role("button").click()
    expect(status).to_have_text(zh("Decided"))

    # 6. Close with the complainant's satisfaction.
    page.locator("details.action summary", has_text=zh("Close")).click()
    close = action_form(page, "close")
    close.locator("select").select_option("satisfied")
    close.get_by_role("button").click()
    expect(status).to_have_text(zh("Closed"))
    expect(page.locator(".deadline")).to_have_count(0)
    expect(page.locator(".action-list")).to_have_count(1)  # a review can still be recorded

    # 7. The timeline has every step, in order, with who did it.
    timeline = page.locator("#timeline .timeline")
    expect(timeline.locator(".event")).to_have_count(4)
    moves = timeline.locator(".event--transition .event-move")
    expect(moves).to_have_count(3)
    expect(moves.nth(0)).to_contain_text(zh("Accepted"))
    expect(moves.nth(1)).to_contain_text(zh("Decided"))
    expect(moves.nth(2)).to_contain_text(zh("Closed"))
    expect(timeline).to_contain_text("同意按定损金额赔付")
    expect(timeline.locator(".event--transition").first).to_contain_text("小李")
    screenshot(page, "flow-07-closed")

    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED
    assert complaint.decision == "partly_upheld" and complaint.satisfaction == "satisfied"

    # 8. The same page in elder mode: one column, larger type.
    page.get_by_role("button", name=zh("Elder mode")).click()
    expect(page.locator("body")).to_have_class(re.compile(r"(^|\s)elder(\s|$)"))
    columns = page.eval_on_selector(
        ".detail-grid", "el => getComputedStyle(el).gridTemplateColumns.split(' ').length"
    )
    assert columns == 1
    screenshot(page, "flow-08-detail-elder")

    assert page_problems == []


def test_list_filters_update_without_reloading(
    live_server, handler, page, page_problems, screenshot
):
    """htmx swaps the results when a filter changes; the URL follows, so it can be shared."""
    from complaints import services
    from tests.complaints.conftest import intake

    tree, staff = handler
    for category in ("claims", "sales"):
        services.complaint_create(
            by=staff,
            insurer=tree.insurer_a,
            org_unit=tree.branch_a1,
            **intake(category=category, subcategory=""),
        )
    page.goto(live_server.url + "/accounts/login/?next=/work/complaints/")
    page.get_by_label("用户名").fill(staff.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="登录").click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    # htmx is loaded with ``defer``: wait until it has processed the page before filtering.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    page.evaluate("() => { window.__notReloaded = true; }")
    with page.expect_response(lambda r: "/work/complaints/" in r.url and "category=sales" in r.url):
        page.select_option("#id_category", "sales")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"category=sales"))
    assert page.evaluate("() => window.__notReloaded === true")
    export = page.locator(".export-links a", has_text="CSV")
    expect(export).to_have_attribute("href", re.compile(r"export\.csv\?.*category=sales"))
    screenshot(page, "flow-09-list-filtered")
    assert page_problems == []


def test_staff_log_a_complaint_and_correct_mistakes(
    live_server, handler, page, page_problems, screenshot
):
    """The staff form: only the user's units, every mistake named at once, then saved."""
    from complaints.models import Complaint

    tree, staff = handler
    page.goto(live_server.url + "/accounts/login/?next=/work/complaints/new/")
    page.get_by_label("用户名").fill(staff.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="登录").click()
    expect(page).to_have_url(live_server.url + "/work/complaints/new/")
    units = page.locator("#id_org_unit option")
    expect(units).to_have_count(3)  # the empty choice, branch A1 and its sub-branch
    expect(page.locator("#id_org_unit")).not_to_contain_text(tree.branch_a2.name)

    page.select_option("#id_org_unit", str(tree.sub_a1a.pk))
    page.select_option("#id_channel", "regulator")
    page.select_option("#id_product_line", "home")
    page.select_option("#id_category", "sales")
    # the script offers only the chosen category's subcategories
    expect(page.locator("#id_subcategory optgroup:not([disabled])")).to_have_count(1)
    page.fill("#id_narrative", "销售人员承诺的收益与合同不符。")
    page.fill("#id_complainant_name", "孙七")
    page.fill("#id_complainant_phone", "12345")
    page.fill("#id_complainant_id_number", "310101198005170011")
    page.get_by_role("button", name=zh("Log the complaint")).click()

    summary = page.locator("#form-errors")
    expect(summary).to_be_focused()
    expect(summary.locator("li")).to_have_count(2)
    expect(page.locator("#id_complainant_phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_complainant_id_number_error")).to_be_visible()
    screenshot(page, "flow-10-staff-form-errors")
    assert not Complaint.objects.exists()

    page.fill("#id_complainant_phone", "13900001111")
    page.fill("#id_complainant_id_number", "")
    page.get_by_role("button", name=zh("Log the complaint")).click()
    expect(page.locator("h1")).to_contain_text("TS")
    complaint = Complaint.objects.get()
    assert complaint.org_unit == tree.sub_a1a and complaint.channel == "regulator"
    expect(page.get_by_test_id("status")).to_have_text(zh("Received"))
    screenshot(page, "flow-11-staff-logged")
    assert page_problems == []
