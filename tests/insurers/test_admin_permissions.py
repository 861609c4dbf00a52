"""The same permission matrix through the admin: out of scope is 404, read-only is 403 on
save, and bad input shows a field error and saves nothing."""

import pytest
from django.test import Client

from insurers.models import Insurer, OrgUnit, ServiceOfficer
from tests.factories import UserFactory, credit_code

pytestmark = pytest.mark.django_db

OK, FORBIDDEN, MISSING, SAVED = 200, 403, 404, 302
TARGETS = ("own", "child", "sibling", "other_insurer")

READ = {
    "staff": {"own": OK, "child": OK, "sibling": MISSING, "other_insurer": MISSING},
    "officer": {"own": OK, "child": OK, "sibling": MISSING, "other_insurer": MISSING},
    "mediator": dict.fromkeys(TARGETS, MISSING),
    "index_admin": dict.fromkeys(TARGETS, OK),
    "superuser": dict.fromkeys(TARGETS, OK),
}
WRITE = {
    "staff": {"own": FORBIDDEN, "child": FORBIDDEN, "sibling": MISSING, "other_insurer": MISSING},
    "officer": {
        "own": FORBIDDEN,
        "child": FORBIDDEN,
        "sibling": MISSING,
        "other_insurer": MISSING,
    },
    "mediator": dict.fromkeys(TARGETS, MISSING),
    "index_admin": dict.fromkeys(TARGETS, SAVED),
    "superuser": dict.fromkeys(TARGETS, SAVED),
}
DAY_WRITE = {
    **WRITE,
    "officer": {"own": SAVED, "child": FORBIDDEN, "sibling": MISSING, "other_insurer": MISSING},
}


def cells(matrix):
    return [(role, target, code) for role, row in matrix.items() for target, code in row.items()]


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def unit_form(unit, **changes):
    parent = OrgUnit.objects.get_parent(unit)
    return {
        "name": unit.name,
        "level": unit.level,
        "insurer": unit.insurer_id or "",
        "region": unit.region,
        "treebeard_position": "sorted-child",
        "treebeard_ref_node": parent.pk if parent else "",
        **changes,
    }


def day_form(day, **changes):
    return {
        "officer": day.officer_id,
        "date": day.date.isoformat(),
        "place": day.place,
        "consumers_met": day.consumers_met,
        "issues_raised": day.issues_raised,
        "follow_ups": day.follow_ups,
        "follow_ups_open": day.follow_ups_open,
        **changes,
    }


@pytest.mark.parametrize(("role", "target", "expected"), cells(READ))
@pytest.mark.parametrize("model", ["orgunit", "serviceofficer", "receptionday"])
def test_admin_change_page(world, model, role, target, expected):
    obj = {
        "orgunit": world.units,
        "serviceofficer": world.officers,
        "receptionday": world.days,
    }[model][target]
    response = client_for(world.actors[role]).get(f"/admin/insurers/{model}/{obj.pk}/change/")
    assert response.status_code == expected
    if expected == OK:
        history = client_for(world.actors[role]).get(f"/admin/insurers/{model}/{obj.pk}/history/")
        assert history.status_code == OK


@pytest.mark.parametrize(("role", "target", "expected"), cells(WRITE))
def test_admin_org_unit_save(world, role, target, expected):
    unit = world.units[target]
    response = client_for(world.actors[role]).post(
        f"/admin/insurers/orgunit/{unit.pk}/change/", unit_form(unit, name="后台改名")
    )
    assert response.status_code == expected
    unit.refresh_from_db()
    assert (unit.name == "后台改名") == (expected == SAVED)


@pytest.mark.parametrize(("role", "target", "expected"), cells(DAY_WRITE))
def test_admin_reception_day_save(world, role, target, expected):
    day = world.days[target]
    response = client_for(world.actors[role]).post(
        f"/admin/insurers/receptionday/{day.pk}/change/", day_form(day, consumers_met=77)
    )
    assert response.status_code == expected
    day.refresh_from_db()
    assert (day.consumers_met == 77) == (expected == SAVED)


@pytest.mark.parametrize(
    ("role", "insurer", "expected"),
    [
        ("staff", "own", OK),
        ("staff", "sibling", MISSING),
        ("staff", "other_insurer", MISSING),
        ("officer", "own", OK),
        ("mediator", "own", MISSING),
        ("index_admin", "other_insurer", OK),
    ],
)
def test_admin_insurer_page(world, role, insurer, expected):
    obj = world.insurers[insurer]
    response = client_for(world.actors[role]).get(f"/admin/insurers/insurer/{obj.pk}/change/")
    assert response.status_code == expected


def test_changelists_hold_only_the_scope(world):
    staff = client_for(world.actors["staff"])
    page = staff.get("/admin/insurers/orgunit/").content.decode()
    assert world.tree.branch_a1.name in page
    assert world.tree.branch_a2.name not in page
    assert world.tree.head_a.name not in page  # above the user's own unit
    search = staff.get("/admin/insurers/orgunit/", {"q": world.tree.sub_a1a.name}).content
    assert world.tree.sub_a1a.name in search.decode()
    officers = staff.get("/admin/insurers/serviceofficer/").context["cl"].result_count
    assert officers == 2
    insurers = staff.get("/admin/insurers/insurer/").context["cl"].result_count
    assert insurers == 1


def test_tree_children_view_is_scoped(world):
    staff = client_for(world.actors["staff"])
    inside = staff.get(f"/admin/insurers/orgunit/children/{world.tree.branch_a1.pk}/")
    assert inside.status_code == OK
    assert world.tree.sub_a1a.name in inside.json()["result_html"]
    outside = staff.get(f"/admin/insurers/orgunit/children/{world.tree.head_c.pk}/")
    assert outside.status_code == OK
    assert world.tree.branch_c1.name not in outside.json()["result_html"]


# ---- bad input: a field error, nothing saved ---------------------------------------------


@pytest.fixture
def admin_client_(world):
    return client_for(world.actors["index_admin"])


def test_bad_credit_code_in_admin(admin_client_):
    before = Insurer.objects.count()
    good = credit_code()
    response = admin_client_.post(
        "/admin/insurers/insurer/add/",
        {
            "name_zh": "示例测试财产保险股份有限公司",
            "short_name": "示例测试",
            "licence_type": "property",
            "credit_code": good[:-1] + ("0" if good[-1] != "0" else "1"),
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert "credit_code" in response.context["adminform"].form.errors
    assert Insurer.objects.count() == before


def test_unit_under_wrong_level_in_admin(world, admin_client_):
    before = OrgUnit.objects.count()
    response = admin_client_.post(
        "/admin/insurers/orgunit/add/",
        {
            "name": "挂错的分公司",
            "level": "branch",
            "insurer": world.tree.insurer_a.pk,
            "region": "310000",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": world.tree.group.pk,
        },
    )
    assert response.status_code == 200
    assert "treebeard_ref_node" in response.context["adminform"].form.errors
    assert OrgUnit.objects.count() == before


def test_unit_added_in_admin_under_right_parent(world, admin_client_):
    response = admin_client_.post(
        "/admin/insurers/orgunit/add/",
        {
            "name": "示例新分公司",
            "level": "branch",
            "insurer": world.tree.insurer_a.pk,
            "region": "310000",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": world.tree.head_a.pk,
        },
    )
    assert response.status_code == SAVED
    unit = OrgUnit.objects.get(name="示例新分公司")
    assert OrgUnit.objects.get_parent(unit) == world.tree.head_a


def test_second_active_officer_in_admin(world, admin_client_):
    before = ServiceOfficer.objects.count()
    response = admin_client_.post(
        "/admin/insurers/serviceofficer/add/",
        {
            "user": UserFactory().pk,
            "org_unit": world.units["own"].pk,
            "title": "officer",
            "appointed": "2025-01-01",
        },
    )
    assert response.status_code == 200
    assert "org_unit" in response.context["adminform"].form.errors
    assert ServiceOfficer.objects.count() == before


def test_drag_and_drop_move_obeys_the_tree_rules(world, admin_client_):
    tree = world.tree
    refused = admin_client_.post(
        "/admin/insurers/orgunit/move/",
        {"node": tree.branch_a1.pk, "target": tree.head_c.pk, "relation": "child"},
    )
    assert refused.status_code == 400
    assert OrgUnit.objects.get_parent(OrgUnit.objects.get(pk=tree.branch_a1.pk)) == tree.head_a
    moved = admin_client_.post(
        "/admin/insurers/orgunit/move/",
        {"node": tree.sub_a1a.pk, "target": tree.branch_a2.pk, "relation": "child"},
    )
    assert moved.status_code == OK
    assert OrgUnit.objects.get_parent(OrgUnit.objects.get(pk=tree.sub_a1a.pk)) == tree.branch_a2


def test_drag_and_drop_move_is_for_writers_only(world):
    staff = client_for(world.actors["staff"])
    response = staff.post(
        "/admin/insurers/orgunit/move/",
        {"node": world.tree.sub_a1a.pk, "target": world.tree.branch_a1.pk, "relation": "child"},
    )
    assert response.status_code == FORBIDDEN


def test_history_versions_are_scoped_and_reverting_needs_the_right(world):
    unit = world.units["sibling"]
    version = unit.history.first()
    staff = client_for(world.actors["staff"])
    url = f"/admin/insurers/orgunit/{unit.pk}/history/{version.history_id}/"
    assert staff.get(url).status_code == MISSING
    own = world.units["own"]
    own_version = own.history.first()
    own_url = f"/admin/insurers/orgunit/{own.pk}/history/{own_version.history_id}/"
    assert staff.post(own_url, unit_form(own, name="回滚")).status_code == FORBIDDEN
    own.refresh_from_db()
    assert own.name != "回滚"
