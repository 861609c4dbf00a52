"""The insurers API beyond permissions: bad input, the subtree filter, the schema, and the
number of queries a list costs (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from insurers import roles, services
from insurers.models import Insurer, Level, OrgUnit, ServiceOfficer
from tests.factories import InsurerFactory, UserFactory, credit_code, unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(tree):
    client = APIClient()
    client.force_authenticate(UserFactory(roles=[roles.INDEX_ADMIN]))
    return client


def test_bad_credit_code_is_400_naming_the_field(api):
    good = credit_code()
    response = api.post(
        "/api/v1/insurers/",
        {
            "name_zh": "示例新财产保险股份有限公司",
            "short_name": "示例新",
            "licence_type": "property",
            "credit_code": good[:-1] + ("0" if good[-1] != "0" else "1"),
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["credit_code"]
    assert not Insurer.objects.filter(short_name="示例新").exists()


def test_insurer_create_and_read_back(api):
    code = credit_code()
    response = api.post(
        "/api/v1/insurers/",
        {
            "name_zh": "示例新财产保险股份有限公司",
            "short_name": "示例新",
            "licence_type": "property",
            "credit_code": code,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["credit_code"] == code
    duplicate = api.post(
        "/api/v1/insurers/",
        {"name_zh": "另一家", "short_name": "另", "licence_type": "life", "credit_code": code},
        format="json",
    )
    assert duplicate.status_code == 400
    assert "credit_code" in duplicate.json()


def test_unit_under_wrong_parent_is_400_naming_the_field(api, tree):
    before = OrgUnit.objects.count()
    response = api.post(
        "/api/v1/org-units/",
        {
            "name": "错",
            "level": "sub_branch",
            "insurer": tree.insurer_a.pk,
            "parent": tree.head_a.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "parent" in response.json()
    assert OrgUnit.objects.count() == before


def test_unit_create_returns_its_parent(api, tree):
    response = api.post(
        "/api/v1/org-units/",
        {"name": "新支", "level": "sub_branch", "insurer": tree.insurer_a.pk,
         "parent": tree.branch_a2.pk, "region": "310104"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["parent"] == tree.branch_a2.pk
    assert body["depth"] == tree.branch_a2.depth + 1


def test_second_active_officer_is_400_naming_the_field(api, tree):
    services.service_officer_appoint(
        user=UserFactory(), org_unit=tree.branch_a1, appointed="2025-01-01"
    )
    response = api.post(
        "/api/v1/service-officers/",
        {"user": UserFactory().pk, "org_unit": tree.branch_a1.pk, "appointed": "2025-02-01"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["org_unit"]
    assert ServiceOfficer.objects.count() == 1


def test_within_lists_a_subtree(api, tree):
    response = api.get("/api/v1/org-units/", {"within": tree.head_a.pk})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [
        u.pk for u in OrgUnit.objects.filter(path__startswith=tree.head_a.path).order_by("path")
    ]
    parents = {r["id"]: r["parent"] for r in rows}
    assert parents[tree.head_a.pk] == tree.group.pk
    assert parents[tree.sub_a1a.pk] == tree.branch_a1.pk


def test_within_outside_scope_is_404(tree):
    client = APIClient()
    staff = UserFactory(roles=[roles.STAFF])
    services.unit_membership_add(user=staff, org_unit=tree.branch_a1)
    client.force_authenticate(staff)
    assert client.get("/api/v1/org-units/", {"within": tree.head_c.pk}).status_code == 404
    assert client.get("/api/v1/org-units/", {"within": tree.branch_a1.pk}).json()["count"] == 2
    assert client.get("/api/v1/org-units/", {"within": "x"}).status_code == 400


def test_filters(api, tree):
    heads = api.get("/api/v1/org-units/", {"level": "head_office"}).json()
    assert heads["count"] == 3
    life = api.get("/api/v1/insurers/", {"licence_type": "life"}).json()
    assert [r["id"] for r in life["results"]] == [tree.insurer_b.pk]
    assert api.get("/api/v1/insurers/", {"licence_type": "bogus"}).status_code == 400


def test_schema_and_docs_are_served(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for route in ("/api/v1/insurers/", "/api/v1/org-units/", "/api/v1/service-officers/"):
        assert route in text
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def _grow(tree, n):
    """n more insurers, each with a head office, two branches and an officer per branch."""
    for _ in range(n):
        insurer = InsurerFactory()
        head = unit(Level.HEAD_OFFICE, insurer=insurer)
        for _ in range(2):
            branch = unit(Level.BRANCH, insurer=insurer, parent=head)
            services.service_officer_appoint(
                user=UserFactory(), org_unit=branch, appointed="2025-01-01"
            )
            services.reception_day_log(
                officer=branch.officers.get(), date="2025-03-01", place="厅", consumers_met=1
            )


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/insurers/",
        "/api/v1/org-units/",
        "/api/v1/service-officers/",
        "/api/v1/reception-days/",
    ],
)
def test_list_query_count_does_not_grow_with_rows(api, tree, url):
    user = api.handler._force_user

    def queries():
        # A fresh user object, as each real request has: nothing cached from the last call.
        api.force_authenticate(type(user).objects.get(pk=user.pk))
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(url).status_code == 200
        return len(ctx.captured_queries)

    _grow(tree, 2)
    small = queries()
    _grow(tree, 8)
    assert queries() == small
    assert small <= 6


def test_schema_validates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_credit_code_is_optional_but_checked_when_given(api):
    base = {"short_name": "真实示例", "licence_type": "life"}
    a = api.post("/api/v1/insurers/", {**base, "name_zh": "甲"}, format="json")
    b = api.post("/api/v1/insurers/", {**base, "name_zh": "乙", "credit_code": ""}, format="json")
    assert (a.status_code, b.status_code) == (201, 201), (a.json(), b.json())
    assert a.json()["credit_code"] is None and b.json()["credit_code"] is None
    bad = api.post(
        "/api/v1/insurers/", {**base, "name_zh": "丙", "credit_code": "123"}, format="json"
    )
    assert bad.status_code == 400 and "credit_code" in bad.json()


def test_ending_an_appointment_without_a_date_is_400_naming_the_field(api, tree):
    # Found by the API fuzz (tests/security/test_api_fuzz.py): PATCH {} answered a bare
    # list of messages, not the field-named 400 every other endpoint gives.
    officer = services.service_officer_appoint(
        user=UserFactory(), org_unit=tree.branch_a1, appointed="2025-01-01"
    )
    url = f"/api/v1/service-officers/{officer.pk}/"
    for body in ({}, {"ended": None}, {"ended": "2025-13-40"}):
        response = api.patch(url, body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == ["ended"], response.json()
    assert api.patch(url, {"ended": "2025-06-30"}, format="json").json()["ended"] == "2025-06-30"
