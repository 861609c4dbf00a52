"""The summary tables always equal the live aggregate.

After every kind of change made through the product (intake, the file import, each workflow
step, escalation and the mediation's outcome), two things are checked:

- the rows the services kept up incrementally are exactly the rows a full rebuild writes;
- the dashboard read from the summaries is exactly the dashboard read live, for every unit
  level, with filters, whole periods and ranges that cut months.
"""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services as case_services
from complaints import importing, services, summaries
from complaints import tasks as complaint_tasks
from complaints.models import ComplaintSummaryState
from insurers import services as insurer_services
from insurers.models import Level
from sqi.dashboard import DashboardFilters, dashboard
from tests.complaints.conftest import id_number
from tests.factories import unit

from .conftest import D

TODAY = D(2026, 4, 15)
RANGES = [
    DashboardFilters(D(2026, 1, 1), D(2026, 3, 31)),  # a quarter
    DashboardFilters(D(2026, 4, 1), D(2026, 4, 30)),  # the running month
    DashboardFilters(D(2026, 1, 10), D(2026, 2, 20)),  # a custom range cutting two months
    DashboardFilters(D(2026, 1, 1), D(2026, 12, 31), product_line="motor"),
    DashboardFilters(D(2026, 1, 1), D(2026, 6, 30), channel="online"),
]


def incremental_equals_rebuild():
    # What intake leaves to the batched task (complaints.tasks.complaints_received), which
    # the relay runs within a second; the changes made meanwhile must not count twice.
    summaries.summaries_catch_up()
    kept = summaries.summary_rows()
    summaries.summaries_rebuild()
    assert summaries.summary_rows() == kept


def same_figures(tree, today=TODAY):
    units = [tree.group, tree.head_a, tree.branch_a1, tree.sub_a1a, tree.branch_a2, tree.head_c]
    assert summaries.summaries_trusted()
    for unit_ in units:
        for filters in RANGES:
            fast = dashboard(unit=unit_, filters=filters, today=today)
            live = dashboard(unit=unit_, filters=filters, today=today, use_summaries=False)
            assert fast == live, (unit_, filters)
    only_a = DashboardFilters(D(2026, 1, 1), D(2026, 3, 31), insurer_id=tree.insurer_a.pk)
    assert dashboard(unit=tree.group, filters=only_a, today=today) == dashboard(
        unit=tree.group, filters=only_a, today=today, use_summaries=False
    )


def check(tree):
    incremental_equals_rebuild()
    same_figures(tree)


@pytest.fixture
def built(tree, stories):
    """Summaries built (empty) before anything happens, so that from here on the services
    keep them."""
    summaries.summaries_rebuild()
    return stories


def test_no_summaries_until_the_first_rebuild(tree):
    assert not summaries.summaries_trusted()
    assert summaries.summary_rows() == {}
    summaries.summaries_rebuild()
    assert summaries.summaries_trusted()
    assert ComplaintSummaryState.objects.count() == 1


def test_every_workflow_step_keeps_the_summaries_equal(built, tree, people):
    s, admin = built, built.admin
    s.at(D(2026, 1, 5))
    c = s.complaint(D(2026, 1, 5), accept=False, **{"complainant_id_number": id_number(
        born=dt.date(1950, 1, 1))})  # fmt: skip
    check(tree)
    s.at(D(2026, 1, 6))
    c = services.complaint_accept(complaint=c, by=admin)
    c = services.complaint_investigate(complaint=c, by=admin)
    check(tree)
    s.at(D(2026, 1, 8))
    services.complaint_pause(complaint=c, by=admin, kind="appraisal", reason="鉴定")
    check(tree)
    s.at(D(2026, 1, 18))
    c = services.complaint_resume(complaint=c, by=admin)
    services.complaint_extend(complaint=c, by=admin, reason="复杂")
    c.refresh_from_db()
    check(tree)
    s.at(D(2026, 2, 12))
    c = services.complaint_decide(complaint=c, by=admin, decision="not_upheld", reply="答复")
    check(tree)
    s.at(D(2026, 2, 14))
    c = services.complaint_close(complaint=c, by=admin, satisfaction="dissatisfied")
    check(tree)
    s.at(D(2026, 2, 20))
    c = services.complaint_request_review(complaint=c, by=admin, reason="不服")
    check(tree)  # under review: its review deadline (03-07) is open
    s.at(D(2026, 3, 20))
    c = services.complaint_decide(complaint=c, by=admin, decision="upheld", reply="核查")
    check(tree)  # the review was decided late
    # A second extension, approved one level up, then a late decision.
    d = s.complaint(D(2026, 1, 9), extend=2, extend_on=D(2026, 1, 15))
    check(tree)
    s.at(D(2026, 3, 20))
    services.complaint_decide(complaint=d, by=admin, decision="partly_upheld", reply="答复")
    check(tree)
    # Declined, and received only.
    s.complaint(D(2026, 2, 2), decline=True, unit=tree.branch_a2)
    s.complaint(D(2026, 4, 2), accept=False, unit=tree.head_c, channel="online")
    check(tree)


def test_escalation_and_mediation_keep_the_summaries_equal(built, tree):
    s = built
    a = s.complaint(D(2026, 1, 5), unit=tree.sub_a1a)
    b = s.complaint(D(2026, 1, 6), decide=D(2026, 1, 10), product_line="home")
    check(tree)
    case_a = s.escalate(a, D(2026, 1, 12))
    s.escalate(b, D(2026, 1, 20), fail=D(2026, 2, 20))
    check(tree)
    case_a = case_services.case_accept(case=case_a, by=s.mediator)
    case_a = case_services.case_start(case=case_a, by=s.mediator)
    s.at(D(2026, 2, 1))
    case_services.case_settle(
        case=case_a, by=s.mediator, amount=Decimal(5), terms="和解", signed_on=D(2026, 2, 1)
    )
    check(tree)
    c = s.complaint(D(2026, 3, 1), unit=tree.head_a)
    s.at(D(2026, 3, 2))
    case_c = case_services.case_open_from_complaint(complaint=c, organization=s.org, by=s.admin)
    case_services.case_refuse(case=case_c, by=s.mediator, reason="不属受理范围")
    check(tree)


def test_the_file_import_keeps_the_summaries_equal(built, tree, people):
    built.at(D(2026, 3, 2))
    header = [column.header for column in importing.COLUMNS]
    rows = []
    for n, unit_name in enumerate([tree.branch_a1.name, tree.sub_a1a.name, tree.branch_a1.name]):
        values = {
            "insurer": tree.insurer_a.credit_code,
            "org_unit": unit_name,
            "product_line": "车险",
            "category": "理赔纠纷",
            "subcategory": "理赔时效",
            "channel": "客服热线",
            "amount_in_dispute": "100",
            "narrative": f"导入的投诉{n}。",
            "complainant_name": "王五",
            "complainant_phone": f"1370000{n:04d}",
            "complainant_id_number": id_number(),
            "received_at": f"2026-02-0{n + 1} 10:30",
        }
        rows.append([values[column.key] for column in importing.COLUMNS])
    out = io.StringIO()
    import csv

    csv.writer(out).writerows([header, *rows])
    result = importing.complaints_import(
        by=people.head_staff, file=out.getvalue().encode(), file_name="import.csv"
    )
    assert not result.errors, result.errors
    check(tree)
    assert (
        dashboard(unit=tree.branch_a1, filters=RANGES[0], today=TODAY)["current"]["received"] == 3
    )


def test_a_rollback_takes_the_summary_change_back(built, tree):
    c = built.complaint(D(2026, 1, 5), accept=False)
    before = summaries.summary_rows()
    with pytest.raises(RuntimeError), services.transaction.atomic():
        services.complaint_accept(complaint=c, by=built.admin)
        raise RuntimeError
    assert summaries.summary_rows() == before


def test_moving_a_unit_distrusts_the_summaries_until_rebuilt(built, tree, people):
    built.complaint(D(2026, 1, 5), unit=tree.sub_a1a, decide=D(2026, 1, 8))
    built.at(D(2026, 4, 15))
    # Adding units (treebeard may renumber siblings' paths) keeps them trusted.
    unit(Level.BRANCH, insurer=tree.insurer_a, parent=tree.head_a, name="0号分公司")
    assert summaries.summaries_trusted()
    insurer_services.org_unit_move(unit=tree.sub_a1a, parent=tree.branch_a2)
    assert not summaries.summaries_trusted()
    tree.branch_a2.refresh_from_db()
    live = dashboard(unit=tree.branch_a2, filters=RANGES[0], today=TODAY)
    assert live["current"]["received"] == 1  # read live: right after the move
    complaint_tasks.rebuild_dashboard_summaries.apply()  # in process, whatever the broker
    assert summaries.summaries_trusted()
    same_figures(tree)


def test_the_summaries_cut_the_work_of_a_large_scope(built, tree):
    """With summaries, a whole-month dashboard reads the summary rows, not the complaints:
    its period figures do not touch the complaints table at all."""
    built.complaint(D(2026, 1, 5), decide=D(2026, 1, 8))
    built.at(D(2026, 4, 15))
    with CaptureQueriesContext(connection) as ctx:
        dashboard(unit=tree.group, filters=RANGES[0], today=TODAY)
    complaint_reads = [
        q["sql"] for q in ctx.captured_queries if '"complaints_complaint"' in q["sql"]
    ]
    # open now, open per child, missed deadlines of the running month (3 queries): all
    # restricted to open complaints or a few days' deadlines.
    assert len(complaint_reads) <= 6, complaint_reads


def test_summary_reads_need_no_more_queries_with_more_children(built, tree, stories, people):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            dashboard(unit=tree.head_c, filters=RANGES[0], today=TODAY)
        return len(ctx)

    stories.complaint(D(2026, 1, 5), unit=tree.branch_c1, decide=D(2026, 1, 9))
    few = count()
    for _ in range(4):
        branch = unit(Level.BRANCH, insurer=tree.insurer_c, parent=tree.head_c)
        stories.complaint(D(2026, 1, 5), unit=branch, decide=D(2026, 1, 9))
    tree.head_c.refresh_from_db()
    assert count() == few


def test_an_admin_correction_keeps_the_summaries_equal(built, tree, people):
    from tests.complaints.test_admin import _post_data, change_url, client_for

    c = built.complaint(D(2026, 1, 5), decide=D(2026, 1, 9))
    built.at(D(2026, 1, 10))
    client = client_for(people.staff)
    page = client.get(change_url(c))
    data = _post_data(page, product_line="home", category="sales", subcategory="mis_selling")
    assert client.post(change_url(c), data).status_code == 302
    c.refresh_from_db()
    assert (c.product_line, c.category) == ("home", "sales")
    check(tree)


# ---- intake's contribution, added after the request -------------------------------------------


def test_intake_owes_its_contribution_until_the_catch_up_adds_it_once(built, tree):
    s = built
    c = s.complaint(D(2026, 1, 5), accept=False)
    c.refresh_from_db()
    assert c.summary_pending and summaries.summary_rows() == {}
    assert summaries.summaries_catch_up([c.pk]) == 1
    assert summaries.summaries_catch_up([c.pk]) == 0  # once, however often it runs
    assert summaries.summaries_catch_up() == 0
    c.refresh_from_db()
    assert not c.summary_pending
    check(tree)


def test_a_change_before_the_catch_up_is_counted_once(built, tree):
    s, admin = built, built.admin
    c = s.complaint(D(2026, 1, 5), accept=False)
    services.complaint_accept(complaint=c, by=admin)
    assert summaries.summary_rows() == {}  # a pending complaint's changes wait for it
    kept_before = summaries.summaries_catch_up()
    assert kept_before == 1
    check(tree)  # the catch-up added the complaint as it is now: accepted, counted once


def test_an_object_loaded_before_the_catch_up_does_not_bring_the_flag_back(built, tree):
    s, admin = built, built.admin
    c = s.complaint(D(2026, 1, 5), accept=False)
    stale = type(c).objects.get(pk=c.pk)
    assert stale.summary_pending
    summaries.summaries_catch_up()
    services.complaint_accept(complaint=stale, by=admin)  # saves the stale object
    stale.refresh_from_db()
    assert not stale.summary_pending  # so this change reached the summary tables
    check(tree)


def test_a_rebuild_counts_the_pending_complaints_and_clears_them(built, tree):
    s = built
    c = s.complaint(D(2026, 1, 5), accept=False)
    summaries.summaries_rebuild()
    c.refresh_from_db()
    assert not c.summary_pending
    assert summaries.summaries_catch_up() == 0  # nothing to add twice
    check(tree)


def test_saving_a_partly_loaded_complaint_writes_only_what_was_loaded(built, tree):
    s = built
    c = s.complaint(D(2026, 1, 5), accept=False)
    partial = type(c).objects.only("id", "narrative").get(pk=c.pk)
    partial.narrative = "补充说明"
    partial.save()
    c.refresh_from_db()
    assert c.narrative == "补充说明" and c.summary_pending  # the flag untouched
