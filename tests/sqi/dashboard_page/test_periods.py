"""Query parameters → period and filters (``sqi.dashboard_periods``), and their errors on the
page."""

import datetime as dt

import pytest
from django.utils import translation

from sqi.dashboard import DashboardFilters
from sqi.dashboard_periods import (
    DashboardFilterForm,
    calendar_period,
    default_period,
    last_full,
    period_choices,
    period_label,
    previous_label,
)
from tests.sqi.dashboard_page.conftest import TODAY, unit_url

D = dt.date


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def form(unit, **data):
    f = DashboardFilterForm(data, unit=unit, today=TODAY)
    f.is_valid()
    return f


def test_default_is_the_last_full_month():
    assert default_period(TODAY) == calendar_period("month", "2026-02")
    assert default_period(D(2026, 1, 1)).value == "2025-12"


@pytest.mark.parametrize(
    ("kind", "value", "start", "end"),
    [
        ("month", "2026-02", D(2026, 2, 1), D(2026, 2, 28)),
        ("month", "2024-02", D(2024, 2, 1), D(2024, 2, 29)),
        ("quarter", "2025-Q4", D(2025, 10, 1), D(2025, 12, 31)),
        ("quarter", "2025-q2", D(2025, 4, 1), D(2025, 6, 30)),
        ("half", "2025-H2", D(2025, 7, 1), D(2025, 12, 31)),
        ("year", "2025", D(2025, 1, 1), D(2025, 12, 31)),
    ],
)
def test_calendar_periods(kind, value, start, end):
    period = calendar_period(kind, value)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    ("kind", "value"),
    [("month", "2026-13"), ("month", "2026-Q1"), ("quarter", "2026-Q5"), ("half", "2026-H3"),
     ("year", "26"), ("month", "1999-12")],
)  # fmt: skip
def test_values_that_name_no_period(kind, value):
    assert calendar_period(kind, value) is None


def test_last_full_period_of_each_kind():
    assert last_full("quarter", TODAY).value == "2025-Q4"
    assert last_full("half", TODAY).value == "2025-H2"
    assert last_full("year", TODAY).value == "2025"


def test_labels_of_the_period_and_the_one_before():
    assert period_label("quarter", D(2025, 10, 1), D(2025, 12, 31)) == "Q4 2025"
    assert period_label("half", D(2025, 1, 1), D(2025, 6, 30)) == "First half of 2025"
    assert period_label("year", D(2025, 1, 1), D(2025, 12, 31)) == "Year 2025"
    assert period_label("month", D(2026, 2, 1), D(2026, 2, 28)) == "February 2026"
    march = DashboardFilters(start=D(2026, 3, 1), end=D(2026, 3, 31))
    assert previous_label("month", march) == "February 2026"
    custom = DashboardFilters(start=D(2026, 1, 10), end=D(2026, 1, 19))
    assert previous_label("custom", custom) == "2025-12-31 to 2026-01-09"
    with translation.override("zh-hans"):
        assert period_label("month", D(2026, 2, 1), D(2026, 2, 28)) == "2026年2月"


def test_menu_offers_the_running_period_first_marked_so_far():
    choices = period_choices("quarter", TODAY)
    assert choices[0] == ("2026-Q1", "Q1 2026 (so far)")
    assert choices[1][0] == "2025-Q4"
    assert choices[-1][0] == "2022-Q1"


def test_empty_query_is_the_default(tree):
    f = form(tree.head_a)
    assert f.is_valid()
    assert f.filters() == DashboardFilters(start=D(2026, 2, 1), end=D(2026, 2, 28))
    assert f.query() == ""


def test_choosing_a_kind_without_a_value_takes_its_last_full_period(tree):
    f = form(tree.head_a, period="half")
    assert f.is_valid()
    assert (f.chosen.start, f.chosen.end) == (D(2025, 7, 1), D(2025, 12, 31))


def test_all_filters_reach_dashboard_filters(tree):
    f = form(
        tree.group,
        period="quarter",
        value="2025-Q3",
        product_line="motor",
        channel="hotline",
        insurer=str(tree.insurer_b.pk),
    )
    assert f.is_valid(), f.errors
    assert f.filters() == DashboardFilters(
        start=D(2025, 7, 1),
        end=D(2025, 9, 30),
        product_line="motor",
        channel="hotline",
        insurer_id=tree.insurer_b.pk,
    )
    # drill-down links keep everything but the insurer
    assert f.query(for_child=True) == (
        "?period=quarter&value=2025-Q3&product_line=motor&channel=hotline"
    )
    assert f"insurer={tree.insurer_b.pk}" in f.query()


def test_insurer_filter_is_for_groups_and_their_insurers_only(tree):
    assert "insurer" not in form(tree.head_a).fields
    outsider = form(tree.group, insurer=str(tree.insurer_c.pk))
    assert not outsider.is_valid()
    assert "insurer" in outsider.errors


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"period": "custom", "start": "2026-02-10", "end": "2026-02-01"}, "end", "reversed"),
        ({"period": "custom", "start": "2026-02-10"}, "end", "required"),
        ({"period": "custom", "end": "2026-02-10"}, "start", "required"),
        ({"period": "custom", "start": "2026-03-01", "end": "2026-03-20"}, "end", "future"),
        ({"period": "custom", "start": "2020-01-01", "end": "2026-02-01"}, "end", "too_long"),
        ({"period": "custom", "start": "1999-06-01", "end": "1999-12-01"}, "start", "too_early"),
        ({"period": "custom", "start": "2026-02-30", "end": "2026-03-01"}, "start", "invalid"),
        ({"period": "month", "value": "2026-13"}, "value", "bad_period"),
        ({"period": "quarter", "value": "2026-02"}, "value", "bad_period"),
        ({"period": "month", "value": "2026-04"}, "value", "future_period"),
        ({"period": "week"}, "period", "invalid_choice"),
        ({"product_line": "boats"}, "product_line", "invalid_choice"),
    ],
)
def test_bad_filters_are_named_on_their_field(tree, data, field, code):
    f = form(tree.head_a, **data)
    assert not f.is_valid()
    assert code in [e.code for e in f.errors.as_data()[field]], f.errors


def test_a_custom_range_within_the_limits(tree):
    f = form(tree.head_a, period="custom", start="2026-01-10", end="2026-03-10")
    assert f.is_valid(), f.errors
    assert f.query() == "?period=custom&start=2026-01-10&end=2026-03-10"


def test_page_shows_the_error_beside_the_field_and_no_figures(client, clock, tree, people):
    client.force_login(people.head_officer)
    response = client.get(
        unit_url(tree.head_a, period="custom", start="2026-02-10", end="2026-02-01")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The last day comes before the first day." in html
    assert 'id="id_end_error"' in html
    assert "dash-kpis" not in html
    assert "rows" not in response.context


def test_page_names_the_period_and_the_one_before(client, clock, tree, people):
    client.force_login(people.head_officer)
    response = client.get(unit_url(tree.head_a, period="quarter", value="2025-Q4"))
    assert response.context["period_label"] == "Q4 2025"
    assert response.context["previous_label"] == "Q3 2025"
    assert response.context["filters"] == DashboardFilters(
        start=D(2025, 10, 1), end=D(2025, 12, 31)
    )
    html = response.content.decode()
    assert "Q4 2025, compared with Q3 2025" in html
