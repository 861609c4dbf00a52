"""A small org tree with service officers and complaints received in January and February
2026, for the monthly reports of February 2026. PDFs go to a temporary PRIVATE_MEDIA_ROOT."""

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine

from complaints import services
from insurers import roles
from tests.complaints.conftest import intake
from tests.factories import Tree, UserFactory, user_in

TZ = dt.timezone(dt.timedelta(hours=8))
FEBRUARY = dt.date(2026, 2, 1)
BUILT_ON = dt.date(2026, 3, 1)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Reports are private files: under PRIVATE_MEDIA_ROOT, never under MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private_media"
    yield settings.PRIVATE_MEDIA_ROOT
    assert not (tmp_path / "media").exists(), "a report was written under MEDIA_ROOT"


def receive(by, unit, day: dt.date, *, accept: bool = True):
    with time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=TZ), tick=False):
        complaint = services.complaint_create(
            by=by, insurer=unit.insurer, org_unit=unit, **intake()
        )
        if accept:
            services.complaint_accept(complaint=complaint, by=by)
    return complaint


def build_story(tree: Tree) -> SimpleNamespace:
    """Officers on the group, head office A, branches A1 and A2 and head office C (five
    units); none on sub-branch A1a or head office B. Complaints at A1 and A1a."""
    story = SimpleNamespace(
        tree=tree,
        chief=user_in(tree.group, roles.OFFICER, officer=True),
        officer_a=user_in(tree.head_a, roles.OFFICER, officer=True),
        officer_a1=user_in(tree.branch_a1, roles.OFFICER, officer=True),
        officer_a2=user_in(tree.branch_a2, roles.OFFICER, officer=True),
        officer_c=user_in(tree.head_c, roles.OFFICER, officer=True),
        staff_a1=user_in(tree.branch_a1, roles.STAFF),
        admin=UserFactory(roles=[roles.INDEX_ADMIN]),
        mediator=UserFactory(roles=[roles.MEDIATOR]),
    )
    for day in (dt.date(2026, 2, 3), dt.date(2026, 2, 10), dt.date(2026, 2, 24)):
        receive(story.staff_a1, tree.branch_a1, day)
    receive(story.staff_a1, tree.sub_a1a, dt.date(2026, 2, 12))
    receive(story.staff_a1, tree.branch_a1, dt.date(2026, 1, 20))
    story.with_officer = {tree.group, tree.head_a, tree.branch_a1, tree.branch_a2, tree.head_c}
    return story


@pytest.fixture
def story(tree):
    return build_story(tree)
