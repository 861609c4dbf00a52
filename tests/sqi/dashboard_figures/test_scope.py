"""Scope and drill-down: a unit's figures cover its subtree and nothing else; the child rows,
their officers and reception days; the query count does not grow with the children."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insurers import roles
from insurers import services as insurer_services
from insurers.models import Level
from sqi.dashboard import DashboardFilters, dashboard, dashboard_figures
from tests.factories import unit, user_in

from .conftest import D

Q1 = DashboardFilters(D(2026, 1, 1), D(2026, 3, 31))
TODAY = D(2026, 4, 15)
# A head office's dashboard, everything live (no summaries built yet): the operating
# statistics for both periods (1), the period's figures (3 complaint aggregates, open now, 2
# for mediation), the previous period's (the same but open now), the children (units,
# officers, reception days, 2 complaint aggregates), the trend (received, decided, missed
# deadlines in 3, pauses included as reviewed complaints are there) and the summaries check.
EXPECTED_QUERIES = 23


@pytest.fixture
def spread(stories, tree):
    """One complaint received in Q1 at every unit of insurer A's tree, two at branch A2,
    one at head office B and one at head office C; one overdue at sub-branch A1a."""
    s = stories
    s.complaint(D(2026, 1, 5), unit=tree.head_a, decide=D(2026, 1, 10))
    s.complaint(D(2026, 1, 5), unit=tree.branch_a1, decide=D(2026, 1, 30))  # late
    s.complaint(D(2026, 3, 1), unit=tree.sub_a1a)  # open, overdue on 04-15
    s.complaint(D(2026, 1, 6), unit=tree.branch_a2, decide=D(2026, 1, 8))
    s.complaint(D(2026, 1, 7), unit=tree.branch_a2, decline=True)
    s.complaint(D(2026, 2, 1), unit=tree.head_b, product_line="life", category="claims")
    s.complaint(D(2026, 2, 1), unit=tree.head_c)
    s.at(D(2026, 4, 15))


def figures(unit_, filters=Q1):
    return dashboard_figures(unit=unit_, filters=filters, today=TODAY)


def test_a_unit_sees_its_subtree_only(spread, tree):
    assert figures(tree.sub_a1a)["received"] == 1
    assert figures(tree.branch_a1)["received"] == 2  # itself and its sub-branch
    assert figures(tree.branch_a2)["received"] == 2  # not its sibling's
    assert figures(tree.head_a)["received"] == 5
    assert figures(tree.group)["received"] == 6  # not the standalone insurer C
    assert figures(tree.head_c)["received"] == 1
    assert figures(tree.branch_a1)["open"] == 1 and figures(tree.branch_a2)["open"] == 0


def test_the_insurer_filter_at_group_level(spread, tree):
    only_b = DashboardFilters(Q1.start, Q1.end, insurer_id=tree.insurer_b.pk)
    assert figures(tree.group, only_b)["received"] == 1
    whole = dashboard(unit=tree.group, filters=only_b, today=TODAY)
    assert [row["unit"] for row in whole["children"]] == [tree.head_b]


def test_child_rows(spread, tree, people):
    stories_officer = people.branch_officer  # officer of branch A1; branch A2 has none
    insurer_services.reception_day_log(
        officer=tree.branch_a1.officers.get(user=stories_officer),
        date=D(2026, 2, 3), place="营业厅", consumers_met=7, follow_ups_open=2,
    )  # fmt: skip
    insurer_services.reception_day_log(
        officer=tree.branch_a1.officers.get(user=stories_officer),
        date=D(2025, 12, 3), place="营业厅", consumers_met=9, follow_ups_open=1,
    )  # outside the range  # fmt: skip
    sub_officer = user_in(tree.sub_a1a, roles.OFFICER, officer=True, first_name="孙")
    insurer_services.reception_day_log(
        officer=tree.sub_a1a.officers.get(user=sub_officer),
        date=D(2026, 3, 3), place="社区", consumers_met=4, follow_ups_open=1,
    )  # counts for branch A1, whose subtree it is in  # fmt: skip
    rows = dashboard(unit=tree.head_a, filters=Q1, today=TODAY)["children"]
    by_unit = {row["unit"]: row for row in rows}
    assert [row["unit"] for row in rows] == sorted(by_unit, key=lambda u: u.name)
    assert set(by_unit) == {tree.branch_a1, tree.branch_a2}
    a1, a2 = by_unit[tree.branch_a1], by_unit[tree.branch_a2]
    officer = people.branch_officer
    assert a1 == {
        "unit": tree.branch_a1, "received": 2, "accepted": 2, "on_time_rate": 0.0,
        "open": 1, "overdue": 1, "officer": officer.get_full_name() or officer.username,
        "reception_days": 2, "consumers_met": 11, "follow_ups_open": 3,
    }  # fmt: skip
    assert a2 == {
        "unit": tree.branch_a2, "received": 2, "accepted": 1, "on_time_rate": 1.0,
        "open": 0, "overdue": 0, "officer": None,
        "reception_days": 0, "consumers_met": 0, "follow_ups_open": 0,
    }  # fmt: skip


def test_an_ended_appointment_leaves_the_post_vacant(spread, tree, people):
    officer = tree.branch_a1.officers.get(user=people.branch_officer)
    insurer_services.service_officer_end(officer=officer, ended=D(2026, 4, 1))
    rows = dashboard(unit=tree.head_a, filters=Q1, today=TODAY)["children"]
    assert {row["unit"]: row["officer"] for row in rows} == {
        tree.branch_a1: None,
        tree.branch_a2: None,
    }


def test_a_leaf_unit_has_no_children(spread, tree):
    assert dashboard(unit=tree.sub_a1a, filters=Q1, today=TODAY)["children"] == []


def _grow(tree, stories, people, n, existing=0):
    """Head office C with ``n`` branches (``existing`` of them there already), each with an
    officer, a reception day, a decided, a reviewed and an open complaint."""
    branches = [tree.branch_c1] if existing == 0 else []
    while len(branches) + existing < n:
        branches.append(unit(Level.BRANCH, insurer=tree.insurer_c, parent=tree.head_c))
    for branch in branches:
        officer = user_in(branch, roles.OFFICER, officer=True)
        stories.reception(officer, branch, D(2026, 2, 2), 3, 1)
        stories.complaint(D(2026, 1, 5), unit=branch, decide=D(2026, 1, 9))
        stories.complaint(D(2026, 1, 5), unit=branch, decide=D(2026, 1, 9),
                          review=(D(2026, 1, 12), D(2026, 1, 20), "upheld"))  # fmt: skip
        stories.complaint(D(2026, 3, 5), unit=branch)
    stories.at(D(2026, 4, 15))
    tree.head_c.refresh_from_db()
    return branches


def _queries(unit_):
    with CaptureQueriesContext(connection) as ctx:
        result = dashboard(unit=unit_, filters=Q1, today=TODAY)
    return len(ctx), result


def test_query_count_does_not_grow_with_child_units(tree, stories, people, db):
    _grow(tree, stories, people, 2)
    few, result = _queries(tree.head_c)
    assert len(result["children"]) == 2
    assert result["current"]["received"] == 6
    _grow(tree, stories, people, 6, existing=2)
    many, result = _queries(tree.head_c)
    assert len(result["children"]) == 6
    assert result["current"]["received"] == 18
    assert many == few


def test_the_number_of_queries(tree, stories, people, django_assert_num_queries):
    _grow(tree, stories, people, 2)
    with django_assert_num_queries(EXPECTED_QUERIES):
        dashboard(unit=tree.head_c, filters=Q1, today=TODAY)
