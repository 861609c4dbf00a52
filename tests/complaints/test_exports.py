"""Exports of the complaint list: scoped rows only, personal data masked, filters carried
over, XLSX readable, a row cap with a message, and a constant number of queries."""

import csv
import io
import zipfile
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from complaints import exports
from complaints.models import Complaint
from insurers.models import OrgUnit
from tests.complaints.conftest import id_number

pytestmark = pytest.mark.django_db


def export(client, fmt: str, query: str = ""):
    url = reverse("complaints:export", args=[fmt]) + (f"?{query}" if query else "")
    return client.get(url)


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))


def xlsx_text(data: bytes) -> str:
    """Every XML part of the workbook, as text: what a search of the file would find."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "".join(archive.read(name).decode() for name in archive.namelist())


@dataclass
class Case:
    complaint: Complaint
    name: str
    phone: str
    id_number: str


@pytest.fixture
def cases(clock, people, tree, make_complaint):
    def make(name, phone, unit=None, by=None, **extra):
        number = id_number()
        complaint = make_complaint(
            by=by,
            unit=unit,
            complainant_name=name,
            complainant_phone=phone,
            complainant_id_number=number,
            **extra,
        )
        return Case(complaint, name, phone, number)

    return {
        "mine": make("欧阳娜娜", "13912345678", narrative="保单号 P123456789，联系人欧阳娜娜。"),
        "below": make("李四", "13700001111", unit=tree.sub_a1a, category="sales", subcategory=""),
        "sibling": make("王五", "13600002222", unit=tree.branch_a2, by=people.sibling_staff),
    }


def login(client, user):
    client.force_login(user)
    client.cookies["sqi_language"] = "en"


def assert_no_personal_data(data: str, *cases_: Case) -> None:
    for case in cases_:
        for value in (case.name, case.phone, case.id_number, case.id_number[6:14]):
            assert value not in data, value


def test_csv_has_only_scoped_rows_with_personal_data_masked(client, people, cases):
    login(client, people.staff)
    response = export(client, "csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="complaints-20260302.csv"'
    raw = body(response)
    assert raw.startswith("\ufeff".encode())
    rows = csv_rows(export(client, "csv"))
    header, data = rows[0], rows[1:]
    assert header[0] == "Reference" and "Phone (masked)" in header
    refs = {row[0] for row in data}
    assert refs == {cases["mine"].complaint.reference, cases["below"].complaint.reference}
    text = raw.decode("utf-8")
    assert_no_personal_data(text, *cases.values())
    assert cases["sibling"].complaint.reference not in text
    # masked forms are there; the narrative is not exported at all
    mine = next(row for row in data if row[0] == cases["mine"].complaint.reference)
    assert "欧***" in mine and "139****5678" in mine
    assert cases["mine"].complaint.id_number_masked in mine
    assert "P123456789" not in text
    assert "On track" in mine and "Received" in mine


def test_xlsx_opens_and_holds_the_same_masked_rows(client, people, cases):
    login(client, people.head_staff)
    response = export(client, "xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_TYPE
    data = body(response)
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Reference"
    refs = {row[0] for row in values[1:]}
    assert refs == {case.complaint.reference for case in cases.values()}  # head office: all
    assert_no_personal_data(xlsx_text(data), *cases.values())
    row = next(r for r in values if r[0] == cases["mine"].complaint.reference)
    assert "欧***" in row
    assert str(cases["mine"].complaint.received_on) in {str(v)[:10] for v in row if v}


def test_exports_carry_the_list_filters(client, people, cases):
    login(client, people.staff)
    rows = csv_rows(export(client, "csv", "category=sales"))
    assert [row[0] for row in rows[1:]] == [cases["below"].complaint.reference]
    found = client.post(reverse("complaints:list"), {"q": cases["mine"].phone})["Location"]
    rows = csv_rows(export(client, "csv", found.split("?", 1)[1]))
    assert [row[0] for row in rows[1:]] == [cases["mine"].complaint.reference]
    # the list's export links carry the same query
    page = client.get(reverse("complaints:list") + "?category=sales").content.decode()
    assert reverse("complaints:export", args=["xlsx"]) + "?category=sales" in page


def test_a_sibling_branch_cannot_export_into_another_scope(client, people, cases, tree):
    login(client, people.sibling_staff)
    # Another branch's unit is not a valid filter: back to the list, nothing exported.
    response = export(client, "csv", f"within={tree.branch_a1.pk}")
    assert response.status_code == 302
    assert cases["mine"].complaint.reference.encode() not in body(response)
    rows = csv_rows(export(client, "csv"))
    assert [row[0] for row in rows[1:]] == [cases["sibling"].complaint.reference]


def test_bad_filters_redirect_to_the_list_with_the_errors(client, people, cases):
    login(client, people.staff)
    response = export(client, "csv", "received_from=yesterday")
    assert response.status_code == 302
    assert response["Location"] == reverse("complaints:list") + "?received_from=yesterday"
    page = client.get(response["Location"]).content.decode()
    assert "Correct the filters before exporting." in page
    assert "Enter a valid date." in page


def test_an_export_over_the_cap_is_refused_with_a_message(client, people, cases, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_MAX_ROWS", 1)
    login(client, people.staff)
    response = export(client, "xlsx")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "2 complaints match, more than the 1 an export can hold" in page


def test_export_needs_the_export_permission_and_a_known_format(client, people, cases):
    login(client, people.mediator)
    assert export(client, "csv").status_code == 403
    login(client, people.branch_officer)  # officers export their subtree too
    assert export(client, "csv").status_code == 200
    login(client, people.staff)
    assert export(client, "pdf").status_code == 404


def test_formula_like_text_is_neutralised(client, people, tree, make_complaint, clock):
    unit = OrgUnit.objects.get(pk=tree.branch_a1.pk)
    OrgUnit.objects.filter(pk=unit.pk).update(name='=HYPERLINK("http://evil")')
    make_complaint()
    login(client, people.staff)
    rows = csv_rows(export(client, "csv"))
    assert rows[1][2] == '\'=HYPERLINK("http://evil")'


def test_export_query_count_does_not_grow_with_rows(client, people, make_complaint, clock):
    make_complaint()
    login(client, people.staff)

    def queries(fmt):
        with CaptureQueriesContext(connection) as ctx:
            response = export(client, fmt)
            body(response)
        return len(ctx)

    few = {fmt: queries(fmt) for fmt in ("csv", "xlsx")}
    for _ in range(15):
        make_complaint()
    assert {fmt: queries(fmt) for fmt in ("csv", "xlsx")} == few
