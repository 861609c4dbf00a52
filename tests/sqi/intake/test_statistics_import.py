"""Operating statistics from CSV and XLSX files: every row validated, all or nothing, upsert."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from complaints.models import ProductLine
from sqi import importing
from sqi.models import OperatingStatistic, Source, StatisticsImport
from tests.factories import InsurerFactory

from .conftest import STAT_KEYS, STAT_ZH, as_xlsx, fresh, problems, stats_csv

pytestmark = pytest.mark.django_db


def run(user, data: bytes, name="statistics.csv"):
    return importing.statistics_import(by=fresh(user), file=data, file_name=name)


def nothing_saved():
    return not OperatingStatistic.objects.exists() and not StatisticsImport.objects.exists()


# ---- good files ---------------------------------------------------------------------------


def test_a_good_csv_imports_every_row_and_records_the_import(people, tree, stat_row):
    rows = [
        stat_row(),
        stat_row(insurer=tree.insurer_b.name_zh, product_line="health", claims_paid=""),
        stat_row(insurer=tree.insurer_c.slug, period="2025h1", product_line="Life"),
    ]
    result = run(people.index_admin, stats_csv(rows))

    assert result.ok, result.errors
    assert (result.rows, result.created, result.updated) == (3, 3, 0)
    record = StatisticsImport.objects.get()
    assert result.record == record
    assert (record.kind, record.by, record.rows, record.file_name) == (
        "statistics",
        people.index_admin,
        3,
        "statistics.csv",
    )
    assert len(record.sha256) == 64
    first = OperatingStatistic.objects.get(insurer=tree.insurer_a)
    assert (first.period.code, first.product_line) == ("2025", ProductLine.MOTOR)
    assert (first.claims_reported, first.claims_closed, first.claims_paid) == (1200, 1000, 900)
    assert first.premium_cny == Decimal("125000000.00")
    assert first.surrender_amount_cny == Decimal("56000.50")
    assert (first.source, first.source_import) == (Source.IMPORT, record)
    second = OperatingStatistic.objects.get(insurer=tree.insurer_b)
    assert second.product_line == "health" and second.claims_paid is None
    third = OperatingStatistic.objects.get(insurer=tree.insurer_c)
    assert (third.period.code, third.product_line) == ("2025H1", "life")
    history = OperatingStatistic.history.filter(history_type="+")
    assert history.count() == 3 and {h.history_user_id for h in history} == {people.index_admin.pk}


def test_a_good_xlsx_imports_with_numbers_as_the_spreadsheet_stores_them(people, tree, stat_row):
    row = stat_row(claims_reported=1200, claims_closed=1000.0, premium_cny=125000000.5, period=2025)
    result = run(people.index_admin, as_xlsx([row], keys=STAT_KEYS, headers=STAT_ZH), "s.xlsx")

    assert result.ok, result.errors
    statistic = OperatingStatistic.objects.get()
    assert (statistic.claims_reported, statistic.claims_closed) == (1200, 1000)
    assert statistic.premium_cny == Decimal("125000000.50")


def test_english_headers_in_any_order_and_optional_columns_left_out(people, tree, periods):
    data = stats_csv(
        [["3", "2025", tree.insurer_a.credit_code, "motor"]],
        headers=["claims_paid", "period", "insurer", "product_line"],
    )
    result = run(people.index_admin, data)

    assert result.ok, result.errors
    statistic = OperatingStatistic.objects.get()
    assert statistic.claims_paid == 3 and statistic.premium_cny is None


def test_superuser_may_import(people, stat_row):
    assert run(people.superuser, stats_csv([stat_row()])).ok


@pytest.mark.parametrize("who", ["staff", "officer", "plain_staff"])
def test_others_may_not_import(people, stat_row, who):
    with pytest.raises(PermissionDenied):
        run(getattr(people, who), stats_csv([stat_row()]))
    assert nothing_saved()


# ---- upsert -------------------------------------------------------------------------------


def test_a_second_file_with_the_same_key_replaces_the_figures_it_has(people, tree, stat_row):
    assert run(people.index_admin, stats_csv([stat_row()])).ok
    original = OperatingStatistic.objects.get()

    keys = ["insurer", "period", "product_line", "claims_paid", "premium_cny"]
    corrected = stat_row(claims_paid="950", premium_cny="")
    new_line = stat_row(product_line="家财险", claims_paid="1")
    data = stats_csv([corrected, new_line], keys=keys)
    result = run(people.index_admin, data, "corrected.csv")

    assert result.ok, result.errors
    assert (result.created, result.updated) == (1, 1)
    statistic = OperatingStatistic.objects.get(pk=original.pk)
    assert statistic.claims_paid == 950  # overwritten
    assert statistic.premium_cny is None  # an empty cell clears it
    assert statistic.claims_closed == 1000  # a column left out keeps it
    assert statistic.source_import == result.record
    assert statistic.history.count() == 2
    assert statistic.history.first().history_change_reason == f"import {result.record.pk}"
    assert OperatingStatistic.objects.count() == 2


def test_a_correction_is_checked_against_the_stored_figures(people, tree, stat_row):
    assert run(people.index_admin, stats_csv([stat_row()])).ok  # closed 1000
    keys = ["insurer", "period", "product_line", "claims_paid"]
    data = stats_csv([stat_row(claims_paid="1001")], keys=keys, headers=keys)
    result = run(people.index_admin, data, "again.csv")

    assert problems(result) == {(2, "claims_paid")}
    assert OperatingStatistic.objects.get().claims_paid == 900


# ---- bad input: each error names the row and the column, and nothing is saved -------------


@pytest.mark.parametrize(
    ("overrides", "column", "words"),
    [
        ({"claims_reported": "-5"}, "报案件数", "negative"),
        ({"surrenders": "-1"}, "退保件数", "negative"),
        ({"claims_closed": "12.5"}, "结案件数", "whole number"),
        ({"policies_in_force": "many"}, "有效保单数", "whole number"),
        ({"claims_paid": "1001"}, "赔付件数", "cannot exceed closed claims"),
        ({"premium_cny": "0"}, "保费收入（元）", "more than zero"),
        ({"premium_cny": "-100"}, "保费收入（元）", "more than zero"),
        ({"premium_cny": "12.345"}, "保费收入（元）", "two decimal places"),
        ({"surrender_amount_cny": "-1"}, "退保金额（元）", "negative"),
        ({"insurer": "没有这家保险公司"}, "保险公司", "No insurer"),
        ({"insurer": ""}, "保险公司", "required"),
        ({"period": "2031"}, "统计期间", "does not exist"),
        ({"period": "twenty"}, "统计期间", "2025H1"),
        ({"product_line": "飞机险"}, "险种", "not a known value"),
    ],
)
def test_a_bad_cell_is_an_error_naming_row_and_column(people, stat_row, overrides, column, words):
    rows = [stat_row(product_line="车险"), stat_row(**{"product_line": "寿险", **overrides})]
    result = run(people.index_admin, stats_csv(rows))

    assert not result.ok
    assert problems(result) == {(3, column)}, result.errors
    assert words in result.errors[0].message
    assert nothing_saved()


def test_a_duplicate_key_in_the_file_is_an_error_on_the_later_row(people, tree, stat_row):
    rows = [stat_row(), stat_row(product_line="寿险"), stat_row(product_line="motor")]
    result = run(people.index_admin, stats_csv(rows))

    assert problems(result) == {(4, "险种")}
    assert "Row 2" in result.errors[0].message
    assert nothing_saved()


def test_every_problem_is_listed_at_once(people, stat_row):
    rows = [
        stat_row(claims_reported="-1", premium_cny="0"),
        stat_row(product_line="寿险"),
        stat_row(product_line="健康险", period="2030"),
    ]
    result = run(people.index_admin, stats_csv(rows))

    assert problems(result) == {(2, "报案件数"), (2, "保费收入（元）"), (4, "统计期间")}
    assert result.error_rows == 2
    assert [e.row for e in result.errors] == sorted(e.row for e in result.errors)
    assert nothing_saved()


def test_the_model_rejects_what_the_import_rejects(tree, periods):
    """The import's cross-field messages are the model's own (the admin and the API's)."""
    statistic = OperatingStatistic(
        insurer=tree.insurer_a,
        period=periods["2025"],
        product_line="motor",
        claims_closed=1,
        claims_paid=2,
        premium_cny=0,
        source=Source.API,
    )
    with pytest.raises(Exception) as caught:
        statistic.full_clean()
    assert {"claims_paid", "premium_cny"} <= set(caught.value.message_dict)


@pytest.mark.parametrize(
    ("data", "column"),
    [
        ("保险公司,统计期间,险种,报案件数,火星\n", "火星"),
        ("统计期间,险种,报案件数\n2025,车险,1\n", "保险公司"),
        ("保险公司,统计期间,险种\nx,2025,车险\n", ""),
    ],
)
def test_layout_problems_reject_the_file(people, periods, data, column):
    result = run(people.index_admin, data.encode())

    assert not result.ok
    assert (1, column) in problems(result)
    assert nothing_saved()


def test_an_empty_file_and_a_header_only_file_are_rejected(people, periods):
    assert problems(run(people.index_admin, b"")) == {(None, "")}
    header_only = run(people.index_admin, ",".join(STAT_ZH).encode())
    assert problems(header_only) == {(None, "")}
    assert nothing_saved()


def test_the_same_file_is_not_imported_twice(people, stat_row):
    data = stats_csv([stat_row()])
    assert run(people.index_admin, data).ok
    again = run(people.index_admin, data, "copy.csv")

    assert not again.ok and problems(again) == {(None, "")}
    assert "already imported" in again.errors[0].message
    assert StatisticsImport.objects.count() == 1


def test_gbk_csv_and_note_rows_are_read(people, stat_row):
    text = "# 说明：这一行会被跳过\n" + stats_csv([stat_row()]).decode("utf-8")
    result = run(people.index_admin, text.encode("gbk"))
    assert result.ok, result.errors
    assert OperatingStatistic.objects.get().claims_reported == 1200


# ---- no query per row ---------------------------------------------------------------------


def _many_rows(count, periods):
    insurers = InsurerFactory.create_batch(count // 9 + 1)
    lines = [value for value, _label in ProductLine.choices]
    rows = []
    for i in range(count):
        rows.append(
            {
                "insurer": insurers[i // 9].credit_code,
                "period": "2025",
                "product_line": lines[i % 9],
                "claims_closed": "10",
                "claims_paid": "5",
                "premium_cny": "1000000",
            }
        )
    return rows


def test_the_number_of_queries_does_not_grow_with_the_rows(people, periods):
    def queries(count, name):
        rows = _many_rows(count, periods)
        with CaptureQueriesContext(connection) as ctx:
            result = run(people.index_admin, stats_csv(rows), name)
        assert result.ok, result.errors[:3]
        return len(ctx.captured_queries)

    small = queries(9, "a.csv")
    large = queries(450, "b.csv")
    # Writes go in batches (SQLite takes at most 999 parameters a statement, so about 50
    # rows a batch there; PostgreSQL takes the 1,000 of BATCH_SIZE): never a query a row.
    per_batch = 50 if connection.vendor == "sqlite" else importing.BATCH_SIZE
    assert large - small <= 2 * (450 // per_batch + 1)
    assert small <= 12

    # The same keys again: all updates, still no query per row.
    rows = _many_rows(450, periods)
    for row in rows:
        row["claims_paid"] = "6"
    OperatingStatistic.objects.all().delete()
    assert run(people.index_admin, stats_csv(rows), "c.csv").ok
    for row in rows:
        row["claims_paid"] = "7"
    with CaptureQueriesContext(connection) as ctx:
        result = run(people.index_admin, stats_csv(rows), "d.csv")
    assert result.ok and result.updated == 450
    assert len(ctx.captured_queries) <= small + 2 * (450 // per_batch + 1) + 8


# ---- the templates ------------------------------------------------------------------------


def test_the_csv_template_imports_once_filled(people, tree, stat_row):
    template = importing.template_csv("statistics").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(template)))
    assert lines[0][0].startswith("# ") and lines[-1] == STAT_KEYS  # notes, then the header
    filled = template + ",".join(str(stat_row()[k]).replace(",", "") for k in STAT_KEYS) + "\n"

    result = run(people.index_admin, filled.encode("utf-8"))
    assert result.ok, result.errors
    assert OperatingStatistic.objects.count() == 1


def test_the_unfilled_template_imports_nothing(people, periods):
    result = run(people.index_admin, importing.template_csv("statistics"))
    assert not result.ok and nothing_saved()


def test_the_xlsx_template_imports_once_filled(people, tree, stat_row):
    with translation.override("zh-hans"):
        template = importing.template_xlsx("statistics")
    book = openpyxl.load_workbook(io.BytesIO(template))
    assert len(book.worksheets) == 3  # data, notes, list values
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == STAT_ZH
    with translation.override("en"):
        notes = importing.template_xlsx("statistics")
    notes_sheet = openpyxl.load_workbook(io.BytesIO(notes)).worksheets[1]
    assert "replaces" in " ".join(str(c.value) for row in notes_sheet.iter_rows() for c in row)
    sheet.append([stat_row()[k].replace(",", "") for k in STAT_KEYS])
    out = io.BytesIO()
    book.save(out)

    result = run(people.index_admin, out.getvalue(), "filled.xlsx")
    assert result.ok, result.errors
    assert OperatingStatistic.objects.get().claims_reported == 1200
