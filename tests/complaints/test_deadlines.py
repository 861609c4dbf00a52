"""The one function that computes decision due dates, at month and year ends, across pauses,
at each extension step, and on a working-day calendar."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaints import deadlines
from complaints.deadlines import WorkingDays, deadline_state, due_date

D = dt.date


@pytest.mark.parametrize(
    ("received", "extensions", "due"),
    [
        (D(2026, 3, 1), 0, D(2026, 3, 16)),
        (D(2026, 1, 20), 0, D(2026, 2, 4)),  # across a month end
        (D(2025, 12, 20), 0, D(2026, 1, 4)),  # across a year end
        (D(2024, 2, 20), 0, D(2024, 3, 6)),  # leap February
        (D(2026, 2, 20), 0, D(2026, 3, 7)),
        (D(2026, 3, 1), 1, D(2026, 3, 31)),  # extended to 30 days
        (D(2026, 3, 1), 2, D(2026, 4, 30)),  # extended to 60 days in all
        (D(2025, 12, 31), 2, D(2026, 3, 1)),
    ],
)
def test_calendar_days(received, extensions, due):
    assert due_date(received=received, extensions=extensions) == due


def test_more_than_two_extensions_is_refused():
    with pytest.raises(ValueError):
        due_date(received=D(2026, 1, 1), extensions=3)


def test_a_closed_pause_moves_the_due_date_by_its_length():
    received = D(2026, 3, 1)
    # paused from 5 March up to (not including) 12 March: 7 days do not count
    assert due_date(received=received, pauses=[(D(2026, 3, 5), D(2026, 3, 12))]) == D(2026, 3, 23)


def test_pauses_across_year_end_and_after_extension():
    received = D(2025, 12, 10)
    pauses = [(D(2025, 12, 28), D(2026, 1, 3)), (D(2026, 1, 10), D(2026, 1, 11))]
    # 30 days + 6 + 1 paused days
    assert due_date(received=received, extensions=1, pauses=pauses) == D(2026, 1, 16)


def test_an_open_pause_keeps_moving_with_today():
    received = D(2026, 3, 1)
    pauses = [(D(2026, 3, 10), None)]
    assert due_date(received=received, pauses=pauses, today=D(2026, 3, 10)) == D(2026, 3, 17)
    assert due_date(received=received, pauses=pauses, today=D(2026, 3, 20)) == D(2026, 3, 27)
    with pytest.raises(ValueError):
        due_date(received=received, pauses=pauses)


def test_a_pause_before_receipt_changes_nothing():
    assert due_date(received=D(2026, 3, 1), pauses=[(D(2026, 2, 1), D(2026, 2, 10))]) == D(
        2026, 3, 16
    )


def test_working_days_skip_weekends_and_holidays_and_count_makeup_days():
    calendar = WorkingDays(
        holidays=frozenset({D(2026, 10, d) for d in range(1, 8)}),  # National Day week
        workdays=frozenset({D(2026, 9, 27)}),  # a Sunday worked in exchange
    )
    # received Friday 25 Sept 2026: Sun 27 counts, Mon 28–Wed 30 count, 1–7 Oct do not
    # Thu 8 Oct is the 5th working day, Thu 22 Oct the 15th
    assert due_date(received=D(2026, 9, 25), calendar=calendar) == D(2026, 10, 22)
    plain = WorkingDays()
    assert due_date(received=D(2026, 3, 6), calendar=plain) == D(2026, 3, 27)  # 3 weeks


@pytest.mark.parametrize(
    ("due", "today", "state"),
    [
        (D(2026, 3, 16), D(2026, 3, 1), "on_track"),
        (D(2026, 3, 16), D(2026, 3, 12), "on_track"),
        (D(2026, 3, 16), D(2026, 3, 13), "at_risk"),
        (D(2026, 3, 16), D(2026, 3, 16), "at_risk"),
        (D(2026, 3, 16), D(2026, 3, 17), "breached"),
    ],
)
def test_deadline_state(due, today, state):
    assert deadline_state(due, today) == state


def test_review_window():
    assert deadlines.review_open_until(D(2026, 1, 31)) == D(2026, 3, 2)


dates = st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31))


@given(dates, st.integers(0, 2), st.integers(0, 40), st.integers(0, 40))
def test_pauses_add_exactly_their_days_in_the_counting_window(received, ext, offset, length):
    start = received + dt.timedelta(days=1 + offset)
    pause = (start, start + dt.timedelta(days=length))
    plain = due_date(received=received, extensions=ext)
    paused = due_date(received=received, extensions=ext, pauses=[pause])
    if start > plain:
        assert paused == plain  # the pause came after the deadline
    else:
        assert paused == plain + dt.timedelta(days=length)
