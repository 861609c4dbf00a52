"""Decision deadlines under the 2020 complaint-handling rules (银行业保险业消费投诉处理管理办法).

- a decision is due within 15 days of receipt;
- a complex case may be extended to 30 days (the handling unit records why);
- an especially complex case may be extended once more, to 60 days in all, with the approval
  of the service officer one level up and the complainant told;
- days spent waiting on an outside appraisal, test or assessment (鉴定、检测、评估) do not count.

Day one is the day after receipt (the day of receipt is not counted, as in the rules'
counting of periods). A pause covers its start day up to, not including, its end day; a pause
still open covers every day up to and including ``today``. Calendar days by default; a
working-day calendar (weekends, public holidays, make-up working days) is pluggable.

Pure Python: used by the services, the nightly task, the API and the tests alike.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

DECISION_DAYS = 15
EXTENDED_DAYS = (15, 30, 60)  # limit after 0, 1 and 2 extensions
REVIEW_WINDOW_DAYS = 30
AT_RISK_DAYS = 3

ONE_DAY = datetime.timedelta(days=1)

Pause = tuple[datetime.date, datetime.date | None]


class CalendarDays:
    """Every day counts."""

    name = "calendar"

    def counts(self, day: datetime.date) -> bool:
        return True


@dataclass(frozen=True)
class WorkingDays:
    """Monday to Friday count, except ``holidays``; ``workdays`` (调休 make-up days) count
    even when they fall on a weekend."""

    holidays: frozenset[datetime.date] = field(default_factory=frozenset)
    workdays: frozenset[datetime.date] = field(default_factory=frozenset)
    name = "working"

    def counts(self, day: datetime.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


CALENDAR_DAYS = CalendarDays()


def limit_days(extensions: int) -> int:
    """The total number of days allowed after ``extensions`` extension steps (0, 1 or 2)."""
    if not 0 <= extensions < len(EXTENDED_DAYS):
        raise ValueError("at most two extensions")
    return EXTENDED_DAYS[extensions]


def paused_days(pauses: Iterable[Pause], today: datetime.date) -> set[datetime.date]:
    days: set[datetime.date] = set()
    for start, end in pauses:
        stop = end if end is not None else today + ONE_DAY
        day = start
        while day < stop:
            days.add(day)
            day += ONE_DAY
    return days


def due_date(
    *,
    received: datetime.date,
    extensions: int = 0,
    pauses: Iterable[Pause] = (),
    today: datetime.date | None = None,
    calendar=CALENDAR_DAYS,
) -> datetime.date:
    """The last day on which a decision is on time."""
    allowed = limit_days(extensions)
    pauses = list(pauses)
    if not pauses and isinstance(calendar, CalendarDays):
        return received + datetime.timedelta(days=allowed)
    if today is None and any(end is None for _start, end in pauses):
        raise ValueError("an open pause needs today's date")
    skipped = paused_days(pauses, today or received)
    counted, day = 0, received
    while counted < allowed:
        day += ONE_DAY
        if day not in skipped and calendar.counts(day):
            counted += 1
    return day


def days_left(due: datetime.date, today: datetime.date) -> int:
    return (due - today).days


def deadline_state(due: datetime.date, today: datetime.date) -> str:
    """``on_track``, ``at_risk`` (three days or fewer left) or ``breached`` (past due)."""
    left = days_left(due, today)
    if left < 0:
        return "breached"
    if left <= AT_RISK_DAYS:
        return "at_risk"
    return "on_track"


def review_open_until(decided: datetime.date) -> datetime.date:
    """The last day on which the complainant may ask for a review (核查)."""
    return decided + datetime.timedelta(days=REVIEW_WINDOW_DAYS)
