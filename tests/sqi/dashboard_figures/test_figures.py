"""Every figure of ``sqi.dashboard.dashboard_figures`` against a hand-built branch.

Branch A1's complaints, all driven through the real services (see ``conftest.Stories``), in
the first quarter of 2026, looked at on 15 April 2026:

| #   | received | story                                                   | days | on time |
| --- | -------- | ------------------------------------------------------- | ---- | ------- |
| c1  | 01-05    | decided 01-12 upheld, closed satisfied; elder           | 7    | yes     |
| c2  | 01-06    | extended once (due 02-05), decided 02-04 partly upheld  | 29   | yes     |
| c3  | 01-07    | sales; decided 02-01 not upheld (due 01-22); elder      | 25   | no      |
| c4  | 01-08    | extended twice (due 03-09), decided 03-05 upheld        | 56   | yes     |
| c5  | 01-09    | privacy; paused 01-10…01-20 (due 02-03), decided 02-02  | 24   | yes     |
| c6  | 02-02    | decided 02-10 not upheld, closed; review → upheld 03-20 | 8    | yes     |
| c7  | 02-03    | decided 02-25 (due 02-18), review 03-01 → same 03-10    | 22   | no      |
| c8  | 03-01    | accepted, open (due 03-16: overdue)                     |      |         |
| c11 | 03-02    | declined                                                |      |         |
| c12 | 03-03    | received only, open (due 03-18: overdue)                |      |         |
| c13 | 02-15    | escalated 02-20, settled 03-20 (signed 03-18); elder    |      |         |
| c14 | 01-20    | escalated 01-25, mediation failed 02-28                 |      |         |

and, outside the quarter, c9 (received 04-01, due 04-16: due soon) and c10 (received 04-10),
plus a direct mediation application on 03-05.
"""

import datetime as dt

import pytest

from complaints.models import Complaint
from sqi.dashboard import DashboardFilters, dashboard, dashboard_figures
from tests.complaints.conftest import id_number

from .conftest import D

Q1 = DashboardFilters(D(2026, 1, 1), D(2026, 3, 31))
TODAY = D(2026, 4, 15)
KEYS = {
    "received", "accepted", "per_100m_premium", "per_10k_policies", "ratio_basis", "decided",
    "on_time_rate", "decided_within", "days_to_decision", "reviews", "upheld_share",
    "satisfaction", "open", "due_soon", "overdue", "links", "top_categories", "mediation",
    "elder",
}  # fmt: skip


def elder():
    return {"complainant_id_number": id_number(born=dt.date(1950, 1, 1))}


@pytest.fixture
def branch(stories, tree):
    s = stories
    c = {}
    c[1] = s.complaint(D(2026, 1, 5), decide=D(2026, 1, 12), close=(D(2026, 1, 14), "satisfied"),
                       **elder())  # fmt: skip
    c[2] = s.complaint(D(2026, 1, 6), extend=1, extend_on=D(2026, 1, 11), decide=D(2026, 2, 4),
                       decision="partly_upheld", close=(D(2026, 2, 6), "neutral"))  # fmt: skip
    c[3] = s.complaint(D(2026, 1, 7), decide=D(2026, 2, 1), decision="not_upheld",
                       close=(D(2026, 2, 3), "dissatisfied"), category="sales",
                       subcategory="mis_selling", **elder())  # fmt: skip
    c[4] = s.complaint(D(2026, 1, 8), extend=2, extend_on=D(2026, 1, 13), decide=D(2026, 3, 5))
    c[5] = s.complaint(D(2026, 1, 9), pause=(D(2026, 1, 10), D(2026, 1, 20)),
                       decide=D(2026, 2, 2), decision="not_upheld",
                       close=(D(2026, 2, 4), "unreachable"), category="privacy",
                       subcategory="")  # fmt: skip
    c[6] = s.complaint(D(2026, 2, 2), decide=D(2026, 2, 10), decision="not_upheld",
                       close=(D(2026, 2, 11), "satisfied"),
                       review=(D(2026, 2, 20), D(2026, 3, 20), "upheld"))  # fmt: skip
    c[7] = s.complaint(D(2026, 2, 3), decide=D(2026, 2, 25), decision="not_upheld",
                       review=(D(2026, 3, 1), D(2026, 3, 10), "not_upheld"))  # fmt: skip
    c[8] = s.complaint(D(2026, 3, 1))
    c[11] = s.complaint(D(2026, 3, 2), decline=True)
    c[12] = s.complaint(D(2026, 3, 3), accept=False)
    c[13] = s.complaint(D(2026, 2, 15), **elder())
    s.escalate(c[13], D(2026, 2, 20), settle=D(2026, 3, 20), signed=D(2026, 3, 18))
    c[14] = s.complaint(D(2026, 1, 20))
    s.escalate(c[14], D(2026, 1, 25), fail=D(2026, 2, 28))
    c[9] = s.complaint(D(2026, 4, 1))
    c[10] = s.complaint(D(2026, 4, 10))
    s.apply(tree.branch_a1, D(2026, 3, 5))
    return c


def figures(unit, filters=Q1, today=TODAY):
    return dashboard_figures(unit=unit, filters=filters, today=today)


def test_the_fixture_is_what_the_table_says(branch):
    assert {n: c.due_date for n, c in branch.items() if n in (2, 4, 5, 8, 9, 12)} == {
        2: D(2026, 2, 5), 4: D(2026, 3, 9), 5: D(2026, 2, 3), 8: D(2026, 3, 16),
        9: D(2026, 4, 16), 12: D(2026, 3, 18),
    }  # fmt: skip
    # The review moved c6's and c7's due dates to the review's own deadline.
    assert branch[6].due_date == D(2026, 3, 7) and branch[7].due_date == D(2026, 3, 16)
    assert branch[6].status == branch[7].status == "decided"
    assert Complaint.objects.get(pk=branch[13].pk).status == "closed"


def test_exactly_the_contract_keys(branch, tree):
    assert set(figures(tree.branch_a1)) == KEYS


def test_received_and_accepted(branch, tree):
    f = figures(tree.branch_a1)
    assert (f["received"], f["accepted"]) == (12, 10)


def test_on_time_counts_extensions_and_pauses_and_first_decisions_only(branch, tree):
    f = figures(tree.branch_a1)
    # c1, c2 (extended), c4 (extended twice), c5 (paused), c6 on time; c3 late; c7's first
    # decision late although its review was decided within the review's deadline.
    assert f["decided"] == 7
    assert f["on_time_rate"] == pytest.approx(5 / 7)


def test_shares_decided_within_15_30_60_days(branch, tree):
    f = figures(tree.branch_a1)
    assert f["decided_within"] == {
        "15": pytest.approx(2 / 7),
        "30": pytest.approx(6 / 7),
        "60": pytest.approx(1.0),
    }


def test_median_and_90th_percentile_days_to_decision(branch, tree):
    # 7, 8, 22, 24, 25, 29, 56: the median is 24; p90 interpolates 29 → 56 at 0.4.
    f = figures(tree.branch_a1)
    assert f["days_to_decision"] == {"median": 24.0, "p90": pytest.approx(39.8)}


def test_reviews_requested_and_their_outcome(branch, tree):
    f = figures(tree.branch_a1)
    assert f["reviews"] == {"requested": 2, "changed": 1, "upheld_original": 1}


def test_a_reopened_complaint_counts_once(branch, tree):
    f = figures(tree.branch_a1)
    assert f["decided"] == 7  # c6 and c7 were decided twice each
    # c6 counts as upheld: its decision now is the review's.
    assert f["upheld_share"] == pytest.approx(4 / 7)


def test_satisfaction(branch, tree):
    assert figures(tree.branch_a1)["satisfaction"] == {
        "satisfied": 2,
        "neutral": 1,
        "dissatisfied": 1,
        "unreachable": 1,
        "satisfied_share": 0.5,
    }


def test_open_due_soon_and_overdue_as_of_today_with_links(branch, tree):
    f = figures(tree.branch_a1)
    assert (f["open"], f["due_soon"], f["overdue"]) == (4, 1, 2)
    unit = tree.branch_a1.pk
    assert f["links"] == {
        "open": f"/work/complaints/?within={unit}",
        "due_soon": f"/work/complaints/?within={unit}&deadline_state=at_risk",
        "overdue": f"/work/complaints/?within={unit}&overdue=on",
    }
    # Another day, other counts: c9 is overdue on 17 April, c10 due soon on 22 April.
    later = figures(tree.branch_a1, today=D(2026, 4, 22))
    assert (later["open"], later["due_soon"], later["overdue"]) == (4, 1, 3)


def test_the_links_carry_the_filters(branch, tree):
    filters = DashboardFilters(
        D(2026, 1, 1), D(2026, 3, 31), product_line="motor", channel="hotline",
        insurer_id=tree.insurer_a.pk,
    )  # fmt: skip
    link = figures(tree.group, filters)["links"]["overdue"]
    assert link == (
        f"/work/complaints/?within={tree.group.pk}&product_line=motor&channel=hotline"
        f"&insurer={tree.insurer_a.pk}&overdue=on"
    )


def test_top_categories(branch, tree):
    from django.utils import translation

    with translation.override("zh-hans"):  # labels in the active language
        top = figures(tree.branch_a1)["top_categories"]
    assert top == [
        {"category": "claims", "label": "理赔纠纷", "count": 10},
        {"category": "privacy", "label": "个人信息保护", "count": 1},
        {"category": "sales", "label": "销售纠纷", "count": 1},
    ]


def test_top_categories_are_five_at_most(stories, tree):
    for category in ("sales", "claims", "surrender", "underwriting", "policy_service", "attitude"):
        stories.complaint(D(2026, 1, 5), category=category, subcategory="")
    stories.complaint(D(2026, 1, 6), category="claims", subcategory="")
    top = figures(tree.branch_a1)["top_categories"]
    assert [t["category"] for t in top] == [
        "claims", "attitude", "policy_service", "sales", "surrender",
    ]  # fmt: skip
    assert [t["count"] for t in top] == [2, 1, 1, 1, 1]


def test_mediation(branch, tree):
    assert figures(tree.branch_a1)["mediation"] == {
        "escalations": 2,
        "settled": 1,
        "failed": 1,
        "settlement_rate": 0.5,
        "median_days_to_settle": 26,
    }


def test_mediation_of_direct_applications_and_filters(stories, tree):
    stories.apply(tree.branch_a1, D(2026, 1, 10), settle=D(2026, 1, 20))
    f = figures(tree.branch_a1)
    assert f["mediation"] == {
        "escalations": 0, "settled": 1, "failed": 0, "settlement_rate": 1.0,
        "median_days_to_settle": 10,
    }  # fmt: skip
    # A direct application has no product line: a product-line filter leaves it out.
    motor = DashboardFilters(Q1.start, Q1.end, product_line="motor")
    assert figures(tree.branch_a1, motor)["mediation"]["settled"] == 0


def test_elder_complainants(branch, tree):
    assert figures(tree.branch_a1)["elder"] == {
        "received": 3,
        "share": 0.25,
        "on_time_rate": 0.5,
    }


def test_no_ratio_below_insurer_level(branch, tree):
    f = figures(tree.branch_a1)
    assert f["ratio_basis"] == "not_available"
    assert f["per_100m_premium"] is None and f["per_10k_policies"] is None


def test_no_complaints_gives_zeros_and_nones(tree):
    f = figures(tree.branch_a2)
    assert f["received"] == f["accepted"] == f["decided"] == 0
    assert f["on_time_rate"] is None and f["upheld_share"] is None
    assert f["decided_within"] == {"15": None, "30": None, "60": None}
    assert f["days_to_decision"] == {"median": None, "p90": None}
    assert f["reviews"] == {"requested": 0, "changed": 0, "upheld_original": 0}
    assert f["satisfaction"]["satisfied_share"] is None
    assert (f["open"], f["due_soon"], f["overdue"]) == (0, 0, 0)
    assert f["top_categories"] == []
    assert f["mediation"] == {
        "escalations": 0, "settled": 0, "failed": 0, "settlement_rate": None,
        "median_days_to_settle": None,
    }  # fmt: skip
    assert f["elder"] == {"received": 0, "share": None, "on_time_rate": None}
    whole = dashboard(unit=tree.branch_a2, filters=Q1, today=TODAY)
    assert whole["children"] == []
    assert [row["received"] for row in whole["trend"]] == [0, 0, 0]


def test_filters_narrow_every_figure(branch, stories, tree):
    stories.complaint(D(2026, 1, 5), product_line="home", channel="online", decide=D(2026, 1, 6))
    home = figures(tree.branch_a1, DashboardFilters(Q1.start, Q1.end, product_line="home"))
    assert (home["received"], home["decided"], home["on_time_rate"]) == (1, 1, 1.0)
    assert home["days_to_decision"] == {"median": 1.0, "p90": 1.0}
    online = figures(tree.branch_a1, DashboardFilters(Q1.start, Q1.end, channel="online"))
    assert online["received"] == 1 and online["open"] == 0
    hotline = figures(tree.branch_a1, DashboardFilters(Q1.start, Q1.end, channel="hotline"))
    assert hotline["received"] == 12 and hotline["open"] == 4


def test_the_previous_period_beside_the_current(branch, stories, tree):
    stories.complaint(D(2025, 12, 30), decide=D(2026, 1, 20))  # decided late, 21 days
    stories.complaint(D(2025, 10, 1), decline=True)
    whole = dashboard(unit=tree.branch_a1, filters=Q1, today=TODAY)
    assert whole["filters"] == Q1 and whole["unit"] == tree.branch_a1
    assert whole["previous"]["received"] == 2 and whole["previous"]["accepted"] == 1
    assert whole["previous"]["on_time_rate"] == 0.0
    assert whole["previous"]["days_to_decision"] == {"median": 21.0, "p90": 21.0}
    # Open, due soon and overdue are as of today in both columns.
    assert whole["previous"]["open"] == whole["current"]["open"] == 4
    assert whole["current"] == figures(tree.branch_a1)
    march = DashboardFilters(D(2026, 3, 1), D(2026, 3, 31))
    february = dashboard(unit=tree.branch_a1, filters=march, today=TODAY)["previous"]
    assert february["received"] == 3  # c6, c7, c13


def test_the_trend_by_month(branch, tree):
    trend = dashboard(unit=tree.branch_a1, filters=Q1, today=TODAY)["trend"]
    assert trend == [
        # c3 missed 01-22; c14 went to mediation before its due date.
        {"month": "2026-01", "received": 6, "decided": 1, "overdue": 1},
        # c7 missed its first deadline (02-18).
        {"month": "2026-02", "received": 3, "decided": 5, "overdue": 1},
        # c8 (03-16) and c12 (03-18) are open past their due date, and c6's review was
        # decided after its deadline (03-07).
        {"month": "2026-03", "received": 3, "decided": 1, "overdue": 3},
    ]


def test_the_trend_cuts_months_to_the_range(branch, tree):
    filters = DashboardFilters(D(2026, 1, 7), D(2026, 2, 2))
    trend = dashboard(unit=tree.branch_a1, filters=filters, today=TODAY)["trend"]
    assert trend == [
        {"month": "2026-01", "received": 4, "decided": 1, "overdue": 1},
        {"month": "2026-02", "received": 1, "decided": 2, "overdue": 0},
    ]


def test_days_are_shanghai_days(stories, tree):
    """Received, and sent to mediation, at 23:00 on 31 March (15:00 UTC): March; at 00:00 on
    1 April (31 March, 16:00 UTC): April."""
    from cases import services as case_services

    for day, hour in ((D(2026, 3, 31), 23), (D(2026, 4, 1), 0)):
        c = stories.complaint(day, hour=hour)
        stories.clock.move_to(day, hour)
        case_services.case_open_from_complaint(
            complaint=c, organization=stories.org, by=stories.admin
        )
    for start, end in ((D(2026, 3, 1), D(2026, 3, 31)), (D(2026, 4, 1), D(2026, 4, 30))):
        f = figures(tree.branch_a1, DashboardFilters(start, end))
        assert (f["received"], f["mediation"]["escalations"]) == (1, 1)
