"""Downloads of a published ranking (CSV, JSON) and the public results API, which answers
the same document as the JSON download."""

import csv
import io
import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from sqi.models import RunStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRETS = ("12.34", "23.45", "34.56", "未公开")
API = "/api/v1/sqi/results/"


@pytest.fixture
def en(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def csv_rows(response) -> list[list[str]]:
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff"), "a byte-order mark, so that Excel reads UTF-8"
    return list(csv.reader(io.StringIO(body[1:])))


# ---- CSV ----------------------------------------------------------------------------------


def test_csv_is_utf8_with_bom_named_by_period_and_group(en, market):
    response = en.get("/index/2025/property/download.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="sqi-2025-property.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")


def test_csv_has_rank_insurer_total_dimensions_indicators_and_band(en, market):
    rows = csv_rows(en.get("/index/2025/property/download.csv"))
    header, first = rows[0], rows[1]
    assert header[:4] == ["Rank", "Insurer", "Legal name", "Total score"]
    assert header[4:8] == ["Convenience", "Benefit", "Recognition", "Continuous improvement"]
    assert "Average days from incident to payment: value (days)" in header
    assert "Average days from incident to payment: score" in header
    assert "Claim payment rate: value (%)" in header
    assert not any(h.startswith("Surrender rate") for h in header), "not a property indicator"
    assert header[-1] == "Band"
    assert len(header) == 4 + 4 + 2 * 6 + 1
    assert len(rows) == 1 + 3
    assert first[:4] == ["1", "甲财险", market["property"][0].name_zh, "93.21"]
    assert first[-1] == "Excellent"
    rate = first[header.index("Claim payment rate: value (%)")]
    assert rate == "90.0000", "rates are shown in per cent"
    assert rows[3][-1] == "Excellent"  # 90.21
    assert not any(secret in cell for row in rows for cell in row for secret in SECRETS)


def test_csv_headers_follow_the_language(client, market):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    header = csv_rows(client.get("/index/2025/property/download.csv"))[0]
    assert "服务便捷性" in header, "Chinese pages use the stored Chinese names"
    assert any(h.startswith("案均出险支付周期") for h in header)


def test_csv_of_the_life_group_has_the_surrender_rate_and_a_failing_band(en, market):
    rows = csv_rows(en.get("/index/2025/life/download.csv"))
    assert any(h.startswith("Surrender rate") for h in rows[0])
    assert rows[2][3] == "51.00"
    assert rows[2][-1] == "Failing"


# ---- JSON and the API --------------------------------------------------------------------------


def test_json_download_is_the_api_document(en, market):
    response = en.get("/index/2025/property/download.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="sqi-2025-property.json"'
    api = APIClient().get(API, {"period": "2025", "peer_group": "property"})
    assert api.status_code == 200
    assert response.content == api.content


def test_api_document_content(market):
    data = APIClient().get(API, {"period": "2025", "peer_group": "property"}).json()
    assert data["period"] == "2025"
    assert data["peer_group"] == "property"
    assert data["peer_group_name"] == "Property insurers"
    assert data["methodology"] == "SQI-2022"
    assert data["industry_index"] == 88.12
    assert data["count"] == 3
    assert data["published_at"].startswith("2026-03-01T10:00:00")
    assert [d["key"] for d in data["dimensions"]] == [
        "convenience",
        "benefit",
        "recognition",
        "improvement",
    ]
    keys = [i["key"] for i in data["indicators"]]
    assert "surrender_rate" not in keys and len(keys) == 6
    weights = {i["key"]: i["weight"] for i in data["indicators"]}
    assert weights["payment_cycle_days"] == 0.2
    first = data["results"][0]
    assert first["rank"] == 1
    assert first["insurer"]["slug"] == "alpha-property"
    assert first["insurer"]["short_name"] == "甲财险"
    assert first["total"] == 93.21
    assert first["band"] == "excellent"
    assert set(first["dimensions"]) == {"convenience", "benefit", "recognition", "improvement"}
    assert first["indicators"]["claim_payment_rate"] == {"value": 0.9, "score": 92.21}
    assert first["complaints"] == 100
    assert first["ratios"] == {
        "complaints_per_100m_premium": 10.0,
        "complaints_per_10k_policies": 0.5,
        "complaints_per_10k_insured": None,
        "complaint_index": 1.0,
    }
    assert "未公开" not in json.dumps(data, ensure_ascii=False)


def test_api_is_the_same_whatever_the_language_or_user(market):
    anonymous = APIClient().get(API, {"period": "2025", "peer_group": "life"})
    signed_in = APIClient()
    signed_in.force_authenticate(UserFactory())
    chinese = signed_in.get(
        API, {"period": "2025", "peer_group": "life"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert anonymous.status_code == chinese.status_code == 200
    assert anonymous.content == chinese.content


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "period"),
        ({"peer_group": "life"}, "period"),
        ({"period": "2025"}, "peer_group"),
        ({"period": "25", "peer_group": "life"}, "period"),
        ({"period": "2025H3", "peer_group": "life"}, "period"),
        ({"period": "2025", "peer_group": "pension"}, "peer_group"),
    ],
)
def test_api_bad_or_missing_parameters_are_400_naming_them(market, params, field):
    response = APIClient().get(API, params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    "params",
    [
        {"period": "2024", "peer_group": "life"},  # nothing published
        {"period": "2025", "peer_group": "health"},  # only a failed run
        {"period": "2030", "peer_group": "property"},  # no such period
    ],
)
def test_api_without_a_published_run_is_404(market, params):
    assert APIClient().get(API, params).status_code == 404


def test_api_never_answers_with_an_unpublished_run(market):
    data = APIClient().get(API, {"period": "2025", "peer_group": "property"}).json()
    run = market["runs"]["2025-property"]
    assert data["fingerprint"] == run.fingerprint
    assert [r["total"] for r in data["results"]] == [93.21, 91.71, 90.21]
    # once superseded and nothing else published: gone
    type(run).objects.filter(pk=run.pk).update(status=RunStatus.SUPERSEDED)
    assert APIClient().get(API, {"period": "2025", "peer_group": "property"}).status_code == 404


def test_api_refuses_writes(market):
    response = APIClient().post(API, {"period": "2025", "peer_group": "life"})
    assert response.status_code == 405
