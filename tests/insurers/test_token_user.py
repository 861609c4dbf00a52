"""API tokens: the user, permissions, roles and units read in one statement
(``insurers.selectors.token_with_user``) equal what Django and the plain selectors answer, and
a change applies to the very next request."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from complaints import services as complaint_services
from insurers import roles, services
from insurers.models import ServiceOfficer, UnitMembership
from insurers.roles import role_names
from insurers.selectors import token_with_user, user_root_paths
from tests.complaints.conftest import intake
from tests.factories import Tree, UserFactory, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    roles.sync_role_groups()
    return Tree()


def plain(user_id: int):
    """The same user read the ordinary way, every answer computed by Django and the
    selectors themselves."""
    user = get_user_model().objects.get(pk=user_id)
    return {
        "fields": {f.attname: getattr(user, f.attname) for f in user._meta.concrete_fields},
        "perms": user.get_all_permissions(),
        "roles": role_names(user),
        "roots": user_root_paths(user),
    }


def primed(key: str):
    token = token_with_user(key)
    user = token.user
    with CaptureQueriesContext(connection) as queries:
        answers = {
            "fields": {f.attname: getattr(user, f.attname) for f in user._meta.concrete_fields},
            "perms": user.get_all_permissions(),
            "roles": role_names(user),
            "roots": user_root_paths(user),
        }
    assert not queries.captured_queries, "everything was read with the token"
    assert token.key == key and token.user_id == user.pk
    assert token.created == Token.objects.get(key=key).created
    return answers


def test_every_kind_of_user_reads_the_same_as_the_plain_way(tree):
    extra = Permission.objects.get(codename="view_complaint", content_type__app_label="complaints")
    people = [
        UserFactory(),  # no role, no unit
        user_in(tree.head_a, roles.STAFF),
        user_in(tree.branch_a1, roles.OFFICER, officer=True),
        user_in(tree.group, roles.STAFF, roles.MEDIATOR),
        UserFactory(roles=[roles.INDEX_ADMIN]),
    ]
    # Two units, one inside the other (only the outer is a root), plus a second tree.
    nested = user_in(tree.branch_a1, roles.STAFF)
    services.unit_membership_add(user=nested, org_unit=tree.head_a)
    services.unit_membership_add(user=nested, org_unit=tree.head_c)
    people.append(nested)
    # A permission of the user's own, not through a role.
    own = UserFactory()
    own.user_permissions.add(extra)
    people.append(own)
    # An officer whose appointment ended sees nothing through it.
    former = user_in(tree.branch_a2, roles.OFFICER, officer=True)
    services.service_officer_end(
        officer=ServiceOfficer.objects.get(user=former), ended=datetime.date(2025, 1, 1)
    )
    people.append(former)
    for user in people:
        key = Token.objects.create(user=user).key
        assert primed(key) == plain(user.pk), user.username
    assert primed(Token.objects.get(user=nested).key)["roots"] == tuple(
        sorted([tree.head_a.path, tree.head_c.path])
    )
    assert "complaints.view_complaint" in primed(Token.objects.get(user=own).key)["perms"]


def test_a_superuser_keeps_every_permission(tree):
    boss = UserFactory(is_superuser=True)
    token = token_with_user(Token.objects.create(user=boss).key)
    assert token.user.has_perm("complaints.add_complaint")
    assert token.user.get_all_permissions() == plain(boss.pk)["perms"]
    assert len(token.user.get_all_permissions()) == Permission.objects.count()


def test_an_unknown_token_is_none(tree):
    assert token_with_user("0" * 40) is None


def test_one_statement_authenticates_and_the_answers_match_drf(tree):
    staff = user_in(tree.head_a, roles.STAFF)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/complaints/").status_code == 200
    token_reads = [q for q in queries.captured_queries if "authtoken_token" in q["sql"]]
    assert len(token_reads) == 1
    assert not any('"auth_permission"' in q["sql"] for q in queries.captured_queries[1:])
    assert not any('"auth_group"' in q["sql"] for q in queries.captured_queries[1:])

    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token " + "f" * 40)
    response = bad.get("/api/v1/complaints/")
    assert response.status_code in (401, 403)  # 403: the session scheme comes first
    assert response.json()["detail"] in ("Invalid token.", "认证令牌无效。")
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    response = api.get("/api/v1/complaints/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"] in ("User inactive or deleted.", "用户未激活或者已删除。")


def test_a_change_applies_to_the_next_request(tree):
    staff = user_in(tree.head_a, roles.STAFF)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    complaint = complaint_services.complaint_create(
        by=staff, insurer=tree.insurer_a, org_unit=tree.branch_a1, **intake()
    )
    url = f"/api/v1/complaints/{complaint.reference}/"
    assert api.get(url).status_code == 200
    UnitMembership.objects.filter(user=staff).delete()
    assert api.get(url).status_code == 404  # out of scope at once
    services.unit_membership_add(user=staff, org_unit=tree.head_a)
    assert api.get(url).status_code == 200
    staff.groups.clear()
    assert api.get(url).status_code == 403  # no role, no complaints
