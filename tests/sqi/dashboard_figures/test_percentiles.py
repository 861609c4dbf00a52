"""Medians and percentiles from a day histogram, as PostgreSQL's ``percentile_cont``."""

import statistics
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from complaints.dashboard import percentile


def cont(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@given(st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=300))
def test_the_histogram_gives_the_same_as_the_values(values):
    histogram = dict(Counter(values))
    assert percentile(histogram, 0.5) == statistics.median(values)
    assert abs(percentile(histogram, 0.9) - cont(values, 0.9)) < 1e-9


def test_nothing_counted_has_no_percentile():
    assert percentile({}, 0.5) is None
    assert percentile({3: 0}, 0.9) is None
