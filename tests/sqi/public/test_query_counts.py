"""The public pages and the API run a fixed number of queries, however many insurers a
ranking has and however many periods an insurer's history spans."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from cases.models import ShowcaseCase, ShowcaseStatus
from tests.sqi.public.conftest import insurers, make_run

pytestmark = pytest.mark.django_db

#: Queries per page, anonymous visitor (no session).
QUERIES = {
    "home": 3,  # periods, runs of each group (with counts), their best results
    "index_home": 3,
    "ranking": 5,  # run, results, other groups of the period, periods of the group, excluded
    "csv": 2,  # run, results
    "json": 2,
    "api": 2,
    "profile": 8,  # insurer, history, peer medians, awarded cases + 4 prefetches
    "methodology": 3,  # methodology, public versions, published runs
}

PERIODS = ["2021", "2022", "2023", "2024", "2025"]


def build(n_insurers: int, n_periods: int) -> str:
    """Rankings of n insurers in property, life and health over n periods; returns the
    slug of the first property insurer, which has an awarded case."""
    groups = {g: insurers(n_insurers, g) for g in ("property", "life", "health")}
    for code in PERIODS[-n_periods:]:
        for group, members in groups.items():
            make_run(code, group, members, excluded=[{"code": "x", "reason": "missing input"}])
    first = groups["property"][0]
    case = ShowcaseCase.objects.create(slug=f"c-{first.pk}", title="案例", year=2025, summary="x")
    case.insurers.add(first)
    ShowcaseCase.objects.filter(pk=case.pk).update(status=ShowcaseStatus.AWARDED)
    return first.slug


def urls(slug: str) -> dict[str, str]:
    return {
        "home": "/?period=2025&group=life",
        "index_home": "/index/",
        "ranking": "/index/2025/property/?sort=dim_benefit&q=测试",
        "csv": "/index/2025/property/download.csv",
        "json": "/index/2025/property/download.json",
        "profile": f"/insurers/{slug}/",
        "methodology": "/methodology/",
    }


@pytest.mark.parametrize(("n_insurers", "n_periods"), [(3, 1), (30, 5)])
@pytest.mark.parametrize("page", list(QUERIES))
def test_query_count_does_not_grow(client, django_assert_num_queries, page, n_insurers, n_periods):
    slug = build(n_insurers, n_periods)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with django_assert_num_queries(QUERIES[page]):
        if page == "api":
            response = APIClient().get(
                "/api/v1/sqi/results/", {"period": "2025", "peer_group": "life"}
            )
        else:
            response = client.get(urls(slug)[page])
    assert response.status_code == 200
