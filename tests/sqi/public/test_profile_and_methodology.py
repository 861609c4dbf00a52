"""Insurer profiles (/insurers/<slug>/) and the methodology page (/methodology/)."""

import json
import re

import pytest
from django.conf import settings

from cases.models import ShowcaseCase, ShowcaseStatus
from sqi.models import Methodology, RunStatus
from tests.factories import InsurerFactory
from tests.sqi.public.conftest import make_run

pytestmark = pytest.mark.django_db

SECRETS = ("12.34", "23.45", "34.56", "未公开")


@pytest.fixture
def en(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def json_block(html: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert match, element_id
    return json.loads(match.group(1))


def showcase(title: str, insurer, status=ShowcaseStatus.AWARDED) -> ShowcaseCase:
    case = ShowcaseCase.objects.create(
        slug=f"case-{ShowcaseCase.objects.count() + 1}", title=title, year=2025, summary="概述"
    )
    case.insurers.add(insurer)
    ShowcaseCase.objects.filter(pk=case.pk).update(status=status)
    return case


# ---- profile --------------------------------------------------------------------------------


def test_profile_shows_score_rank_history_and_charts_data(en, market):
    html = html_of(en.get("/insurers/alpha-property/"))
    insurer = market["property"][0]
    assert f"<h1>{insurer.name_zh}</h1>" in html
    assert "93.21" in html and "85.00" in html
    assert "1 of 3" in html
    history = json_block(html, "sqi-history-data")
    assert history["periods"] == ["2024", "2025"]
    assert history["totals"] == [85.0, 93.21]
    assert history["ranks"] == [1, 1]
    assert history["ranked"] == [3, 3]
    assert history["industry"] == [88.12, 88.12]
    radar = json_block(html, "sqi-radar-data")
    assert [i["name"] for i in radar["indicators"]] == [
        "Convenience",
        "Benefit",
        "Recognition",
        "Continuous improvement",
    ]
    # the fixture gives dimensions (alphabetically) total − 1.5, − 0.5, + 0.5, + 1.5
    assert radar["insurer"] == [92.71, 91.71, 94.71, 93.71]
    assert radar["median"] == [91.21, 90.21, 93.21, 92.21]  # the second of three
    assert 'src="/static/vendor/echarts/echarts.min.js"' in html
    assert 'src="/static/sqi/profile.js"' in html
    assert 'role="img" aria-label=' in html
    assert_no_secrets(html)


def test_profile_indicator_table_has_peer_medians_units_and_direction(en, market):
    html = html_of(en.get("/insurers/alpha-property/"))
    table = re.search(r'<table class="sqi-table sqi-table--indicators">.*?</table>', html, re.S)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", table.group(0), re.S)
    assert len(rows) == 6
    days = next(r for r in rows if r.startswith("Average days from incident to payment"))
    cells = re.findall(r'<td class="num">(.*?)</td>', days, re.S)
    text = [re.sub(r"<[^>]+>", "", c).split() for c in cells]
    assert text[0] == ["10.00", "days"]  # its value
    assert text[1] == ["92.21"]  # its score
    assert text[2] == ["11.00", "days"]  # the peers' median value
    assert text[3] == ["91.71"]  # the peers' median score (92.21, 91.71, 91.21)
    assert text[4] == ["20", "%"]  # weight
    assert "Lower is better" in days
    rate = next(r for r in rows if r.startswith("Claim payment rate"))
    assert "90.00" in rate and "Higher is better" in rate


def test_profile_complaint_ratios_per_period(en, market):
    html = html_of(en.get("/insurers/alpha-property/"))
    section = re.search(r'id="ratios-title".*?</section>', html, re.S).group(0)
    assert "Complaints per 100 M CNY premium" in section
    assert "Complaints per 10,000 insured persons" in section
    assert "Complaint index (1.00 = average)" in section
    assert section.count("10.00") == 2  # both periods
    assert "1.00" in section
    assert "—" in section, "a missing ratio is a dash, never 0"


def test_profile_lists_awarded_cases_only(en, market):
    insurer = market["property"][0]
    showcase("大灾快速理赔", insurer)
    showcase("草稿案例不应公开", insurer, ShowcaseStatus.DRAFT)
    showcase("审核中的案例", insurer, ShowcaseStatus.IN_REVIEW)
    html = html_of(en.get("/insurers/alpha-property/"))
    assert "大灾快速理赔" in html
    assert "草稿案例不应公开" not in html
    assert "审核中的案例" not in html


def test_profile_without_published_results_is_a_finished_empty_state(en, market):
    secret = market["secret"][0]  # only in the validated run
    html = html_of(en.get(f"/insurers/{secret.slug}/"))
    assert "No published index result for this insurer yet." in html
    assert "No awarded showcase case of this insurer yet." in html
    assert "sqi-history-data" not in html
    assert "echarts" not in html
    assert "12.34" not in html and "10.84" not in html


def test_profile_of_a_health_insurer_with_only_a_failed_run(en, market):
    insurer = market["runs"]["failed-health"].results.get().insurer
    html = html_of(en.get(f"/insurers/{insurer.slug}/"))
    assert "No published index result" in html
    assert "34.56" not in html


def test_profile_of_an_unknown_insurer_is_404(en, market):
    assert en.get("/insurers/no-such-insurer/").status_code == 404


def test_profile_shows_no_personal_data(en, market):
    html = html_of(en.get("/insurers/alpha-property/"))
    insurer = market["property"][0]
    assert insurer.credit_code not in html


# ---- methodology ---------------------------------------------------------------------------


def weights_row(html: str, label: str) -> list[str]:
    row = re.search(rf'<th scope="row">{re.escape(label)}.*?</tr>', html, re.S).group(0)
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r'<td class="num">(.*?)</td>', row, re.S)
    ]


def test_methodology_page_is_generated_from_the_stored_methodology(en, db):
    html = html_of(en.get("/methodology/"))
    assert "SQI-2022" in html
    assert weights_row(html, "Average days from incident to payment") == ["20 %", "15 %", "15 %"]
    assert weights_row(html, "Surrender rate") == ["not used", "15 %", "15 %"]
    assert weights_row(html, "Year-on-year improvement of the payment cycle") == [
        "15 %",
        "12.5 %",
        "12.5 %",
    ]
    assert "score = F + (100 − F) × t, with F = 50" in html
    assert "50 + (100 − 50) × 0.5 = 75" in html
    assert "1, 2, 2, 4" in html
    assert "weighted by their premium income" in html
    assert "a total of 90 or more" in html and "a total below 60" in html
    assert "two full accounting years" in html
    assert "Pension insurers and specialised agricultural insurers" in html
    assert "fingerprint" in html
    assert "Motor" in html
    assert "Entropy weights</h3>" not in html
    assert "Not used for Property insurers: Surrender rate." in html
    assert "Shown in per cent: Claim payment rate, Surrender rate," in html


def test_methodology_lists_dimensions_in_a_fixed_order_whatever_the_stored_order(en, db):
    """PostgreSQL's jsonb does not keep key order; the page must not depend on it."""
    old = Methodology.objects.get(is_default=True)
    shuffled = new_version(
        "SQI-shuffled",
        dimensions=dict(reversed(list(old.dimensions.items()))),
        indicators=dict(reversed(list(old.indicators.items()))),
    )
    Methodology.objects.filter(pk=old.pk).update(is_default=False)
    Methodology.objects.filter(pk=shuffled.pk).update(is_default=True)
    html = html_of(en.get("/methodology/"))
    groups = re.findall(r'<th scope="rowgroup" colspan="3">([^<]+)</th>', html)
    assert groups == ["Convenience", "Benefit", "Recognition", "Continuous improvement"]
    rows = re.findall(r'<th scope="row">([^<]+?)(?: <span|</th>)', html)
    assert rows[0] == "Average days from incident to payment"


def test_methodology_page_in_chinese_uses_the_stored_names(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = html_of(client.get("/methodology/"))
    for name in ("服务便捷性", "服务持续改善性", "案均出险支付周期", "退保率"):
        assert name in html


def new_version(version: str, **changes) -> Methodology:
    base = Methodology.objects.get(is_default=True)
    base.pk, base.id, base.version, base.is_default = None, None, version, False
    for key, value in changes.items():
        setattr(base, key, value)
    base.save()
    return base


def test_a_new_default_version_shows_its_weights(en, db):
    old = Methodology.objects.get(is_default=True)
    weights = json.loads(json.dumps(old.weights))
    weights["property"]["payment_cycle_days"] = 0.25
    weights["property"]["claim_payment_rate"] = 0.15
    new = new_version("SQI-2026", weights=weights, scoring_floor=60)
    Methodology.objects.filter(pk=old.pk).update(is_default=False)
    Methodology.objects.filter(pk=new.pk).update(is_default=True)
    html = html_of(en.get("/methodology/"))
    assert "SQI-2026" in html
    assert weights_row(html, "Average days from incident to payment")[0] == "25 %"
    assert weights_row(html, "Claim payment rate")[0] == "15 %"
    assert "with F = 60" in html
    assert "Recognition" in html


def test_a_version_is_public_once_a_published_run_used_it(en, market):
    draft = new_version("SQI-draft")
    assert en.get("/methodology/", {"version": "SQI-draft"}).status_code == 404
    assert "SQI-draft" not in html_of(en.get("/methodology/"))
    make_run("2023", "property", market["property"], methodology=draft, top=70)
    html = html_of(en.get("/methodology/", {"version": "SQI-draft"}))
    assert "<dd>SQI-draft</dd>" in html
    assert 'href="/index/2023/property/"' in html
    # the default version lists its own published runs and their fingerprints
    html = html_of(en.get("/methodology/"))
    assert 'href="/index/2025/property/"' in html and 'href="/index/2023/property/"' not in html
    assert '<option value="SQI-draft">' in html


def test_methodology_with_a_validated_run_only_stays_private(en, market):
    draft = new_version("SQI-validated-only")
    make_run("2023", "life", market["life"], methodology=draft, status=RunStatus.VALIDATED)
    assert en.get("/methodology/", {"version": "SQI-validated-only"}).status_code == 404


def test_entropy_methodology_explains_the_entropy_weights(en, db):
    old = Methodology.objects.get(is_default=True)
    entropy = new_version(
        "SQI-entropy",
        weighting="entropy",
        weights={g: list(w) for g, w in old.weights.items()},
        scoring="percentile_rank",
        winsorize=[0.05, 0.95],
    )
    Methodology.objects.filter(pk=old.pk).update(is_default=False)
    Methodology.objects.filter(pk=entropy.pk).update(is_default=True)
    html = html_of(en.get("/methodology/"))
    assert "Entropy weights</h3>" in html
    assert weights_row(html, "Surrender rate") == ["not used", "computed", "computed"]
    assert "percentile rank" in html
    assert "5th and 95th percentiles" in html


def test_unknown_methodology_version_is_404(en, db):
    assert en.get("/methodology/", {"version": "SQI-1999"}).status_code == 404


def test_methodology_without_any_stored_version_is_an_empty_state(en, db):
    Methodology.objects.all().delete()
    html = html_of(en.get("/methodology/"))
    assert "No methodology has been published yet." in html


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_profile_link_from_ranking_and_insurer_without_slug_data(en, market):
    lone = InsurerFactory(name_en="Lone Star Insurance")
    html = html_of(en.get(f"/insurers/{lone.slug}/"))
    assert "Lone Star Insurance" in html
