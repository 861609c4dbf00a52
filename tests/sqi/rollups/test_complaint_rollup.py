"""``rollup_complaint_statistics``: accepted complaints per insurer × line × period, counted
by hand from the fixture in conftest.py (periods 2024, 2025, 2025H1, 2025H2)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints import services
from complaints.models import Complaint, Status
from sqi.models import ComplaintStatistic, Period
from sqi.rollups import rollup_complaint_statistics

from .conftest import at, complaint, complaint_counts

pytestmark = pytest.mark.django_db

EXPECTED = {
    "2024": {("A", "motor"): (1, 0)},
    "2025": {
        ("A", "motor"): (6, 3),  # 1, 3, 4, 9, 10, 11; elder 1, 4, 10
        ("A", "home"): (1, 0),  # 7
        ("B", "life"): (1, 1),  # 12
        ("B", "health"): (1, 0),  # 13
    },
    "2025H1": {("A", "motor"): (3, 1), ("B", "life"): (1, 1)},  # 1, 3, 9; 12
    "2025H2": {("A", "motor"): (3, 2), ("A", "home"): (1, 0), ("B", "health"): (1, 0)},
}


def rollup_all() -> dict[str, int]:
    return {code: rollup_complaint_statistics(period=code) for code in EXPECTED}


def stored() -> list[tuple]:
    return sorted(
        ComplaintStatistic.objects.values_list(
            "pk", "insurer_id", "period__code", "product_line", "complaints", "elder_complaints"
        )
    )


def test_counts_accepted_complaints_by_day_of_receipt(tree, complaints):
    written = rollup_all()
    assert written == {"2024": 1, "2025": 4, "2025H1": 2, "2025H2": 3}
    for code, expected in EXPECTED.items():
        assert complaint_counts(tree, code) == expected, code
    # The Shanghai day decides, not the UTC one: no. 1 arrived 2024-12-31 16:10 UTC.
    assert complaints[1].received_at.astimezone(dt.UTC).date() == dt.date(2024, 12, 31)
    assert complaints[1].received_on == dt.date(2025, 1, 1)


def test_running_again_gives_identical_rows(tree, complaints):
    rollup_all()
    first = stored()
    computed = set(ComplaintStatistic.objects.values_list("computed_at", flat=True))
    assert len(computed) == len(EXPECTED)  # one moment per run
    assert rollup_all() == {"2024": 1, "2025": 4, "2025H1": 2, "2025H2": 3}
    assert stored() == first  # same rows (same keys, same primary keys), same counts
    assert set(ComplaintStatistic.objects.values_list("computed_at", flat=True)).isdisjoint(
        computed
    )


def test_a_complaint_that_no_longer_qualifies_drops_out(tree, complaints):
    rollup_all()
    # A data correction: no. 12 (B life, the only one of its key) turns out to be declined.
    Complaint.objects.filter(pk=complaints[12].pk).update(status=Status.DECLINED)
    # No. 7 (A home) moves to motor; no. 4 (A motor, elder) is deleted.
    Complaint.objects.filter(pk=complaints[7].pk).update(product_line="motor")
    Complaint.objects.filter(pk=complaints[4].pk).delete()
    assert rollup_complaint_statistics(period="2025") == 2 + 2  # two keys upserted, two gone
    assert complaint_counts(tree, "2025") == {("A", "motor"): (6, 2), ("B", "health"): (1, 0)}
    rollup_complaint_statistics(period="2025H1")
    assert complaint_counts(tree, "2025H1") == {("A", "motor"): (3, 1)}


def test_accepting_through_the_workflow_counts_on_the_next_run(tree, people, complaints):
    rollup_complaint_statistics(period="2025H1")
    waiting = complaints[5]  # A motor, received 2025-03-10, not yet accepted
    services.complaint_accept(complaint=waiting, by=people.staff)
    declined = complaint(tree.branch_a1, at(2025, 4, 1), status=Status.RECEIVED)
    services.complaint_decline(complaint=declined, by=people.staff, reason="duplicate")
    rollup_complaint_statistics(period="2025H1")
    assert complaint_counts(tree, "2025H1") == {("A", "motor"): (4, 1), ("B", "life"): (1, 1)}


def test_a_period_without_accepted_complaints_has_no_rows(tree, complaints):
    Period.objects.create(code="2023")
    assert rollup_complaint_statistics(period="2023") == 0
    assert not ComplaintStatistic.objects.exists()


def test_an_unknown_period_is_a_clear_error(db):
    with pytest.raises(Period.DoesNotExist, match=r"no period with code '2031'"):
        rollup_complaint_statistics(period="2031")
    with pytest.raises(Period.DoesNotExist, match="create the period first"):
        rollup_complaint_statistics(period="last year")


def test_constant_number_of_queries_whatever_the_number_of_complaints(tree, periods):
    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            rollup_complaint_statistics(period="2025")
        return [q["sql"].split()[0].upper() for q in ctx.captured_queries]

    empty = queries()
    complaint(tree.branch_a1, at(2025, 2, 1))
    one = queries()
    for day in range(1, 29):
        complaint(tree.branch_a1, at(2025, 3, day), line="motor" if day % 2 else "home")
        complaint(tree.head_b, at(2025, 9, day), line="life", elder=day % 3 == 0)
    many = queries()
    assert empty == one == many
    # The period lock, the aggregate, the upsert, the aggregate dropped, the vanished keys
    # deleted (inside the test's transaction the atomic block adds a savepoint around them).
    statements = [q for q in many if not q.startswith(("SAVEPOINT", "RELEASE"))]
    assert statements == ["SELECT", "CREATE", "INSERT", "DROP", "DELETE"]
    assert ComplaintStatistic.objects.get(period__code="2025", product_line="life").complaints == 28
