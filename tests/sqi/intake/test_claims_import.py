"""Raw claim records from CSV and XLSX files: loaded once per claim number, all or nothing."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sqi import importing
from sqi.models import RawClaim, StatisticsImport

from .conftest import CLAIM_KEYS, CLAIM_ZH, as_xlsx, claims_csv, fresh, problems

pytestmark = pytest.mark.django_db


def run(user, data: bytes, name="claims.csv"):
    return importing.claims_import(by=fresh(user), file=data, file_name=name)


def nothing_saved():
    return not RawClaim.objects.exists() and not StatisticsImport.objects.exists()


def test_a_good_csv_loads_every_claim_and_derives_the_days_to_payment(people, tree, claim_row):
    rows = [
        claim_row(claim_no="A-1"),
        claim_row(claim_no="A-2", outcome="拒赔", amount_cny="", close_date="2025/3/20"),
        claim_row(claim_no="A-3", outcome="未决", close_date="", amount_cny=""),
        claim_row(claim_no="A-1", insurer=tree.insurer_b.slug, product_line="健康险"),
    ]
    result = run(people.index_admin, claims_csv(rows))

    assert result.ok, result.errors
    assert (result.rows, result.created) == (4, 4)
    record = StatisticsImport.objects.get()
    assert (record.kind, record.rows, record.by) == ("claims", 4, people.index_admin)
    paid = RawClaim.objects.get(insurer=tree.insurer_a, claim_no="A-1")
    assert (paid.outcome, paid.days_to_payment, paid.amount_cny) == ("paid", 9, Decimal("8600.00"))
    assert paid.source_import == record
    declined = RawClaim.objects.get(claim_no="A-2")
    assert (declined.outcome, declined.close_date, declined.days_to_payment) == (
        "declined",
        dt.date(2025, 3, 20),
        None,
    )
    assert RawClaim.objects.get(claim_no="A-3").close_date is None
    assert RawClaim.objects.get(insurer=tree.insurer_b).product_line == "health"


def test_a_good_xlsx_with_real_dates_loads(people, claim_row):
    row = claim_row(
        incident_date=dt.datetime(2025, 3, 1, 8, 30),
        report_date=dt.date(2025, 3, 2),
        close_date=dt.date(2025, 3, 5),
        amount_cny=8600.5,
        outcome="paid",
    )
    data = as_xlsx([row], keys=CLAIM_KEYS, headers=CLAIM_ZH)
    result = run(people.index_admin, data, "claims.xlsx")

    assert result.ok, result.errors
    claim = RawClaim.objects.get()
    assert (claim.days_to_payment, claim.amount_cny) == (4, Decimal("8600.50"))


@pytest.mark.parametrize("who", ["staff", "officer", "plain_staff"])
def test_others_may_not_load_claims(people, claim_row, who):
    with pytest.raises(PermissionDenied):
        run(getattr(people, who), claims_csv([claim_row()]))


@pytest.mark.parametrize(
    ("overrides", "column", "words"),
    [
        ({"incident_date": "2025-02-30"}, "出险日期", "date such as"),
        ({"incident_date": ""}, "出险日期", "required"),
        ({"report_date": "2025-02-28"}, "报案日期", "before the incident"),
        ({"close_date": "2025-03-01"}, "结案日期", "closed before it was reported"),
        ({"outcome": "未决", "amount_cny": ""}, "结案日期", "open claim has no close date"),
        ({"close_date": ""}, "结案日期", "needs its close date"),
        ({"outcome": "maybe"}, "理赔结果", "not a known value"),
        ({"outcome": "拒赔"}, "赔款金额（元）", "Only a paid claim"),
        ({"amount_cny": "-1"}, "赔款金额（元）", "negative"),
        ({"claim_no": ""}, "赔案号", "required"),
        ({"claim_no": "X" * 41}, "赔案号", "40 characters"),
        ({"claim_no": "1.2E+17"}, "赔案号", "scientific notation"),
        ({"insurer": "nobody"}, "保险公司", "No insurer"),
        ({"product_line": "飞机险"}, "险种", "not a known value"),
    ],
)
def test_a_bad_cell_is_an_error_naming_row_and_column(people, claim_row, overrides, column, words):
    rows = [claim_row(), claim_row(**overrides)]
    result = run(people.index_admin, claims_csv(rows))

    assert problems(result) == {(3, column)}, result.errors
    assert words in result.errors[0].message
    assert nothing_saved()


def test_dates_in_the_future_are_refused(people, claim_row):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    rows = [claim_row(close_date=tomorrow)]
    result = run(people.index_admin, claims_csv(rows))

    assert problems(result) == {(2, "结案日期")}
    assert "future" in result.errors[0].message


def test_a_claim_number_twice_in_the_file_is_an_error_on_the_later_row(people, tree, claim_row):
    rows = [claim_row(claim_no="A-1"), claim_row(claim_no="B-1"), claim_row(claim_no="A-1")]
    result = run(people.index_admin, claims_csv(rows))

    assert problems(result) == {(4, "赔案号")}
    assert "Row 2" in result.errors[0].message
    assert nothing_saved()


def test_a_claim_number_already_loaded_is_an_error(people, tree, claim_row):
    assert run(people.index_admin, claims_csv([claim_row(claim_no="A-1")])).ok
    rows = [claim_row(claim_no="A-2"), claim_row(claim_no="A-1")]
    result = run(people.index_admin, claims_csv(rows), "second.csv")

    assert problems(result) == {(3, "赔案号")}
    assert "already loaded" in result.errors[0].message
    assert RawClaim.objects.count() == 1 and StatisticsImport.objects.count() == 1


def test_the_same_file_is_not_loaded_twice(people, claim_row):
    data = claims_csv([claim_row()])
    assert run(people.index_admin, data).ok
    again = run(people.index_admin, data)
    assert problems(again) == {(None, "")}


def test_the_number_of_queries_does_not_grow_with_the_rows(people, claim_row):
    def queries(count, name):
        data = claims_csv([claim_row() for _ in range(count)])
        with CaptureQueriesContext(connection) as ctx:
            assert run(people.index_admin, data, name).ok
        return len(ctx.captured_queries)

    small = queries(5, "a.csv")
    large = queries(600, "b.csv")
    per_batch = 60 if connection.vendor == "sqlite" else importing.BATCH_SIZE
    assert large - small <= 600 // per_batch + 1
    assert small <= 10


def test_the_templates_import_once_filled(people, claim_row):
    text = importing.template_csv("claims").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[-1] == CLAIM_KEYS
    out = io.StringIO(newline="")
    csv.writer(out).writerow([claim_row()[k] for k in CLAIM_KEYS])
    assert run(people.index_admin, (text + out.getvalue()).encode()).ok

    book = openpyxl.load_workbook(io.BytesIO(importing.template_xlsx("claims")))
    book.worksheets[0].append([claim_row()[k] for k in CLAIM_KEYS])
    data = io.BytesIO()
    book.save(data)
    result = run(people.index_admin, data.getvalue(), "claims.xlsx")
    assert result.ok, result.errors
    assert RawClaim.objects.count() == 2
