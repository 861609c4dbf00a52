"""The officer dashboard's figures (issue 6): one composing selector over the complaint,
mediation and officer-activity aggregates of the lower apps.

The scope is an org unit and its whole subtree (one ``path`` prefix); the caller has already
checked that the user may see the unit (``insurers.selectors.unit_is_visible``). Filters:
a range of days of receipt, and optionally a product line, a channel and (for group-level
units) an insurer. Every figure comes with the same figure for the previous period beside it
(``DashboardFilters.previous``). The number of queries is fixed: it grows neither with the
number of complaints nor with the number of child units.

Where the numbers come from: ``complaints.dashboard`` (complaints: the definitions, the live
aggregates, and the summary tables of ``complaints.summaries`` for groups and head offices
over whole months, used when they can be trusted — the two always agree, see
``tests/sqi/dashboard_figures/test_summaries.py``), ``cases.dashboard`` (mediation) and
``insurers.activity`` (officers and reception days of the child units).

Ratios (complaints per 100 M CNY premium and per 10 k policies in force) come from the
index's operating statistics, and only where the scope is a whole insurer — a head office,
or a group (the sum over its insurers, or the one chosen with the insurer filter). Below
insurer level there is no premium to divide by, and the ratios are None with
``ratio_basis = "not_available"`` rather than an invented share. The statistics used:

1. the period (``sqi.models.Period``) that is exactly the range — a calendar year, or a
   half-year — when every insurer of the scope has statistics for it: used as they are,
   like the index does;
2. otherwise the annual period of the range's year (the range must lie within one calendar
   year): premium and policies are taken *pro rata* to the days covered (days in the range /
   days in the year), so a month's or a quarter's figure is on the same footing as the
   year's (an annual rate);
3. otherwise (a range across two years, an insurer without statistics): not available.

"Every insurer has statistics" means it has at least one row for the period (on the selected
product line, if one is chosen) with the premium (or the policies) filled in; the premium
and policies are summed over the product lines (or taken for the selected one). The
numerator is the accepted complaints received in the range within the scope and filters.
"""

import calendar
import datetime
from dataclasses import dataclass, replace
from decimal import Decimal

from django.urls import reverse
from django.utils.http import urlencode

from cases.dashboard import mediation_dashboard_figures
from complaints import dashboard as complaint_aggregates
from complaints.summaries import summaries_trusted
from insurers.activity import officer_activity_by_child
from insurers.models import Level, OrgUnit

from .models import OperatingStatistic

PREMIUM_UNIT = Decimal(100_000_000)  # 亿元
POLICY_UNIT = 10_000  # 万张


def _month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: datetime.date, months: int) -> datetime.date:
    """The first of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


# The calendar periods a range can be, by their length in months: the months a period of
# that length starts in.
CALENDAR_PERIODS = {1: range(1, 13), 3: (1, 4, 7, 10), 6: (1, 7), 12: (1,)}


@dataclass(frozen=True)
class DashboardFilters:
    """What the dashboard shows: complaints received ``start..end`` (inclusive, Asia/Shanghai
    days), optionally only one product line, channel or insurer (the insurer filter only
    means something for group-level units)."""

    start: datetime.date
    end: datetime.date
    product_line: str | None = None
    channel: str | None = None
    insurer_id: int | None = None

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("the range ends before it starts")

    def calendar_months(self) -> int | None:
        """The length in months when the range is a calendar month, quarter, half-year or
        year; None for any other (custom) range."""
        start, end = self.start, self.end
        if start.day != 1 or end != _month_end(end):
            return None
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if start.month in CALENDAR_PERIODS.get(months, ()):
            return months
        return None

    def previous(self) -> "DashboardFilters":
        """The period just before, of the same kind: the month, quarter, half-year or year
        before; for a custom range, as many days ending the day before ``start``."""
        months = self.calendar_months()
        if months is not None:
            start = _add_months(self.start, -months)
            end = self.start - datetime.timedelta(days=1)
        else:
            length = (self.end - self.start).days
            end = self.start - datetime.timedelta(days=1)
            start = end - datetime.timedelta(days=length)
        return replace(self, start=start, end=end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def aggregate_kwargs(self) -> dict:
        return {
            "product_line": self.product_line or None,
            "channel": self.channel or None,
            "insurer_id": self.insurer_id or None,
        }


# ---- ratios ---------------------------------------------------------------------------------


def whole_insurer_ids(*, unit: OrgUnit, insurer_id: int | None = None) -> list[int] | None:
    """The insurers the scope covers entirely, or None when it is below insurer level.

    A head office covers its insurer; a group covers the insurers of the head offices under
    it (or just ``insurer_id``, when that is one of them). One query at group level.
    """
    if unit.level == Level.HEAD_OFFICE:
        if insurer_id and insurer_id != unit.insurer_id:
            return []
        return [unit.insurer_id]
    if unit.level == Level.GROUP:
        ids = set(
            OrgUnit.objects.filter(path__startswith=unit.path, level=Level.HEAD_OFFICE).values_list(
                "insurer_id", flat=True
            )
        )
        if insurer_id:
            return [insurer_id] if insurer_id in ids else []
        return sorted(ids)
    return None


def _candidate_periods(start: datetime.date, end: datetime.date) -> list[tuple[str, Decimal]]:
    """(period code, share of the period the range covers), in order of preference."""
    if start.year != end.year:
        return []
    year = start.year
    days = Decimal((end - start).days + 1)
    year_days = Decimal(366 if calendar.isleap(year) else 365)
    exact = {
        (datetime.date(year, 1, 1), datetime.date(year, 12, 31)): f"{year}",
        (datetime.date(year, 1, 1), datetime.date(year, 6, 30)): f"{year}H1",
        (datetime.date(year, 7, 1), datetime.date(year, 12, 31)): f"{year}H2",
    }
    candidates = []
    if (start, end) in exact:
        candidates.append((exact[start, end], Decimal(1)))
    if exact.get((start, end)) != f"{year}":
        candidates.append((f"{year}", days / year_days))
    return candidates


def operating_bases(
    *,
    insurer_ids: list[int],
    ranges: list[tuple[datetime.date, datetime.date]],
    product_line: str | None = None,
) -> list[dict | None]:
    """For each range, {"period": code, "premium": Decimal | None, "policies": Decimal |
    None} — the premium and policies in force its complaints are measured against (pro rata,
    see the module docstring) — or None when no period's statistics cover every insurer. One
    query for all the ranges."""
    candidates = [_candidate_periods(start, end) for start, end in ranges]
    codes = {code for options in candidates for code, _fraction in options}
    if not insurer_ids or not codes:
        return [None] * len(ranges)
    rows = OperatingStatistic.objects.filter(insurer_id__in=insurer_ids, period__code__in=codes)
    if product_line:
        rows = rows.filter(product_line=product_line)
    totals: dict[str, dict[str, dict[int, Decimal]]] = {}
    for code, insurer, premium, policies in rows.values_list(
        "period__code", "insurer_id", "premium_cny", "policies_in_force"
    ).order_by():
        period = totals.setdefault(code, {"premium": {}, "policies": {}})
        if premium is not None:
            period["premium"][insurer] = period["premium"].get(insurer, 0) + premium
        if policies is not None:
            period["policies"][insurer] = period["policies"].get(insurer, 0) + Decimal(policies)
    wanted = set(insurer_ids)

    def basis(options):
        for code, fraction in options:
            period = totals.get(code)
            if period is None:
                continue
            covered = {
                key: sum(values.values()) * fraction if set(values) >= wanted else None
                for key, values in period.items()
            }
            if covered["premium"] is None and covered["policies"] is None:
                continue
            return {"period": code, **covered}
        return None

    return [basis(options) for options in candidates]


def ratio_bases(*, unit: OrgUnit, periods: list[DashboardFilters]) -> list[dict | None]:
    """The ratio basis of each of ``periods`` (same unit and filters, other ranges): None
    below insurer level or without statistics. At most two queries for all of them."""
    insurer_ids = whole_insurer_ids(unit=unit, insurer_id=periods[0].insurer_id)
    if insurer_ids is None:
        return [None] * len(periods)
    return operating_bases(
        insurer_ids=insurer_ids,
        ranges=[(f.start, f.end) for f in periods],
        product_line=periods[0].product_line,
    )


def ratio_figures(*, accepted: int, basis: dict | None) -> dict:
    if basis is None:
        return {"per_100m_premium": None, "per_10k_policies": None, "ratio_basis": "not_available"}
    premium, policies = basis["premium"], basis["policies"]
    return {
        "per_100m_premium": float(accepted / (premium / PREMIUM_UNIT)) if premium else None,
        "per_10k_policies": float(accepted / (policies / POLICY_UNIT)) if policies else None,
        "ratio_basis": "insurer",
    }


# ---- links -------------------------------------------------------------------------------------


def workbench_links(*, unit: OrgUnit, filters: DashboardFilters) -> dict[str, str]:
    """The complaint list (``complaints:list``) filtered like the open / due soon / overdue
    counts: the unit's subtree (``within``), the product line, channel and insurer, and the
    deadline state. The list has no "any open state" filter; the open link shows the scope
    ordered as the list orders it, with every state."""
    params = {
        "within": unit.pk,
        "product_line": filters.product_line or "",
        "channel": filters.channel or "",
        "insurer": filters.insurer_id or "",
    }
    base = {k: v for k, v in params.items() if v not in ("", None)}
    url = reverse("complaints:list")

    def link(**extra):
        return f"{url}?{urlencode({**base, **extra})}"

    return {
        "open": link(),
        "due_soon": link(deadline_state="at_risk"),
        "overdue": link(overdue="on"),
    }


# ---- the figures ---------------------------------------------------------------------------------


def _scope(unit: OrgUnit, filters: DashboardFilters, use_summaries: bool):
    return complaint_aggregates.scope_for(
        unit=unit,
        product_line=filters.product_line,
        channel=filters.channel,
        insurer_id=filters.insurer_id,
        use_summaries=use_summaries,
    )


def _figures(
    *,
    unit: OrgUnit,
    filters: DashboardFilters,
    today: datetime.date,
    now: dict | None = None,
    use_summaries: bool | None = None,
    basis: dict | bool | None = False,
) -> dict:
    """``basis``: the ratio basis when the caller has it (``ratio_bases``), else False."""
    if use_summaries is None:
        use_summaries = summaries_trusted()
    scope = _scope(unit, filters, use_summaries)
    raw = complaint_aggregates.complaint_figures(scope=scope, start=filters.start, end=filters.end)
    shaped = complaint_aggregates.shape_figures(raw)
    if now is None:
        now = complaint_aggregates.open_figures(scope=scope, today=today)
    if basis is False:
        basis = ratio_bases(unit=unit, periods=[filters])[0]
    ratios = ratio_figures(accepted=shaped["accepted"], basis=basis)
    mediation = mediation_dashboard_figures(
        path=unit.path, start=filters.start, end=filters.end, **filters.aggregate_kwargs()
    )
    return {
        "received": shaped["received"],
        "accepted": shaped["accepted"],
        **ratios,
        "decided": shaped["decided"],
        "on_time_rate": shaped["on_time_rate"],
        "decided_within": shaped["decided_within"],
        "days_to_decision": shaped["days_to_decision"],
        "reviews": shaped["reviews"],
        "upheld_share": shaped["upheld_share"],
        "satisfaction": shaped["satisfaction"],
        "open": now["open"],
        "due_soon": now["due_soon"],
        "overdue": now["overdue"],
        "links": workbench_links(unit=unit, filters=filters),
        "top_categories": shaped["top_categories"],
        "mediation": mediation,
        "elder": shaped["elder"],
    }


def dashboard_figures(*, unit: OrgUnit, filters: DashboardFilters, today: datetime.date) -> dict:
    """Every figure of the scope (``unit`` and its subtree) for the filters; see the contract
    in the module docstring and ``complaints.dashboard`` for the definitions."""
    return _figures(unit=unit, filters=filters, today=today)


def children(
    *,
    unit: OrgUnit,
    filters: DashboardFilters,
    today: datetime.date,
    use_summaries: bool | None = None,
) -> list[dict]:
    """One row per direct child unit (by name): its subtree's received, accepted, on-time
    rate, open and overdue complaints, its officer (None for a vacant post) and the reception
    days held in its subtree within the range. At most seven queries, however many
    children."""
    if use_summaries is None:
        use_summaries = summaries_trusted()
    activity = officer_activity_by_child(
        unit=unit, start=filters.start, end=filters.end, insurer_id=filters.insurer_id
    )
    if not activity:
        return []
    figures = complaint_aggregates.figures_by_child(
        scope=_scope(unit, filters, use_summaries=False),
        children=[row["unit"] for row in activity],
        start=filters.start,
        end=filters.end,
        today=today,
        use_summaries=use_summaries,
    )
    rows = []
    for row in activity:
        child = row["unit"]
        f = figures.get(child.pk, {})
        decided = f.get("decided", 0)
        rows.append(
            {
                "unit": child,
                "received": f.get("received", 0),
                "accepted": f.get("accepted", 0),
                "on_time_rate": f.get("on_time", 0) / decided if decided else None,
                "open": f.get("open", 0),
                "overdue": f.get("overdue", 0),
                "officer": row["officer"],
                "reception_days": row["reception_days"],
                "consumers_met": row["consumers_met"],
                "follow_ups_open": row["follow_ups_open"],
            }
        )
    return rows


def months_of(start: datetime.date, end: datetime.date) -> list[str]:
    months, day = [], start.replace(day=1)
    while day <= end:
        months.append(f"{day.year:04d}-{day.month:02d}")
        day = _add_months(day, 1)
    return months


def trend(
    *,
    unit: OrgUnit,
    filters: DashboardFilters,
    today: datetime.date,
    use_summaries: bool | None = None,
) -> list[dict]:
    """One row per calendar month overlapping the range, in order: {"month": "2026-01",
    "received", "decided", "overdue"}, each counted on the days of that month inside the
    range (see ``complaints.dashboard.trend_by_month``)."""
    if use_summaries is None:
        use_summaries = summaries_trusted()
    by_month = complaint_aggregates.trend_by_month(
        scope=_scope(unit, filters, use_summaries),
        start=filters.start,
        end=filters.end,
        today=today,
    )
    empty = {"received": 0, "decided": 0, "overdue": 0}
    return [{"month": m, **by_month.get(m, empty)} for m in months_of(filters.start, filters.end)]


def dashboard(
    *,
    unit: OrgUnit,
    filters: DashboardFilters,
    today: datetime.date,
    use_summaries: bool | None = None,
) -> dict:
    """Everything the dashboard page shows: the figures for the filters and for the previous
    period, the child units' rows and the monthly trend. The open / due soon / overdue counts
    are as of ``today`` and so the same in both periods (counted once).

    ``use_summaries``: None (the default) reads the summary tables when they can be trusted
    (``complaints.summaries.summaries_trusted``), False reads everything live — the
    definition the summaries are tested against."""
    if use_summaries is None:
        use_summaries = summaries_trusted()
    options = {"today": today, "use_summaries": use_summaries}
    before = filters.previous()
    bases = ratio_bases(unit=unit, periods=[filters, before])
    current = _figures(unit=unit, filters=filters, basis=bases[0], **options)
    now = {key: current[key] for key in ("open", "due_soon", "overdue")}
    previous = _figures(unit=unit, filters=before, now=now, basis=bases[1], **options)
    return {
        "current": current,
        "previous": previous,
        "children": children(unit=unit, filters=filters, **options),
        "trend": trend(unit=unit, filters=filters, **options),
        "unit": unit,
        "filters": filters,
    }
