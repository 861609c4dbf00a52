import datetime

import pytest
from django.core.exceptions import ValidationError

from insurers import services
from insurers.models import OfficerTitle, ServiceOfficer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
DAY = datetime.date(2025, 3, 1)


def test_title_follows_level(tree):
    chief = services.service_officer_appoint(user=UserFactory(), org_unit=tree.group, appointed=DAY)
    officer = services.service_officer_appoint(
        user=UserFactory(), org_unit=tree.branch_a1, appointed=DAY
    )
    assert chief.title == OfficerTitle.CHIEF
    assert officer.title == OfficerTitle.OFFICER


@pytest.mark.parametrize(
    ("unit_name", "title"), [("group", OfficerTitle.OFFICER), ("head_a", OfficerTitle.CHIEF)]
)
def test_wrong_title_is_a_field_error(tree, unit_name, title):
    with pytest.raises(ValidationError) as exc:
        services.service_officer_appoint(
            user=UserFactory(), org_unit=getattr(tree, unit_name), appointed=DAY, title=title
        )
    assert "title" in exc.value.message_dict
    assert not ServiceOfficer.objects.exists()


def test_one_active_officer_per_unit(tree):
    first = services.service_officer_appoint(
        user=UserFactory(), org_unit=tree.branch_a1, appointed=DAY
    )
    with pytest.raises(ValidationError) as exc:
        services.service_officer_appoint(user=UserFactory(), org_unit=tree.branch_a1, appointed=DAY)
    assert list(exc.value.message_dict) == ["org_unit"]
    assert ServiceOfficer.objects.count() == 1

    services.service_officer_end(officer=first, ended=DAY + datetime.timedelta(days=30))
    services.service_officer_appoint(
        user=UserFactory(), org_unit=tree.branch_a1, appointed=DAY + datetime.timedelta(days=31)
    )
    assert ServiceOfficer.objects.filter(ended__isnull=True).count() == 1


def test_appointment_cannot_end_before_it_starts(tree):
    officer = services.service_officer_appoint(
        user=UserFactory(), org_unit=tree.branch_a1, appointed=DAY
    )
    with pytest.raises(ValidationError) as exc:
        services.service_officer_end(officer=officer, ended=DAY - datetime.timedelta(days=1))
    assert "ended" in exc.value.message_dict
    officer.refresh_from_db()
    assert officer.ended is None


def test_reception_day_validates_and_is_audited(tree):
    officer = services.service_officer_appoint(
        user=UserFactory(), org_unit=tree.branch_a1, appointed=DAY
    )
    day = services.reception_day_log(
        officer=officer, date=DAY, place="营业厅", consumers_met=12, follow_ups_open=1
    )
    assert day.history.count() == 1
    with pytest.raises(ValidationError) as exc:
        services.reception_day_log(officer=officer, date=None, place="")
    assert {"date", "place"} <= set(exc.value.message_dict)
