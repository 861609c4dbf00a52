"""A complaint taken to mediation in a real browser: staff escalate it to a mediation centre
on the escalation page; the centre's mediator finds it on the board, accepts it, starts the
mediation, logs a session (after a mistake the page names), settles; staff then see the
complaint closed with the settlement.

Screenshots of every step go to tests/e2e/artifacts/mediation-*.png for a person to look
at; every page is watched for console errors and CSP violations (``page_problems``).
Expected texts come from Django's gettext, so the assertions hold whether or not the
catalogue has the newest strings compiled yet.
"""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import gettext, override
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-mediation-e2e"


def zh(message: str) -> str:
    with override("zh-hans"):
        return gettext(message)


@pytest.fixture
def parties():
    """A small tree, a staff member at branch A1 with an accepted complaint, and a mediation
    centre with its mediator."""
    from cases.models import MediationOrganization, Mediator
    from complaints import services
    from insurers import roles
    from tests.complaints.conftest import intake
    from tests.factories import Tree, UserFactory, user_in

    tree = Tree()
    staff = user_in(
        tree.branch_a1, roles.STAFF, username="e2e_med_staff", first_name="小李", password=PASSWORD
    )
    centre = MediationOrganization.objects.create(
        name="示例上海银行业保险业纠纷调解中心", region="310000"
    )
    MediationOrganization.objects.create(name="示例北京银行业保险业纠纷调解中心", region="110000")
    mediator = UserFactory(
        username="e2e_mediator", first_name="王调解", roles=[roles.MEDIATOR], password=PASSWORD
    )
    Mediator.objects.create(user=mediator, organization=centre)
    complaint = services.complaint_create(
        by=staff,
        insurer=tree.insurer_a,
        org_unit=tree.branch_a1,
        **intake(amount_in_dispute=Decimal("12000.00"), complainant_name="赵六"),
    )
    services.complaint_accept(complaint=complaint, by=staff)
    return {"staff": staff, "mediator": mediator, "centre": centre, "complaint": complaint}


def log_in(page, base: str, user, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="登录").click()
    expect(page).to_have_url(base + next_url)


def log_out(page) -> None:
    page.locator(".logout-form button").click()
    expect(page.locator(".account")).not_to_contain_text(zh("Log out"))


def step_form(page, name: str):
    return page.locator(f'form[action$="/actions/{name}/"]')


def test_complaint_is_escalated_mediated_settled_and_closed(
    live_server, parties, page, page_problems, screenshot
):
    from cases.models import CaseStatus, MediationCase
    from complaints.models import Status

    base = live_server.url
    complaint = parties["complaint"]
    complaint_url = f"/work/complaints/{complaint.reference}/"

    # 1. Staff open the complaint, then the escalation page, and send it to the centre.
    log_in(page, base, parties["staff"], complaint_url)
    expect(page.locator("h1")).to_contain_text(complaint.reference)
    screenshot(page, "mediation-01-complaint")
    escalate_link = page.locator(f'a[href$="/work/mediation/escalate/{complaint.reference}/"]')
    if escalate_link.count():
        escalate_link.first.click()
    else:  # the complaint page does not link here yet
        page.goto(f"{base}/work/mediation/escalate/{complaint.reference}/")
    expect(page.locator("h1")).to_contain_text(complaint.reference)
    expect(page.locator("main")).not_to_contain_text(complaint.complainant_phone)
    page.select_option("#id_organization", str(parties["centre"].pk))
    screenshot(page, "mediation-02-escalate")
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/work/mediation/TJ\d{4}-\d{6}/$"))
    case = MediationCase.objects.get(complaint=complaint)
    expect(page.get_by_test_id("case-status")).to_have_text(zh("Applied"))
    expect(page.get_by_test_id("complaint-status")).to_have_text(zh("Escalated to mediation"))
    expect(page.locator(".messages")).to_contain_text(case.reference)
    screenshot(page, "mediation-03-case-opened")
    log_out(page)

    # 2. The centre's mediator finds it on the board, in the "applied" column.
    log_in(page, base, parties["mediator"], "/work/mediation/")
    applied = page.locator("#col-applied")
    card = applied.locator(".case-card", has_text=case.reference)
    expect(card).to_be_visible()
    expect(card).to_contain_text(complaint.reference)
    expect(card.locator(".case-age")).to_have_text(re.compile(r"\d"))
    expect(page.locator("#col-applied .board-count")).to_contain_text("1")
    screenshot(page, "mediation-04-board")
    card.get_by_role("link", name=case.reference).click()
    expect(page.locator("h1")).to_contain_text(case.reference)

    # personal data masked until shown on purpose (and the reveal is audited)
    expect(page.get_by_test_id("party-phone")).not_to_contain_text(complaint.complainant_phone)
    expect(page.get_by_test_id("party-name")).to_have_text("赵*")
    screenshot(page, "mediation-05-case-masked")

    # 3. Accept, start.
    status = page.get_by_test_id("case-status")
    step_form(page, "accept").get_by_role("button").click()
    expect(status).to_have_text(zh("Accepted"))
    step_form(page, "start").get_by_role("button").click()
    expect(status).to_have_text(zh("In mediation"))

    # 4. Log a session: a date before the application is named beside the field first.
    page.locator("details.session-action summary").click()
    page.fill("#id_session-date", "2020-01-01")
    page.select_option("#id_session-mode", "offline")
    page.fill("#id_session-attendees", "申请人赵六、保险公司理赔经理")
    page.fill("#id_session-notes", "双方同意以定损报告为基础协商赔付金额。")
    page.locator("form.session-form button[type=submit]").click()
    expect(page.locator("#id_session-date_error")).to_be_visible()
    screenshot(page, "mediation-06-session-error")
    page.fill("#id_session-date", timezone.localdate().isoformat())
    page.locator("form.session-form button[type=submit]").click()
    expect(page.locator("#sessions .session")).to_have_count(1)
    expect(page.locator("#sessions")).to_contain_text("保险公司理赔经理")
    screenshot(page, "mediation-07-session")

    # 5. Settle: above the claim without a note is refused; then within it.
    page.locator("details.action summary", has_text=zh("Record the settlement")).click()
    settle = step_form(page, "settle")
    settle.locator("#id_settle-amount").fill("15000")
    settle.locator("#id_settle-terms").fill("保险公司一次性赔付，双方再无其他争议。")
    settle.locator("#id_settle-signed_on").fill(timezone.localdate().isoformat())
    settle.get_by_role("button").click()
    expect(page.locator("#id_settle-amount_error")).to_be_visible()
    expect(status).to_have_text(zh("In mediation"))
    settle = step_form(page, "settle")
    settle.locator("#id_settle-amount").fill("9000")
    screenshot(page, "mediation-08-settle")
    settle.get_by_role("button").click()
    expect(status).to_have_text(zh("Settled"))
    expect(page.get_by_test_id("settlement-amount")).to_contain_text("9000")
    expect(page.get_by_test_id("complaint-status")).to_have_text(zh("Closed"))
    moves = page.locator("#timeline .event--transition")
    expect(moves).to_have_count(3)
    screenshot(page, "mediation-09-settled")

    # the board now shows it under "settled"
    page.goto(base + "/work/mediation/")
    expect(page.locator("#col-settled .case-card", has_text=case.reference)).to_be_visible()
    log_out(page)

    # 6. Staff see the complaint closed with the settlement.
    log_in(page, base, parties["staff"], complaint_url)
    expect(page.get_by_test_id("status")).to_have_text(zh("Closed"))
    expect(page.locator("#timeline")).to_contain_text("9000")
    screenshot(page, "mediation-10-complaint-closed")

    case.refresh_from_db()
    complaint.refresh_from_db()
    assert case.status == CaseStatus.SETTLED
    assert complaint.status == Status.CLOSED
    assert page_problems == []


def test_board_in_elder_mode_is_one_column(live_server, parties, page, page_problems, screenshot):
    from cases import services

    services.case_open_from_complaint(
        complaint=parties["complaint"], organization=parties["centre"], by=parties["staff"]
    )
    log_in(page, live_server.url, parties["mediator"], "/work/mediation/")
    page.get_by_role("button", name=zh("Elder mode")).click()
    expect(page.locator("body")).to_have_class(re.compile(r"(^|\s)elder(\s|$)"))
    for group in ("open", "concluded"):
        columns = page.eval_on_selector(
            f".board-group--{group}",
            "el => getComputedStyle(el).gridTemplateColumns.split(' ').length",
        )
        assert columns == 1, group
    screenshot(page, "mediation-11-board-elder")
    assert page_problems == []
