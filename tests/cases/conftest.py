import pytest

from cases.models import MediationOrganization, Mediator
from insurers import roles
from tests.complaints.conftest import clock, intake, make_complaint, people  # noqa: F401
from tests.factories import UserFactory


@pytest.fixture
def orgs(db):
    return {
        "sh": MediationOrganization.objects.create(
            name="示例上海银行业保险业纠纷调解中心", region="310000"
        ),
        "bj": MediationOrganization.objects.create(
            name="示例北京银行业保险业纠纷调解中心", region="110000"
        ),
    }


@pytest.fixture
def mediators(orgs):
    made = {}
    for key, org in orgs.items():
        user = UserFactory(roles=[roles.MEDIATOR])
        Mediator.objects.create(user=user, organization=org)
        made[key] = user
    return made


__all__ = ["intake"]
