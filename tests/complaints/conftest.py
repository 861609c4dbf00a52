import datetime as dt
import itertools
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from complaints import idnumber, services
from insurers import roles
from insurers import services as insurer_services
from tests.factories import UserFactory, user_in

_seq = itertools.count(1)
TZ = dt.timezone(dt.timedelta(hours=8))


def id_number(born=dt.date(1980, 5, 17)) -> str:
    return idnumber.make("310101", born, next(_seq) % 1000)


def intake(**overrides) -> dict:
    data = {
        "product_line": "motor",
        "category": "claims",
        "subcategory": "claim_delay",
        "channel": "hotline",
        "amount_in_dispute": Decimal("12000.00"),
        "narrative": "车辆出险后理赔迟迟没有结果，已经超过一个月。",
        "complainant_name": "张三",
        "complainant_phone": f"1380000{next(_seq):04d}",
        "complainant_id_number": id_number(),
    }
    data.update(overrides)
    return data


@pytest.fixture
def clock():
    """A frozen clock at 09:00 Shanghai time, movable with clock.move_to(date)."""

    class Clock:
        def __init__(self):
            self.traveller = time_machine.travel(
                dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ), tick=False
            )
            self.machine = self.traveller.start()

        def move_to(self, day: dt.date, hour: int = 9):
            self.machine.move_to(dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ))

        def today(self) -> dt.date:
            return timezone.localdate()

    c = Clock()
    yield c
    c.traveller.stop()


class People:
    def __init__(self, tree):
        self.staff = user_in(tree.branch_a1, roles.STAFF)
        self.sibling_staff = user_in(tree.branch_a2, roles.STAFF)
        self.head_staff = user_in(tree.head_a, roles.STAFF)
        self.branch_officer = user_in(tree.branch_a1, roles.OFFICER, officer=True)
        self.head_officer = user_in(tree.head_a, roles.OFFICER, officer=True)
        self.mediator = UserFactory(roles=[roles.MEDIATOR])
        self.index_admin = UserFactory(roles=[roles.INDEX_ADMIN])


@pytest.fixture
def people(tree):
    return People(tree)


@pytest.fixture
def make_complaint(tree, people):
    def make(by=None, unit=None, **overrides):
        unit = unit or tree.branch_a1
        return services.complaint_create(
            by=by if by is not None else people.staff,
            insurer=unit.insurer,
            org_unit=unit,
            **intake(**overrides),
        )

    return make


__all__ = ["id_number", "insurer_services", "intake"]
