"""The mediation cases API: scope (404 outside it, 403 for other roles), escalation and
direct applications, every step allowed and forbidden, sessions and timeline, bad input
that saves nothing, masked personal data and its audited reveal, constant query counts."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cases import services
from cases.models import CaseStatus, MediationCase, MediationSession
from complaints import crypto
from complaints import services as complaint_services
from complaints.models import EventKind, Status

pytestmark = pytest.mark.django_db
D = dt.date
LIST = "/api/v1/mediation-cases/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(case, tail: str = "") -> str:
    return f"{LIST}{case.reference}/{tail}"


def fresh(case) -> MediationCase:
    return MediationCase.objects.get(pk=case.pk)


@pytest.fixture
def escalate(clock, make_complaint, people, orgs):
    def make(org="sh", by=None, **fields):
        by = by or people.staff
        complaint = make_complaint(by=by, **fields)
        complaint_services.complaint_accept(complaint=complaint, by=by)
        return services.case_open_from_complaint(complaint=complaint, organization=orgs[org], by=by)

    return make


@pytest.fixture
def case(escalate):
    return escalate(amount_in_dispute=Decimal("10000.00"))


BODIES = {
    "accept": {},
    "start": {},
    "refuse": {"refusal_reason": "不属于本中心受理范围"},
    "settle": {
        "settlement_amount": "8000.00",
        "settlement_terms": "保险公司赔付 8000 元",
        "signed_on": "2026-03-02",
    },
    "fail": {"outcome_note": "双方分歧过大"},
    "withdraw": {"outcome_note": "申请人撤回"},
}


def step(client, case, name, body=None):
    body = BODIES[name] if body is None else body
    return client.post(url(case, f"transitions/{name}/"), body, format="json")


# ---- scope ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "listed", "detail"),
    [
        ("mediator_sh", True, 200),
        ("mediator_bj", False, 404),
        ("staff", True, 200),
        ("head_officer", True, 200),
        ("sibling_staff", False, 404),
        ("index_admin", None, 403),
    ],
)
def test_scope(case, people, mediators, who, listed, detail):
    user = {"mediator_sh": mediators["sh"], "mediator_bj": mediators["bj"]}.get(who) or getattr(
        people, who
    )
    client = api(user)
    response = client.get(LIST)
    if listed is None:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        refs = [row["reference"] for row in response.json()["results"]]
        assert (case.reference in refs) is listed
    assert client.get(url(case)).status_code == detail
    for tail in ("timeline/", "sessions/"):
        assert client.get(url(case, tail)).status_code == detail


def test_anonymous_is_refused(case):
    assert api().get(LIST).status_code in (401, 403)
    assert api().get(url(case)).status_code in (401, 403)


# ---- opening cases -------------------------------------------------------------------------------


def test_staff_escalate_a_complaint(clock, make_complaint, people, orgs):
    complaint = make_complaint(amount_in_dispute=Decimal("6000"))
    complaint_services.complaint_accept(complaint=complaint, by=people.staff)
    response = api(people.staff).post(
        LIST,
        {"complaint": complaint.reference, "organization": orgs["sh"].pk, "summary": "车险理赔"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "applied"
    assert data["complaint"] == complaint.reference
    assert data["claimed_amount"] == "6000.00"
    assert data["summary"] == "车险理赔"
    assert data["allowed_actions"] == ["withdraw"]
    complaint.refresh_from_db()
    assert complaint.status == Status.ESCALATED
    assert MediationCase.objects.get(reference=data["reference"]).complaint == complaint


def test_escalation_outside_the_scope_or_state_saves_nothing(clock, make_complaint, people, orgs):
    received = make_complaint()
    accepted = make_complaint()
    complaint_services.complaint_accept(complaint=accepted, by=people.staff)
    ref = accepted.reference
    cases = [
        (people.sibling_staff, {"complaint": ref}, "complaint"),
        (people.staff, {"complaint": "TS2026-999999"}, "complaint"),
        (people.staff, {"complaint": received.reference}, "status"),
        (people.staff, {"complaint": ref, "organization": 9999}, "organization"),
        (people.staff, {"complaint": ref, "organization": None}, "organization"),
        (people.staff, {"complaint": ref, "claimed_amount": "-5"}, "claimed_amount"),
        (people.staff, {"complaint": ref, "summary": "长" * 5001}, "summary"),
    ]
    for user, body, field in cases:
        body = {"organization": orgs["sh"].pk, **body}
        if body["organization"] is None:
            del body["organization"]
        response = api(user).post(LIST, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), (body, response.json())
    assert not MediationCase.objects.exists()
    accepted.refresh_from_db()
    assert accepted.status == Status.ACCEPTED


def test_an_inactive_organisation_is_refused(clock, make_complaint, people, orgs):
    complaint = make_complaint()
    complaint_services.complaint_accept(complaint=complaint, by=people.staff)
    orgs["bj"].active = False
    orgs["bj"].save()
    response = api(people.staff).post(
        LIST, {"complaint": complaint.reference, "organization": orgs["bj"].pk}, format="json"
    )
    assert response.status_code == 400
    assert "organization" in response.json()
    assert not MediationCase.objects.exists()


def application(tree, **overrides):
    body = {
        "insurer": tree.insurer_a.pk,
        "org_unit": tree.branch_a1.pk,
        "applicant_name": "王五",
        "applicant_phone": "13700001111",
        "claimed_amount": "3000",
        "summary": "意外险理赔金额争议",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_mediator_records_a_direct_application(clock, mediators, orgs, tree):
    response = api(mediators["sh"]).post(LIST, application(tree), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["complaint"] is None
    assert data["organization"] == orgs["sh"].pk
    assert data["consumer_phone"] == "137****1111"
    assert data["consumer_name"] == "王*"
    assert "13700001111" not in json.dumps(data, ensure_ascii=False)
    assert set(data["allowed_actions"]) == {"accept", "refuse", "withdraw"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"org_unit": "head_c"}, "org_unit"),
        ({"applicant_name": None}, "applicant_name"),
        ({"applicant_phone": "12"}, "applicant_phone"),
        ({"summary": None}, "summary"),
        ({"applicant_name": "名" * 101}, "applicant_name"),
        ({"insurer": None}, "insurer"),
    ],
)
def test_bad_direct_applications_save_nothing(clock, mediators, tree, overrides, field):
    if overrides.get("org_unit") == "head_c":
        overrides = {"org_unit": tree.head_c.pk}
    response = api(mediators["sh"]).post(LIST, application(tree, **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not MediationCase.objects.exists()


def test_staff_cannot_record_direct_applications_for_an_organisation(clock, people, orgs, tree):
    response = api(people.staff).post(
        LIST, application(tree, organization=orgs["sh"].pk), format="json"
    )
    assert response.status_code == 403
    assert not MediationCase.objects.exists()


def test_oversized_request_body_is_refused(clock, mediators, tree, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = application(tree, summary="长" * 20_000)
    response = api(mediators["sh"]).post(LIST, body, format="json")
    assert response.status_code in (400, 413)
    assert not MediationCase.objects.exists()


# ---- the steps -----------------------------------------------------------------------------------


PATHS = {
    "applied": [],
    "accepted": ["accept"],
    "in_mediation": ["accept", "start"],
    "refused": ["refuse"],
    "settled": ["accept", "start", "settle"],
    "failed": ["accept", "start", "fail"],
    "withdrawn": ["withdraw"],
}
ALLOWED = {
    "applied": {"accept", "refuse", "withdraw"},
    "accepted": {"start", "withdraw"},
    "in_mediation": {"settle", "fail", "withdraw"},
    "refused": set(),
    "settled": set(),
    "failed": set(),
    "withdrawn": set(),
}


@pytest.mark.parametrize("state", list(PATHS))
@pytest.mark.parametrize("name", list(BODIES))
def test_every_step_from_every_state(case, mediators, state, name):
    client = api(mediators["sh"])
    for done in PATHS[state]:
        assert step(client, case, done).status_code == 200, done
    assert fresh(case).status == state
    response = step(client, case, name)
    if name in ALLOWED[state]:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == fresh(case).status != state
    else:
        assert response.status_code == 400
        assert "status" in response.json()
        assert fresh(case).status == state


def test_steps_answer_the_detail_with_the_next_steps(case, mediators):
    response = step(api(mediators["sh"]), case, "accept")
    assert response.json()["allowed_actions"] == ["start", "withdraw"]
    assert response.json()["accepted_at"]


def test_concluding_steps_close_the_complaint(escalate, mediators, people):
    for name in ("settle", "fail", "refuse", "withdraw"):
        case = escalate()
        client = api(mediators["sh"])
        if name in ("settle", "fail"):
            step(client, case, "accept")
            step(client, case, "start")
        who = api(people.staff) if name == "withdraw" else client
        assert step(who, case, name).status_code == 200
        case.complaint.refresh_from_db()
        assert case.complaint.status == Status.CLOSED, name


def test_staff_and_other_organisations_cannot_run_the_mediation(case, people, mediators):
    assert step(api(people.staff), case, "accept").status_code == 403
    assert step(api(people.head_officer), case, "withdraw").status_code == 403
    assert step(api(mediators["bj"]), case, "accept").status_code == 404
    assert fresh(case).status == CaseStatus.APPLIED


def test_unknown_step_is_404(case, mediators):
    assert step(api(mediators["sh"]), case, "teleport", {}).status_code == 404


def test_settlement_above_the_claim_needs_a_note(case, mediators):
    client = api(mediators["sh"])
    step(client, case, "accept")
    step(client, case, "start")
    body = {**BODIES["settle"], "settlement_amount": "12000.00"}
    response = step(client, case, "settle", body)
    assert response.status_code == 400
    assert "settlement_amount" in response.json()
    case = fresh(case)
    assert case.status == CaseStatus.IN_MEDIATION and case.settlement_amount is None
    assert case.complaint.status == Status.ESCALATED
    response = step(client, case, "settle", {**body, "outcome_note": "含误工费"})
    assert response.status_code == 200
    assert response.json()["settlement_amount"] == "12000.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"settlement_amount": "-1"}, "settlement_amount"),
        ({"settlement_terms": ""}, "settlement_terms"),
        ({"settlement_terms": "款" * 5001}, "settlement_terms"),
        ({"signed_on": "2026-02-01"}, "signed_on"),
        ({"signed_on": "yesterday"}, "signed_on"),
        ({"judicially_confirmed": True}, "court"),
    ],
)
def test_bad_settlements_save_nothing(case, mediators, body, field):
    client = api(mediators["sh"])
    step(client, case, "accept")
    step(client, case, "start")
    response = step(client, case, "settle", {**BODIES["settle"], **body})
    assert response.status_code == 400
    assert field in response.json()
    assert fresh(case).status == CaseStatus.IN_MEDIATION


@pytest.mark.parametrize(
    ("name", "field"), [("refuse", "refusal_reason"), ("fail", "outcome_note")]
)
def test_steps_need_their_reason(case, mediators, name, field):
    client = api(mediators["sh"])
    if name == "fail":
        step(client, case, "accept")
        step(client, case, "start")
    before = fresh(case).status
    response = step(client, case, name, {field: "  "})
    assert response.status_code == 400
    assert field in response.json()
    assert fresh(case).status == before


# ---- sessions and timeline -----------------------------------------------------------------------


def test_sessions(case, mediators, clock):
    client = api(mediators["sh"])
    session = {"date": "2026-03-02", "mode": "offline", "attendees": "双方"}
    response = client.post(url(case, "sessions/"), session, format="json")
    assert response.status_code == 400 and "status" in response.json()  # not accepted yet
    step(client, case, "accept")
    response = client.post(url(case, "sessions/"), {**session, "notes": "首次调解"}, format="json")
    assert response.status_code == 201, response.json()
    listed = client.get(url(case, "sessions/")).json()
    assert [s["notes"] for s in listed] == ["首次调解"]
    assert listed[0]["recorded_by"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2026-02-27"}, "date"),  # before the application
        ({"date": "2026-04-01"}, "date"),  # in the future
        ({"mode": "carrier_pigeon"}, "mode"),
        ({"attendees": ""}, "attendees"),
        ({"attendees": "人" * 501}, "attendees"),
        ({"notes": "记" * 5001}, "notes"),
    ],
)
def test_bad_sessions_save_nothing(case, mediators, clock, body, field):
    client = api(mediators["sh"])
    step(client, case, "accept")
    clock.move_to(D(2026, 3, 20))
    session = {"date": "2026-03-05", "mode": "online", "attendees": "双方", **body}
    response = client.post(url(case, "sessions/"), session, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not MediationSession.objects.exists()


def test_staff_cannot_log_sessions(case, mediators, people):
    step(api(mediators["sh"]), case, "accept")
    response = api(people.staff).post(
        url(case, "sessions/"),
        {"date": "2026-03-02", "mode": "online", "attendees": "双方"},
        format="json",
    )
    assert response.status_code == 403
    assert not MediationSession.objects.exists()


def test_timeline(case, mediators):
    step(api(mediators["sh"]), case, "accept")
    events = api(mediators["sh"]).get(url(case, "timeline/")).json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        ("", ""),
        ("applied", "accepted"),
    ]
    assert case.complaint.reference in events[0]["text"]


# ---- personal data -------------------------------------------------------------------------------


def test_personal_data_is_masked_unless_revealed(case, mediators, people):
    complaint = case.complaint
    for user in (mediators["sh"], people.staff):
        for response in (api(user).get(LIST), api(user).get(url(case))):
            text = json.dumps(response.json(), ensure_ascii=False)
            assert complaint.complainant_phone not in text
            assert complaint.complainant_name not in text
    data = api(mediators["sh"]).get(url(case)).json()
    assert (
        data["consumer_phone"]
        == complaint.complainant_phone[:3] + "****" + (complaint.complainant_phone[-4:])
    )
    assert not complaint.events.filter(kind=EventKind.REVEAL).exists()

    response = api(mediators["sh"]).post(url(case, "reveal-personal-data/"))
    assert response.status_code == 200
    assert response.json() == {
        "name": complaint.complainant_name,
        "phone": complaint.complainant_phone,
        "id_number": crypto.decrypt(complaint.id_number_encrypted),
    }
    assert complaint.events.get(kind=EventKind.REVEAL).actor == mediators["sh"]


def test_reveal_is_scoped(case, mediators, people):
    assert api(mediators["bj"]).post(url(case, "reveal-personal-data/")).status_code == 404
    assert api(people.sibling_staff).post(url(case, "reveal-personal-data/")).status_code == 404
    assert not case.complaint.events.filter(kind=EventKind.REVEAL).exists()


# ---- filters and query counts --------------------------------------------------------------------


def test_filters(case, escalate, mediators, people, orgs, clock):
    bj_case = escalate(org="bj")
    clock.move_to(D(2026, 3, 10))
    later = escalate()
    step(api(mediators["sh"]), later, "accept")
    client = api(people.staff)

    def refs(**params) -> set[str]:
        response = client.get(LIST, params)
        assert response.status_code == 200, response.json()
        return {row["reference"] for row in response.json()["results"]}

    assert refs() == {case.reference, bj_case.reference, later.reference}
    assert refs(status="accepted") == {later.reference}
    assert refs(organization=orgs["bj"].pk) == {bj_case.reference}
    assert refs(insurer=case.insurer_id) == {case.reference, bj_case.reference, later.reference}
    assert refs(applied_from="2026-03-05") == {later.reference}
    assert refs(applied_to="2026-03-05") == {case.reference, bj_case.reference}
    assert refs(q=bj_case.reference) == {bj_case.reference}
    assert refs(q=later.complaint.reference) == {later.reference}
    response = client.get(LIST, {"applied_from": "2026-03-10", "applied_to": "2026-03-01"})
    assert response.status_code == 400 and "applied_to" in response.json()
    assert client.get(LIST, {"status": "lost"}).status_code == 400


def test_list_query_count_is_constant(escalate, mediators, people):
    client = api(people.staff)

    def count() -> int:
        client.get(LIST)  # the user's roles and units are cached on the user object
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LIST).status_code == 200
        return len(ctx.captured_queries)

    escalate()
    escalate(org="bj")
    few = count()
    for n in range(6):
        made = escalate(org="sh" if n % 2 else "bj")
        if n % 3 == 0:
            services.case_apply(
                organization=made.organization,
                insurer=made.insurer,
                org_unit=made.org_unit,
                applicant_name="赵六",
                applicant_phone="13600001111",
                summary="直接申请",
                by=mediators["sh" if n % 2 else "bj"],
            )
    assert count() == few


def test_the_schema_documents_sessions_and_timeline_as_plain_lists(case, mediators):
    # Found by the API fuzz: the schema described paginated objects with a page parameter.
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for tail in ("sessions", "timeline"):
        get = paths[f"/api/v1/mediation-cases/{{reference}}/{tail}/"]["get"]
        assert get["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
        assert "page" not in [p["name"] for p in get.get("parameters", [])]
        assert isinstance(api(mediators["sh"]).get(url(case, f"{tail}/")).json(), list)
