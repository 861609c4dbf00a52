"""``rollup_claim_statistics``: raw claim records into the claim figures of a period, counted
by hand from the fixture in conftest.py."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sqi.models import OperatingStatistic, Period, RawClaim, Source
from sqi.rollups import CLAIM_COLUMNS, rollup_claim_statistics

from .conftest import D, claim, claim_figures

pytestmark = pytest.mark.django_db

# (reported, closed, paid, declined, days from incident to payment summed over paid claims)
EXPECTED = {
    "2024": {("A", "motor"): (1, 0, 0, 0, 0), ("B", "life"): (1, 0, 0, 0, 0)},  # A-1; B-9
    "2025": {
        ("A", "motor"): (5, 4, 3, 1, 56),  # reported 2-6; closed 1, 2, 3, 6; 16 + 10 + 30
        ("A", "home"): (1, 1, 1, 0, 20),
        ("B", "life"): (1, 2, 1, 1, 975),  # B-10 reported; B-9 paid after 975 days
    },
    "2025H1": {("A", "motor"): (4, 3, 3, 0, 56), ("B", "life"): (1, 1, 0, 1, 0)},
    "2025H2": {
        ("A", "motor"): (1, 1, 0, 1, 0),  # A-5 reported 12-31; A-3 declined 07-01
        ("A", "home"): (1, 1, 1, 0, 20),
        ("B", "life"): (0, 1, 1, 0, 975),
    },
}


def rollup_all() -> dict[str, int]:
    return {code: rollup_claim_statistics(period=code) for code in EXPECTED}


def test_days_to_payment_are_derived_on_save(claims):
    assert claims[1].days_to_payment == 16
    assert claims[9].days_to_payment == 975
    assert claims[3].days_to_payment is None  # declined
    assert claims[4].days_to_payment is None  # open


def test_claim_figures_by_period(tree, claims):
    assert rollup_all() == {"2024": 2, "2025": 3, "2025H1": 2, "2025H2": 3}
    for code, expected in EXPECTED.items():
        assert claim_figures(tree, code) == expected, code
    made = OperatingStatistic.objects.all()
    assert {s.source for s in made} == {Source.CLAIM_ROLLUP}
    assert all(s.premium_cny is None and s.policies_in_force is None for s in made)
    for stat in made:
        stat.full_clean()  # paid within closed, nothing negative


def test_running_again_changes_nothing_but_the_time(tree, claims):
    rollup_all()
    fields = ("pk", "insurer_id", "period_id", "product_line", "source", *CLAIM_COLUMNS)
    first = sorted(OperatingStatistic.objects.values_list(*fields))
    rollup_all()
    assert sorted(OperatingStatistic.objects.values_list(*fields)) == first


def test_imported_figures_of_the_same_key_stay(tree, claims, periods):
    imported = OperatingStatistic.objects.create(
        insurer=tree.insurer_a,
        period=periods["2025"],
        product_line="motor",
        premium_cny=Decimal("1234567890.00"),
        policies_in_force=400_000,
        insured_persons=410_000,
        surrenders=1200,
        surrender_amount_cny=Decimal("2400000.00"),
        claims_reported=999,  # imported totals, now replaced by the raw records' rollup
        claims_closed=900,
        claims_paid=800,
        source=Source.IMPORT,
    )
    # An insurer that reports claim totals only (no raw records) is left alone.
    totals_only = OperatingStatistic.objects.create(
        insurer=tree.insurer_c,
        period=periods["2025"],
        product_line="motor",
        premium_cny=Decimal("5e8"),
        claims_reported=10,
        claims_closed=9,
        claims_paid=8,
        claims_declined=1,
        payment_days_total=88,
        source=Source.IMPORT,
    )
    rollup_claim_statistics(period="2025")
    imported.refresh_from_db()
    assert imported.source == Source.IMPORT
    assert (imported.premium_cny, imported.policies_in_force, imported.insured_persons) == (
        Decimal("1234567890.00"),
        400_000,
        410_000,
    )
    assert (imported.surrenders, imported.surrender_amount_cny) == (1200, Decimal("2400000.00"))
    assert [getattr(imported, c) for c in CLAIM_COLUMNS] == [5, 4, 3, 1, 56]
    assert claim_figures(tree, "2025")[("C", "motor")] == (10, 9, 8, 1, 88)
    totals_only.refresh_from_db()
    assert totals_only.premium_cny == Decimal("5e8")


def test_keys_whose_raw_claims_vanished(tree, claims, periods):
    rollup_all()
    # A home's only claim is withdrawn: its row held nothing else and goes.
    RawClaim.objects.filter(pk=claims[8].pk).delete()
    # B life's row got a premium figure since; its claims all go: the premium stays.
    OperatingStatistic.objects.filter(period__code="2025", product_line="life").update(
        premium_cny=Decimal("8e8")
    )
    RawClaim.objects.filter(insurer=tree.insurer_b).delete()
    assert rollup_claim_statistics(period="2025") == 1 + 1 + 1  # A motor, A home, B life
    figures = claim_figures(tree, "2025")
    assert figures == {
        ("A", "motor"): (5, 4, 3, 1, 56),
        ("B", "life"): (None, None, None, None, None),
    }
    life = OperatingStatistic.objects.get(period__code="2025", product_line="life")
    assert life.premium_cny == Decimal("8e8")
    assert rollup_claim_statistics(period="2025") == 1  # only A motor: nothing left to reset


def test_a_claim_closing_later_moves_between_periods(tree, claims):
    rollup_all()
    RawClaim.objects.filter(pk=claims[4].pk).update(
        close_date=D(2025, 7, 3), outcome="paid", days_to_payment=32
    )
    rollup_claim_statistics(period="2025H2")
    assert claim_figures(tree, "2025H2")[("A", "motor")] == (1, 2, 1, 1, 32)
    rollup_claim_statistics(period="2025H1")
    assert claim_figures(tree, "2025H1")[("A", "motor")] == (4, 3, 3, 0, 56)


def test_an_unknown_period_is_a_clear_error(db):
    with pytest.raises(Period.DoesNotExist, match=r"no period with code '2025H3'"):
        rollup_claim_statistics(period="2025H3")


def test_constant_number_of_queries_whatever_the_number_of_claims(tree, periods):
    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            rollup_claim_statistics(period="2025")
        return [q["sql"].split()[0].upper() for q in ctx.captured_queries]

    empty = queries()
    claim(tree.insurer_a, "X-0", line="motor", incident=D(2025, 1, 2), report=D(2025, 1, 3))
    one = queries()
    start = D(2025, 1, 1)
    for n in range(60):
        day = start + dt.timedelta(days=5 * n)
        claim(
            tree.insurer_a if n % 2 else tree.insurer_b,
            f"X-{n + 1}",
            line="motor" if n % 2 else "life",
            incident=day,
            report=day + dt.timedelta(days=1),
            close=day + dt.timedelta(days=9) if n % 3 else None,
        )
    many = queries()
    assert empty == one == many
    # The period lock, the aggregate, the upsert, the aggregate dropped, then the delete and
    # the reset of the rollup's rows whose raw claims vanished.
    statements = [q for q in many if not q.startswith(("SAVEPOINT", "RELEASE"))]
    assert statements == ["SELECT", "CREATE", "INSERT", "DROP", "DELETE", "UPDATE"]
    assert claim_figures(tree, "2025")[("B", "life")][0] == 30
