"""The demo statistics (``sqi.demo.seed_index_demo``, loaded by ``seed_demo``).

The small demo (insurers, 5,000 complaints) and its statistics are built once for the
module, on a fixed ``today``, inside a transaction rolled back at the end; each test runs in
its own savepoint within it.
"""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Count, Sum

from complaints.demo import complaints_demo_build
from complaints.models import Complaint
from insurers.demo import demo_build
from insurers.models import Insurer
from sqi import runs
from sqi.demo import (
    CLAIM_PREFIX,
    demo_period_codes,
    index_demo_present,
    index_demo_remove,
    seed_index_demo,
)
from sqi.methodology import full_accounting_years
from sqi.models import (
    INDEX_LINES,
    ComplaintStatistic,
    OperatingStatistic,
    PeerGroup,
    Period,
    RawClaim,
    RunStatus,
    Source,
)
from sqi.rollups import NOT_ACCEPTED

# The demo periods are 2024, 2025 and their halves; the demo complaints of this day reach back
# to the start of 2024 (``complaints.demo.window_days``), so every period has complaints.
TODAY = dt.date(2026, 1, 10)
SEED = 7
CODES = ["2024", "2024H1", "2024H2", "2025", "2025H1", "2025H2"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        demo_build(size="small", seed=SEED)
        complaints_demo_build(size="small", seed=SEED, today=TODAY)
        yield seed_index_demo(seed=SEED, today=TODAY)
        transaction.set_rollback(True)


@pytest.fixture
def data(demo, db):
    return demo


def fingerprint() -> str:
    stats = OperatingStatistic.objects.order_by(
        "insurer__name_zh", "period__code", "product_line"
    ).values_list(
        "insurer__name_zh",
        "period__code",
        "product_line",
        "claims_reported",
        "claims_closed",
        "claims_paid",
        "claims_declined",
        "payment_days_total",
        "premium_cny",
        "policies_in_force",
        "insured_persons",
        "surrenders",
        "surrender_amount_cny",
        "source",
    )
    claims = RawClaim.objects.order_by("insurer__name_zh", "claim_no").values_list(
        "insurer__name_zh",
        "claim_no",
        "product_line",
        "incident_date",
        "report_date",
        "close_date",
        "outcome",
        "amount_cny",
        "days_to_payment",
    )
    counts = ComplaintStatistic.objects.order_by(
        "insurer__name_zh", "period__code", "product_line"
    ).values_list("insurer__name_zh", "period__code", "product_line", "complaints")
    return hashlib.sha256(repr([list(stats), list(claims), list(counts)]).encode()).hexdigest()


def test_summary_of_what_was_built(data):
    assert demo_period_codes(TODAY) == CODES
    assert data["created"] is True
    assert data["periods"] == CODES
    assert set(Period.objects.values_list("code", flat=True)) == set(CODES)
    assert data["statistics"] == OperatingStatistic.objects.count() > 0
    assert data["raw_claims"] == RawClaim.objects.count()
    assert 28 * 2 * 200 <= data["raw_claims"] <= 28 * 2.2 * 500  # a few hundred a year each
    assert data["complaint_statistics"] == ComplaintStatistic.objects.count()
    assert not RawClaim.objects.exclude(claim_no__startswith=CLAIM_PREFIX).exists()
    assert not OperatingStatistic.objects.exclude(source=Source.DEMO).exists()
    for code in CODES:
        assert data["complaints"][code] > 100, data["complaints"]


def test_a_second_call_leaves_everything_as_it_is(data):
    before = fingerprint()
    again = seed_index_demo(seed=SEED + 1, today=TODAY)
    assert again == {**data, "created": False}
    assert fingerprint() == before


def test_same_seed_same_figures_other_seed_other_figures(data):
    before = fingerprint()
    index_demo_remove()
    assert not index_demo_present()
    assert not RawClaim.objects.exists() and not ComplaintStatistic.objects.exists()
    assert seed_index_demo(seed=SEED, today=TODAY) == data
    assert fingerprint() == before
    index_demo_remove()
    seed_index_demo(seed=SEED + 1, today=TODAY)
    assert fingerprint() != before


def test_complaint_statistics_equal_the_accepted_demo_complaints(data):
    for code in CODES:
        period = Period.objects.get(code=code)
        accepted = (
            Complaint.objects.filter(received_on__range=(period.start, period.end))
            .exclude(status__in=NOT_ACCEPTED)
            .values_list("insurer_id", "product_line")
            .annotate(n=Count("pk"))
            .order_by()
        )
        expected = {(insurer, line): n for insurer, line, n in accepted}
        stored = {
            (s.insurer_id, s.product_line): s.complaints
            for s in ComplaintStatistic.objects.filter(period=period)
        }
        assert stored == expected, code
        assert sum(stored.values()) == data["complaints"][code]


def test_every_insurer_of_a_peer_group_has_the_inputs_of_every_period(data):
    for insurer in Insurer.objects.filter(licence_type__in=PeerGroup.values):
        lines = set(INDEX_LINES[insurer.licence_type])
        for period in Period.objects.filter(code__in=CODES):
            rows = OperatingStatistic.objects.filter(insurer=insurer, period=period)
            if insurer.established > period.end:  # not founded yet: nothing to report
                assert not rows.exists()
                continue
            index_rows = [r for r in rows if r.product_line in lines]
            assert {r.product_line for r in index_rows} == lines, (insurer, period)
            for row in index_rows:
                row.full_clean()
                assert row.premium_cny > 0 and row.policies_in_force > 0
                assert row.insured_persons >= row.policies_in_force * 0.9
                assert row.surrenders is not None and row.surrender_amount_cny is not None
            totals = rows.filter(product_line__in=lines).aggregate(
                paid=Sum("claims_paid"), closed=Sum("claims_closed"), days=Sum("payment_days_total")
            )
            if full_accounting_years(insurer.established, period.end) >= 1:
                assert totals["paid"] > 0 and totals["closed"] >= totals["paid"], (insurer, period)
                assert 2 <= totals["days"] / totals["paid"] <= 60


def test_half_years_add_up_to_the_year_and_magnitudes_are_plausible(data):
    def premium(code):
        return OperatingStatistic.objects.filter(period__code=code).aggregate(p=Sum("premium_cny"))[
            "p"
        ]

    for year in ("2024", "2025"):
        halves = premium(f"{year}H1") + premium(f"{year}H2")
        assert abs(halves - premium(year)) <= Decimal("0.01") * premium(year)
    rows = (
        OperatingStatistic.objects.filter(period__code="2025")
        .values("insurer_id")
        .annotate(p=Sum("premium_cny"))
    )
    old = Insurer.objects.filter(established__lt=dt.date(2024, 1, 1)).values_list("pk", flat=True)
    for row in rows:
        if row["insurer_id"] in set(old):
            assert Decimal("9e8") <= row["p"] <= Decimal("8e11"), row


def test_complaints_per_100m_premium_are_plausible(data):
    for group, lines in INDEX_LINES.items():
        premiums = dict(
            OperatingStatistic.objects.filter(
                period__code="2025",
                product_line__in=lines,
                insurer__licence_type=group,
                insurer__established__lt=dt.date(2024, 1, 1),
            )
            .values_list("insurer_id")
            .annotate(p=Sum("premium_cny"))
            .order_by()
        )
        complaints = dict(
            ComplaintStatistic.objects.filter(period__code="2025", product_line__in=lines)
            .values_list("insurer_id")
            .annotate(n=Sum("complaints"))
            .order_by()
        )
        ratios = [complaints.get(i, 0) / float(p / Decimal("1e8")) for i, p in premiums.items()]
        assert ratios and all(0.3 <= r <= 20 for r in ratios), (group, sorted(ratios))


@pytest.mark.parametrize("peer_group", PeerGroup.values)
def test_the_index_can_be_computed_on_the_demo(data, peer_group):
    """Only the demo's deliberately young insurer is left out (two full years needed)."""
    for code in ("2025", "2025H1"):
        run = runs.index_run_execute(period=code, peer_group=peer_group)
        assert run.status == RunStatus.VALIDATED, (code, run.error, run.excluded)
        assert len(run.excluded) == 1, run.excluded
        assert "full accounting year" in run.excluded[0]["reason"]
        assert run.results.count() == Insurer.objects.filter(licence_type=peer_group).count() - 1
