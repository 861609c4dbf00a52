"""``visible_units``: the one answer to "which org units may this user see"."""

import datetime

import pytest

from insurers import roles, services
from insurers.models import OrgUnit
from insurers.selectors import insurer_list, visible_units
from tests.factories import UserFactory, user_in

pytestmark = pytest.mark.django_db


def names(qs):
    return {u.name for u in qs}


def test_staff_sees_own_unit_and_descendants(tree):
    user = user_in(tree.branch_a1, roles.STAFF)
    assert set(visible_units(user=user)) == {tree.branch_a1, tree.sub_a1a}
    assert set(insurer_list(user=user)) == {tree.insurer_a}


def test_officer_sees_subtree_of_active_appointment_only(tree):
    user = user_in(tree.head_a, roles.OFFICER, officer=True)
    assert set(visible_units(user=user)) == {
        tree.head_a,
        tree.branch_a1,
        tree.sub_a1a,
        tree.branch_a2,
    }
    officer = user.officer_appointments.get()
    services.service_officer_end(officer=officer, ended=datetime.date(2025, 1, 1))
    user = type(user).objects.get(pk=user.pk)  # a fresh request's user
    assert not visible_units(user=user).exists()


def test_group_chief_sees_every_insurer_of_the_group(tree):
    user = user_in(tree.group, roles.OFFICER, officer=True)
    assert OrgUnit.objects.filter(pk__in=visible_units(user=user)).count() == 6
    assert set(insurer_list(user=user)) == {tree.insurer_a, tree.insurer_b}


def test_several_memberships_union_without_duplicates(tree):
    user = user_in(tree.branch_a1, roles.STAFF)
    services.unit_membership_add(user=user, org_unit=tree.head_a)  # contains branch_a1
    services.unit_membership_add(user=user, org_unit=tree.head_c)
    qs = visible_units(user=user)
    assert qs.count() == len(set(qs)) == 6


@pytest.mark.parametrize("role", [roles.INDEX_ADMIN, None])
def test_market_wide_users_see_everything(tree, role):
    user = UserFactory(roles=[role] if role else [], is_superuser=role is None)
    assert visible_units(user=user).count() == OrgUnit.objects.count()


def test_unplaced_and_anonymous_users_see_nothing(tree):
    from django.contrib.auth.models import AnonymousUser

    assert not visible_units(user=UserFactory(roles=[roles.MEDIATOR])).exists()
    assert not visible_units(user=AnonymousUser()).exists()
    inactive = user_in(tree.head_a, roles.STAFF, is_active=False)
    assert not visible_units(user=inactive).exists()
