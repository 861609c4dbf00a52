"""Complaint aggregates for the officer dashboard (issue 6).

Every function takes a :class:`Scope`: an org unit and everything below it (one tree
``path`` prefix), narrowed by the optional product line, channel and insurer filters. Period
figures count the complaints *received* in a range of days (inclusive, ``received_on``, the
day of receipt in Asia/Shanghai); open, due soon and overdue are "as of ``today``" over the
whole scope, whatever the period.

Two sources give the same numbers: the live aggregate over ``Complaint`` (the definition),
and the summary tables of ``complaints.summaries`` (kept equal to it by the services), which
answer for whole calendar months of groups and head offices when they can be trusted. A range
that cuts a month reads the cut part live and adds it. Open, due soon and overdue are always
live (open complaints are few, and "now" moves).

The number of queries never depends on the number of complaints or child units: each figure
set is a fixed handful of aggregate queries, and the per-child figures group by the child in
SQL.

Definitions (``sqi.dashboard`` documents them for the page):

- *accepted*: status is anything but ``received`` and ``declined`` (as the index rollup);
- *first decision*: ``first_decided_at`` — a complaint reopened by a review (核查) and decided
  again is counted once, with its first decision;
- *on time*: the first decision's day (Asia/Shanghai) is on or before the due date in force
  then. ``due_date`` already includes extensions and pauses; after a review request the
  services move it to the review's own deadline, so for reviewed complaints the on-time flag
  the services recorded on the first decision's timeline event is used instead;
- *days to decision*: calendar days from ``received_on`` to the first decision's day;
- *missed deadline* (the trend's "overdue"): a decision deadline that passed before the
  first decision (or with none yet; declined complaints and those sent to mediation by then
  owe none), and a review's deadline that passed before the review's decision. A reviewed
  complaint's first deadline is recomputed with the deadline rule, since ``due_date`` has
  moved on.
"""

import calendar
import datetime
from collections import Counter
from dataclasses import dataclass

from django.db.models import (
    Count,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Substr, TruncDate, TruncMonth
from django.utils import timezone

from insurers.models import Level, OrgUnit

from . import summaries
from .deadlines import AT_RISK_DAYS
from .models import (
    OPEN_STATES,
    Category,
    Complaint,
    Decision,
    Event,
    EventKind,
    Pause,
    Satisfaction,
    Status,
)

NOT_ACCEPTED = (Status.RECEIVED, Status.DECLINED)
UPHELD = (Decision.UPHELD, Decision.PARTLY_UPHELD)
# The states a complaint can be decided from for the first time (not from under_review).
FIRST_DECISION_FROM = (Status.ACCEPTED, Status.INVESTIGATING, Status.EXTENDED)
WITHIN_DAYS = (15, 30, 60)
TOP_CATEGORIES = 5

Range = tuple[datetime.date, datetime.date]


# ---- scope ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """An org unit's subtree, narrowed by the filters. ``summary_unit`` is the unit whose
    summary rows answer for it (None: read live); ``empty`` when the insurer filter names an
    insurer outside the unit."""

    unit: OrgUnit
    product_line: str | None = None
    channel: str | None = None
    insurer_id: int | None = None
    summary_unit: OrgUnit | None = None
    empty: bool = False

    @property
    def path(self) -> str:
        return self.unit.path

    @property
    def filters(self) -> dict:
        return {"product_line": self.product_line, "channel": self.channel}


def scope_for(
    *,
    unit: OrgUnit,
    product_line: str | None = None,
    channel: str | None = None,
    insurer_id: int | None = None,
    use_summaries: bool = False,
) -> Scope:
    """The scope of ``unit`` with the filters. With ``use_summaries`` (the caller checked
    ``summaries.summaries_trusted()``), the unit answering from the summary tables: the unit
    itself, or — for a group filtered to one of its insurers — that insurer's head office
    (the insurer's whole part of the group). At most one query."""
    kwargs = {"product_line": product_line or None, "channel": channel or None}
    insurer_id = insurer_id or None
    if insurer_id and unit.insurer_id != insurer_id:
        if unit.level != Level.GROUP:
            return Scope(unit, **kwargs, insurer_id=insurer_id, empty=True)
        head = OrgUnit.objects.filter(
            path__startswith=unit.path, level=Level.HEAD_OFFICE, insurer_id=insurer_id
        ).first()
        if head is None:
            return Scope(unit, **kwargs, insurer_id=insurer_id, empty=True)
        summary_unit = head if use_summaries else None
        return Scope(unit, **kwargs, insurer_id=insurer_id, summary_unit=summary_unit)
    summary_unit = unit if use_summaries and unit.level in summaries.SUMMARY_LEVELS else None
    return Scope(unit, **kwargs, summary_unit=summary_unit)


def scoped(scope: Scope) -> QuerySet[Complaint]:
    """The complaints of the scope (none for an empty one)."""
    if scope.empty:
        return Complaint.objects.none()
    qs = Complaint.objects.filter(org_unit__path__startswith=scope.path)
    if scope.product_line:
        qs = qs.filter(product_line=scope.product_line)
    if scope.channel:
        qs = qs.filter(channel=scope.channel)
    if scope.insurer_id:
        qs = qs.filter(insurer_id=scope.insurer_id)
    return qs.order_by()


def in_ranges(field: str, ranges: list[Range]) -> Q:
    """``field`` within any of ``ranges`` (never empty)."""
    condition = Q()
    for start, end in ranges:
        condition |= Q(**{f"{field}__gte": start, f"{field}__lte": end})
    return condition


def received_in(qs: QuerySet[Complaint], ranges: list[Range]) -> QuerySet[Complaint]:
    return qs.filter(in_ranges("received_on", ranges))


# ---- months ---------------------------------------------------------------------------------


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: datetime.date) -> datetime.date:
    return month_end(day) + datetime.timedelta(days=1)


def months_overlapping(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


def split_months(start: datetime.date, end: datetime.date) -> tuple[list, list[Range]]:
    """``start..end`` as (the whole calendar months in it, the cut parts at either end)."""
    whole, cut = [], []
    for month in months_overlapping(start, end):
        first, last = max(start, month), min(end, month_end(month))
        if first == month and last == month_end(month):
            whole.append(month)
        else:
            cut.append((first, last))
    return whole, cut


def _month_key(value) -> str:
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return f"{value.year:04d}-{value.month:02d}"


# ---- definitions, in SQL ----------------------------------------------------------------------


def first_decided_on():
    """The first decision's day in Asia/Shanghai."""
    return TruncDate("first_decided_at", tzinfo=timezone.get_default_timezone())


def _first_decision_event():
    return Event.objects.filter(
        complaint=OuterRef("pk"),
        kind=EventKind.TRANSITION,
        to_status=Status.DECIDED,
        from_status__in=FIRST_DECISION_FROM,
    )


def on_time_q() -> Q:
    """Decided for the first time on or before the deadline then in force (see the module
    docstring for reviewed complaints). Needs ``first_day`` annotated."""
    not_reviewed = Q(review_requested_at__isnull=True, first_day__lte=F("due_date"))
    reviewed = Q(review_requested_at__isnull=False) & Q(
        Exists(_first_decision_event().filter(data__on_time=True))
    )
    return Q(first_decided_at__isnull=False) & (not_reviewed | reviewed)


def review_upheld_original_q() -> Q:
    """The review is decided and its decision is the first one's (read from the first
    decision's timeline event, since ``decision`` now holds the review's)."""
    return review_decided_q() & Q(
        Exists(
            _first_decision_event()
            .annotate(first_decision=KT("data__decision"))
            .filter(first_decision=OuterRef("decision"))
        )
    )


def review_decided_q() -> Q:
    return Q(review_requested_at__isnull=False, decided_at__gt=F("review_requested_at"))


def _with_first_day(qs: QuerySet[Complaint]) -> QuerySet[Complaint]:
    return qs.annotate(first_day=first_decided_on())


# ---- percentiles ------------------------------------------------------------------------------


def percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """The ``fraction`` percentile of the integers counted in ``histogram`` ({value: count}),
    by linear interpolation between the closest ranks (PostgreSQL's ``percentile_cont``; the
    median is ``statistics.median``). None when empty."""
    n = sum(histogram.values())
    if n == 0:
        return None
    position = fraction * (n - 1)
    lower_rank = int(position)
    weight = position - lower_rank
    ordered = sorted(histogram.items())

    def value_at(rank: int) -> int:
        seen = 0
        for value, count in ordered:
            seen += count
            if rank < seen:
                return value
        return ordered[-1][0]

    low = value_at(lower_rank)
    if weight == 0:
        return float(low)
    high = value_at(lower_rank + 1)
    return low + (high - low) * weight


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# ---- period figures -----------------------------------------------------------------------


def period_counts(qs: QuerySet[Complaint]) -> dict[str, int]:
    """The counts of complaints in ``qs`` (one query)."""
    decided = Q(first_decided_at__isnull=False)
    elder = Q(is_elder=True)
    counts = {
        "received": Count("pk"),
        "accepted": Count("pk", filter=~Q(status__in=NOT_ACCEPTED)),
        "decided": Count("pk", filter=decided),
        "on_time": Count("pk", filter=on_time_q()),
        "upheld": Count("pk", filter=decided & Q(decision__in=UPHELD)),
        "reviews_requested": Count("pk", filter=Q(review_requested_at__isnull=False)),
        "reviews_decided": Count("pk", filter=review_decided_q()),
        "reviews_upheld_original": Count("pk", filter=review_upheld_original_q()),
        "elder_received": Count("pk", filter=elder),
        "elder_decided": Count("pk", filter=elder & decided),
        "elder_on_time": Count("pk", filter=elder & on_time_q()),
    }
    for value in Satisfaction.values:
        counts[f"satisfaction_{value}"] = Count("pk", filter=Q(satisfaction=value))
    return _with_first_day(qs).aggregate(**counts)


def decision_days_histogram(qs: QuerySet[Complaint]) -> dict[int, int]:
    """{days from receipt to first decision: complaints} over the decided ones in ``qs``."""
    days = ExpressionWrapper(first_decided_on() - F("received_on"), output_field=DurationField())
    rows = (
        qs.filter(first_decided_at__isnull=False)
        .annotate(days=days)
        .values("days")
        .annotate(n=Count("pk"))
        .order_by()
    )
    histogram: Counter[int] = Counter()
    for row in rows:
        value = row["days"]
        histogram[value.days if isinstance(value, datetime.timedelta) else int(value)] += row["n"]
    return dict(histogram)


def category_counts(qs: QuerySet[Complaint]) -> dict[str, int]:
    return dict(qs.values_list("category").annotate(n=Count("pk")).order_by())


def live_period_raw(scope: Scope, ranges: list[Range]) -> dict:
    """The raw period figures of the complaints received in ``ranges``, read live: counts
    (``period_counts``), the decision-days histogram and the counts by category. Three
    queries."""
    qs = received_in(scoped(scope), ranges)
    return {
        "counts": period_counts(qs),
        "days": decision_days_histogram(qs),
        "categories": category_counts(qs),
    }


def merge_raw(*parts: dict) -> dict:
    counts: Counter = Counter()
    days: Counter = Counter()
    categories: Counter = Counter()
    for part in parts:
        counts.update({k: v or 0 for k, v in part["counts"].items()})
        days.update(part["days"])
        categories.update(part["categories"])
    keys = parts[0]["counts"].keys()
    return {
        "counts": {k: counts[k] for k in keys},
        "days": {d: n for d, n in days.items() if n},
        "categories": {c: n for c, n in categories.items() if n},
    }


def complaint_figures(*, scope: Scope, start: datetime.date, end: datetime.date) -> dict:
    """The raw period figures of the complaints received ``start..end`` in the scope: from
    the summaries for whole months (when ``scope.summary_unit``), live for the rest. Three
    queries from each source used (with a channel filter the two histograms are read live
    for the whole range: the summaries keep them without the channel)."""
    if scope.summary_unit is None:
        return live_period_raw(scope, [(start, end)])
    months, cut = split_months(start, end)
    if not months:
        return live_period_raw(scope, cut)
    part = summaries.period_raw(unit_id=scope.summary_unit.pk, months=months, **scope.filters)
    if part["days"] is None:  # a channel filter: the histograms live, for the whole range
        qs = received_in(scoped(scope), [(start, end)])
        part["days"], part["categories"] = decision_days_histogram(qs), category_counts(qs)
        if not cut:
            return part
        counts = period_counts(received_in(scoped(scope), cut))
        return merge_raw(part, {"counts": counts, "days": {}, "categories": {}})
    return merge_raw(part, live_period_raw(scope, cut)) if cut else part


def shape_figures(raw: dict) -> dict:
    """The dashboard's complaint keys from the raw aggregates (``complaint_figures``)."""
    c, days = raw["counts"], raw["days"]
    decided = c["decided"]
    within = {}
    for limit in WITHIN_DAYS:
        inside = sum(n for d, n in days.items() if d <= limit)
        within[str(limit)] = share(inside, decided)
    satisfaction = {value: c[f"satisfaction_{value}"] for value in Satisfaction.values}
    answered = sum(n for k, n in satisfaction.items() if k != Satisfaction.UNREACHABLE)
    satisfaction["satisfied_share"] = share(satisfaction[Satisfaction.SATISFIED], answered)
    labels = dict(Category.choices)
    top = sorted(
        ((code, n) for code, n in raw["categories"].items() if n),
        key=lambda item: (-item[1], item[0]),
    )[:TOP_CATEGORIES]
    return {
        "received": c["received"],
        "accepted": c["accepted"],
        "decided": decided,
        "on_time_rate": share(c["on_time"], decided),
        "decided_within": within,
        "days_to_decision": {"median": percentile(days, 0.5), "p90": percentile(days, 0.9)},
        "reviews": {
            "requested": c["reviews_requested"],
            "changed": c["reviews_decided"] - c["reviews_upheld_original"],
            "upheld_original": c["reviews_upheld_original"],
        },
        "upheld_share": share(c["upheld"], decided),
        "satisfaction": satisfaction,
        "top_categories": [
            {"category": code, "label": str(labels.get(code, code)), "count": n} for code, n in top
        ],
        "elder": {
            "received": c["elder_received"],
            "share": share(c["elder_received"], c["received"]),
            "on_time_rate": share(c["elder_on_time"], c["elder_decided"]),
        },
    }


# ---- as of today ------------------------------------------------------------------------------


def open_counts_q(today: datetime.date) -> dict:
    soon = today + datetime.timedelta(days=AT_RISK_DAYS)
    return {
        "open": Count("pk"),
        "due_soon": Count("pk", filter=Q(due_date__gte=today, due_date__lte=soon)),
        "overdue": Count("pk", filter=Q(due_date__lt=today)),
    }


def open_figures(*, scope: Scope, today: datetime.date) -> dict[str, int]:
    """Open now (``OPEN_STATES``), of them due within ``today..today+3``, and overdue (due
    before ``today``) — the workbench's at-risk and breached states. One query, live."""
    return scoped(scope).filter(status__in=OPEN_STATES).aggregate(**open_counts_q(today))


# ---- per child unit -----------------------------------------------------------------------


PER_CHILD = ("received", "accepted", "decided", "on_time")


def figures_by_child(
    *,
    scope: Scope,
    children: list[OrgUnit],
    start: datetime.date,
    end: datetime.date,
    today: datetime.date,
    use_summaries: bool = False,
) -> dict[int, dict]:
    """{child id: {received, accepted, decided, on_time, open, overdue}} for ``children`` (the
    direct children of the scope's unit). Two to four queries, however many children."""
    if not children or scope.empty:
        return {}
    length = len(scope.path) + OrgUnit.steplen
    by_path = {child.path: child.pk for child in children}
    base = scoped(scope)
    child = Substr("org_unit__path", 1, length)
    rows: dict[int, dict] = {
        c.pk: dict.fromkeys((*PER_CHILD, "open", "overdue"), 0) for c in children
    }

    def add(values):
        for row in values:
            pk = by_path.get(row.pop("child"))
            if pk is not None:
                for key, n in row.items():
                    rows[pk][key] += n or 0

    live_ranges = [(start, end)]
    if use_summaries and all(c.level in summaries.SUMMARY_LEVELS for c in children):
        months, live_ranges = split_months(start, end)
        if months:
            for pk, values in summaries.by_unit(
                unit_ids=list(rows), months=months, **scope.filters
            ).items():
                for key, n in values.items():
                    rows[pk][key] += n or 0
    if live_ranges:
        add(
            _with_first_day(received_in(base, live_ranges))
            .annotate(child=child)
            .values("child")
            .annotate(
                received=Count("pk"),
                accepted=Count("pk", filter=~Q(status__in=NOT_ACCEPTED)),
                decided=Count("pk", filter=Q(first_decided_at__isnull=False)),
                on_time=Count("pk", filter=on_time_q()),
            )
            .order_by()
        )
    counts = open_counts_q(today)
    add(
        base.filter(status__in=OPEN_STATES)
        .annotate(child=child)
        .values("child")
        .annotate(open=counts["open"], overdue=counts["overdue"])
        .order_by()
    )
    return rows


# ---- by month -----------------------------------------------------------------------------


def trend_by_month(
    *, scope: Scope, start: datetime.date, end: datetime.date, today: datetime.date
) -> dict[str, dict[str, int]]:
    """{"YYYY-MM": {received, decided, overdue}} for the days ``start..end`` (months cut to
    the range): complaints received; first decisions made; deadlines missed (see the module
    docstring) — only those before ``today``. From the summaries for whole months (missed
    deadlines: months that ended before ``today``), live for the rest: at most five
    queries."""
    out: dict[str, dict[str, int]] = {}

    def add(key, value, n):
        out.setdefault(_month_key(key), {"received": 0, "decided": 0, "overdue": 0})[value] += n

    yesterday = today - datetime.timedelta(days=1)
    live_ranges, missed_windows, summary_months = [], [], []
    for month in months_overlapping(start, end):
        first, last = max(start, month), min(end, month_end(month))
        whole = first == month and last == month_end(month)
        if scope.summary_unit is not None and whole:
            summary_months.append(month)
            if last <= yesterday:
                continue
        else:
            live_ranges.append((first, last))
        if first <= min(last, yesterday):
            missed_windows.append((first, min(last, yesterday)))
    if summary_months:
        rows = summaries.by_month(
            unit_id=scope.summary_unit.pk, months=summary_months, **scope.filters
        )
        for month, row in rows.items():
            add(month, "received", row["received"] or 0)
            add(month, "decided", row["first_decisions"] or 0)
            if month_end(month) <= yesterday:
                add(month, "overdue", row["missed_deadlines"] or 0)
    base = scoped(scope)
    if live_ranges:
        tz = timezone.get_default_timezone()
        received = (
            received_in(base, live_ranges)
            .annotate(month=TruncMonth("received_on", output_field=DateField()))
            .values("month")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in received:
            add(row["month"], "received", row["n"])
        decided = (
            _with_first_day(base.filter(first_decided_at__isnull=False))
            .filter(in_ranges("first_day", live_ranges))
            .annotate(month=TruncMonth("first_decided_at", tzinfo=tz, output_field=DateField()))
            .values("month")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in decided:
            add(row["month"], "decided", row["n"])
    if missed_windows:
        for due, n in missed_deadlines(base, missed_windows):
            add(due, "overdue", n)
    return out


def missed_deadlines(qs: QuerySet[Complaint], windows: list[Range]):
    """(deadline day, complaints) for the deadlines of ``qs`` that fell in ``windows`` and
    were missed (see the module docstring). Two or three queries: the deadlines still in
    ``due_date`` in SQL, then the first deadlines of reviewed complaints recomputed from their
    rows and (if there are any) their pauses (``summaries.first_due_date``)."""
    tz = timezone.get_default_timezone()
    decided_on = TruncDate("decided_at", tzinfo=tz)
    escalated_on = TruncDate("escalated_at", tzinfo=tz)
    decision_missed = (
        Q(review_requested_at__isnull=True)
        & (Q(decided_at__isnull=True) | Q(decided_on__gt=F("due_date")))
        & (Q(escalated_at__isnull=True) | Q(escalated_on__gt=F("due_date")))
    )
    review_missed = Q(review_requested_at__isnull=False) & (
        Q(status=Status.UNDER_REVIEW) | Q(decided_on__gt=F("due_date"))
    )
    rows = (
        qs.filter(in_ranges("due_date", windows))
        .exclude(status=Status.DECLINED)
        .annotate(decided_on=decided_on, escalated_on=escalated_on)
        .filter(decision_missed | review_missed)
        .values("due_date")
        .annotate(n=Count("pk"))
        .order_by()
    )
    missed: Counter[datetime.date] = Counter()
    for row in rows:
        missed[row["due_date"]] += row["n"]
    # A reviewed complaint whose first deadline in a window was missed was first decided
    # after that window began, and received before it ended.
    first = min(w[0] for w in windows)
    last = max(w[1] for w in windows)
    reviewed_qs = _with_first_day(
        qs.filter(review_requested_at__isnull=False, received_on__lte=last)
    ).filter(first_day__gt=first)
    reviewed = list(reviewed_qs.values_list("pk", "received_on", "extensions", "first_day"))
    pauses: dict[int, list] = {}
    if reviewed:
        for complaint_id, start, end in Pause.objects.filter(
            complaint_id__in=[row[0] for row in reviewed]
        ).values_list("complaint_id", "start", "end"):
            pauses.setdefault(complaint_id, []).append((start, end))
    calendar_in_use = None
    for pk, received_on, extensions, first_day in reviewed:
        if calendar_in_use is None:
            from .services import deadline_calendar

            calendar_in_use = deadline_calendar()
        due = summaries.first_due_date(
            received_on=received_on,
            extensions=extensions,
            first_decided_on=first_day,
            pauses=pauses.get(pk, []),
            calendar=calendar_in_use,
        )
        if first_day > due and any(a <= due <= b for a, b in windows):
            missed[due] += 1
    return sorted(missed.items())
