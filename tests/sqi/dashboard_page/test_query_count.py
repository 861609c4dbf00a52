"""The dashboard answers in a fixed number of queries, however many units sit below."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insurers import roles
from insurers.models import Level
from tests.factories import InsurerFactory, unit, user_in
from tests.sqi.dashboard_page.conftest import D, export_url, reception, unit_url

pytestmark = pytest.mark.django_db


def head_office_with_branches(n: int, complaint_at):
    insurer = InsurerFactory()
    head = unit(Level.HEAD_OFFICE, insurer=insurer)
    officer = user_in(head, roles.OFFICER, officer=True)
    for i in range(n):
        branch = unit(Level.BRANCH, insurer=insurer, parent=head, name=f"分公司{i}")
        sub = unit(Level.SUB_BRANCH, insurer=insurer, parent=branch, name=f"中支{i}")
        branch_officer = user_in(branch, roles.OFFICER, officer=True)
        complaint_at(branch, D(2026, 2, 2 + i))
        complaint_at(sub, D(2026, 1, 2 + i), accept=False)
        reception(branch_officer, branch, D(2026, 2, 10), met=i + 1, open_=1)
    head.refresh_from_db()
    return head, officer


def group_with_head_offices(n: int, complaint_at):
    group = unit(Level.GROUP, name=f"集团{n}")
    chief = user_in(group, roles.OFFICER, officer=True)
    for _i in range(n):
        insurer = InsurerFactory(group=group)
        head = unit(Level.HEAD_OFFICE, insurer=insurer, parent=group)
        branch = unit(Level.BRANCH, insurer=insurer, parent=head)
        user_in(head, roles.OFFICER, officer=True)
        complaint_at(branch, D(2026, 2, 3))
    group.refresh_from_db()
    return group, chief


def queries(client, user, url) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("layout", [head_office_with_branches, group_with_head_offices])
def test_page_queries_do_not_grow_with_the_child_units(client, clock, complaint_at, layout):
    small, small_user = layout(2, complaint_at)
    large, large_user = layout(6, complaint_at)
    few = queries(client, small_user, unit_url(small))
    many = queries(client, large_user, unit_url(large))
    assert len(client.get(unit_url(large)).context["children"]) == 6
    assert few == many, (few, many)
    assert many <= 40


def test_export_queries_do_not_grow_with_the_child_units(client, clock, complaint_at):
    small, small_user = head_office_with_branches(2, complaint_at)
    large, large_user = head_office_with_branches(6, complaint_at)
    few = queries(client, small_user, export_url(small, format="xlsx"))
    many = queries(client, large_user, export_url(large, format="xlsx"))
    assert few == many, (few, many)
