"""Fictional demo statistics for ``seed_demo``: two full years of index inputs.

For the demo insurers (``insurers.demo``, marked 示例) and the two full calendar years before
``today``'s year, with their halves (e.g. 2024, 2024H1, 2024H2, 2025, 2025H1, 2025H2):

- operating statistics (``source = demo``) per insurer × period × product line: premium
  income, policies in force, insured persons, surrenders and their amount — on motor and the
  other property lines for property insurers, on life, accident and health for life and
  health insurers;
- raw claim records, a few hundred per insurer and year, each with an insurer-specific
  processing speed and decline rate, so that the payment cycle and payment rate differ;
- then both rollups for every period: the claim figures come from those raw records, the
  complaint counts from the demo complaints (``complaints.demo``) already loaded.

"Consistent with their complaints": each insurer's yearly premium is set from its accepted
complaints over the last 365 days and a drawn target of complaints per 100 M CNY premium
(about 1 to 12, the range published indices show), so the index's recognition indicators
come out plausible whatever the size of the complaint set. Flows (premium, surrenders) of a
half-year are its share of the year; stocks (policies in force, insured persons) are counted
at the period's end. An insurer founded during a period has figures only from then on.

The same ``seed`` and ``today`` always give the same figures; a second call leaves
existing demo statistics as they are.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum

from complaints.models import Complaint, ProductLine
from insurers.demo import NAME_MARK
from insurers.models import Insurer, LicenceType

from . import rollups
from .models import (
    ClaimOutcome,
    ComplaintStatistic,
    IndexRun,
    OperatingStatistic,
    Period,
    RawClaim,
    Source,
)

CLAIM_PREFIX = "DEMO-"
L = ProductLine

# Each licence's lines: (share of premium, share of claims). Shares sum to 1 per licence.
LINES: dict[str, dict[str, tuple[float, float]]] = {
    LicenceType.PROPERTY: {
        L.MOTOR: (0.58, 0.66),
        L.COMMERCIAL_PROPERTY: (0.09, 0.04),
        L.HOME: (0.03, 0.03),
        L.LIABILITY: (0.08, 0.05),
        L.AGRICULTURE: (0.06, 0.04),
        L.ACCIDENT: (0.06, 0.06),
        L.HEALTH: (0.10, 0.12),
    },
    LicenceType.LIFE: {L.LIFE: (0.70, 0.18), L.ACCIDENT: (0.08, 0.22), L.HEALTH: (0.22, 0.60)},
    LicenceType.HEALTH: {L.HEALTH: (0.82, 0.80), L.ACCIDENT: (0.12, 0.17), L.LIFE: (0.06, 0.03)},
    LicenceType.PENSION: {L.LIFE: (0.75, 0.40), L.ACCIDENT: (0.05, 0.20), L.HEALTH: (0.20, 0.40)},
}


@dataclass(frozen=True)
class LineFacts:
    """Typical magnitudes of a product line (CNY; days)."""

    premium_per_policy: float  # annual premium per policy in force
    persons_per_policy: float
    surrender_rate: tuple[float, float]  # share of policies surrendered in a year
    surrender_amount: float  # per surrender
    report_lag: float  # mean days from incident to report
    settle_days: tuple[float, float]  # range of insurer means, report to close
    decline_rate: tuple[float, float]
    claim_amount: float  # median amount paid


FACTS = {
    L.MOTOR: LineFacts(3_600, 1.0, (0.006, 0.015), 1_500, 1.0, (3, 15), (0.02, 0.06), 5_500),
    L.COMMERCIAL_PROPERTY: LineFacts(
        22_000, 1.0, (0.003, 0.01), 6_000, 4.0, (15, 45), (0.04, 0.10), 60_000
    ),
    L.HOME: LineFacts(320, 1.0, (0.003, 0.01), 120, 3.0, (5, 20), (0.03, 0.08), 4_000),
    L.LIABILITY: LineFacts(2_400, 1.2, (0.003, 0.01), 800, 6.0, (15, 50), (0.05, 0.12), 25_000),
    L.AGRICULTURE: LineFacts(480, 3.0, (0.001, 0.005), 150, 3.0, (10, 30), (0.02, 0.06), 6_000),
    L.ACCIDENT: LineFacts(160, 2.5, (0.01, 0.03), 90, 6.0, (3, 15), (0.03, 0.08), 18_000),
    L.HEALTH: LineFacts(1_400, 1.6, (0.02, 0.05), 2_800, 10.0, (3, 18), (0.04, 0.10), 7_000),
    L.LIFE: LineFacts(6_500, 1.1, (0.015, 0.045), 26_000, 20.0, (5, 30), (0.02, 0.07), 90_000),
}

PREMIUM_BOUNDS = (1e9, 8e11)  # CNY a year: a small regional insurer to a market leader
COMPLAINTS_PER_100M = (3.0, 0.55)  # median and log-spread of the drawn target
CLAIMS_PER_YEAR = (200, 500)
OPEN_SHARE = 0.01  # claims still open long after their period (disputes, litigation)


@dataclass
class DemoStatisticsResult:
    created: bool = False
    periods: list[str] = field(default_factory=list)
    statistics: int = 0
    raw_claims: int = 0
    complaint_statistics: int = 0
    complaints: dict[str, int] = field(default_factory=dict)  # accepted, per period

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def demo_insurers():
    return Insurer.objects.filter(name_zh__startswith=NAME_MARK).order_by("name_zh")


def demo_period_codes(today: datetime.date) -> list[str]:
    """The two full calendar years before ``today``'s year, and their halves."""
    years = (today.year - 2, today.year - 1)
    return [f"{y}{h}" for y in years for h in ("", "H1", "H2")]


def index_demo_present() -> bool:
    return OperatingStatistic.objects.filter(
        source=Source.DEMO, insurer__name_zh__startswith=NAME_MARK
    ).exists()


@transaction.atomic
def index_demo_remove() -> None:
    """Remove the demo insurers' statistics, raw claims, complaint statistics and the index
    runs that scored them (``seed_demo --reset`` calls this before removing the insurers,
    which these rows protect). Periods stay: they are shared."""
    insurers = demo_insurers()
    scored = IndexRun.objects.filter(results__insurer__in=insurers).values_list("pk", flat=True)
    IndexRun.objects.filter(pk__in=list(scored.distinct())).delete()  # results go with them
    OperatingStatistic.objects.filter(insurer__in=insurers).delete()
    ComplaintStatistic.objects.filter(insurer__in=insurers).delete()
    RawClaim.objects.filter(insurer__in=insurers).delete()


def summary(codes: list[str], *, created: bool) -> DemoStatisticsResult:
    insurers = demo_insurers()
    complaints = dict.fromkeys(codes, 0)
    complaints.update(
        ComplaintStatistic.objects.filter(period__code__in=codes, insurer__in=insurers)
        .values_list("period__code")
        .annotate(n=Sum("complaints"))
        .order_by()
    )
    return DemoStatisticsResult(
        created=created,
        periods=codes,
        statistics=OperatingStatistic.objects.filter(
            insurer__in=insurers, period__code__in=codes
        ).count(),
        raw_claims=RawClaim.objects.filter(
            insurer__in=insurers, claim_no__startswith=CLAIM_PREFIX
        ).count(),
        complaint_statistics=ComplaintStatistic.objects.filter(
            insurer__in=insurers, period__code__in=codes
        ).count(),
        complaints=complaints,
    )


def seed_index_demo(*, seed: int, today: datetime.date) -> dict:
    """Build the demo statistics (see the module docstring) unless they exist; returns a
    summary: ``created``, ``periods``, rows of ``statistics``, ``raw_claims`` and
    ``complaint_statistics``, and accepted ``complaints`` per period."""
    codes = demo_period_codes(today)
    if index_demo_present():
        return summary(codes, created=False).as_dict()
    with transaction.atomic():
        periods = {code: Period.objects.get_or_create(code=code)[0] for code in codes}
        _Builder(seed=seed, today=today, periods=periods).build()
        for code in codes:
            rollups.rollup_complaint_statistics(period=code)
            rollups.rollup_claim_statistics(period=code)
    return summary(codes, created=True).as_dict()


def _jittered_shares(rng: random.Random, shares: dict[str, float]) -> dict[str, float]:
    raw = {line: share * rng.uniform(0.8, 1.25) for line, share in shares.items()}
    total = sum(raw.values())
    return {line: value / total for line, value in raw.items()}


def _money(value: float) -> Decimal:
    return Decimal(round(value)).quantize(Decimal("0.01"))


class _Builder:
    def __init__(self, *, seed: int, today: datetime.date, periods: dict[str, Period]):
        self.rng = random.Random(seed)
        self.today = today
        self.periods = periods
        self.years = sorted({p.year for p in periods.values()})
        self.stats: list[OperatingStatistic] = []
        self.claims: list[RawClaim] = []

    def recent_complaints(self) -> dict[int, int]:
        """Accepted complaints per demo insurer received in the 365 days before today (always
        inside the demo complaints' window)."""
        since = self.today - datetime.timedelta(days=365)
        rows = (
            Complaint.objects.filter(
                insurer__name_zh__startswith=NAME_MARK,
                received_on__gte=since,
                received_on__lt=self.today,
            )
            .exclude(status__in=rollups.NOT_ACCEPTED)
            .values_list("insurer_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        return dict(rows)

    def build(self) -> None:
        recent = self.recent_complaints()
        for insurer in demo_insurers():
            self.insurer(insurer, recent.get(insurer.pk, 0))
        OperatingStatistic.objects.bulk_create(self.stats, batch_size=500)
        for record in self.claims:
            record.derive()
        RawClaim.objects.bulk_create(self.claims, batch_size=2000)

    def open_share(self, insurer: Insurer, period: Period) -> float:
        """The share of ``period`` the insurer was open for (0 before it was founded)."""
        founded = insurer.established
        if founded is None or founded <= period.start:
            return 1.0
        if founded > period.end:
            return 0.0
        return ((period.end - founded).days + 1) / ((period.end - period.start).days + 1)

    def insurer(self, insurer: Insurer, complaints_last_year: int) -> None:
        rng = self.rng
        lines = LINES.get(insurer.licence_type, LINES[LicenceType.LIFE])
        premium_shares = _jittered_shares(rng, {k: v[0] for k, v in lines.items()})
        claim_shares = _jittered_shares(rng, {k: v[1] for k, v in lines.items()})
        # Complaints per 100 M premium this insurer is aimed at (log-normal around 3).
        target = math.exp(rng.gauss(math.log(COMPLAINTS_PER_100M[0]), COMPLAINTS_PER_100M[1]))
        target = min(max(target, 0.8), 15.0)
        latest = max(complaints_last_year, 1) * 1e8 / target
        latest = min(max(latest, PREMIUM_BOUNDS[0]), PREMIUM_BOUNDS[1])
        growth = rng.uniform(-0.04, 0.14)
        life_like = insurer.licence_type != LicenceType.PROPERTY
        first_half = rng.uniform(0.55, 0.66) if life_like else rng.uniform(0.47, 0.53)
        speed = {line: rng.uniform(*FACTS[line].settle_days) for line in lines}
        declines = {line: rng.uniform(*FACTS[line].decline_rate) for line in lines}
        surrender = {line: rng.uniform(*FACTS[line].surrender_rate) for line in lines}
        per_policy = {
            line: FACTS[line].premium_per_policy * rng.uniform(0.8, 1.2) for line in lines
        }
        for index, year in enumerate(self.years):
            premium_year = latest / (1 + growth) ** (len(self.years) - 1 - index)
            for code, share_of_year in (
                (f"{year}", 1.0),
                (f"{year}H1", first_half),
                (f"{year}H2", 1 - first_half),
            ):
                period = self.periods[code]
                open_share = self.open_share(insurer, period)
                if open_share == 0:
                    continue
                # Policies in force at the period's end: mid-year a little below year-end.
                stock = 1.0 if period.end.month == 12 else rng.uniform(0.95, 0.99)
                for line in lines:
                    facts = FACTS[line]
                    premium = premium_year * share_of_year * open_share * premium_shares[line]
                    yearly = premium_year * premium_shares[line]
                    policies = max(1, round(yearly / per_policy[line] * stock * open_share))
                    persons = round(policies * facts.persons_per_policy * rng.uniform(0.95, 1.05))
                    surrenders = round(policies * surrender[line] * share_of_year)
                    amount = surrenders * facts.surrender_amount * rng.uniform(0.8, 1.2)
                    self.stats.append(
                        OperatingStatistic(
                            insurer=insurer,
                            period=period,
                            product_line=line,
                            premium_cny=_money(max(premium, 1e6)),
                            policies_in_force=policies,
                            insured_persons=persons,
                            surrenders=surrenders,
                            surrender_amount_cny=_money(amount),
                            source=Source.DEMO,
                        )
                    )
        self.raw_claims(insurer, claim_shares, speed, declines)

    def raw_claims(self, insurer, shares, speed, declines) -> None:
        """A few hundred claims a year, incidents from shortly before the first year to the
        end of the last; reported, then paid or declined after an insurer-specific time."""
        rng = self.rng
        first = datetime.date(self.years[0], 1, 1) - datetime.timedelta(days=45)
        last = datetime.date(self.years[-1], 12, 31)
        founded = insurer.established or first
        start = max(first, founded)
        if start > last:
            return
        span = (last - start).days + 1
        count = round(rng.randint(*CLAIMS_PER_YEAR) * span / 365)
        lines = list(shares)
        weights = [shares[line] for line in lines]
        for number in range(1, count + 1):
            line = rng.choices(lines, weights)[0]
            facts = FACTS[line]
            incident = start + datetime.timedelta(days=rng.randrange(span))
            report = incident + datetime.timedelta(
                days=round(rng.expovariate(1 / facts.report_lag))
            )
            outcome = ClaimOutcome.DECLINED if rng.random() < declines[line] else ClaimOutcome.PAID
            days = max(1, round(rng.lognormvariate(math.log(speed[line]), 0.6)))
            close = report + datetime.timedelta(days=days)
            if rng.random() < OPEN_SHARE or close >= self.today:
                outcome, close = ClaimOutcome.OPEN, None
            amount = None
            if outcome == ClaimOutcome.PAID:
                amount = _money(facts.claim_amount * rng.lognormvariate(0, 0.8))
            self.claims.append(
                RawClaim(
                    insurer=insurer,
                    claim_no=f"{CLAIM_PREFIX}{number:06d}",
                    product_line=line,
                    incident_date=incident,
                    report_date=report,
                    close_date=close,
                    outcome=outcome,
                    amount_cny=amount,
                )
            )
