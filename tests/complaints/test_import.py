"""Complaint file import: CSV and XLSX, every row validated, all or nothing."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import importing
from complaints.models import Complaint, Event, EventKind, ImportBatch, ReferenceCounter
from insurers.models import Level
from tests.complaints.conftest import id_number
from tests.factories import unit

pytestmark = pytest.mark.django_db

ZH = [c.header for c in importing.COLUMNS]
KEYS = [c.key for c in importing.COLUMNS]


@pytest.fixture
def row(tree):
    """A valid row as a person types it: Chinese names for the fixed values."""
    counter = iter(range(1, 100_000))

    def make(**overrides):
        n = next(counter)
        data = {
            "insurer": tree.insurer_a.credit_code,
            "org_unit": tree.branch_a1.name,
            "product_line": "车险",
            "category": "理赔纠纷",
            "subcategory": "理赔时效",
            "channel": "客服热线",
            "amount_in_dispute": "12,000.50",
            "narrative": f"车辆出险后理赔迟迟没有结果（第{n}行）。",
            "complainant_name": "张三",
            "complainant_phone": f"1390000{n:04d}",
            "complainant_id_number": id_number(),
            "received_at": "2026-03-01 10:30",
        }
        data.update(overrides)
        return data

    return make


def as_csv(rows, *, headers=ZH, encoding="utf-8", bom=False) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(headers)
    for r in rows:
        writer.writerow([r.get(k, "") for k in KEYS[: len(headers)]] if isinstance(r, dict) else r)
    return (("\ufeff" if bom else "") + out.getvalue()).encode(encoding)


def as_xlsx(rows, *, headers=ZH) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for r in rows:
        sheet.append([r.get(k) for k in KEYS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(user, data: bytes, name="complaints.csv"):
    return importing.complaints_import(by=user, file=data, file_name=name)


def problems(result) -> set[tuple]:
    return {(e.row, e.column) for e in result.errors}


def fresh(user):
    """The same user as a new request sees them: no cached roles, scope or permissions."""
    return get_user_model().objects.get(pk=user.pk)


# ---- good files ----------------------------------------------------------------------------


def test_a_good_csv_imports_every_row_with_history_timeline_and_batch(clock, people, tree, row):
    rows = [row(), row(complainant_id_number=id_number(dt.date(1950, 1, 1))), row()]
    result = run(people.staff, as_csv(rows))

    assert result.ok, result.errors
    assert result.references == ["TS2026-000001", "TS2026-000002", "TS2026-000003"]
    complaints = {c.reference: c for c in Complaint.objects.all()}
    first = complaints["TS2026-000001"]
    assert first.org_unit == tree.branch_a1 and first.insurer == tree.insurer_a
    assert (first.product_line, first.category, first.subcategory, first.channel) == (
        "motor",
        "claims",
        "claim_delay",
        "hotline",
    )
    assert first.amount_in_dispute == Decimal("12000.50")
    assert timezone.localtime(first.received_at) == dt.datetime(
        2026, 3, 1, 10, 30, tzinfo=timezone.get_default_timezone()
    )
    assert first.due_date == dt.date(2026, 3, 16)
    assert first.created_by == people.staff
    assert first.id_number_masked.count("*") == 10 and first.id_number_encrypted
    assert complaints["TS2026-000002"].is_elder
    events = Event.objects.filter(kind=EventKind.RECEIVED)
    assert events.count() == 3 and {e.actor_id for e in events} == {people.staff.pk}
    assert Complaint.history.filter(history_type="+", history_user=people.staff).count() == 3
    batch = ImportBatch.objects.get()
    assert (batch.outcome, batch.rows, batch.uploaded_by) == ("imported", 3, people.staff)
    assert batch.file_name == "complaints.csv" and len(batch.file_sha256) == 64
    assert ReferenceCounter.objects.get(year=2026).last == 3


@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False)]
)
def test_csv_in_utf8_with_or_without_bom_and_in_gbk(clock, people, row, encoding, bom):
    data = as_csv([row(), row()], encoding=encoding, bom=bom)
    result = run(people.staff, data)
    assert result.ok, result.errors
    assert Complaint.objects.filter(narrative__startswith="车辆出险后").count() == 2


def test_english_keys_codes_and_english_labels_are_accepted(clock, people, row):
    rows = [
        row(product_line="motor", category="claims", subcategory="claim_denied", channel="online"),
        row(product_line="Health", category="Sales dispute", subcategory="", channel="MEDIA"),
        row(product_line="健康险", category="销售纠纷", subcategory="销售误导", channel="12378"),
    ]
    result = run(people.staff, as_csv(rows, headers=KEYS))
    assert result.ok, result.errors
    got = list(
        Complaint.objects.order_by("reference").values_list(
            "product_line", "category", "subcategory", "channel"
        )
    )
    assert got == [
        ("motor", "claims", "claim_denied", "online"),
        ("health", "sales", "", "media"),
        ("health", "sales", "mis_selling", "regulator"),
    ]


def test_optional_columns_may_be_left_out_and_headers_carry_notes(clock, people, row):
    headers = ["*保险公司", "机构名称", "险种", "投诉类别", "渠道", "投诉内容（原文）"]
    headers += ["投诉人姓名", "投诉人电话", "登记时间"]
    keys = ["insurer", "org_unit", "product_line", "category", "channel", "narrative"]
    keys += ["complainant_name", "complainant_phone", "received_at"]
    r = row(received_at="2026年2月27日")
    result = run(people.staff, as_csv([[r[k] for k in keys]], headers=headers))
    assert result.ok, result.errors
    complaint = Complaint.objects.get()
    assert complaint.amount_in_dispute is None and complaint.id_number_masked == ""
    assert complaint.received_on == dt.date(2026, 2, 27)


def test_a_good_xlsx_imports_including_number_and_date_cells(clock, people, row):
    rows = [
        row(complainant_phone=13900001111, received_at=dt.datetime(2026, 2, 28, 16, 5)),
        row(amount_in_dispute=800.5, received_at=dt.date(2026, 3, 1)),
    ]
    result = run(people.staff, as_xlsx(rows), name="complaints.xlsx")
    assert result.ok, result.errors
    first, second = Complaint.objects.order_by("reference")
    assert first.complainant_phone == "13900001111"
    assert timezone.localtime(first.received_at).strftime("%Y-%m-%d %H:%M") == "2026-02-28 16:05"
    assert second.amount_in_dispute == Decimal("800.50")
    assert second.received_on == dt.date(2026, 3, 1)


def test_an_xlsx_id_number_stored_as_a_number_is_refused_with_advice(clock, people, row):
    result = run(people.staff, as_xlsx([row(complainant_id_number=310101198005170011)]))
    assert problems(result) == {(2, "身份证号")}
    assert "text" in result.errors[0].message or "文本" in result.errors[0].message


def test_references_follow_the_year_of_receipt(clock, people, row):
    result = run(people.staff, as_csv([row(received_at="2025-12-31 23:00"), row(), row()]))
    assert result.references == ["TS2025-000001", "TS2026-000001", "TS2026-000002"]


def test_blank_rows_are_skipped_but_rows_keep_their_spreadsheet_numbers(clock, people, row):
    good = row()
    lines = [[good[k] for k in KEYS], [""] * len(KEYS), [row()[k] for k in KEYS]]
    lines[2][KEYS.index("category")] = "不存在"
    result = run(people.staff, as_csv(lines))
    assert problems(result) == {(4, "投诉类别")}


# ---- bad files: nothing saved, every error listed --------------------------------------------


def test_three_bad_rows_among_good_ones_import_nothing_and_list_every_error(
    clock, people, tree, row
):
    rows = [
        row(),
        row(category="投诉"),  # row 3
        row(),
        row(complainant_phone="12345", narrative=""),  # row 5, two errors
        row(),
        row(org_unit=tree.branch_a2.name),  # row 7, outside the scope of branch A1 staff
        row(),
    ]
    result = run(people.staff, as_csv(rows))

    assert not result.ok and result.references == []
    assert problems(result) == {
        (3, "投诉类别"),
        (5, "投诉内容"),
        (5, "投诉人电话"),
        (7, "机构名称"),
    }
    assert result.error_rows == 3
    assert [e.row for e in result.errors] == sorted(e.row for e in result.errors)
    assert Complaint.objects.count() == 0 and Event.objects.count() == 0
    assert not ReferenceCounter.objects.exists()
    batch = ImportBatch.objects.get()
    assert batch.outcome == "rejected" and batch.rows == 7
    assert {(e["row"], e["column"]) for e in batch.errors} == problems(result)
    assert "投诉" in next(e.message for e in result.errors if e.row == 3)


@pytest.mark.parametrize(
    ("overrides", "column", "says"),
    [
        ({"category": "咨询"}, "投诉类别", "咨询"),
        ({"complainant_id_number": "310101198005170011"}, "身份证号", "check digit"),
        ({"narrative": "长" * 5001}, "投诉内容", "5000"),
        ({"received_at": "2026-03-03"}, "登记时间", "future"),
        ({"received_at": "2026-03-02 09:30"}, "登记时间", "future"),
        ({"received_at": "昨天"}, "登记时间", "2026-03-01"),
        ({"received_at": "1999-12-31"}, "登记时间", "2000"),
        ({"amount_in_dispute": "一万"}, "争议金额", "12000.00"),
        ({"amount_in_dispute": "-5"}, "争议金额", "0"),
        ({"insurer": "不存在保险"}, "保险公司", "不存在保险"),
        ({"org_unit": "火星分公司"}, "机构名称", "火星分公司"),
        ({"subcategory": "拒赔", "category": "退保纠纷"}, "投诉子类", "category"),
        ({"channel": "飞鸽传书"}, "渠道", "飞鸽传书"),
        ({"complainant_name": ""}, "投诉人姓名", "required"),
        ({"complainant_id_number": "1.10101E+17"}, "身份证号", "scientific"),
    ],
)
def test_each_bad_value_is_named_by_row_and_column(clock, people, row, overrides, column, says):
    with override_language("en"):
        result = run(people.staff, as_csv([row(), row(**overrides)]))
    assert problems(result) == {(3, column)}, result.errors
    assert says in result.errors[0].message
    assert Complaint.objects.count() == 0


def test_a_unit_outside_the_users_scope_is_refused(clock, people, tree, row):
    for unit_, insurer in ((tree.branch_a2, tree.insurer_a), (tree.branch_c1, tree.insurer_c)):
        data = as_csv([row(org_unit=unit_.name, insurer=insurer.credit_code)])
        with override_language("en"):
            result = run(people.staff, data)
        assert problems(result) == {(2, "机构名称")}
        assert "outside your part of the organisation" in result.errors[0].message
    assert Complaint.objects.count() == 0


def test_head_office_staff_may_import_for_units_below_them(clock, people, tree, row):
    rows = [row(org_unit=tree.branch_a2.name), row(org_unit=tree.sub_a1a.name)]
    result = run(people.head_staff, as_csv(rows))
    assert result.ok, result.errors
    assert set(Complaint.objects.values_list("org_unit", flat=True)) == {
        tree.branch_a2.pk,
        tree.sub_a1a.pk,
    }


def test_insurer_by_short_name_and_a_shared_unit_name_by_parent(clock, people, tree, row):
    twin = unit(
        Level.SUB_BRANCH, name="浦东中心支公司", insurer=tree.insurer_a, parent=tree.branch_a2
    )
    unit(Level.SUB_BRANCH, name="浦东中心支公司", insurer=tree.insurer_a, parent=tree.branch_a1)
    ambiguous = run(people.head_staff, as_csv([row(org_unit="浦东中心支公司")]))
    assert problems(ambiguous) == {(2, "机构名称")}
    rows = [
        row(insurer=tree.insurer_a.short_name, org_unit=f"{tree.branch_a2.name}/浦东中心支公司")
    ]
    result = run(people.head_staff, as_csv(rows))
    assert result.ok, result.errors
    assert Complaint.objects.get().org_unit == twin


def test_a_unit_name_with_a_slash_is_matched_whole(clock, people, tree, row):
    slashed = unit(
        Level.SUB_BRANCH, name="信函/来访中心", insurer=tree.insurer_a, parent=tree.branch_a1
    )
    result = run(people.staff, as_csv([row(org_unit="信函/来访中心")]))
    assert result.ok, result.errors
    assert Complaint.objects.get().org_unit == slashed


def test_a_file_in_neither_utf8_nor_gbk_is_refused_naming_the_file(clock, people, row):
    data = as_csv([row()], encoding="utf-16")
    with override_language("en"):
        result = run(people.staff, data, name="legacy-export.csv")
    assert [(e.row, e.column) for e in result.errors] == [(None, "")]
    assert "legacy-export.csv" in result.errors[0].message
    assert "encoding" in result.errors[0].message
    assert ImportBatch.objects.get().outcome == "rejected"


def test_latin1_bytes_are_not_mistaken_for_gbk(clock, people):
    data = ",".join(ZH).encode("gbk") + b"\r\ncaf\xe9,\xff\xfe\r\n"
    result = run(people.staff, data, name="x.csv")
    assert [(e.row, e.column) for e in result.errors] == [(None, "")]


def test_a_row_with_the_wrong_number_of_cells_is_reported(clock, people, row):
    good = [row()[k] for k in KEYS]
    data = as_csv([good, good[:-2], [*good, "extra"], [*good, ""]])
    # the last row's extra cell is empty: tolerated; it is still a duplicate-free valid row
    result = run(people.staff, data)
    assert problems(result) == {(3, ""), (4, "")}
    assert "12" in result.errors[0].message and "10" in result.errors[0].message


def test_a_malformed_quote_is_reported_with_its_row(clock, people, row):
    good = ",".join(row()[k] for k in KEYS)
    text = ",".join(ZH) + "\r\n" + good + '\r\n"abc"def,' + good.split(",", 1)[1] + "\r\n"
    result = run(people.staff, text.encode())
    assert (3, "") in problems(result)
    assert Complaint.objects.count() == 0


def test_a_missing_required_header_and_unknown_headers_are_reported_on_row_1(clock, people, row):
    headers = [h for h in ZH if h != "投诉内容"] + ["备注"]
    lines = [[row()[k] for k in KEYS if k != "narrative"] + ["x"]]
    result = run(people.staff, as_csv(lines, headers=headers))
    assert problems(result) == {(1, "投诉内容"), (1, "备注")}
    assert Complaint.objects.count() == 0


def test_empty_files_and_header_only_files_are_refused(clock, people):
    assert run(people.staff, b"").errors[0].row is None
    assert run(people.staff, as_csv([])).errors[0].row is None
    assert ImportBatch.objects.filter(outcome="rejected").count() == 2


def test_a_file_over_the_size_limit_is_refused_before_reading(clock, people, row, monkeypatch):
    monkeypatch.setattr(importing, "MAX_BYTES", 1024)
    upload = SimpleUploadedFile("big.csv", as_csv([row() for _ in range(30)]))
    with override_language("en"):
        result = importing.complaints_import(by=people.staff, file=upload, file_name=upload.name)
    assert result.errors[0].row is None and "limit" in result.errors[0].message
    assert Complaint.objects.count() == 0


def test_a_file_over_the_row_limit_is_refused(clock, people, row, monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 5)
    result = run(people.staff, as_csv([row() for _ in range(6)]))
    assert result.errors[0].row is None and "5" in result.errors[0].message
    assert Complaint.objects.count() == 0


def test_the_same_file_cannot_be_imported_twice(clock, people, row):
    data = as_csv([row()])
    assert run(people.staff, data).ok
    again = run(people.staff, data)
    assert not again.ok and again.errors[0].row is None
    assert Complaint.objects.count() == 1


def test_an_old_xls_and_a_broken_xlsx_are_refused(clock, people):
    assert run(people.staff, b"\xd0\xcf\x11\xe0" + b"\0" * 600, "old.xls").errors[0].row is None
    assert run(people.staff, b"PK\x03\x04broken", "broken.xlsx").errors[0].row is None


def test_only_users_who_may_log_complaints_can_import(clock, people, row):
    for user in (people.branch_officer, people.mediator, people.index_admin):
        with pytest.raises(PermissionDenied):
            run(user, as_csv([row()]))
    assert not ImportBatch.objects.exists()


def test_a_rejected_batch_stores_a_bounded_error_list(clock, people, row, monkeypatch):
    monkeypatch.setattr(importing, "STORED_ERRORS_MAX", 2)
    result = run(people.staff, as_csv([row(category="?"), row(channel="?"), row(narrative="")]))
    assert len(result.errors) == 3
    stored = ImportBatch.objects.get().errors
    assert [e["row"] for e in stored] == [2, 3, None]


def test_query_free_validation_still_checks_rows_the_import_did_not_load(clock, people, tree):
    from complaints import services
    from tests.complaints.conftest import intake

    def build(unit_id):
        fields = intake(insurer=tree.insurer_a, org_unit=tree.branch_a1)
        complaint = services.complaint_build(by=people.staff, **fields)
        complaint.org_unit_id = unit_id
        complaint.full_clean(exclude=["reference", "status"])

    trusted = {("insurer", tree.insurer_a.pk), ("created_by", people.staff.pk)}
    with importing._trusting(trusted):
        build(tree.branch_a1.pk)  # exists: checked with a query, passes
        with pytest.raises(ValidationError) as exc:
            build(999_999)
    assert "org_unit" in exc.value.message_dict
    with CaptureQueriesContext(connection) as outside:
        build(tree.branch_a1.pk)
    assert any("insurers_insurer" in q["sql"] for q in outside.captured_queries)


# ---- templates --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_templates_download_and_import_as_they_stand(clock, client, people, fmt, language):
    client.force_login(people.staff)
    client.cookies["sqi_language"] = language
    response = client.get(reverse("complaints:import_template", args=[fmt]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    result = run(fresh(people.staff), response.content, name=f"template.{fmt}")
    assert result.ok, result.errors
    complaint = Complaint.objects.get()
    assert complaint.org_unit_id == people.staff.unit_memberships.get().org_unit_id
    assert (complaint.category, complaint.channel) == ("claims", "hotline")


def test_the_csv_template_starts_with_a_bom_and_the_chinese_header(clock, client, people):
    client.force_login(people.staff)
    content = client.get(reverse("complaints:import_template", args=["csv"])).content
    assert content.startswith("\ufeff保险公司,机构名称".encode())


def test_an_unknown_template_format_is_404(client, people):
    client.force_login(people.staff)
    assert client.get(reverse("complaints:import_template", args=["pdf"])).status_code == 404


# ---- the page ---------------------------------------------------------------------------------


def test_the_page_documents_the_layout_for_staff(client, people):
    client.force_login(people.staff)
    response = client.get(reverse("complaints:import"))
    assert response.status_code == 200
    html = response.content.decode()
    for header in ZH:
        assert header in html
    assert "claim_delay" in html and "理赔时效" in html
    assert reverse("complaints:import_template", args=["xlsx"]) in html
    assert 'enctype="multipart/form-data"' in html and "csrfmiddlewaretoken" in html


def test_the_page_is_refused_to_other_roles_and_anonymous_visitors(client, people):
    url = reverse("complaints:import")
    assert client.get(url).status_code == 302
    assert reverse("login") in client.get(url)["Location"]
    for user in (people.mediator, people.branch_officer, people.index_admin):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.get(reverse("complaints:import_template", args=["csv"])).status_code == 403


def test_uploading_a_good_file_shows_the_count_and_the_references(clock, client, people, row):
    client.force_login(people.staff)
    upload = SimpleUploadedFile("good.csv", as_csv([row(), row()]), content_type="text/csv")
    response = client.post(reverse("complaints:import"), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 200
    assert "TS2026-000001" in html and "TS2026-000002" in html
    assert re.search(r"2\s*(件投诉已导入|complaints imported)", html)
    assert Complaint.objects.count() == 2


def test_uploading_a_bad_file_shows_the_error_table_and_saves_nothing(clock, client, people, row):
    client.force_login(people.staff)
    data = as_csv([row(), row(category="咨询"), row(complainant_phone="1")])
    response = client.post(
        reverse("complaints:import"),
        {"file": SimpleUploadedFile("bad.csv", data)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    html = response.content.decode()
    assert response.status_code == 200
    table = html[html.index("import-errors") :]
    assert re.search(r"<td class=\"num\">3</td>\s*<td>投诉类别</td>", table)
    assert re.search(r"<td class=\"num\">4</td>\s*<td>投诉人电话</td>", table)
    assert Complaint.objects.count() == 0


def test_posting_without_a_file_asks_for_one_and_needs_csrf(clock, people, row):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(people.staff)
    upload = SimpleUploadedFile("good.csv", as_csv([row()]))
    assert client.post(reverse("complaints:import"), {"file": upload}).status_code == 403
    assert Complaint.objects.count() == 0
    client = Client()
    client.force_login(people.staff)
    response = client.post(reverse("complaints:import"), {})
    assert response.status_code == 200 and 'aria-invalid="true"' in response.content.decode()


def test_the_page_lists_recent_imports_in_constant_queries(clock, client, people, row):
    client.force_login(people.staff)
    url = reverse("complaints:import")
    run(people.staff, as_csv([row()]))
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(4):
        run(people.staff, as_csv([row()]))
    with CaptureQueriesContext(connection) as five:
        response = client.get(url)
    assert response.content.decode().count("outcome--imported") == 5
    assert len(five) == len(one)


# ---- cost ------------------------------------------------------------------------------------


def _split(queries) -> tuple[list[str], list[str]]:
    sqls = [q["sql"] for q in queries]
    inserts = [s for s in sqls if s.lstrip().upper().startswith("INSERT")]
    return [s for s in sqls if s not in inserts], inserts


def test_validation_and_import_cost_does_not_grow_with_rows(clock, people, row):
    assert run(fresh(people.staff), as_csv([row()])).ok  # the year's counter now exists
    counts = {}
    for n in (10, 50):
        data = as_csv([row() for _ in range(n)])
        user = fresh(people.staff)
        with CaptureQueriesContext(connection) as ctx:
            assert run(user, data).ok
        others, inserts = _split(ctx.captured_queries)
        complaint_inserts = [s for s in inserts if 'INTO "complaints_complaint"' in s]
        counts[n] = len(others)
        # bulk inserts: many rows per statement (SQLite caps a statement at 999 parameters)
        assert len(complaint_inserts) <= max(1, n // 20)
    assert counts[10] == counts[50]


def test_validating_a_rejected_file_costs_the_same_for_any_number_of_rows(clock, people, row):
    counts = {}
    for n in (10, 50):
        data = as_csv([*[row() for _ in range(n)], row(category="？")])
        user = fresh(people.staff)
        with CaptureQueriesContext(connection) as ctx:
            assert not run(user, data).ok
        counts[n] = len(ctx.captured_queries)
    assert counts[10] == counts[50]


def test_two_thousand_rows_import_in_one_go(clock, people, row):
    rows = [row(complainant_phone=f"13{n:09d}", complainant_id_number="") for n in range(2000)]
    result = run(people.staff, as_csv(rows))
    assert result.ok, result.errors[:5]
    assert Complaint.objects.count() == 2000 and Event.objects.count() == 2000
    assert Complaint.history.count() == 2000
    assert result.references[-1] == "TS2026-002000"


# ---- helpers -----------------------------------------------------------------------------------


def override_language(code):
    from django.utils import translation

    return translation.override(code)
