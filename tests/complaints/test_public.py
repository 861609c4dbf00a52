"""The public complaint form, its receipt and the status lookup: anonymous, CSRF-protected,
rate-limited, routed to the right unit, and never showing anyone's personal data."""

import datetime as dt
import logging
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from complaints import services
from complaints.forms_public import PROVINCES, route_public_complaint
from complaints.models import Channel, Complaint, EventKind, Status
from insurers.models import OrgUnit
from tests.complaints.conftest import id_number, intake
from tests.factories import InsurerFactory

pytestmark = pytest.mark.django_db

NEW = "/complaints/new/"
RECEIVED = "/complaints/new/received/"
STATUS = "/complaints/status/"
NARRATIVE = "三月一日车辆追尾，定损后理赔一直没有结果，客服说还在审核。"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def regions(tree):
    """Insurer A: head office in Beijing, branch A1 in Guangdong, branch A2 in Jiangsu,
    sub-branch A1a in a Zhejiang city (a sub-branch never receives public complaints)."""
    for unit, region in (
        (tree.head_a, "110000"),
        (tree.branch_a1, "440000"),
        (tree.branch_a2, "320000"),
        (tree.sub_a1a, "330100"),
    ):
        OrgUnit.objects.filter(pk=unit.pk).update(region=region)
    for name in ("head_a", "branch_a1", "branch_a2", "sub_a1a"):
        getattr(tree, name).refresh_from_db()
    return tree


def english() -> Client:
    client = Client()
    client.cookies["sqi_language"] = "en"
    return client


def form_data(tree, **overrides) -> dict:
    data = {
        "insurer": str(tree.insurer_a.pk),
        "province": "440000",
        "product_line": "motor",
        "category": "claims",
        "subcategory": "claim_delay",
        "amount_in_dispute": "12000.50",
        "narrative": NARRATIVE,
        "complainant_name": "李小明",
        "complainant_phone": "139 1234 5678",
        "complainant_id_number": id_number(dt.date(1958, 6, 1)),
        "consent": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# ---- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("province", "unit"),
    [
        ("440000", "branch_a1"),  # a branch in the province
        ("320000", "branch_a2"),
        ("650000", "head_a"),  # no branch there: the head office
        ("330000", "head_a"),  # only a sub-branch there: still the head office
        ("", "head_a"),
    ],
)
def test_routing_prefers_the_branch_in_the_province(regions, province, unit):
    routed = route_public_complaint(insurer=regions.insurer_a, province_code=province)
    assert routed == getattr(regions, unit)


def test_routing_matches_a_branch_with_a_city_code_and_never_another_insurer(regions):
    OrgUnit.objects.filter(pk=regions.branch_c1.pk).update(region="440300")  # Shenzhen
    assert route_public_complaint(insurer=regions.insurer_c, province_code="440000") == (
        regions.branch_c1
    )
    assert route_public_complaint(insurer=regions.insurer_b, province_code="440000") == (
        regions.head_b
    )
    assert route_public_complaint(insurer=InsurerFactory(), province_code="440000") is None


def test_two_branches_in_one_province_the_provincial_one_then_the_older(regions):
    OrgUnit.objects.filter(pk=regions.branch_a1.pk).update(region="440300")  # a city code
    OrgUnit.objects.filter(pk=regions.branch_a2.pk).update(region="440000")
    routed = route_public_complaint(insurer=regions.insurer_a, province_code="440000")
    assert routed == regions.branch_a2
    OrgUnit.objects.filter(pk=regions.branch_a1.pk).update(region="440000")
    routed = route_public_complaint(insurer=regions.insurer_a, province_code="440000")
    assert routed == regions.branch_a1  # created first


def test_the_province_list_has_the_31_mainland_provinces():
    codes = [code for code, _ in PROVINCES]
    assert len(codes) == len(set(codes)) == 31
    assert all(re.fullmatch(r"\d{2}0000", code) for code in codes)


# ---- filing --------------------------------------------------------------------------------


def test_anonymous_filing_routes_and_shows_the_reference(clock, regions):
    client = english()
    page = client.get(NEW)
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content

    response = client.post(NEW, form_data(regions))
    assert response.status_code == 302 and response["Location"] == RECEIVED
    complaint = Complaint.objects.get()
    assert complaint.org_unit == regions.branch_a1
    assert complaint.insurer == regions.insurer_a
    assert complaint.channel == Channel.ONLINE
    assert complaint.created_by is None
    assert complaint.complainant_phone == "13912345678"  # spaces dropped
    assert complaint.is_elder  # born 1958
    assert complaint.status == Status.RECEIVED
    assert complaint.events.get().kind == EventKind.RECEIVED
    assert complaint.history.get().history_user is None

    receipt = client.get(RECEIVED)
    html = receipt.content.decode()
    assert receipt.status_code == 200
    assert complaint.reference in html
    assert "March 17, 2026" in html  # the decision due date
    assert regions.insurer_a.name_en in html
    assert "no-store" in receipt["Cache-Control"]
    # The reference is not in the URL, and a refresh shows the receipt again.
    assert complaint.reference not in response["Location"]
    assert complaint.reference in client.get(RECEIVED).content.decode()
    # Personal data stays off the receipt.
    for secret in ("李小明", "13912345678", "139 1234 5678", NARRATIVE):
        assert secret not in html


def test_the_receipt_belongs_to_the_session_that_filed(clock, regions):
    filer = Client()
    filer.post(NEW, form_data(regions))
    stranger = Client()
    response = stranger.get(RECEIVED)
    assert response.status_code == 302 and response["Location"] == NEW


def test_a_province_without_a_branch_goes_to_the_head_office(clock, regions):
    Client().post(NEW, form_data(regions, province="650000"))
    assert Complaint.objects.get().org_unit == regions.head_a


def test_csrf_is_enforced(clock, regions):
    client = Client(enforce_csrf_checks=True)
    assert client.post(NEW, form_data(regions)).status_code == 403
    assert client.post(STATUS, {"reference": "TS2026-000001", "phone": "x"}).status_code == 403
    assert not Complaint.objects.exists()

    client.get(NEW)
    token = client.cookies["csrftoken"].value
    response = client.post(NEW, {**form_data(regions), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Complaint.objects.count() == 1


def _bad_id_number() -> str:
    good = id_number()
    return good[:17] + ("0" if good[17] != "0" else "1")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"complainant_id_number": "BAD"},
            "complainant_id_number",
            "An ID number has 18 characters.",
        ),
        (
            {"complainant_id_number": _bad_id_number()},
            "complainant_id_number",
            "The check digit (the 18th character) does not match",
        ),
        ({"category": "nonsense"}, "category", "Select a valid choice."),
        (
            {"category": "sales", "subcategory": "claim_denied"},
            "subcategory",
            "This subcategory does not belong to the chosen category.",
        ),
        ({"narrative": "长" * 5001}, "narrative", "at most 5000 characters"),
        ({"narrative": ""}, "narrative", "Describe what happened."),
        ({"complainant_phone": "12345"}, "complainant_phone", "Enter a mainland mobile number"),
        ({"consent": None}, "consent", "Please agree to the use of your personal information"),
        ({"insurer": "999999"}, "insurer", "Select a valid choice."),
        ({"province": "990000"}, "province", "Select a valid choice."),
        ({"amount_in_dispute": "-5"}, "amount_in_dispute", "greater than or equal to 0"),
        ({"complainant_name": ""}, "complainant_name", "Enter your name."),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(clock, regions, overrides, field, message):
    response = english().post(NEW, form_data(regions, **overrides))
    assert response.status_code == 200
    html = response.content.decode()
    form_field = response.context["form"].fields[field]
    label = str(getattr(form_field, "summary_label", form_field.label))
    # The error summary links to the field and names it; the field says what is wrong.
    summary = html[
        html.index('class="error-summary"') : html.index("</ul>", html.index("error-summary"))
    ]
    assert f'href="#id_{field}"' in summary
    assert label in summary and message in summary
    assert re.search(rf'<[^>]+aria-invalid="true"[^>]+id="id_{field}"', html) or re.search(
        rf'<[^>]+id="id_{field}"[^>]+aria-invalid="true"', html
    )
    assert f'id="id_{field}_error"' in html
    assert list(response.context["form"].errors) == [field]
    assert not Complaint.objects.exists()


def test_the_subcategory_options_say_their_category(clock, regions):
    html = english().get(NEW).content.decode()
    assert re.search(r'<option value="claim_denied" data-category="claims"', html)
    assert re.search(r'<option value="mis_selling" data-category="sales"', html)


def test_insurers_are_grouped_by_licence_type_property_first(clock, regions):
    html = english().get(NEW).content.decode()
    groups = re.findall(r'<optgroup label="([^"]+)">', html)
    assert groups[:2] == ["Property insurance", "Life insurance"]
    property_group = html[html.index('<optgroup label="Property insurance">') :]
    property_group = property_group[: property_group.index("</optgroup>")]
    assert regions.insurer_a.name_en in property_group
    assert regions.insurer_b.name_en not in property_group  # a life insurer


def test_inactive_insurers_are_not_offered(clock, regions):
    regions.insurer_b.active = False
    regions.insurer_b.save()
    html = english().get(NEW).content.decode()
    assert f'value="{regions.insurer_a.pk}"' in html
    assert f'value="{regions.insurer_b.pk}"' not in html
    response = english().post(NEW, form_data(regions, insurer=str(regions.insurer_b.pk)))
    assert "insurer" in response.context["form"].errors
    assert not Complaint.objects.exists()


def test_the_form_costs_the_same_queries_however_many_insurers(clock, regions):
    from tests.factories import unit

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert Client().get(NEW).status_code == 200
        return len(ctx.captured_queries)

    first = queries()
    for _ in range(5):
        insurer = InsurerFactory()
        unit("head_office", insurer=insurer)
    assert queries() == first


# ---- rate limits ---------------------------------------------------------------------------


def test_the_form_is_rate_limited_per_ip(clock, regions, settings):
    settings.PUBLIC_COMPLAINT_RATE_IP = "2/h"
    client = english()
    assert client.post(NEW, form_data(regions, consent=None)).status_code == 200  # a mistake
    assert client.post(NEW, form_data(regions)).status_code == 302
    limited = client.post(NEW, form_data(regions, complainant_phone="13700000000"))
    assert limited.status_code == 429
    assert "Please try again later" in limited.content.decode()
    assert Complaint.objects.count() == 1
    # Another address is not affected; looking at the form is never limited.
    other = client.post(NEW, form_data(regions), REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 302
    assert client.get(NEW).status_code == 200


def test_the_form_is_rate_limited_per_phone(clock, regions, settings):
    settings.PUBLIC_COMPLAINT_RATE_PHONE = "2/d"
    phone = "13912345678"
    # Corrections do not use up the phone's allowance; filed complaints do.
    for n in range(3):
        ip = f"10.0.0.{n + 1}"
        bad = Client().post(NEW, form_data(regions, consent=None), REMOTE_ADDR=ip)
        assert bad.status_code == 200
    for n in range(2):
        ok = Client().post(
            NEW, form_data(regions, complainant_phone=phone), REMOTE_ADDR=f"10.0.1.{n}"
        )
        assert ok.status_code == 302
    # Spelled differently, from another address: still the same phone.
    third = english().post(
        NEW, form_data(regions, complainant_phone="139-1234-5678"), REMOTE_ADDR="10.0.2.1"
    )
    assert third.status_code == 429
    assert Complaint.objects.count() == 2
    other = Client().post(NEW, form_data(regions, complainant_phone="13600000000"))
    assert other.status_code == 302


def test_the_status_lookup_is_rate_limited_per_ip(clock, regions, settings):
    settings.PUBLIC_STATUS_RATE_IP = "2/h"
    client = english()
    for _ in range(2):
        response = client.post(STATUS, {"reference": "TS2026-000001", "phone": "13912345678"})
        assert response.status_code == 200
    limited = client.post(STATUS, {"reference": "TS2026-000001", "phone": "13912345678"})
    assert limited.status_code == 429
    assert "too many look-ups" in limited.content.decode()
    assert (
        client.post(STATUS, {"reference": "x", "phone": "y"}, REMOTE_ADDR="10.9.9.9").status_code
        == 200
    )


# ---- status lookup -------------------------------------------------------------------------


@pytest.fixture
def filed(clock, regions, people):
    data = intake(
        complainant_name="王秀英",
        complainant_phone="13812345678",
        complainant_id_number=id_number(dt.date(1950, 1, 2)),
        narrative="保单现金价值与业务员当初承诺的不一致，要求退还全部保费。",
    )
    plain_id = data["complainant_id_number"]
    complaint = services.complaint_create(
        by=people.staff, insurer=regions.insurer_a, org_unit=regions.branch_a1, **data
    )
    return complaint, plain_id


def _lookup(client, reference, phone):
    return client.post(STATUS, {"reference": reference, "phone": phone})


def test_the_status_lookup_shows_status_and_dates_only(filed, regions):
    complaint, plain_id = filed
    response = _lookup(english(), complaint.reference, complaint.complainant_phone)
    html = response.content.decode()
    assert response.status_code == 200
    result = response.context["result"]
    assert result["reference"] == complaint.reference
    assert "Received" in html and regions.insurer_a.name_en in html
    zh = _lookup(Client(), complaint.reference, complaint.complainant_phone).content.decode()
    assert regions.insurer_a.short_name in zh and "2026年3月17日" in zh
    assert "March 2, 2026" in html and "March 17, 2026" in html  # received, due
    for secret in (
        complaint.complainant_name,
        complaint.complainant_phone,
        plain_id,
        complaint.id_number_masked,
        complaint.narrative,
        regions.branch_a1.name,
    ):
        assert secret not in html, secret
    assert "no-store" in response["Cache-Control"]


def test_the_lookup_forgives_case_and_spaces(filed):
    complaint, _ = filed
    response = _lookup(english(), f" {complaint.reference.lower()} ", "138 1234 5678")
    assert response.context["result"]["reference"] == complaint.reference


def test_a_decided_complaint_shows_its_decision_date_but_not_the_reply(filed, people, clock):
    complaint, _ = filed
    services.complaint_accept(complaint=complaint, by=people.staff)
    clock.move_to(dt.date(2026, 3, 9))
    reply = "经核实，同意按合同约定退还部分保费。"
    services.complaint_decide(
        complaint=complaint, by=people.staff, decision="partly_upheld", reply=reply
    )
    html = _lookup(english(), complaint.reference, complaint.complainant_phone).content.decode()
    assert "Decided on" in html and "March 9, 2026" in html
    assert "Decision due by" not in html
    assert reply not in html and "partly" not in html.lower()


def test_a_wrong_phone_and_a_wrong_reference_answer_the_same(filed):
    complaint, _ = filed

    def body(reference, phone):
        response = _lookup(english(), reference, phone)
        assert response.status_code == 200 and response.context["result"] is None
        html = response.content.decode()
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        html = re.sub(r'content="[A-Za-z0-9]{64}"', "", html)  # the csrf meta tag
        return html.replace(reference, "REF")

    wrong_phone = body(complaint.reference, "13900000000")
    wrong_reference = body("TS2026-999999", complaint.complainant_phone)
    assert wrong_phone == wrong_reference
    assert "We found no complaint with this reference number and phone number." in wrong_phone
    assert complaint.complainant_phone not in wrong_reference


def test_the_phone_never_reaches_a_url_or_a_log(filed, caplog, regions):
    complaint, _ = filed
    client = english()
    page = client.get(STATUS).content.decode()
    assert re.search(r'<form method="post" action="/complaints/status/"', page)
    with caplog.at_level(logging.DEBUG):
        response = _lookup(client, complaint.reference, complaint.complainant_phone)
        assert response.context["result"] is not None
        client.post(NEW, form_data(regions, complainant_phone="13700001111"))
    request_line = f"{response.request['REQUEST_METHOD']} {response.request['PATH_INFO']}"
    assert complaint.complainant_phone not in request_line
    assert not response.request.get("QUERY_STRING")
    assert complaint.complainant_phone not in caplog.text
    assert "13700001111" not in caplog.text
    # A lookup by GET parameters is not honoured, so nobody shares links with phones.
    by_get = client.get(
        STATUS, {"reference": complaint.reference, "phone": complaint.complainant_phone}
    )
    assert by_get.context["result"] is None and not by_get.context["searched"]


def test_a_malformed_reference_is_a_field_error(clock):
    response = english().post(STATUS, {"reference": "12345", "phone": "13812345678"})
    assert "reference" in response.context["form"].errors
    assert 'href="#id_reference"' in response.content.decode()
