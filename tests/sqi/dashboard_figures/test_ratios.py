"""Complaints per 100 M CNY premium and per 10 k policies: only for a whole insurer, from
the index's operating statistics (see ``sqi.dashboard`` for the rule)."""

from decimal import Decimal

import pytest

from sqi.dashboard import DashboardFilters, dashboard_figures
from sqi.models import OperatingStatistic, Period

from .conftest import D

YEAR = DashboardFilters(D(2025, 1, 1), D(2025, 12, 31))
TODAY = D(2026, 4, 15)


def statistic(insurer, code, line, premium, policies):
    period, _ = Period.objects.get_or_create(code=code)
    return OperatingStatistic.objects.create(
        insurer=insurer,
        period=period,
        product_line=line,
        premium_cny=Decimal(premium) if premium is not None else None,
        policies_in_force=policies,
        source="admin",
    )


@pytest.fixture
def accepted(stories, tree):
    """Insurer A: 3 accepted motor and 1 accepted home complaints in 2025 (two of them in
    March), and one declined; insurer B: 2 accepted life complaints."""
    s = stories
    for day in (D(2025, 3, 3), D(2025, 3, 20), D(2025, 8, 1)):
        s.complaint(day)
    s.complaint(D(2025, 9, 9), product_line="home")
    s.complaint(D(2025, 3, 4), decline=True)
    for day in (D(2025, 2, 1), D(2025, 11, 1)):
        s.complaint(day, unit=tree.head_b, product_line="life", category="claims")
    s.at(D(2026, 3, 2))


def ratios(unit, filters=YEAR):
    f = dashboard_figures(unit=unit, filters=filters, today=TODAY)
    return f["ratio_basis"], f["per_100m_premium"], f["per_10k_policies"]


def test_a_head_office_over_a_year_uses_the_annual_statistics(accepted, tree):
    statistic(tree.insurer_a, "2025", "motor", "150000000", 30_000)
    statistic(tree.insurer_a, "2025", "home", "50000000", 10_000)
    # 4 accepted / 2 × 100 M premium; 4 / 4 × 10 k policies.
    assert ratios(tree.head_a) == ("insurer", pytest.approx(2.0), pytest.approx(1.0))


def test_the_product_line_filter_takes_that_line_only(accepted, tree):
    statistic(tree.insurer_a, "2025", "motor", "150000000", 30_000)
    statistic(tree.insurer_a, "2025", "home", "50000000", 10_000)
    motor = DashboardFilters(YEAR.start, YEAR.end, product_line="motor")
    assert ratios(tree.head_a, motor) == ("insurer", pytest.approx(2.0), pytest.approx(1.0))


def test_a_group_sums_its_insurers_and_the_insurer_filter_picks_one(accepted, tree):
    statistic(tree.insurer_a, "2025", "motor", "200000000", 40_000)
    statistic(tree.insurer_b, "2025", "life", "100000000", 20_000)
    assert ratios(tree.group) == ("insurer", pytest.approx(2.0), pytest.approx(1.0))
    only_b = DashboardFilters(YEAR.start, YEAR.end, insurer_id=tree.insurer_b.pk)
    assert ratios(tree.group, only_b) == ("insurer", pytest.approx(2.0), pytest.approx(1.0))


def test_a_group_with_an_insurer_lacking_statistics_has_no_ratio(accepted, tree):
    statistic(tree.insurer_a, "2025", "motor", "200000000", 40_000)
    assert ratios(tree.group) == ("not_available", None, None)


def test_a_half_year_uses_the_half_statistics_when_there_are_some(accepted, tree):
    statistic(tree.insurer_a, "2025H1", "motor", "100000000", 20_000)
    statistic(tree.insurer_a, "2025", "motor", "400000000", 40_000)
    half = DashboardFilters(D(2025, 1, 1), D(2025, 6, 30))
    # 2 accepted in H1 (March), against H1's own figures.
    assert ratios(tree.head_a, half) == ("insurer", pytest.approx(2.0), pytest.approx(1.0))


def test_a_month_prorates_the_annual_statistics_by_days(accepted, tree):
    statistic(tree.insurer_a, "2025", "motor", "365000000", 36_500)
    march = DashboardFilters(D(2025, 3, 1), D(2025, 3, 31))
    # 2 accepted in March against 31/365 of the year's premium (31 M) and policies (3,100).
    basis, premium, policies = ratios(tree.head_a, march)
    assert basis == "insurer"
    assert premium == pytest.approx(2 / 0.31)
    assert policies == pytest.approx(2 / 0.31)


def test_a_half_without_half_statistics_prorates_the_year(accepted, tree):
    statistic(tree.insurer_a, "2025", "motor", "365000000", 36_500)
    half = DashboardFilters(D(2025, 1, 1), D(2025, 6, 30))
    assert ratios(tree.head_a, half)[1] == pytest.approx(2 / (3.65 * 181 / 365))


def test_no_ratio_below_insurer_level_across_years_or_without_statistics(accepted, tree):
    statistic(tree.insurer_a, "2025", "motor", "365000000", 36_500)
    assert ratios(tree.branch_a1) == ("not_available", None, None)
    across = DashboardFilters(D(2024, 12, 1), D(2025, 1, 31))
    assert ratios(tree.head_a, across) == ("not_available", None, None)
    assert ratios(tree.head_c) == ("not_available", None, None)
    other_year = DashboardFilters(D(2024, 1, 1), D(2024, 12, 31))
    assert ratios(tree.head_a, other_year) == ("not_available", None, None)


def test_a_missing_policies_figure_leaves_only_that_ratio_out(accepted, tree):
    statistic(tree.insurer_a, "2025", "motor", "400000000", None)
    assert ratios(tree.head_a) == ("insurer", pytest.approx(1.0), None)


def test_no_accepted_complaints_is_a_real_zero(tree, stories):
    statistic(tree.insurer_c, "2025", "motor", "100000000", 10_000)
    assert ratios(tree.head_c) == ("insurer", 0.0, 0.0)
