"""The ranking home (/ and /index/) and a full ranking (/index/<period>/<group>/): only
published runs, the period chooser and peer-group tabs, sorting, searching, 404s."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from sqi.models import IndexRun, RunStatus

pytestmark = pytest.mark.django_db

SECRETS = ("12.34", "23.45", "34.56", "未公开")


@pytest.fixture
def en(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def panel(html: str, group: str) -> str:
    match = re.search(
        rf'<div class="sqi-panel" id="sqi-panel-{group}"[^>]*>'
        r'.*?(?=<div class="sqi-panel" |</section>)',
        html,
        re.S,
    )
    assert match, group
    return match.group(0)


def ranking_names(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    return re.findall(r'<th scope="row"><a href="/insurers/[^"]+/">([^<]+)</a>', body)


# ---- the board on / and /index/ ------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/index/"])
def test_board_shows_the_latest_published_ranking_of_each_group(en, market, url):
    html = html_of(en.get(url))
    prop = panel(html, "property")
    assert "hidden" not in prop.split(">", 1)[0], "the first group with a ranking is shown"
    assert "93.21" in prop and "甲财险" in prop
    assert "85.00" not in prop, "2024 is not the latest"
    assert reverse("sqi:ranking", args=["2025", "property"]) in prop
    assert reverse("sqi:insurer_profile", args=["alpha-property"]) in prop
    life = panel(html, "life")
    assert " hidden" in life.split(">", 1)[0]
    assert "61.00" in life
    health = panel(html, "health")
    assert "No ranking of Health insurers has been published yet." in health
    assert_no_secrets(html)


def test_board_period_chooser_lists_published_periods_and_shows_that_period(en, market):
    html = html_of(en.get("/", {"period": "2024"}))
    options = re.findall(r'<option value="(\d{4}(?:H[12])?)"', html)
    assert options == ["2025", "2024"]
    assert '<option value="2024" selected>' in html
    assert "85.00" in panel(html, "property")
    assert "93.21" not in html
    assert "No ranking of Life insurers has been published for 2024." in panel(html, "life")
    assert_no_secrets(html)


def test_board_group_parameter_chooses_the_tab(en, market):
    html = html_of(en.get("/", {"group": "life"}))
    assert " hidden" not in panel(html, "life").split(">", 1)[0]
    assert " hidden" in panel(html, "property").split(">", 1)[0]
    assert (
        'id="sqi-tab-life" href="?group=life#sqi-board" data-tab="life" aria-current="true"' in html
    )
    assert 'name="group" value="life"' in html


def test_board_with_an_unknown_period_says_so_and_shows_the_latest(en, market):
    html = html_of(en.get("/", {"period": "1999", "group": "nonsense"}))
    assert "Nothing has been published for the period “1999”" in html
    assert "93.21" in panel(html, "property")


def test_board_without_any_published_run_is_a_finished_empty_state(en, db):
    html = html_of(en.get("/"))
    assert "No index has been published yet." in html
    assert 'href="/methodology/"' in html
    assert "sqi-tab" not in html
    zh = html_of(en.get("/index/", HTTP_COOKIE=f"{settings.LANGUAGE_COOKIE_NAME}=zh-hans"))
    assert "sqi-empty" in zh


def test_only_published_runs_reach_the_board_even_when_newer_runs_are_not(en, market):
    # a validated 2026 run exists: the board still shows 2025
    from tests.sqi.public.conftest import make_run

    make_run("2026", "property", market["property"], status=RunStatus.VALIDATED, top=12.34)
    html = html_of(en.get("/"))
    assert "2026" not in re.findall(r'<option value="([^"]+)"', html)
    assert "93.21" in html
    assert_no_secrets(html)


def test_home_card_for_the_index_is_now_a_link(en, market):
    html = html_of(en.get("/"))
    assert f'class="card-link" href="{reverse("sqi:index_home")}"' in html


# ---- the full ranking ------------------------------------------------------------------------


def test_full_ranking_lists_every_insurer_with_dimensions(en, market):
    html = html_of(en.get("/index/2025/property/"))
    assert ranking_names(html)[0] == "甲财险"
    assert len(ranking_names(html)) == 3
    for label in ("Convenience", "Benefit", "Recognition", "Continuous improvement"):
        assert label in html
    assert "93.21" in html and "88.12" in html
    assert 'aria-sort="ascending"' in html  # by rank
    assert html.count("aria-sort=") == 1
    assert 'href="/index/2025/property/download.csv"' in html
    assert 'href="/index/2025/property/download.json"' in html
    assert "SQI-2022" in html
    assert "f" * 63 in html, "the fingerprint is shown"
    assert_no_secrets(html)


def test_full_ranking_sorts_by_a_column_both_ways(en, market):
    names = [i.short_name for i in market["property"]]
    html = html_of(en.get("/index/2025/property/", {"sort": "total", "dir": "asc"}))
    assert ranking_names(html) == names[::-1]
    assert re.search(
        r'<th scope="col" class="num is-sorted" aria-sort="ascending">\s*'
        r'<a class="sqi-sort" href="\?sort=total&amp;dir=desc',
        html,
    )
    html = html_of(en.get("/index/2025/property/", {"sort": "dim_convenience"}))
    assert ranking_names(html) == names  # best first by default
    assert 'aria-sort="descending"' in html
    html = html_of(en.get("/index/2025/property/", {"sort": "insurer", "dir": "desc"}))
    assert ranking_names(html) == sorted(names, reverse=True)


def test_full_ranking_ignores_an_unknown_sort(en, market):
    html = html_of(en.get("/index/2025/property/", {"sort": "premium_cny", "dir": "sideways"}))
    assert ranking_names(html)[0] == "甲财险"
    assert 'aria-sort="ascending"' in html


def test_full_ranking_search_keeps_the_sort_and_says_how_many_match(en, market):
    other = market["property"][1]
    html = html_of(
        en.get("/index/2025/property/", {"q": other.short_name, "sort": "total", "dir": "asc"})
    )
    assert ranking_names(html) == [other.short_name]
    assert f"1 of 3 insurers matches “{other.short_name}”." in html
    assert f'value="{other.short_name}"' in html
    assert 'name="sort" value="total"' in html
    # sort links keep the search
    assert f"q={other.short_name}" in html or "q=%E6" in html


def test_full_ranking_search_by_english_name_is_case_insensitive(en, market):
    target = market["property"][2]
    word = target.name_en.split()[1].upper()  # "NO.5"
    html = html_of(en.get("/index/2025/property/", {"q": word}))
    assert target.short_name in ranking_names(html)


def test_full_ranking_search_without_match_is_a_finished_empty_state(en, market):
    html = html_of(en.get("/index/2025/property/", {"q": "没有这家"}))
    assert "No insurer in this ranking matches “没有这家”." in html
    assert "<tbody>" not in html


def test_full_ranking_switches_period_and_peer_group(en, market):
    html = html_of(en.get("/index/2025/property/"))
    assert 'href="/index/2024/property/"' in html
    assert 'href="/index/2025/life/"' in html
    assert 'href="/index/2025/health/"' not in html, "nothing published for health"


def test_excluded_insurers_are_listed_with_a_plain_reason(en, market):
    run = market["runs"]["2025-life"]
    run.excluded = [
        {
            "code": market["life"][0].slug,
            "reason": "open for 1 full accounting year(s) at 2025-12-31",
        },
        {"code": "gone", "reason": "missing current period input(s): premium_cny"},
    ]
    run.save()
    html = html_of(en.get("/index/2025/life/"))
    assert "2 insurers were not scored" in html
    assert "Open for less than two full accounting years" in html
    assert "A figure the index needs is missing or zero" in html


@pytest.mark.parametrize(
    "url",
    [
        "/index/2030/property/",  # no such period
        "/index/abc/property/",  # not a period
        "/index/2025/pension/",  # not a peer group
        "/index/2024/life/",  # period and group exist, nothing published
        "/index/2025/health/",  # only a failed run
        "/index/2030/property/download.csv",
        "/index/2025/health/download.json",
    ],
)
def test_unknown_or_unpublished_rankings_are_404(en, market, url):
    assert en.get(url).status_code == 404


def test_a_validated_run_is_404_even_without_a_published_one(en, market):
    from tests.sqi.public.conftest import make_run

    make_run("2025", "health", market["life"], status=RunStatus.VALIDATED, top=34.56)
    assert en.get("/index/2025/health/").status_code == 404


def test_superseding_switches_the_public_ranking(en, market):
    """Publishing a new run (the lead's service does this atomically) shows the new numbers
    and never the superseded ones."""
    old = market["runs"]["2025-property"]
    IndexRun.objects.filter(pk=old.pk).update(status=RunStatus.SUPERSEDED)
    from tests.sqi.public.conftest import make_run

    make_run("2025", "property", market["property"], top=97.5)
    html = html_of(en.get("/index/2025/property/"))
    assert "97.50" in html and "93.21" not in html
    assert "93.21" not in html_of(en.get("/"))
