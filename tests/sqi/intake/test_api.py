"""/api/v1/sqi/statistics/ and the file-import endpoints: index administrators only, thin,
field-named 400s from the same model rules as the admin and the import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sqi.models import OperatingStatistic, RawClaim, Source, StatisticsImport
from tests.factories import InsurerFactory

from .conftest import api_for, claims_csv, stats_csv

pytestmark = pytest.mark.django_db

LIST = "/api/v1/sqi/statistics/"
STATS_IMPORT = "/api/v1/sqi/statistics/import/"
CLAIMS_IMPORT = "/api/v1/sqi/claims/import/"


def detail(statistic) -> str:
    return f"{LIST}{statistic.pk}/"


@pytest.fixture
def payload(tree, periods):
    return {
        "insurer": tree.insurer_a.slug,
        "period": "2025",
        "product_line": "motor",
        "claims_reported": 1200,
        "claims_closed": 1000,
        "claims_paid": 900,
        "claims_declined": 80,
        "payment_days_total": 5400,
        "premium_cny": "125000000.00",
        "policies_in_force": 300000,
        "insured_persons": 320000,
        "surrenders": 12,
        "surrender_amount_cny": "56000.50",
    }


@pytest.fixture
def statistic(tree, periods):
    return OperatingStatistic.objects.create(
        insurer=tree.insurer_b,
        period=periods["2024"],
        product_line="life",
        claims_closed=10,
        claims_paid=5,
        premium_cny=1000,
        source=Source.DEMO,
    )


# ---- who may use it -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (None, False),
        ("plain_staff", False),
        ("staff", False),
        ("officer", False),
        ("index_admin", True),
        ("superuser", True),
    ],
)
def test_permission_matrix(people, statistic, payload, who, allowed):
    client = api_for(getattr(people, who) if who else None)
    denied = {401, 403}
    responses = {
        "list": client.get(LIST),
        "retrieve": client.get(detail(statistic)),
        "create": client.post(LIST, payload, format="json"),
        "update": client.patch(detail(statistic), {"claims_paid": 6}, format="json"),
        "import": client.post(
            STATS_IMPORT, {"file": SimpleUploadedFile("s.csv", b"x")}, format="multipart"
        ),
        "claims import": client.post(
            CLAIMS_IMPORT, {"file": SimpleUploadedFile("c.csv", b"x")}, format="multipart"
        ),
        "delete": client.delete(detail(statistic)),
    }
    codes = {name: r.status_code for name, r in responses.items()}
    if allowed:
        assert codes == {
            "list": 200,
            "retrieve": 200,
            "create": 201,
            "update": 200,
            "import": 400,  # b"x" is no statistics file
            "claims import": 400,
            "delete": 204,
        }
    else:
        assert all(code in denied for code in codes.values()), codes
        assert OperatingStatistic.objects.get().claims_paid == 5
        assert OperatingStatistic.objects.count() == 1


# ---- reading ------------------------------------------------------------------------------


def test_list_filters_and_shape(people, tree, periods, statistic):
    OperatingStatistic.objects.create(
        insurer=tree.insurer_a, period=periods["2025"], product_line="motor", source="demo"
    )
    client = api_for(people.index_admin)
    body = client.get(LIST).json()
    assert body["count"] == 2 and [r["period"] for r in body["results"]] == ["2025", "2024"]
    only = client.get(LIST, {"period": "2024", "insurer": tree.insurer_b.slug}).json()
    assert [r["id"] for r in only["results"]] == [statistic.pk]
    row = only["results"][0]
    assert (row["insurer"], row["insurer_name"], row["product_line"]) == (
        tree.insurer_b.slug,
        tree.insurer_b.short_name,
        "life",
    )
    assert row["premium_cny"] == "1000.00" and row["source"] == "demo"
    assert client.get(LIST, {"product_line": "motor"}).json()["count"] == 1
    assert client.get(LIST, {"product_line": "boats"}).status_code == 400


def test_list_query_count_does_not_grow_with_rows(people, periods):
    def grow(n):
        for insurer in InsurerFactory.create_batch(n):
            OperatingStatistic.objects.create(
                insurer=insurer, period=periods["2025"], product_line="motor", source="demo"
            )

    def queries():
        client = api_for(people.index_admin)  # a fresh user object, as each request has
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LIST).status_code == 200
        return len(ctx.captured_queries)

    grow(2)
    small = queries()
    grow(20)
    assert queries() == small
    assert small <= 3  # the user's roles, the count, the page


# ---- writing ------------------------------------------------------------------------------


def test_create_by_slug_and_code_records_source_and_history(people, tree, payload):
    response = api_for(people.index_admin).post(LIST, payload, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["insurer"], body["period"], body["claims_paid"]) == (
        tree.insurer_a.slug,
        "2025",
        900,
    )
    statistic = OperatingStatistic.objects.get(pk=body["id"])
    assert statistic.source == Source.API and statistic.source_import is None
    assert statistic.history.get().history_user == people.index_admin


def test_update_replaces_the_import_as_source(people, statistic, tree):
    record = StatisticsImport.objects.create(
        kind="statistics", by=people.index_admin, file_name="x.csv", sha256="0" * 64, rows=1
    )
    OperatingStatistic.objects.filter(pk=statistic.pk).update(source="import", source_import=record)
    response = api_for(people.index_admin).patch(
        detail(statistic), {"claims_paid": 7}, format="json"
    )

    assert response.status_code == 200, response.json()
    statistic.refresh_from_db()
    assert (statistic.claims_paid, statistic.source, statistic.source_import) == (7, "api", None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"claims_reported": -1}, "claims_reported"),
        ({"claims_paid": 1001}, "claims_paid"),
        ({"premium_cny": "0"}, "premium_cny"),
        ({"premium_cny": "-5"}, "premium_cny"),
        ({"insurer": "no-such-insurer"}, "insurer"),
        ({"period": "2031"}, "period"),
        ({"product_line": "boats"}, "product_line"),
        ({"surrender_amount_cny": "-1"}, "surrender_amount_cny"),
    ],
)
def test_bad_input_is_400_naming_the_field(people, payload, change, field):
    response = api_for(people.index_admin).post(LIST, {**payload, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not OperatingStatistic.objects.exists()


def test_a_second_row_for_the_same_key_is_400(people, payload):
    client = api_for(people.index_admin)
    assert client.post(LIST, payload, format="json").status_code == 201
    response = client.post(LIST, payload, format="json")

    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["product_line"], body  # named beside the key's field
    assert "已有统计数据" in body["product_line"][0] or "already" in body["product_line"][0]
    assert OperatingStatistic.objects.count() == 1


def test_a_bad_partial_update_is_checked_against_the_stored_figures(people, statistic):
    response = api_for(people.index_admin).patch(
        detail(statistic), {"claims_paid": 11}, format="json"
    )

    assert response.status_code == 400 and "claims_paid" in response.json()
    statistic.refresh_from_db()
    assert statistic.claims_paid == 5


# ---- file imports -------------------------------------------------------------------------


def test_statistics_import_returns_the_result(people, stat_row):
    upload = SimpleUploadedFile("s.csv", stats_csv([stat_row(), stat_row(product_line="寿险")]))
    response = api_for(people.index_admin).post(STATS_IMPORT, {"file": upload}, format="multipart")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["ok"], body["rows"], body["created"], body["updated"]) == (True, 2, 2, 0)
    assert body["import_id"] == StatisticsImport.objects.get().pk and body["errors"] == []


def test_a_rejected_import_is_400_with_every_error(people, stat_row):
    rows = [stat_row(claims_reported="-1"), stat_row(product_line="寿险", period="2031")]
    upload = SimpleUploadedFile("s.csv", stats_csv(rows))
    response = api_for(people.index_admin).post(STATS_IMPORT, {"file": upload}, format="multipart")

    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and body["import_id"] is None
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, "报案件数"), (3, "统计期间")]
    assert not OperatingStatistic.objects.exists()


def test_an_import_without_a_file_is_400_naming_the_field(people):
    response = api_for(people.index_admin).post(STATS_IMPORT, {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_claims_import_returns_the_result(people, claim_row):
    upload = SimpleUploadedFile("c.csv", claims_csv([claim_row(), claim_row()]))
    response = api_for(people.index_admin).post(CLAIMS_IMPORT, {"file": upload}, format="multipart")

    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2 and RawClaim.objects.count() == 2


def test_claims_import_errors_name_row_and_column(people, claim_row):
    rows = [claim_row(), claim_row(report_date="2025-01-01")]
    upload = SimpleUploadedFile("c.csv", claims_csv(rows))
    response = api_for(people.index_admin).post(CLAIMS_IMPORT, {"file": upload}, format="multipart")

    assert response.status_code == 400
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(3, "报案日期")]
    assert not RawClaim.objects.exists()


@pytest.mark.parametrize("url", [STATS_IMPORT, CLAIMS_IMPORT])
def test_the_schema_documents_both_shapes_of_an_import_400(people, url):
    # Found by the API fuzz: a request without a file answers {"file": [...]}, which the
    # schema's 400 (the import result only) did not allow.
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    documented = schema["paths"][url]["post"]["responses"]["400"]["content"]["application/json"]
    union = components[documented["schema"]["$ref"].rsplit("/", 1)[1]]["oneOf"]
    shapes = [set(components[s["$ref"].rsplit("/", 1)[1]]["required"]) for s in union]
    no_file = api_for(people.index_admin).post(url, {}, format="multipart")
    bad_file = SimpleUploadedFile("s.csv", b"insurer\n\0")
    rejected = api_for(people.index_admin).post(url, {"file": bad_file}, format="multipart")
    for response in (no_file, rejected):
        assert response.status_code == 400
        assert [shape <= set(response.json()) for shape in shapes].count(True) == 1, shapes


@pytest.mark.parametrize("field", ["insurer", "period"])
def test_a_nul_character_in_a_slug_is_400_naming_the_field(people, statistic, field):
    # Found by the API fuzz on PostgreSQL, which refuses NUL in text: the look-up was a 500.
    response = api_for(people.index_admin).patch(
        detail(statistic), {field: "2025\x00"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]
