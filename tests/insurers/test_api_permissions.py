"""The permission matrix of the insurers API: roles × (own unit, child unit, sibling unit,
other insurer) × (read, write). Outside the scope is 404; inside it without the right is 403."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

OK, FORBIDDEN, MISSING = 200, 403, 404

# Units and everything hanging off them, seen from a branch (own = branch A1).
UNIT_READ = {
    "staff": {"own": OK, "child": OK, "sibling": MISSING, "other_insurer": MISSING},
    "officer": {"own": OK, "child": OK, "sibling": MISSING, "other_insurer": MISSING},
    # Mediators have no business with the org tree: the endpoint itself is closed to them.
    "mediator": dict.fromkeys(("own", "child", "sibling", "other_insurer"), FORBIDDEN),
    "index_admin": dict.fromkeys(("own", "child", "sibling", "other_insurer"), OK),
    "superuser": dict.fromkeys(("own", "child", "sibling", "other_insurer"), OK),
}
UNIT_WRITE = {
    "staff": {"own": FORBIDDEN, "child": FORBIDDEN, "sibling": MISSING, "other_insurer": MISSING},
    "officer": {
        "own": FORBIDDEN,
        "child": FORBIDDEN,
        "sibling": MISSING,
        "other_insurer": MISSING,
    },
    "mediator": dict.fromkeys(("own", "child", "sibling", "other_insurer"), FORBIDDEN),
    "index_admin": dict.fromkeys(("own", "child", "sibling", "other_insurer"), OK),
    "superuser": dict.fromkeys(("own", "child", "sibling", "other_insurer"), OK),
}
# Reception days: officers write their own and only their own.
DAY_WRITE = {
    **UNIT_WRITE,
    "officer": {"own": OK, "child": FORBIDDEN, "sibling": MISSING, "other_insurer": MISSING},
}
INSURER_READ = {
    "staff": {"own": OK, "sibling": MISSING, "other_insurer": MISSING},
    "officer": {"own": OK, "sibling": MISSING, "other_insurer": MISSING},
    "mediator": dict.fromkeys(("own", "sibling", "other_insurer"), FORBIDDEN),
    "index_admin": dict.fromkeys(("own", "sibling", "other_insurer"), OK),
    "superuser": dict.fromkeys(("own", "sibling", "other_insurer"), OK),
}
INSURER_WRITE = {
    "staff": {"own": FORBIDDEN, "sibling": MISSING, "other_insurer": MISSING},
    "officer": {"own": FORBIDDEN, "sibling": MISSING, "other_insurer": MISSING},
    "mediator": dict.fromkeys(("own", "sibling", "other_insurer"), FORBIDDEN),
    "index_admin": dict.fromkeys(("own", "sibling", "other_insurer"), OK),
    "superuser": dict.fromkeys(("own", "sibling", "other_insurer"), OK),
}


def cells(matrix):
    return [(role, target, code) for role, row in matrix.items() for target, code in row.items()]


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(("role", "target", "expected"), cells(UNIT_READ))
def test_org_unit_read(world, role, target, expected):
    unit = world.units[target]
    response = client_for(world.actors[role]).get(f"/api/v1/org-units/{unit.pk}/")
    assert response.status_code == expected
    if expected == OK:
        assert response.json()["name"] == unit.name


@pytest.mark.parametrize(("role", "target", "expected"), cells(UNIT_WRITE))
def test_org_unit_write(world, role, target, expected):
    unit = world.units[target]
    response = client_for(world.actors[role]).patch(
        f"/api/v1/org-units/{unit.pk}/", {"name": "改名"}, format="json"
    )
    assert response.status_code == expected
    unit.refresh_from_db()
    assert (unit.name == "改名") == (expected == OK)


@pytest.mark.parametrize(("role", "target", "expected"), cells(UNIT_READ))
def test_service_officer_read(world, role, target, expected):
    officer = world.officers[target]
    response = client_for(world.actors[role]).get(f"/api/v1/service-officers/{officer.pk}/")
    assert response.status_code == expected


@pytest.mark.parametrize(("role", "target", "expected"), cells(UNIT_WRITE))
def test_service_officer_write(world, role, target, expected):
    officer = world.officers[target]
    response = client_for(world.actors[role]).patch(
        f"/api/v1/service-officers/{officer.pk}/", {"ended": "2025-12-31"}, format="json"
    )
    assert response.status_code == expected
    officer.refresh_from_db()
    assert (officer.ended is not None) == (expected == OK)


@pytest.mark.parametrize(("role", "target", "expected"), cells(UNIT_READ))
def test_reception_day_read(world, role, target, expected):
    day = world.days[target]
    response = client_for(world.actors[role]).get(f"/api/v1/reception-days/{day.pk}/")
    assert response.status_code == expected


@pytest.mark.parametrize(("role", "target", "expected"), cells(DAY_WRITE))
def test_reception_day_write(world, role, target, expected):
    day = world.days[target]
    response = client_for(world.actors[role]).patch(
        f"/api/v1/reception-days/{day.pk}/", {"consumers_met": 99}, format="json"
    )
    assert response.status_code == expected
    day.refresh_from_db()
    assert (day.consumers_met == 99) == (expected == OK)


@pytest.mark.parametrize(("role", "target", "expected"), cells(INSURER_READ))
def test_insurer_read(world, role, target, expected):
    insurer = world.insurers[target]
    response = client_for(world.actors[role]).get(f"/api/v1/insurers/{insurer.pk}/")
    assert response.status_code == expected


@pytest.mark.parametrize(("role", "target", "expected"), cells(INSURER_WRITE))
def test_insurer_write(world, role, target, expected):
    insurer = world.insurers[target]
    response = client_for(world.actors[role]).patch(
        f"/api/v1/insurers/{insurer.pk}/", {"short_name": "新简称"}, format="json"
    )
    assert response.status_code == expected
    insurer.refresh_from_db()
    assert (insurer.short_name == "新简称") == (expected == OK)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("staff", 403), ("officer", 403), ("mediator", 403), ("index_admin", 201), ("superuser", 201)],
)
def test_create_is_for_index_administrators(world, role, expected):
    response = client_for(world.actors[role]).post(
        "/api/v1/org-units/",
        {
            "name": "新分公司",
            "level": "branch",
            "insurer": world.tree.insurer_a.pk,
            "parent": world.tree.head_a.pk,
        },
        format="json",
    )
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("role", "count"),
    [("staff", 2), ("officer", 2), ("index_admin", 8), ("superuser", 8)],
)
def test_lists_hold_only_the_scope(world, role, count):
    response = client_for(world.actors[role]).get("/api/v1/org-units/")
    assert response.status_code == 200
    assert response.json()["count"] == count


def test_anonymous_gets_401(world):
    assert APIClient().get("/api/v1/org-units/").status_code in (401, 403)
    assert APIClient().get(f"/api/v1/insurers/{world.tree.insurer_a.pk}/").status_code in (
        401,
        403,
    )


def test_officer_logs_own_reception_day_only(world):
    client = client_for(world.actors["officer"])
    payload = {"date": "2025-07-01", "place": "社区", "consumers_met": 8}
    own = client.post(
        "/api/v1/reception-days/", {**payload, "officer": world.officers["own"].pk}, format="json"
    )
    assert own.status_code == 201
    child = client.post(
        "/api/v1/reception-days/", {**payload, "officer": world.officers["child"].pk}, format="json"
    )
    assert child.status_code == 400
    assert "officer" in child.json()
