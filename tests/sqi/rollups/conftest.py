"""Hand-counted complaints and raw claims around the edges of 2025 and its halves.

Complaints are received through ``complaints.services.complaint_create`` (as every intake
channel receives them) at moments in Asia/Shanghai time; their later state is then set
directly, as a constructor would, except where a test walks the workflow itself.
"""

import datetime as dt
from decimal import Decimal

import pytest

from complaints import services
from complaints.models import Complaint, Status
from sqi.models import ClaimOutcome, ComplaintStatistic, OperatingStatistic, Period, RawClaim
from tests.complaints.conftest import id_number, intake, people

__all__ = ["people"]  # the complaint tests' staff and officers, for walking the workflow

TZ = dt.timezone(dt.timedelta(hours=8))
D = dt.date
ELDER = D(1950, 1, 1)  # 60 or over on every day these tests use
YOUNGER = D(1985, 7, 1)


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


def complaint(unit, when, *, line="motor", status=Status.ACCEPTED, elder=False) -> Complaint:
    """A complaint received at ``when`` by ``unit`` and since moved to ``status``."""
    created = services.complaint_create(
        by=None,
        insurer=unit.insurer,
        org_unit=unit,
        **intake(
            product_line=line,
            received_at=when,
            complainant_id_number=id_number(ELDER if elder else YOUNGER),
        ),
    )
    if status != Status.RECEIVED:
        accepted = None if status == Status.DECLINED else when + dt.timedelta(days=1)
        Complaint.objects.filter(pk=created.pk).update(status=status, accepted_at=accepted)
    created.refresh_from_db()
    return created


def claim(insurer, no, *, line, incident, report, close=None, outcome=None) -> RawClaim:
    outcome = outcome or (ClaimOutcome.OPEN if close is None else ClaimOutcome.PAID)
    record = RawClaim(
        insurer=insurer,
        claim_no=no,
        product_line=line,
        incident_date=incident,
        report_date=report,
        close_date=close,
        outcome=outcome,
        amount_cny=Decimal("1000.00") if outcome == ClaimOutcome.PAID else None,
    )
    record.save()
    return record


def letters(tree) -> dict[int, str]:
    return {tree.insurer_a.pk: "A", tree.insurer_b.pk: "B", tree.insurer_c.pk: "C"}


def complaint_counts(tree, code: str) -> dict[tuple, tuple[int, int]]:
    """{(insurer letter, line): (complaints, elder complaints)} of a period."""
    letter = letters(tree)
    return {
        (letter[s.insurer_id], s.product_line): (s.complaints, s.elder_complaints)
        for s in ComplaintStatistic.objects.filter(period__code=code)
    }


def claim_figures(tree, code: str) -> dict[tuple, tuple]:
    """{(insurer letter, line): (reported, closed, paid, declined, days)} of a period."""
    letter = letters(tree)
    return {
        (letter[s.insurer_id], s.product_line): (
            s.claims_reported,
            s.claims_closed,
            s.claims_paid,
            s.claims_declined,
            s.payment_days_total,
        )
        for s in OperatingStatistic.objects.filter(period__code=code)
    }


@pytest.fixture
def periods(db):
    return {code: Period.objects.create(code=code) for code in ("2024", "2025", "2025H1", "2025H2")}


@pytest.fixture
def complaints(tree, periods):
    """Fourteen complaints; the comment says where each one counts."""
    a, b, c = tree.branch_a1, tree.head_b, tree.head_c
    made = {
        # insurer A (property)
        1: complaint(a, at(2025, 1, 1, 0, 10), elder=True),  # 2025, H1 (UTC: 2024-12-31)
        2: complaint(a, at(2024, 12, 31, 23, 30)),  # 2024 only
        3: complaint(a, at(2025, 6, 30, 23, 50), status=Status.CLOSED),  # 2025, H1
        4: complaint(a, at(2025, 7, 1, 0, 5), status=Status.INVESTIGATING, elder=True),  # H2
        5: complaint(a, at(2025, 3, 10), status=Status.RECEIVED),  # never accepted: nowhere
        6: complaint(a, at(2025, 3, 11), status=Status.DECLINED),  # declined: nowhere
        7: complaint(a, at(2025, 12, 31, 23, 59), line="home", status=Status.ESCALATED),  # H2
        8: complaint(a, at(2026, 1, 1, 0, 0), line="home"),  # 2026: none of these periods
        9: complaint(a, at(2025, 5, 5), status=Status.EXTENDED),  # 2025, H1
        10: complaint(a, at(2025, 9, 9), status=Status.UNDER_REVIEW, elder=True),  # 2025, H2
        11: complaint(a, at(2025, 10, 10), status=Status.DECIDED),  # 2025, H2
        # insurer B (life)
        12: complaint(b, at(2025, 2, 2), line="life", elder=True),  # 2025, H1
        13: complaint(b, at(2025, 8, 8), line="health", status=Status.CLOSED),  # 2025, H2
        14: complaint(b, at(2025, 8, 9), line="life", status=Status.DECLINED),  # nowhere
        # insurer C: received only
        15: complaint(c, at(2025, 4, 4), status=Status.RECEIVED),  # nowhere
    }
    return made


@pytest.fixture
def claims(tree, periods):
    """Ten raw claims; the comment says where each one counts."""
    a, b = tree.insurer_a, tree.insurer_b
    paid, declined = ClaimOutcome.PAID, ClaimOutcome.DECLINED
    return {
        # A motor
        1: claim(a, "A-1", line="motor", incident=D(2024, 12, 20), report=D(2024, 12, 28),
                 close=D(2025, 1, 5)),  # closed H1, paid, 16 days
        2: claim(a, "A-2", line="motor", incident=D(2025, 1, 1), report=D(2025, 1, 1),
                 close=D(2025, 1, 11)),  # reported and paid H1, 10 days
        3: claim(a, "A-3", line="motor", incident=D(2025, 6, 20), report=D(2025, 6, 30),
                 close=D(2025, 7, 1), outcome=declined),  # reported H1, declined H2
        4: claim(a, "A-4", line="motor", incident=D(2025, 6, 1), report=D(2025, 6, 2)),  # open
        5: claim(a, "A-5", line="motor", incident=D(2025, 12, 1), report=D(2025, 12, 31),
                 close=D(2026, 1, 2)),  # reported H2, paid in 2026
        6: claim(a, "A-6", line="motor", incident=D(2025, 3, 1), report=D(2025, 3, 2),
                 close=D(2025, 3, 31), outcome=paid),  # H1, 30 days
        7: claim(a, "A-7", line="motor", incident=D(2026, 1, 1), report=D(2026, 1, 1)),  # 2026
        # A home
        8: claim(a, "A-8", line="home", incident=D(2025, 8, 1), report=D(2025, 8, 2),
                 close=D(2025, 8, 21)),  # H2, 20 days
        # B life
        9: claim(b, "B-9", line="life", incident=D(2023, 5, 1), report=D(2024, 11, 1),
                 close=D(2025, 12, 31)),  # paid on the last day of H2, 975 days
        10: claim(b, "B-10", line="life", incident=D(2025, 2, 1), report=D(2025, 2, 3),
                  close=D(2025, 2, 4), outcome=declined),  # H1
    }  # fmt: skip
