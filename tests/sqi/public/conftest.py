"""Fixtures of the public index pages: periods, runs in every status and their results.

Runs and results are written directly (the computation has its own tests): ``make_run``
builds a run of any status with one result per insurer, totals falling from ``top`` in
steps of ``step``, dimensions and indicators shaped like the stored SQI-2022 methodology.
Numbers that must never be public (unpublished runs) are easy to search for: the
``secret_*`` fixtures use totals like 12.34 and insurer names containing 未公开.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from insurers.models import LicenceType
from sqi.models import IndexResult, IndexRun, Methodology, Period, RunStatus
from tests.factories import InsurerFactory

LICENCE_OF = {
    "property": LicenceType.PROPERTY,
    "life": LicenceType.LIFE,
    "health": LicenceType.HEALTH,
}


def period(code: str) -> Period:
    return Period.objects.get_or_create(code=code)[0]


def insurers(n: int, peer_group: str = "property", **kwargs) -> list:
    return [InsurerFactory(licence_type=LICENCE_OF[peer_group], **kwargs) for _ in range(n)]


def _result_values(meth: Methodology, peer_group: str, total: float, i: int) -> dict:
    weights = meth.weights[peer_group]
    indicators = {}
    for name in weights:
        unit = meth.indicators[name]["unit"]
        value = {"天": 10.0 + i, "%": 0.9 - i / 100}.get(unit, 1.5 + i / 10)
        indicators[name] = {"value": value, "score": round(total - 1 + (i % 3), 2)}
    dims = sorted({meth.indicators[name]["dimension"] for name in weights})
    return {
        "dimensions": {d: round(total + k - 1.5, 2) for k, d in enumerate(dims)},
        "indicators": indicators,
    }


def make_run(
    code: str,
    peer_group: str,
    members: list,
    *,
    status: str = RunStatus.PUBLISHED,
    top: float = 95.0,
    step: float = 1.5,
    methodology: Methodology | None = None,
    industry_index: str = "88.12",
    excluded: list | None = None,
) -> IndexRun:
    """A run of ``status`` for period ``code`` with one result per insurer in ``members``."""
    meth = methodology or Methodology.objects.get(is_default=True)
    run = IndexRun.objects.create(
        period=period(code),
        peer_group=peer_group,
        methodology=meth,
        status=status,
        weights=meth.weights[peer_group],
        industry_index=Decimal(industry_index),
        fingerprint=("f" * 63) + str(len(members) % 10),
        excluded=excluded or [],
        validation=[
            {"check": "coverage", "ok": True},
            {"check": "weights_sum_to_one", "ok": True},
            {"check": "scores_in_range", "ok": True},
            {"check": "ranks", "ok": True},
            {"check": "recomputation_identical", "ok": True},
        ],
        published_at=timezone.make_aware(datetime.datetime(2026, 3, 1, 10, 0))
        if status in (RunStatus.PUBLISHED, RunStatus.SUPERSEDED)
        else None,
    )
    rows = []
    for i, insurer in enumerate(members):
        total = round(top - i * step, 2)
        rows.append(
            IndexResult(
                run=run,
                insurer=insurer,
                total=Decimal(str(total)),
                rank=i + 1,
                premium_cny=Decimal(1_000_000_000 + i * 10_000_000),
                complaints=100 + i,
                ratios={
                    "complaints_per_100m_premium": 10.0 + i,
                    "complaints_per_10k_policies": 0.5 + i / 100,
                    "complaints_per_10k_insured": None,
                    "complaint_index": 1.0 + i / 50,
                },
                **_result_values(meth, peer_group, total, i),
            )
        )
    IndexResult.objects.bulk_create(rows)
    return run


@pytest.fixture
def market(db):
    """Published 2024 and 2025 property rankings (3 insurers), a published 2025 life
    ranking (2), no health ranking; plus, for 2025 property, a validated run and a
    superseded one whose numbers and extra insurers must never be public."""
    prop = insurers(3, "property")
    prop[0].short_name, prop[0].slug = "甲财险", "alpha-property"
    prop[0].save()
    life = insurers(2, "life")
    secret = insurers(1, "property", short_name="未公开财险", name_zh="未公开财产保险股份有限公司")
    runs = {
        "2024-property": make_run("2024", "property", prop, top=85.0),
        "2025-property": make_run("2025", "property", prop, top=93.21),
        "2025-life": make_run("2025", "life", life, top=61.0, step=10),
        "validated": make_run(
            "2025", "property", [*prop, *secret], status=RunStatus.VALIDATED, top=12.34
        ),
        "superseded": make_run(
            "2025", "property", prop, status=RunStatus.SUPERSEDED, top=23.45, industry_index="23.45"
        ),
        "failed-health": make_run(
            "2025", "health", insurers(1, "health"), status=RunStatus.FAILED, top=34.56
        ),
    }
    return {"property": prop, "life": life, "secret": secret, "runs": runs}
