"""The import pages for index administrators: upload, outcome, error table, templates."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse

from sqi.models import OperatingStatistic, RawClaim, StatisticsImport

from .conftest import claims_csv, client_for, stats_csv

pytestmark = pytest.mark.django_db

PAGES = ["sqi:statistics_import", "sqi:claims_import"]


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("index_admin", 200),
        ("superuser", 200),
        ("staff", 403),
        ("officer", 403),
        ("plain_staff", 403),
    ],
)
def test_who_may_open_the_pages(people, name, who, code):
    assert client_for(getattr(people, who)).get(reverse(name)).status_code == code
    template = reverse(name + "_template", args=["csv"])
    assert client_for(getattr(people, who)).get(template).status_code == code


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(name):
    response = client_for(None).get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_good_upload_imports_and_is_listed(people, stat_row):
    client = client_for(people.index_admin)
    upload = SimpleUploadedFile("q1.csv", stats_csv([stat_row(), stat_row(product_line="寿险")]))
    response = client.post(reverse("sqi:statistics_import"), {"file": upload})

    assert response.status_code == 200
    assert response.context["result"].ok
    html = response.content.decode()
    assert "2 rows imported" in html
    assert OperatingStatistic.objects.count() == 2
    assert list(response.context["imports"]) == list(StatisticsImport.objects.all())
    assert "q1.csv" in html


def test_a_bad_upload_renders_the_error_table(people, stat_row):
    client = client_for(people.index_admin)
    rows = [stat_row(claims_paid="2000"), stat_row(product_line="寿险", period="1999")]
    upload = SimpleUploadedFile("bad.csv", stats_csv(rows))
    response = client.post(reverse("sqi:statistics_import"), {"file": upload})

    html = response.content.decode()
    assert "Nothing was imported" in html
    assert 'class="import-table import-errors"' in html
    assert "赔付件数" in html and "统计期间" in html
    assert not OperatingStatistic.objects.exists()


def test_a_claims_upload(people, claim_row):
    client = client_for(people.index_admin)
    upload = SimpleUploadedFile("c.csv", claims_csv([claim_row(), claim_row()]))
    response = client.post(reverse("sqi:claims_import"), {"file": upload})

    assert response.context["result"].ok
    assert RawClaim.objects.count() == 2


def test_posting_without_a_file_shows_the_field_error(people):
    response = client_for(people.index_admin).post(reverse("sqi:claims_import"), {})
    assert response.status_code == 200 and response.context["form"].errors["file"]


@pytest.mark.parametrize("name", ["sqi:statistics_import_template", "sqi:claims_import_template"])
def test_templates_download(people, name):
    client = client_for(people.index_admin)
    csv_response = client.get(reverse(name, args=["csv"]))
    assert csv_response["Content-Type"].startswith("text/csv")
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv_response["Content-Disposition"]
    xlsx = client.get(reverse(name, args=["xlsx"]))
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(book.worksheets) == 3
    assert client.get(reverse(name, args=["pdf"])).status_code == 404


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/index/statistics/import/", "statistics_import"),
        ("/index/claims/import/", "claims_import"),
        ("/index/statistics/import/template.csv", "statistics_import_template"),
    ],
)
def test_the_intake_urls_are_not_taken_by_the_public_ranking(url, name):
    """``index/<period>/<peer_group>/`` of the public pages must not swallow these."""
    match = resolve(url)
    assert (match.namespace, match.url_name) == ("sqi", name)
