import pytest
from django.contrib.auth.models import Group

from insurers import roles

pytestmark = pytest.mark.django_db


def test_role_groups_exist_with_their_permissions_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ALL_ROLES)
    for role, perms in roles.ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        have = {
            f"{app}.{code}"
            for app, code in group.permissions.values_list("content_type__app_label", "codename")
        }
        assert have == set(perms), role


def test_sync_is_idempotent_and_repairs_drift():
    staff = Group.objects.get(name=roles.STAFF)
    staff.permissions.clear()
    roles.sync_role_groups()
    roles.sync_role_groups()
    assert staff.permissions.count() == len(roles.ROLE_PERMISSIONS[roles.STAFF])
    assert Group.objects.filter(name__in=roles.ALL_ROLES).count() == len(roles.ALL_ROLES)
