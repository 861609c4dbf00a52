"""Fixtures for the dashboard page and the reception-day pages.

The clock is frozen at 2026-03-10 09:00 (Asia/Shanghai), so the dashboard's default period is
February 2026 and January 2026 the one it is compared with. Complaints are made through the
real services on the day they are received.
"""

import datetime as dt

import pytest
from django.urls import reverse

from complaints import services as complaint_services
from insurers import roles
from insurers import services as insurer_services
from tests.complaints.conftest import intake
from tests.factories import UserFactory, user_in

D = dt.date
TZ = dt.timezone(dt.timedelta(hours=8))
TODAY = D(2026, 3, 10)


@pytest.fixture(autouse=True)
def english_pages(client, settings):
    """Pages in English, so that expected texts hold whatever the Chinese catalogue says."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def clock():
    import time_machine

    traveller = time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=TZ), tick=False)
    machine = traveller.start()

    class Clock:
        def move_to(self, day: dt.date, hour: int = 9):
            machine.move_to(dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ))

        def back(self):
            self.move_to(TODAY)

    yield Clock()
    traveller.stop()


class People:
    """Who is who in ``tests.factories.Tree``'s organisation."""

    def __init__(self, tree):
        self.chief = user_in(tree.group, roles.OFFICER, officer=True, username="chief")
        self.head_officer = user_in(tree.head_a, roles.OFFICER, officer=True, username="head-a")
        self.branch_officer = user_in(
            tree.branch_a1, roles.OFFICER, officer=True, username="branch-a1"
        )
        self.sibling_officer = user_in(
            tree.branch_a2, roles.OFFICER, officer=True, username="branch-a2"
        )
        self.staff = user_in(tree.branch_a1, roles.STAFF, username="staff-a1")
        self.index_admin = UserFactory(roles=[roles.INDEX_ADMIN], username="index-admin")
        self.mediator = UserFactory(roles=[roles.MEDIATOR], username="mediator")
        self.nobody = UserFactory(username="nobody")


@pytest.fixture
def people(tree):
    return People(tree)


@pytest.fixture
def complaint_at(clock):
    """``complaint_at(unit, day, accept=True, **intake)``: a complaint received on ``day``."""
    admin = UserFactory(is_superuser=True, username="handler")

    def make(unit, day: dt.date, *, accept: bool = True, **overrides):
        clock.move_to(day)
        c = complaint_services.complaint_create(
            by=admin, insurer=unit.insurer, org_unit=unit, **intake(**overrides)
        )
        if accept:
            c = complaint_services.complaint_accept(complaint=c, by=admin)
        clock.back()
        return c

    return make


def reception(officer_user, unit, day: dt.date, met: int = 3, open_: int = 0, **extra):
    officer = unit.officers.get(user=officer_user, ended__isnull=True)
    fields = {"place": "营业厅", "consumers_met": met, "follow_ups_open": open_}
    if open_:
        fields["follow_ups"] = "回访客户"
    fields.update(extra)
    return insurer_services.reception_day_log(officer=officer, date=day, **fields)


def unit_url(unit, **params) -> str:
    from urllib.parse import urlencode

    url = reverse("sqi:dashboard_unit", args=[unit.pk])
    return url + (f"?{urlencode(params)}" if params else "")


def export_url(unit, **params) -> str:
    from urllib.parse import urlencode

    url = reverse("sqi:dashboard_export", args=[unit.pk])
    return url + (f"?{urlencode(params)}" if params else "")
