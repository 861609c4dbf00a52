"""Admin list pages cost the same number of queries whatever the number of rows."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from insurers import roles
from tests.factories import UserFactory
from tests.insurers.test_api_endpoints import _grow

pytestmark = pytest.mark.django_db


URLS = [
    "/admin/insurers/insurer/",
    "/admin/insurers/orgunit/",
    "/admin/insurers/orgunit/?q=示例",
    "/admin/insurers/serviceofficer/",
    "/admin/insurers/receptionday/",
]
CASES = [
    *((roles.INDEX_ADMIN, url) for url in [*URLS, "/admin/insurers/unitmembership/"]),
    *((roles.STAFF, url) for url in URLS),
]


@pytest.mark.parametrize(("role", "url"), CASES)
def test_admin_changelist_queries_are_constant(tree, url, role):
    user = UserFactory(roles=[role])
    if role == roles.STAFF:
        from insurers.services import unit_membership_add

        unit_membership_add(user=user, org_unit=tree.group)
    client = Client()
    client.force_login(user)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    _grow(tree, 2)
    small = queries()
    _grow(tree, 6)
    assert queries() == small
