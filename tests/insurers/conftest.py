import datetime

import pytest

from insurers import roles, services
from tests.factories import UserFactory, user_in

DAY = datetime.date(2025, 6, 1)


class World:
    """The fixture tree, an actor of every role, and an officer with a reception day at each
    of the four targets the permission matrix looks at."""

    TARGETS = ("own", "child", "sibling", "other_insurer")

    def __init__(self, tree):
        self.tree = tree
        self.units = {
            "own": tree.branch_a1,
            "child": tree.sub_a1a,
            "sibling": tree.branch_a2,
            "other_insurer": tree.branch_c1,
        }
        self.actors = {
            "staff": user_in(tree.branch_a1, roles.STAFF),
            "mediator": UserFactory(roles=[roles.MEDIATOR]),
            "index_admin": UserFactory(roles=[roles.INDEX_ADMIN]),
            "superuser": UserFactory(is_superuser=True),
        }
        self.officers = {}
        self.days = {}
        for target, unit in self.units.items():
            if target == "own":
                user = user_in(unit, roles.OFFICER, officer=True)
                self.actors["officer"] = user
                officer = user.officer_appointments.get()
            else:
                officer = services.service_officer_appoint(
                    user=UserFactory(roles=[roles.OFFICER]), org_unit=unit, appointed=DAY
                )
            self.officers[target] = officer
            self.days[target] = services.reception_day_log(
                officer=officer, date=DAY, place=f"{unit.name} 营业厅", consumers_met=5
            )
        self.insurers = {
            "own": tree.insurer_a,
            "sibling": tree.insurer_b,  # same group, another insurer
            "other_insurer": tree.insurer_c,
        }


@pytest.fixture
def world(tree):
    return World(tree)
