import hashlib

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db.models import Count, Q
from django.test import RequestFactory

from insurers import roles
from insurers.demo import DEMO_PASSWORD
from insurers.models import Insurer, Level, OrgUnit, ReceptionDay, ServiceOfficer, placement_errors
from insurers.selectors import visible_units

pytestmark = pytest.mark.django_db


def fingerprint() -> str:
    rows = [
        *Insurer.objects.order_by("name_zh").values_list(
            "name_zh", "name_en", "licence_type", "credit_code", "established"
        ),
        *OrgUnit.objects.order_by("path").values_list("path", "name", "level", "region"),
        *get_user_model()
        .objects.order_by("username")
        .values_list("username", "first_name", "last_name"),
        *ReceptionDay.objects.order_by("officer__user__username", "date", "place").values_list(
            "officer__user__username", "date", "place", "consumers_met"
        ),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_small_demo_matches_the_market_shape(capsys):
    call_command("seed_demo", "--size", "small", "--seed", "7")
    # The demo also loads the real insurers named in public award announcements (no officers,
    # branches or figures of their own); the fictional market is the 示例 part.
    demo = Insurer.objects.filter(name_zh__startswith="示例")
    demo_units = OrgUnit.objects.filter(
        Q(insurer__in=demo) | Q(level=Level.GROUP, name__startswith="示例")
    )
    counts = dict(demo.values_list("licence_type").annotate(n=Count("id")))
    assert counts == {"property": 12, "life": 12, "health": 4}
    assert all(i.name_en.startswith("Demo") for i in demo)
    # every other insurer is a real one from the award data: no credit code, no complaints
    real = Insurer.objects.exclude(pk__in=demo)
    assert all(i.credit_code is None and not i.complaints.exists() for i in real)
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    for unit in OrgUnit.objects.select_related("insurer"):  # every unit, real ones too
        parent = OrgUnit.objects.get_parent(unit)
        assert placement_errors(level=unit.level, insurer=unit.insurer, parent=parent) == {}
    # every unit has exactly one active officer; groups have chiefs
    assert (
        ServiceOfficer.objects.filter(ended__isnull=True, org_unit__in=demo_units).count()
        == demo_units.count()
    )
    assert set(
        ServiceOfficer.objects.filter(org_unit__level=Level.GROUP).values_list("title", flat=True)
    ) == {"chief"}
    assert demo.filter(org_units__level=Level.BRANCH).distinct().count() == 28
    assert OrgUnit.objects.filter(level=Level.SUB_BRANCH).exists()
    assert ReceptionDay.objects.count() > 50
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out and "demo_officer" in out


def test_same_seed_same_data_and_rerun_is_harmless():
    call_command("seed_demo", "--seed", "3")
    first = fingerprint()
    call_command("seed_demo", "--seed", "3")  # already there: leaves it alone
    assert fingerprint() == first
    call_command("seed_demo", "--seed", "3", "--reset")
    assert fingerprint() == first
    call_command("seed_demo", "--seed", "4", "--reset")
    assert fingerprint() != first


def test_demo_accounts_log_in_and_have_their_scope():
    call_command("seed_demo")
    request = RequestFactory().post("/accounts/login/")
    User = get_user_model()
    for name in ("demo_admin", "demo_index_admin", "demo_chief", "demo_officer", "demo_staff"):
        user = authenticate(request, username=name, password=DEMO_PASSWORD)
        assert user is not None, name
        assert user.is_staff
    officer = User.objects.get(username="demo_officer")
    staff = User.objects.get(username="demo_staff")
    chief = User.objects.get(username="demo_chief")
    assert roles.has_role(officer, roles.OFFICER) and roles.has_role(staff, roles.STAFF)
    head = officer.officer_appointments.get().org_unit
    assert head.level == Level.HEAD_OFFICE
    assert set(visible_units(user=staff)) < set(visible_units(user=officer))
    assert set(visible_units(user=officer)) < set(visible_units(user=chief))
