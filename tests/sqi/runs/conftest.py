"""A life-insurer market in the database built from the worked example, so that a run over
stored statistics must reproduce the worked example's published numbers exactly."""

import copy
import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from insurers.models import Insurer, LicenceType
from sqi.models import ComplaintStatistic, OperatingStatistic, Period, Source
from tests.factories import InsurerFactory

EXAMPLE_PATH = Path(__file__).resolve().parents[3] / "sqi" / "data" / "sqi_worked_example.json"
EXAMPLE = json.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))

STAT_FIELDS = (
    "claims_closed",
    "claims_paid",
    "payment_days_total",
    "premium_cny",
    "policies_in_force",
    "surrenders",
)


def put_statistics(insurer: Insurer, period: Period, figures: dict, line: str = "life") -> None:
    """Store one insurer's figures for a period on one product line (premium as Decimal)."""
    values = {k: figures[k] for k in STAT_FIELDS if k in figures}
    if "premium_cny" in values and values["premium_cny"] is not None:
        values["premium_cny"] = Decimal(values["premium_cny"])
    OperatingStatistic.objects.create(
        insurer=insurer, period=period, product_line=line, source=Source.ADMIN, **values
    )
    if figures.get("complaints"):
        ComplaintStatistic.objects.create(
            insurer=insurer,
            period=period,
            product_line=line,
            complaints=figures["complaints"],
            elder_complaints=0,
            computed_at=timezone.now(),
        )


@pytest.fixture
def example():
    return copy.deepcopy(EXAMPLE)


@pytest.fixture
def periods(db):
    return {code: Period.objects.create(code=code) for code in ("2024", "2025")}


@pytest.fixture
def life_market(periods, example):
    """The worked example's insurers, stored as life insurers with slugs L01…"""
    insurers = {}
    for record in example["insurers"]:
        insurer = InsurerFactory(
            slug=record["code"],
            licence_type=LicenceType.LIFE,
            established=datetime.date(2005, 1, 1),
        )
        put_statistics(insurer, periods["2025"], record["current"])
        put_statistics(insurer, periods["2024"], record["previous"])
        insurers[record["code"]] = insurer
    return insurers
