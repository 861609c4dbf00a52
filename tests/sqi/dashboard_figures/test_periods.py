"""``DashboardFilters``: the period before, of the same kind."""

import pytest

from complaints.dashboard import split_months
from sqi.dashboard import DashboardFilters, months_of

from .conftest import D


@pytest.mark.parametrize(
    ("start", "end", "before"),
    [
        # a calendar month → the month before (of its own length)
        (D(2026, 3, 1), D(2026, 3, 31), (D(2026, 2, 1), D(2026, 2, 28))),
        (D(2026, 1, 1), D(2026, 1, 31), (D(2025, 12, 1), D(2025, 12, 31))),
        (D(2024, 3, 1), D(2024, 3, 31), (D(2024, 2, 1), D(2024, 2, 29))),
        # a quarter → the quarter before
        (D(2026, 4, 1), D(2026, 6, 30), (D(2026, 1, 1), D(2026, 3, 31))),
        (D(2026, 1, 1), D(2026, 3, 31), (D(2025, 10, 1), D(2025, 12, 31))),
        # a half-year, a year
        (D(2026, 7, 1), D(2026, 12, 31), (D(2026, 1, 1), D(2026, 6, 30))),
        (D(2026, 1, 1), D(2026, 6, 30), (D(2025, 7, 1), D(2025, 12, 31))),
        (D(2026, 1, 1), D(2026, 12, 31), (D(2025, 1, 1), D(2025, 12, 31))),
        # anything else is a custom range: as many days, ending the day before
        (D(2026, 3, 10), D(2026, 3, 19), (D(2026, 2, 28), D(2026, 3, 9))),
        (D(2026, 2, 1), D(2026, 4, 30), (D(2025, 11, 4), D(2026, 1, 31))),  # not a quarter
        (D(2026, 3, 5), D(2026, 3, 5), (D(2026, 3, 4), D(2026, 3, 4))),
    ],
)
def test_the_period_before(start, end, before):
    filters = DashboardFilters(start, end, product_line="motor", channel="online", insurer_id=7)
    previous = filters.previous()
    assert (previous.start, previous.end) == before
    assert (previous.product_line, previous.channel, previous.insurer_id) == ("motor", "online", 7)


def test_calendar_periods_are_recognised():
    assert DashboardFilters(D(2026, 4, 1), D(2026, 6, 30)).calendar_months() == 3
    assert DashboardFilters(D(2026, 2, 1), D(2026, 4, 30)).calendar_months() is None
    assert DashboardFilters(D(2026, 7, 1), D(2026, 12, 31)).calendar_months() == 6
    assert DashboardFilters(D(2026, 4, 1), D(2026, 9, 30)).calendar_months() is None
    assert DashboardFilters(D(2026, 1, 1), D(2026, 1, 30)).calendar_months() is None


def test_a_range_ends_after_it_starts():
    with pytest.raises(ValueError):
        DashboardFilters(D(2026, 3, 2), D(2026, 3, 1))


def test_months_of_a_range_and_its_cut_parts():
    assert months_of(D(2025, 11, 20), D(2026, 2, 3)) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    whole, cut = split_months(D(2025, 11, 20), D(2026, 2, 3))
    assert whole == [D(2025, 12, 1), D(2026, 1, 1)]
    assert cut == [(D(2025, 11, 20), D(2025, 11, 30)), (D(2026, 2, 1), D(2026, 2, 3))]
    assert split_months(D(2026, 3, 1), D(2026, 3, 31)) == ([D(2026, 3, 1)], [])
