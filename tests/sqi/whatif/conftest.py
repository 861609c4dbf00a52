"""A published life-insurer index (the worked example, stored) and an org tree around it.

Insurers L01 and L02 of the worked example get head offices; L01 also a branch. L01 and L02
belong to one group. Users: L01's officer, staff in L01's branch, L02's officer, an index
administrator and a mediator (no unit).
"""

import datetime
from types import SimpleNamespace

import pytest

from insurers.models import Level
from insurers.roles import INDEX_ADMIN, MEDIATOR, OFFICER, STAFF
from sqi import runs
from tests.factories import UserFactory, unit, user_in
from tests.sqi.runs.conftest import example, life_market, periods  # noqa: F401


@pytest.fixture
def published(life_market):  # noqa: F811
    run = runs.index_run_compute(run=runs.index_run_create(period="2025", peer_group="life"))
    assert run.status == "validated", (run.error, run.validation)
    return runs.index_run_publish(run=run)


@pytest.fixture
def org(life_market):  # noqa: F811
    l01, l02 = life_market["L01"], life_market["L02"]
    group = unit(Level.GROUP, name="示例人寿集团")
    for insurer in (l01, l02):
        insurer.group = group
        insurer.save(update_fields=["group"])
    head1 = unit(Level.HEAD_OFFICE, name="L01 总公司", insurer=l01, parent=group)
    branch1 = unit(Level.BRANCH, name="L01 上海分公司", insurer=l01, parent=head1)
    head2 = unit(Level.HEAD_OFFICE, name="L02 总公司", insurer=l02, parent=group)
    for u in (group, head1, branch1, head2):
        u.refresh_from_db()
    return SimpleNamespace(
        l01=l01,
        l02=l02,
        group=group,
        head1=head1,
        branch1=branch1,
        head2=head2,
        officer1=user_in(head1, OFFICER, officer=True),
        staff1=user_in(branch1, STAFF),
        officer2=user_in(head2, OFFICER, officer=True),
        chief=user_in(group, OFFICER, officer=True, username="chief"),
        admin=UserFactory(roles=[INDEX_ADMIN]),
        mediator=UserFactory(roles=[MEDIATOR]),
        today=datetime.date(2026, 3, 15),
    )
