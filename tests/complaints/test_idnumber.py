import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaints import idnumber

VALID = idnumber.make("310101", dt.date(1958, 7, 3), 123)


def test_make_builds_valid_numbers():
    assert idnumber.problem(VALID) is None
    assert idnumber.birth_date(VALID) == dt.date(1958, 7, 3)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (VALID[:-1], "length"),
        (VALID[:10] + "A" + VALID[11:], "digits"),
        ("99" + VALID[2:], "region"),
        (VALID[:10] + "13" + VALID[12:], "birth_date"),
        (VALID[:-1] + ("0" if VALID[-1] != "0" else "1"), "checksum"),
    ],
)
def test_problems_are_named(value, reason):
    assert idnumber.problem(value) == reason


def test_known_published_example_checks():
    # the standard's worked example: 11010519491231002X
    assert idnumber.problem("11010519491231002X") is None
    assert idnumber.problem("11010519491231002x") is None  # lower-case x is accepted


def test_age_and_mask():
    assert idnumber.age_on(VALID, dt.date(2018, 7, 2)) == 59
    assert idnumber.age_on(VALID, dt.date(2018, 7, 3)) == 60
    assert idnumber.mask(VALID) == VALID[:4] + "*" * 10 + VALID[-4:]


@given(
    st.sampled_from(sorted(idnumber.PROVINCES)),
    st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2020, 1, 1)),
    st.integers(0, 999),
    st.integers(0, 16),
    st.integers(0, 9),
)
def test_any_single_digit_change_is_caught(province, born, seq, position, digit):
    value = idnumber.make(province + "0101", born, seq)
    changed = value[:position] + str(digit) + value[position + 1 :]
    if changed != value and idnumber.birth_date(changed) is not None:
        assert idnumber.problem(changed) in ("checksum", "region", "birth_date")
