"""The cases admin: mediation cases scoped like the pages (a mediator sees their
organisation's cases, staff their subtree's, 404 outside), the workflow fields read-only,
no adding or deleting cases; the showcase models' admin pages open, stay scoped, and keep
the award workflow out of the form."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.models import (
    AwardCategory,
    AwardProgramme,
    CaseStatus,
    MediationCase,
    ShowcaseCase,
    ShowcaseStatus,
    Tag,
)
from complaints import services as complaint_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CASES = "/admin/cases/mediationcase/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["sqi_language"] = "en"
    return client


@pytest.fixture
def escalate(clock, make_complaint, people, orgs):
    def make(org="sh", unit=None, by=None):
        by = by or people.staff
        complaint = make_complaint(by=by, unit=unit, amount_in_dispute=Decimal("9000"))
        complaint_services.complaint_accept(complaint=complaint, by=by)
        return services.case_open_from_complaint(complaint=complaint, organization=orgs[org], by=by)

    return make


@pytest.fixture
def cases(escalate, people, tree):
    return {
        "own_sh": escalate("sh"),
        "own_bj": escalate("bj"),
        "sibling_sh": escalate("sh", unit=tree.branch_a2, by=people.sibling_staff),
    }


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True)


def change_url(case) -> str:
    return f"{CASES}{case.pk}/change/"


def test_staff_see_their_subtree(cases, people):
    html = client_for(people.staff).get(CASES).content.decode()
    assert cases["own_sh"].reference in html
    assert cases["own_bj"].reference in html
    assert cases["sibling_sh"].reference not in html


def test_mediators_see_their_organisations_cases(cases, mediators):
    client = client_for(mediators["sh"])
    html = client.get(CASES).content.decode()
    assert cases["own_sh"].reference in html
    assert cases["sibling_sh"].reference in html
    assert cases["own_bj"].reference not in html
    assert client.get(change_url(cases["own_sh"])).status_code == 200
    assert client.get(change_url(cases["own_bj"])).status_code == 404


@pytest.mark.parametrize("tail", ["change/", "history/", "delete/"])
def test_out_of_scope_is_404(cases, people, tail):
    case = cases["sibling_sh"]
    assert client_for(people.staff).get(f"{CASES}{case.pk}/{tail}").status_code == 404


def test_history_version_out_of_scope_is_404(cases, people):
    case = cases["sibling_sh"]
    version = case.history.first().history_id
    response = client_for(people.staff).get(f"{CASES}{case.pk}/history/{version}/")
    assert response.status_code == 404


def test_workflow_fields_are_read_only_and_corrections_are_audited(cases, people):
    case = cases["own_sh"]
    client = client_for(people.staff)
    html = client.get(change_url(case)).content.decode()
    assert 'name="summary"' in html
    assert 'name="claimed_amount"' in html
    assert 'name="status"' not in html
    assert 'name="settlement_amount"' not in html
    assert 'name="organization"' not in html
    assert 'name="applicant_phone"' not in html  # the consumer is the complaint's
    response = client.post(
        change_url(case),
        {
            "summary": "更正后的争议概述",
            "claimed_amount": "8500.00",
            "status": "settled",
            "settlement_amount": "1",
            "sessions-TOTAL_FORMS": "0",
            "sessions-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = MediationCase.objects.get(pk=case.pk)
    assert case.summary == "更正后的争议概述"
    assert case.claimed_amount == Decimal("8500.00")
    assert case.status == CaseStatus.APPLIED
    assert case.settlement_amount is None
    assert case.history.first().history_user == people.staff


def test_concluded_cases_are_read_only(cases, people, mediators):
    case = cases["own_sh"]
    services.case_refuse(case=case, by=mediators["sh"], reason="不受理")
    html = client_for(people.staff).get(change_url(case)).content.decode()
    assert 'name="summary"' not in html


def test_mediators_read_but_do_not_change(cases, mediators):
    html = client_for(mediators["sh"]).get(change_url(cases["own_sh"])).content.decode()
    assert 'name="summary"' not in html


def test_no_adding_deleting_or_reverting(cases, people, superuser):
    for user in (people.staff, superuser):
        client = client_for(user)
        assert client.get(f"{CASES}add/").status_code == 403
        assert client.get(f"{CASES}{cases['own_sh'].pk}/delete/").status_code == 403
        case = cases["own_sh"]
        version = case.history.first().history_id
        assert client.post(f"{CASES}{case.pk}/history/{version}/").status_code == 403


def test_inlines_show_sessions_and_timeline(cases, mediators):
    case = cases["own_sh"]
    services.case_accept(case=case, by=mediators["sh"])
    services.session_log(
        case=case,
        by=mediators["sh"],
        date=case.applied_at.date(),
        mode="online",
        attendees="双方当事人",
    )
    html = client_for(mediators["sh"]).get(change_url(case)).content.decode()
    assert "双方当事人" in html
    assert case.complaint.reference in html


def test_search_by_case_or_complaint_reference(cases, people):
    client = client_for(people.staff)
    html = client.get(CASES, {"q": cases["own_bj"].complaint.reference}).content.decode()
    assert cases["own_bj"].reference in html
    assert cases["own_sh"].reference not in html


def test_index_admins_see_no_mediation_cases(cases, people):
    assert client_for(people.index_admin).get(CASES).status_code == 403


def test_changelist_query_count_is_constant(escalate, people):
    client = client_for(people.staff)

    def count() -> int:
        client.get(CASES)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(CASES).status_code == 200
        return len(ctx.captured_queries)

    escalate("sh")
    few = count()
    for n in range(5):
        escalate("bj" if n % 2 else "sh")
    assert count() == few


# ---- organisations and mediators -----------------------------------------------------------------


def test_organisation_and_mediator_pages(orgs, mediators, superuser, people):
    client = client_for(superuser)
    for url in (
        "/admin/cases/mediationorganization/",
        f"/admin/cases/mediationorganization/{orgs['sh'].pk}/change/",
        "/admin/cases/mediator/",
        f"/admin/cases/mediator/{mediators['sh'].mediator.pk}/change/",
        "/admin/cases/mediator/add/",
    ):
        assert client.get(url).status_code == 200, url
    index_admin = client_for(people.index_admin)
    assert index_admin.get("/admin/cases/mediationorganization/").status_code == 200
    assert index_admin.get("/admin/cases/mediator/").status_code == 403
    assert client_for(people.staff).get("/admin/cases/mediationorganization/").status_code == 403


# ---- showcase models -----------------------------------------------------------------------------


@pytest.fixture
def programme(db):
    programme = AwardProgramme.objects.create(name="年度银行业保险业服务创新案例", year=2024)
    AwardCategory.objects.create(programme=programme, name="金融业适老服务典型案例")
    return programme


@pytest.fixture
def showcases(tree, programme):
    def make(title, insurer, status=ShowcaseStatus.DRAFT):
        case = ShowcaseCase.objects.create(
            slug=f"case-{ShowcaseCase.objects.count() + 1}",
            title=title,
            programme=programme,
            year=2024,
            summary="概述",
        )
        case.insurers.add(insurer)
        if status != ShowcaseStatus.DRAFT:
            ShowcaseCase.objects.filter(pk=case.pk).update(status=status)
        return ShowcaseCase.objects.get(pk=case.pk)

    return {
        "own": make("适老化理赔服务", tree.insurer_a),
        "own_awarded": make("大灾快速理赔", tree.insurer_a, ShowcaseStatus.AWARDED),
        "other": make("线上理赔", tree.insurer_c),
    }


def test_showcase_admin_pages_open_for_index_admins(showcases, programme, people):
    client = client_for(people.index_admin)
    Tag.objects.create(name="适老", slug="elder")
    for url in (
        "/admin/cases/awardprogramme/",
        f"/admin/cases/awardprogramme/{programme.pk}/change/",
        "/admin/cases/awardprogramme/add/",
        "/admin/cases/tag/",
        "/admin/cases/tag/add/",
        "/admin/cases/showcasecase/",
        "/admin/cases/showcasecase/add/",
        f"/admin/cases/showcasecase/{showcases['other'].pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    html = client.get(f"/admin/cases/awardprogramme/{programme.pk}/change/").content.decode()
    assert "金融业适老服务典型案例" in html  # the category inline
    html = client.get(f"/admin/cases/showcasecase/{showcases['own'].pk}/change/").content.decode()
    assert 'name="status"' not in html
    assert 'name="figures-TOTAL_FORMS"' in html
    assert 'name="images-TOTAL_FORMS"' in html


def test_staff_see_their_insurers_showcases_and_change_drafts_only(showcases, people):
    client = client_for(people.staff)
    html = client.get("/admin/cases/showcasecase/").content.decode()
    assert showcases["own"].title in html
    assert showcases["own_awarded"].title in html
    assert showcases["other"].title not in html
    assert (
        client.get(f"/admin/cases/showcasecase/{showcases['other'].pk}/change/").status_code == 404
    )
    draft = client.get(f"/admin/cases/showcasecase/{showcases['own'].pk}/change/").content.decode()
    assert 'name="title"' in draft
    awarded = client.get(
        f"/admin/cases/showcasecase/{showcases['own_awarded'].pk}/change/"
    ).content.decode()
    assert 'name="title"' not in awarded


def test_showcase_body_is_sanitised_and_status_kept(showcases, people, tree, programme):
    case = showcases["own"]
    client = client_for(people.index_admin)
    response = client.post(
        f"/admin/cases/showcasecase/{case.pk}/change/",
        {
            "title": case.title,
            "slug": case.slug,
            "programme": programme.pk,
            "year": "2024",
            "summary": "概述",
            "body": '<p onclick="x()">好<script>alert(1)</script></p>',
            "insurers": [tree.insurer_a.pk],
            "status": "awarded",
            "figures-TOTAL_FORMS": "1",
            "figures-INITIAL_FORMS": "0",
            "figures-0-label": "理赔时效",
            "figures-0-value": "5.4",
            "figures-0-unit": "天",
            "figures-0-order": "1",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case = ShowcaseCase.objects.get(pk=case.pk)
    assert case.body == "<p>好</p>"
    assert case.status == ShowcaseStatus.DRAFT
    assert case.figures.get().label == "理赔时效"
