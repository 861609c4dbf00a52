"""The mediation workflow: every allowed and forbidden step, scope, and the complaint behind."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cases import services
from cases.models import CaseStatus, MediationCase
from complaints import services as complaint_services
from complaints.models import EventKind, Status

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def escalated(clock, make_complaint, people, orgs):
    complaint = make_complaint(amount_in_dispute=Decimal("10000.00"))
    complaint_services.complaint_accept(complaint=complaint, by=people.staff)
    case = services.case_open_from_complaint(
        complaint=complaint, organization=orgs["sh"], by=people.staff
    )
    return case


def test_escalation_opens_case_and_escalates_complaint_together(escalated):
    case = escalated
    assert case.reference.startswith("TJ2026-")
    assert case.status == CaseStatus.APPLIED
    assert case.complaint.status == Status.ESCALATED
    assert case.claimed_amount == Decimal("10000.00")
    assert case.insurer == case.complaint.insurer


def test_failed_escalation_leaves_both_unchanged(clock, make_complaint, people, orgs):
    complaint = make_complaint()  # received: cannot be escalated yet
    with pytest.raises(ValidationError):
        services.case_open_from_complaint(
            complaint=complaint, organization=orgs["sh"], by=people.staff
        )
    complaint.refresh_from_db()
    assert complaint.status == Status.RECEIVED
    assert not MediationCase.objects.exists()


def test_escalation_is_for_staff_in_scope(clock, make_complaint, people, orgs):
    complaint = make_complaint()
    complaint_services.complaint_accept(complaint=complaint, by=people.staff)
    with pytest.raises(PermissionDenied):
        services.case_open_from_complaint(
            complaint=complaint, organization=orgs["sh"], by=people.sibling_staff
        )
    assert not MediationCase.objects.exists()


def test_settlement_closes_the_complaint(escalated, mediators, clock):
    case = escalated
    services.case_accept(case=case, by=mediators["sh"])
    services.case_start(case=case, by=mediators["sh"])
    services.session_log(
        case=case, by=mediators["sh"], date=D(2026, 3, 2), mode="online", attendees="双方"
    )
    services.case_settle(
        case=case,
        by=mediators["sh"],
        amount=Decimal("8000"),
        terms="赔付 8000 元",
        signed_on=D(2026, 3, 2),
    )
    case.refresh_from_db()
    case.complaint.refresh_from_db()
    assert case.status == CaseStatus.SETTLED
    assert case.complaint.status == Status.CLOSED
    assert "8000" in case.complaint.events.filter(kind=EventKind.TRANSITION).last().text
    assert [e.to_status for e in case.events.exclude(to_status="")] == [
        "accepted",
        "in_mediation",
        "settled",
    ]


def test_settlement_failure_in_the_complaint_rolls_back_the_case(escalated, mediators, monkeypatch):
    case = escalated
    services.case_accept(case=case, by=mediators["sh"])
    services.case_start(case=case, by=mediators["sh"])

    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services.complaint_services, "complaint_close_after_mediation", broken)
    with pytest.raises(RuntimeError):
        services.case_settle(
            case=case, by=mediators["sh"], amount=Decimal(1), terms="x", signed_on=D(2026, 3, 2)
        )
    assert MediationCase.objects.get(pk=case.pk).status == CaseStatus.IN_MEDIATION
    assert case.complaint.__class__.objects.get(pk=case.complaint_id).status == Status.ESCALATED


def test_failure_and_withdrawal_close_the_complaint(clock, make_complaint, people, orgs, mediators):
    for step in ("fail", "withdraw"):
        complaint = make_complaint()
        complaint_services.complaint_accept(complaint=complaint, by=people.staff)
        case = services.case_open_from_complaint(
            complaint=complaint, organization=orgs["sh"], by=people.staff
        )
        services.case_accept(case=case, by=mediators["sh"])
        services.case_start(case=case, by=mediators["sh"])
        if step == "fail":
            services.case_fail(case=case, by=mediators["sh"], note="双方分歧过大")
        else:
            services.case_withdraw(case=case, by=people.staff, note="申请人撤回")
        complaint.refresh_from_db()
        assert complaint.status == Status.CLOSED


@pytest.mark.parametrize(
    ("path", "step"),
    [
        ([], "start"),
        ([], "settle"),
        ([], "fail"),
        (["accept"], "accept"),
        (["accept"], "refuse"),
        (["accept"], "settle"),
        (["refuse"], "accept"),
        (["accept", "start", "settle"], "fail"),
        (["accept", "start", "settle"], "withdraw"),
    ],
)
def test_forbidden_transitions(escalated, mediators, path, step):
    case = escalated
    args = {
        "accept": {},
        "start": {},
        "refuse": {"reason": "不属于受理范围"},
        "settle": {"amount": Decimal(1), "terms": "x", "signed_on": D(2026, 3, 2)},
        "fail": {"note": "未达成"},
        "withdraw": {"note": "撤回"},
    }
    for done in path:
        getattr(services, f"case_{done}")(case=case, by=mediators["sh"], **args[done])
    before = case.status
    with pytest.raises(ValidationError) as exc:
        getattr(services, f"case_{step}")(case=case, by=mediators["sh"], **args[step])
    assert "status" in exc.value.message_dict
    assert MediationCase.objects.get(pk=case.pk).status == before


def test_other_organisation_and_insurer_staff_cannot_mediate(escalated, mediators, people):
    for actor in (mediators["bj"], people.staff, people.branch_officer):
        with pytest.raises(PermissionDenied):
            services.case_accept(case=escalated, by=actor)
    assert MediationCase.objects.get(pk=escalated.pk).status == CaseStatus.APPLIED


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": Decimal("12000")}, "settlement_amount"),  # above the 10,000 claimed, no note
        ({"terms": " "}, "settlement_terms"),
        ({"signed_on": D(2026, 3, 1)}, "signed_on"),  # before the application on 2 March
        ({"judicially_confirmed": True}, "court"),
    ],
)
def test_bad_settlement_names_the_field_and_saves_nothing(escalated, mediators, kwargs, field):
    case = escalated
    services.case_accept(case=case, by=mediators["sh"])
    services.case_start(case=case, by=mediators["sh"])
    args = {"amount": Decimal("9000"), "terms": "赔付", "signed_on": D(2026, 3, 2), **kwargs}
    with pytest.raises(ValidationError) as exc:
        services.case_settle(case=case, by=mediators["sh"], **args)
    assert field in exc.value.message_dict
    assert MediationCase.objects.get(pk=case.pk).status == CaseStatus.IN_MEDIATION


def test_settlement_above_claim_with_a_note_is_fine(escalated, mediators):
    services.case_accept(case=escalated, by=mediators["sh"])
    services.case_start(case=escalated, by=mediators["sh"])
    services.case_settle(
        case=escalated,
        by=mediators["sh"],
        amount=Decimal("12000"),
        terms="含利息",
        signed_on=D(2026, 3, 2),
        note="另计逾期利息 2000 元",
    )
    assert escalated.status == CaseStatus.SETTLED


def test_session_dates(escalated, mediators, clock):
    services.case_accept(case=escalated, by=mediators["sh"])
    with pytest.raises(ValidationError) as exc:
        services.session_log(
            case=escalated, by=mediators["sh"], date=D(2026, 3, 1), mode="offline", attendees="x"
        )
    assert "date" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.session_log(
            case=escalated, by=mediators["sh"], date=D(2026, 3, 9), mode="offline", attendees="x"
        )
    assert "date" in exc.value.message_dict
    assert not escalated.sessions.exists()


def test_mediator_sees_and_may_reveal_the_complaint_behind_their_case(escalated, mediators):
    complaint = escalated.complaint
    assert mediators["sh"].has_perm("complaints.view_complaint", complaint)
    assert not mediators["bj"].has_perm("complaints.view_complaint", complaint)
    number = complaint_services.complaint_reveal_id_number(complaint=complaint, by=mediators["sh"])
    assert len(number) == 18
    assert complaint.events.filter(kind=EventKind.REVEAL, actor=mediators["sh"]).exists()
    with pytest.raises(PermissionDenied):
        complaint_services.complaint_reveal_id_number(complaint=complaint, by=mediators["bj"])


def test_direct_application(orgs, mediators, tree, clock):
    case = services.case_apply(
        organization=orgs["sh"],
        insurer=tree.insurer_a,
        org_unit=tree.branch_a1,
        applicant_name="李四",
        applicant_phone="13900001111",
        summary="退保金额争议",
        claimed_amount=Decimal("5000"),
        by=mediators["sh"],
    )
    assert case.complaint is None and case.status == CaseStatus.APPLIED
    with pytest.raises(PermissionDenied):
        services.case_apply(
            organization=orgs["sh"], insurer=tree.insurer_a, org_unit=tree.branch_a1,
            applicant_name="x", applicant_phone="13900001111", summary="x", by=mediators["bj"],
        )  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        services.case_apply(
            organization=orgs["sh"], insurer=tree.insurer_c, org_unit=tree.branch_a1,
            applicant_name="x", applicant_phone="13900001111", summary="x", by=mediators["sh"],
        )  # fmt: skip
    assert "org_unit" in exc.value.message_dict


def test_figures_for_dashboards(clock, make_complaint, people, orgs, mediators, tree):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases import selectors

    outcomes = ["settle", "settle", "fail", None]
    for outcome in outcomes:
        complaint = make_complaint(unit=tree.sub_a1a if outcome is None else tree.branch_a1)
        complaint_services.complaint_accept(complaint=complaint, by=people.staff)
        case = services.case_open_from_complaint(
            complaint=complaint, organization=orgs["sh"], by=people.staff
        )
        if outcome is None:
            continue
        services.case_accept(case=case, by=mediators["sh"])
        services.case_start(case=case, by=mediators["sh"])
        clock.move_to(D(2026, 3, 6))
        if outcome == "settle":
            services.case_settle(
                case=case,
                by=mediators["sh"],
                amount=Decimal("1000"),
                terms="赔付",
                signed_on=D(2026, 3, 6),
            )
        else:
            services.case_fail(case=case, by=mediators["sh"], note="未达成")
        clock.move_to(D(2026, 3, 2))
    cases = selectors.cases_for(insurer=tree.insurer_a, start=D(2026, 3, 1), end=D(2026, 3, 31))
    with CaptureQueriesContext(connection) as ctx:
        figures = selectors.mediation_figures(cases=cases)
    assert len(ctx.captured_queries) == 3
    assert figures["total"] == 4 and figures["settled"] == 2 and figures["concluded"] == 3
    assert figures["settlement_rate"] == pytest.approx(2 / 3)
    assert figures["median_days_to_conclusion"] == 4.0
    assert figures["amount_settled"] == Decimal("2000")
    by_unit = selectors.mediation_figures_by(cases=cases, by="org_unit")
    assert by_unit[tree.branch_a1.pk]["concluded"] == 3
    assert by_unit[tree.sub_a1a.pk]["by_state"]["applied"] == 1
    assert selectors.cases_for(within=tree.sub_a1a).count() == 1
    assert selectors.cases_for(start=D(2026, 4, 1)).count() == 0


def test_scoped_case_lists(escalated, mediators, people):
    from cases import selectors

    assert list(selectors.case_list(user=mediators["sh"])) == [escalated]
    assert not selectors.case_list(user=mediators["bj"]).exists()
    assert list(selectors.case_list(user=people.head_staff)) == [escalated]
    assert not selectors.case_list(user=people.sibling_staff).exists()
    assert not selectors.case_list(user=people.index_admin).exists()
    board = selectors.board(user=mediators["sh"])
    assert {c["status"]: c["count"] for c in board}["applied"] == 1


def test_a_complaint_goes_to_mediation_once(escalated, people, orgs):
    complaint = escalated.complaint
    with pytest.raises(ValidationError) as exc:
        services.case_open_from_complaint(
            complaint=complaint, organization=orgs["bj"], by=people.staff
        )
    assert "complaint" in exc.value.message_dict or "status" in exc.value.message_dict
    assert MediationCase.objects.count() == 1


def test_applicant_reveal_is_audited_and_scoped(orgs, mediators, tree, clock):
    case = services.case_apply(
        organization=orgs["sh"], insurer=tree.insurer_a, org_unit=tree.branch_a1,
        applicant_name="王五", applicant_phone="13900002222", summary="争议", by=mediators["sh"],
    )  # fmt: skip
    assert services.case_reveal_applicant(case=case, by=mediators["sh"]) == {
        "name": "王五",
        "phone": "13900002222",
    }
    assert case.events.count() == 2  # the application, then the reveal
    assert case.events.last().actor == mediators["sh"]
    with pytest.raises(PermissionDenied):
        services.case_reveal_applicant(case=case, by=mediators["bj"])


def test_case_apply_without_an_actor(orgs, tree, clock):
    case = services.case_apply(
        organization=orgs["sh"], insurer=tree.insurer_a, org_unit=tree.branch_a1,
        applicant_name="赵六", applicant_phone="13900003333", summary="网上申请",
    )  # fmt: skip
    assert case.created_by is None and case.status == CaseStatus.APPLIED


def test_the_complaint_page_offers_mediation_and_links_the_case(
    clock, make_complaint, people, orgs, client
):
    complaint = make_complaint()
    client.force_login(people.staff)
    page = client.get(f"/work/complaints/{complaint.reference}/").content.decode()
    escalate_url = f"/work/mediation/escalate/{complaint.reference}/"
    assert escalate_url not in page  # received: not yet
    complaint_services.complaint_accept(complaint=complaint, by=people.staff)
    assert escalate_url in client.get(f"/work/complaints/{complaint.reference}/").content.decode()
    case = services.case_open_from_complaint(
        complaint=complaint, organization=orgs["sh"], by=people.staff
    )
    page = client.get(f"/work/complaints/{complaint.reference}/").content.decode()
    assert escalate_url not in page and f"/work/mediation/{case.reference}/" in page
    client.force_login(people.branch_officer)  # reads, does not handle
    assert (
        escalate_url not in client.get(f"/work/complaints/{complaint.reference}/").content.decode()
    )
