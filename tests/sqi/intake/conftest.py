"""Fixtures of the intake tests: people in each role, periods, and files built from rows."""

import csv
import io

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from insurers import roles
from sqi import importing
from sqi.models import Period
from tests.factories import UserFactory, user_in

STAT_KEYS = [c.key for c in importing.STATISTIC_COLUMNS]
STAT_ZH = [c.header for c in importing.STATISTIC_COLUMNS]
CLAIM_KEYS = [c.key for c in importing.CLAIM_COLUMNS]
CLAIM_ZH = [c.header for c in importing.CLAIM_COLUMNS]


@pytest.fixture(autouse=True)
def _english():
    """Messages in English, so that a test can read them (the product defaults to zh-Hans)."""
    with translation.override("en"):
        yield


class People:
    def __init__(self, tree):
        self.index_admin = UserFactory(roles=[roles.INDEX_ADMIN])
        self.superuser = UserFactory(is_superuser=True)
        self.staff = user_in(tree.branch_a1, roles.STAFF)
        self.officer = user_in(tree.head_a, roles.OFFICER, officer=True)
        self.plain_staff = UserFactory()  # is_staff, no role


@pytest.fixture
def people(tree):
    return People(tree)


@pytest.fixture
def periods(db):
    return {code: Period.objects.create(code=code) for code in ("2024", "2025", "2025H1")}


def fresh(user):
    """The same user as a new request sees them: no cached roles or permissions."""
    return get_user_model().objects.get(pk=user.pk)


def as_csv(rows, *, keys, headers, encoding="utf-8") -> bytes:
    """A CSV file: the header, then one line per row (a dict by key, or a list of cells)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(headers)
    for r in rows:
        writer.writerow([r.get(k, "") for k in keys] if isinstance(r, dict) else r)
    return out.getvalue().encode(encoding)


def as_xlsx(rows, *, keys, headers) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for r in rows:
        sheet.append([r.get(k) for k in keys])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def stats_csv(rows, headers=None, keys=STAT_KEYS) -> bytes:
    """Chinese headers of ``keys`` unless ``headers`` are given."""
    chinese = dict(zip(STAT_KEYS, STAT_ZH, strict=True))
    return as_csv(rows, keys=keys, headers=headers or [chinese[k] for k in keys])


def claims_csv(rows, headers=None, keys=CLAIM_KEYS) -> bytes:
    chinese = dict(zip(CLAIM_KEYS, CLAIM_ZH, strict=True))
    return as_csv(rows, keys=keys, headers=headers or [chinese[k] for k in keys])


def problems(result) -> set[tuple]:
    return {(e.row, e.column) for e in result.errors}


@pytest.fixture
def stat_row(tree, periods):
    """A valid statistics row as a person types it."""

    def make(**overrides):
        data = {
            "insurer": tree.insurer_a.credit_code,
            "period": "2025",
            "product_line": "车险",
            "claims_reported": "1,200",
            "claims_closed": "1000",
            "claims_paid": "900",
            "claims_declined": "80",
            "payment_days_total": "5400",
            "premium_cny": "125,000,000.00",
            "policies_in_force": "300000",
            "insured_persons": "320000",
            "surrenders": "12",
            "surrender_amount_cny": "56000.50",
        }
        data.update(overrides)
        return data

    return make


@pytest.fixture
def claim_row(tree):
    counter = iter(range(1, 1_000_000))

    def make(**overrides):
        data = {
            "insurer": tree.insurer_a.credit_code,
            "claim_no": f"CLM2025{next(counter):06d}",
            "product_line": "车险",
            "incident_date": "2025-03-01",
            "report_date": "2025-03-02",
            "close_date": "2025-03-10",
            "outcome": "赔付",
            "amount_cny": "8600.00",
        }
        data.update(overrides)
        return data

    return make


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    client.cookies["sqi_language"] = "en"
    return client


def api_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(fresh(user))
    return client
