"""The mediation pages: who sees which case (404 outside the scope, 403 for other roles),
the board and its filters, the case page with masked personal data and its audited reveal,
each step through the pages, escalation from a complaint, direct applications, bad input
that saves nothing, and constant query counts."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import services
from cases.models import CaseStatus, MediationCase, MediationSession
from complaints import services as complaint_services
from complaints.models import EventKind, Status
from complaints.selectors import mask_phone

pytestmark = pytest.mark.django_db
D = dt.date
BOARD = reverse("cases:mediation_board")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["sqi_language"] = "en"
    return client


def detail_url(case) -> str:
    return reverse("cases:case_detail", args=[case.reference])


def step_url(case, step: str) -> str:
    return reverse("cases:case_action", args=[case.reference, step])


def fresh(case) -> MediationCase:
    return MediationCase.objects.get(pk=case.pk)


@pytest.fixture
def escalate(clock, make_complaint, people, orgs):
    """``escalate(org="sh", unit=None, **complaint_fields)``: an accepted complaint sent to
    mediation by the staff of its unit."""

    def make(org="sh", unit=None, by=None, **fields):
        by = by or people.staff
        complaint = make_complaint(by=by, unit=unit, **fields)
        complaint_services.complaint_accept(complaint=complaint, by=by)
        return services.case_open_from_complaint(complaint=complaint, organization=orgs[org], by=by)

    return make


@pytest.fixture
def case(escalate):
    return escalate(amount_in_dispute=Decimal("10000.00"))


def in_mediation(case, mediator):
    services.case_accept(case=case, by=mediator)
    services.case_start(case=case, by=mediator)
    return case


# ---- who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "board", "detail"),
    [
        ("mediator_sh", 200, 200),
        ("mediator_bj", 200, 404),
        ("staff", 200, 200),
        ("head_staff", 200, 200),
        ("branch_officer", 200, 200),
        ("sibling_staff", 200, 404),
        ("index_admin", 403, 403),
        ("mediator_without_organisation", 200, 404),
    ],
)
def test_scope_of_board_and_case(case, people, mediators, who, board, detail):
    user = {
        "mediator_sh": mediators["sh"],
        "mediator_bj": mediators["bj"],
        "mediator_without_organisation": people.mediator,
    }.get(who) or getattr(people, who)
    client = client_for(user)
    response = client.get(BOARD)
    assert response.status_code == board
    if board == 200:
        assert (case.reference in response.content.decode()) is (detail == 200)
    assert client.get(detail_url(case)).status_code == detail
    # steps and the session log answer the same way (or refuse the role)
    expected = {200: 403, 404: 404, 403: 403}[detail]
    if who == "mediator_sh":
        expected = 302  # accepted
    assert client.post(step_url(case, "accept")).status_code == expected


def test_anonymous_visitors_are_sent_to_log_in(case):
    client = Client()
    for url in (BOARD, detail_url(case), reverse("cases:case_apply")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_pages_are_never_cached(case, mediators):
    response = client_for(mediators["sh"]).get(detail_url(case))
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


# ---- the board -----------------------------------------------------------------------------------


def test_board_shows_columns_with_counts_and_cards(case, escalate, people, mediators, clock):
    other = escalate()
    services.case_accept(case=other, by=mediators["sh"])
    clock.move_to(D(2026, 3, 14))
    html = client_for(mediators["sh"]).get(BOARD).content.decode()
    for status in CaseStatus:
        assert f'id="col-{status.value}"' in html
    applied = html[html.index('id="col-applied"') : html.index('id="col-accepted"')]
    assert case.reference in applied and other.reference not in applied
    assert "1 case" in applied
    assert "12 days" in applied  # the age in words, not colour
    assert "¥10000.00" in applied
    assert case.complaint.reference in applied  # came from a complaint
    assert "insurer" not in applied.lower() or case.insurer.short_name in applied
    assert case.insurer.short_name in applied and case.organization.name in applied


def test_board_filters(case, escalate, people, mediators, orgs, tree, clock):
    bj_case = escalate(org="bj")
    clock.move_to(D(2026, 3, 10))
    later = escalate()
    services.case_accept(case=later, by=mediators["sh"])
    client = client_for(people.staff)

    def shown(**params) -> set[str]:
        html = client.get(BOARD, params).content.decode()
        return set(re.findall(r"TJ\d{4}-\d{6}", html)) & {
            case.reference,
            bj_case.reference,
            later.reference,
        }

    assert shown() == {case.reference, bj_case.reference, later.reference}
    assert shown(status="accepted") == {later.reference}
    assert shown(organization=orgs["bj"].pk) == {bj_case.reference}
    assert shown(insurer=tree.insurer_a.pk) == {case.reference, bj_case.reference, later.reference}
    assert shown(applied_from="2026-03-05") == {later.reference}
    assert shown(applied_to="2026-03-05") == {case.reference, bj_case.reference}
    assert shown(q=case.reference) == {case.reference}
    assert shown(q=bj_case.complaint.reference) == {bj_case.reference}
    # an insurer outside the user's cases is not a valid choice
    response = client.get(BOARD, {"insurer": tree.insurer_c.pk})
    assert "Select a valid choice" in response.content.decode()
    response = client.get(BOARD, {"applied_from": "2026-03-10", "applied_to": "2026-03-01"})
    assert "The end date comes before the start date." in response.content.decode()
    assert case.reference not in response.content.decode()


def test_mediators_have_no_organisation_filter_and_may_record_applications(case, mediators):
    html = client_for(mediators["sh"]).get(BOARD).content.decode()
    assert 'name="organization"' not in html
    assert reverse("cases:case_apply") in html


def test_board_query_count_is_constant(escalate, people, mediators, clock):
    client = client_for(mediators["sh"])

    def count() -> int:
        client.get(BOARD)  # warm the session and the user's cached roles
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(BOARD).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        escalate()
    few = count()
    for n in range(6):
        made = escalate()
        if n % 2:
            services.case_accept(case=made, by=mediators["sh"])
    assert count() == few


# ---- the case page -------------------------------------------------------------------------------


def test_personal_data_is_masked_until_revealed(case, mediators):
    complaint = case.complaint
    client = client_for(mediators["sh"])
    html = client.get(detail_url(case)).content.decode()
    assert complaint.complainant_phone not in html
    assert mask_phone(complaint.complainant_phone) in html
    assert complaint.complainant_name not in html  # 张三 shown as 张*
    assert "张*" in html
    assert complaint.id_number_masked in html
    assert not complaint.events.filter(kind=EventKind.REVEAL).exists()

    html = client.post(detail_url(case), {"reveal": "1"}).content.decode()
    assert complaint.complainant_phone in html
    assert complaint.complainant_name in html
    reveal = complaint.events.get(kind=EventKind.REVEAL)
    assert reveal.actor == mediators["sh"]
    from complaints import crypto

    assert crypto.decrypt(complaint.id_number_encrypted) in html

    # shown once: a reload is masked again
    html = client.get(detail_url(case)).content.decode()
    assert complaint.complainant_phone not in html


def test_other_organisations_cannot_reveal(case, mediators):
    assert client_for(mediators["bj"]).post(detail_url(case)).status_code == 404
    assert not case.complaint.events.filter(kind=EventKind.REVEAL).exists()


def test_direct_application_shows_the_applicant_masked(clock, mediators, orgs, tree):
    case = services.case_apply(
        organization=orgs["sh"],
        insurer=tree.insurer_a,
        org_unit=tree.branch_a1,
        applicant_name="李四",
        applicant_phone="13912345678",
        summary="退保金额有争议",
        by=mediators["sh"],
    )
    html = client_for(mediators["sh"]).get(detail_url(case)).content.decode()
    assert "13912345678" not in html
    assert "139****5678" in html
    assert "李*" in html
    assert "Direct application" in html
    assert 'name="reveal"' not in html
    assert client_for(mediators["sh"]).post(detail_url(case)).status_code == 403


def test_link_to_the_complaint_only_for_those_who_may_open_it(case, people, mediators):
    link = reverse("complaints:detail", args=[case.complaint.reference])
    assert link in client_for(people.staff).get(detail_url(case)).content.decode()
    html = client_for(mediators["sh"]).get(detail_url(case)).content.decode()
    assert link not in html
    assert case.complaint.reference in html


def test_only_the_steps_the_user_may_take_are_offered(case, people, mediators):
    def offered(user) -> set[str]:
        html = client_for(user).get(detail_url(case)).content.decode()
        return set(re.findall(r'/actions/([a-z_]+)/"', html))

    assert offered(mediators["sh"]) == {"accept", "refuse", "withdraw"}
    assert offered(people.staff) == {"withdraw"}
    assert offered(people.branch_officer) == set()
    in_mediation(case, mediators["sh"])
    assert offered(mediators["sh"]) == {"settle", "fail", "withdraw"}
    html = client_for(mediators["sh"]).get(detail_url(case)).content.decode()
    assert reverse("cases:session_log", args=[case.reference]) in html
    html = client_for(people.staff).get(detail_url(case)).content.decode()
    assert reverse("cases:session_log", args=[case.reference]) not in html


def test_the_whole_mediation_through_the_pages(case, mediators, people):
    client = client_for(mediators["sh"])
    assert client.post(step_url(case, "accept")).status_code == 302
    assert client.post(step_url(case, "start")).status_code == 302
    response = client.post(
        reverse("cases:session_log", args=[case.reference]),
        {
            "session-date": "2026-03-02",
            "session-mode": "offline",
            "session-attendees": "申请人、保险公司代表",
            "session-notes": "双方同意按定损金额协商",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#sessions")
    response = client.post(
        step_url(case, "settle"),
        {
            "settle-amount": "8000",
            "settle-terms": "保险公司赔付 8000 元",
            "settle-signed_on": "2026-03-02",
        },
    )
    assert response.status_code == 302
    case = fresh(case)
    assert case.status == CaseStatus.SETTLED
    assert case.settlement_amount == Decimal("8000")
    case.complaint.refresh_from_db()
    assert case.complaint.status == Status.CLOSED
    html = client.get(detail_url(case)).content.decode()
    assert "申请人、保险公司代表" in html
    assert "Settled" in html
    assert "There is nothing for you to do on this case now." in html


def test_refusal_needs_a_reason_and_closes_the_complaint(case, mediators):
    client = client_for(mediators["sh"])
    response = client.post(step_url(case, "refuse"), {"refuse-reason": " "})
    assert response.status_code == 200
    assert 'id="id_refuse-reason_error"' in response.content.decode()
    assert fresh(case).status == CaseStatus.APPLIED
    client.post(step_url(case, "refuse"), {"refuse-reason": "不属于本中心受理范围"})
    assert fresh(case).status == CaseStatus.REFUSED
    case.complaint.refresh_from_db()
    assert case.complaint.status == Status.CLOSED


def test_staff_withdraw(case, people):
    response = client_for(people.staff).post(
        step_url(case, "withdraw"), {"withdraw-note": "申请人撤回调解申请"}
    )
    assert response.status_code == 302
    assert fresh(case).status == CaseStatus.WITHDRAWN


def test_a_step_the_state_does_not_allow_is_refused(case, mediators):
    response = client_for(mediators["sh"]).post(step_url(case, "start"))
    assert response.status_code == 200
    assert "cannot do this" in response.content.decode()
    assert fresh(case).status == CaseStatus.APPLIED


def test_staff_cannot_run_the_mediation(case, people):
    response = client_for(people.staff).post(step_url(case, "accept"))
    assert response.status_code == 403
    assert fresh(case).status == CaseStatus.APPLIED


def test_unknown_step_is_404(case, mediators):
    assert client_for(mediators["sh"]).post(step_url(case, "teleport")).status_code == 404


# ---- bad input saves nothing ---------------------------------------------------------------------


def test_settlement_above_the_claim_needs_a_note(case, mediators):
    in_mediation(case, mediators["sh"])
    client = client_for(mediators["sh"])
    data = {"settle-amount": "12000", "settle-terms": "赔付", "settle-signed_on": "2026-03-02"}
    response = client.post(step_url(case, "settle"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_settle-amount_error"' in html
    assert "10000.00 claimed" in html
    case = fresh(case)
    assert case.status == CaseStatus.IN_MEDIATION
    assert case.settlement_amount is None
    assert case.complaint.status == Status.ESCALATED
    response = client.post(step_url(case, "settle"), {**data, "settle-note": "含误工费补偿"})
    assert response.status_code == 302
    assert fresh(case).status == CaseStatus.SETTLED


def test_session_before_the_application_is_refused(case, mediators, clock):
    in_mediation(case, mediators["sh"])
    clock.move_to(D(2026, 3, 20))
    response = client_for(mediators["sh"]).post(
        reverse("cases:session_log", args=[case.reference]),
        {"session-date": "2026-02-27", "session-mode": "online", "session-attendees": "双方"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_session-date_error"' in html
    assert "before the application" in html
    assert not MediationSession.objects.exists()


@pytest.mark.parametrize(
    ("field", "size"),
    [("session-attendees", 501), ("session-notes", 5001), ("session-next_step", 501)],
)
def test_oversized_session_fields_are_refused(case, mediators, field, size):
    in_mediation(case, mediators["sh"])
    data = {"session-date": "2026-03-02", "session-mode": "online", "session-attendees": "双方"}
    data[field] = "长" * size
    response = client_for(mediators["sh"]).post(
        reverse("cases:session_log", args=[case.reference]), data
    )
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not MediationSession.objects.exists()


def test_session_on_a_concluded_case_is_refused_with_a_reason(case, mediators):
    services.case_refuse(case=case, by=mediators["sh"], reason="不受理")
    response = client_for(mediators["sh"]).post(
        reverse("cases:session_log", args=[case.reference]),
        {"session-date": "2026-03-02", "session-mode": "online", "session-attendees": "双方"},
    )
    assert response.status_code == 200
    assert "Sessions are held once a case is accepted" in response.content.decode()
    assert not MediationSession.objects.exists()


def test_oversized_settlement_terms_are_refused(case, mediators):
    in_mediation(case, mediators["sh"])
    response = client_for(mediators["sh"]).post(
        step_url(case, "settle"),
        {"settle-amount": "1", "settle-terms": "款" * 5001, "settle-signed_on": "2026-03-02"},
    )
    assert 'id="id_settle-terms_error"' in response.content.decode()
    assert fresh(case).status == CaseStatus.IN_MEDIATION


# ---- escalation from a complaint -----------------------------------------------------------------


def test_escalation_page(clock, make_complaint, people, orgs):
    complaint = make_complaint(amount_in_dispute=Decimal("5000"))
    complaint_services.complaint_accept(complaint=complaint, by=people.staff)
    url = reverse("cases:escalate", args=[complaint.reference])
    client = client_for(people.staff)
    html = client.get(url).content.decode()
    assert complaint.reference in html
    assert orgs["sh"].name in html
    assert complaint.complainant_phone not in html
    response = client.post(url, {"organization": orgs["sh"].pk})
    case = MediationCase.objects.get(complaint=complaint)
    assert response.status_code == 302
    assert response["Location"] == detail_url(case)
    assert case.status == CaseStatus.APPLIED
    assert case.claimed_amount == Decimal("5000")
    complaint.refresh_from_db()
    assert complaint.status == Status.ESCALATED
    # a second visit goes to the case
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == detail_url(case)


def test_escalation_scope_and_roles(clock, make_complaint, people, mediators):
    complaint = make_complaint()
    complaint_services.complaint_accept(complaint=complaint, by=people.staff)
    url = reverse("cases:escalate", args=[complaint.reference])
    assert client_for(people.sibling_staff).get(url).status_code == 404
    assert client_for(people.sibling_staff).post(url).status_code == 404
    assert client_for(mediators["sh"]).get(url).status_code == 403
    assert client_for(people.index_admin).get(url).status_code == 403
    assert client_for(people.branch_officer).get(url).status_code == 403
    assert (
        client_for(people.staff).get(reverse("cases:escalate", args=["TS2026-999999"])).status_code
        == 404
    )


def test_escalation_of_a_complaint_not_yet_accepted_saves_nothing(
    clock, make_complaint, people, orgs
):
    complaint = make_complaint()  # received
    url = reverse("cases:escalate", args=[complaint.reference])
    client = client_for(people.staff)
    assert "cannot be sent to mediation" in client.get(url).content.decode()
    response = client.post(url, {"organization": orgs["sh"].pk})
    assert response.status_code == 200
    assert not MediationCase.objects.exists()
    complaint.refresh_from_db()
    assert complaint.status == Status.RECEIVED


def test_escalation_form_errors(clock, make_complaint, people, orgs):
    complaint = make_complaint()
    complaint_services.complaint_accept(complaint=complaint, by=people.staff)
    url = reverse("cases:escalate", args=[complaint.reference])
    orgs["bj"].active = False
    orgs["bj"].save()
    client = client_for(people.staff)
    for data, field in [
        ({}, "organization"),
        ({"organization": orgs["bj"].pk}, "organization"),
        ({"organization": orgs["sh"].pk, "claimed_amount": "-1"}, "claimed_amount"),
        ({"organization": orgs["sh"].pk, "summary": "长" * 5001}, "summary"),
    ]:
        response = client.post(url, data)
        assert response.status_code == 200
        assert f'id="id_{field}_error"' in response.content.decode(), data
    assert not MediationCase.objects.exists()
    complaint.refresh_from_db()
    assert complaint.status == Status.ACCEPTED


# ---- direct applications -------------------------------------------------------------------------


def application(tree, **overrides):
    data = {
        "insurer": tree.insurer_a.pk,
        "org_unit": tree.branch_a1.pk,
        "applicant_name": "王五",
        "applicant_phone": "13700001111",
        "claimed_amount": "3000",
        "summary": "意外险理赔金额争议",
    }
    data.update(overrides)
    return data


def test_mediator_records_a_direct_application(clock, mediators, orgs, tree):
    client = client_for(mediators["sh"])
    url = reverse("cases:case_apply")
    html = client.get(url).content.decode()
    assert f'data-insurer="{tree.insurer_a.pk}"' in html
    response = client.post(url, application(tree))
    case = MediationCase.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(case)
    assert case.organization == orgs["sh"]
    assert case.complaint is None
    assert case.status == CaseStatus.APPLIED


def test_direct_application_errors_save_nothing(clock, mediators, tree):
    client = client_for(mediators["sh"])
    url = reverse("cases:case_apply")
    for overrides, field in [
        ({"org_unit": tree.head_c.pk}, "org_unit"),  # another insurer's unit
        ({"applicant_name": ""}, "applicant_name"),
        ({"applicant_phone": "12"}, "applicant_phone"),
        ({"summary": "长" * 5001}, "summary"),
        ({"claimed_amount": "abc"}, "claimed_amount"),
    ]:
        response = client.post(url, application(tree, **overrides))
        assert response.status_code == 200, overrides
        assert f'id="id_{field}_error"' in response.content.decode(), overrides
    assert not MediationCase.objects.exists()


def test_only_mediators_of_an_organisation_record_applications(people):
    url = reverse("cases:case_apply")
    assert client_for(people.staff).get(url).status_code == 403
    assert client_for(people.mediator).get(url).status_code == 403
    assert client_for(people.index_admin).get(url).status_code == 403


# ---- both languages and elder mode render --------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_render_in_both_languages_and_elder_mode(case, mediators, language):
    client = client_for(mediators["sh"])
    client.cookies["sqi_language"] = language
    client.cookies["sqi_elder"] = "1"
    for url in (BOARD, detail_url(case), reverse("cases:case_apply")):
        response = client.get(url)
        assert response.status_code == 200
        assert b"<main" in response.content


def test_a_long_column_says_how_many_more_there_are(escalate, people, monkeypatch):
    import functools

    from cases import selectors

    monkeypatch.setattr(selectors, "board", functools.partial(selectors.board, per_column=1))
    for _ in range(3):
        escalate()
    client = client_for(people.staff)
    html = client.get(BOARD).content.decode()
    assert "2 more: show only this state" in html
    assert "?status=applied" in html
    html = client.get(BOARD, {"status": "applied"}).content.decode()
    assert "2 more, not shown: narrow the filters" in html
