"""The reception-day pages: officers log their reception days (接待日) and change their own."""

import pytest
from django.urls import reverse

from insurers.models import ReceptionDay
from tests.sqi.dashboard_page.conftest import D, reception, unit_url

pytestmark = pytest.mark.django_db

LIST = "/reception-days/"


def edit_url(day) -> str:
    return reverse("insurers:reception_day_edit", args=[day.pk])


def valid(**overrides) -> dict:
    data = {
        "date": "2026-03-06",
        "place": "上海分公司营业厅",
        "consumers_met": "12",
        "issues_raised": "理赔进度咨询",
        "follow_ups": "三位客户的理赔材料需要回访",
        "follow_ups_open": "3",
    }
    data.update(overrides)
    return data


def test_urls():
    assert reverse("insurers:reception_days") == LIST


def test_anonymous_goes_to_login_and_others_are_refused(client, tree, people):
    assert client.get(LIST)["Location"].startswith(reverse("login"))
    for user in (people.mediator, people.nobody):
        client.force_login(user)
        assert client.get(LIST).status_code == 403


def test_officer_logs_a_reception_day(client, clock, tree, people):
    client.force_login(people.branch_officer)
    page = client.get(LIST)
    assert page.status_code == 200
    assert page.context["form"] is not None
    response = client.post(LIST, valid())
    assert response.status_code == 302
    day = ReceptionDay.objects.get()
    assert day.officer.user == people.branch_officer
    assert day.officer.org_unit == tree.branch_a1
    assert (day.date, day.consumers_met, day.follow_ups_open) == (D(2026, 3, 6), 12, 3)
    listed = client.get(LIST)
    assert "上海分公司营业厅" in listed.content.decode()
    assert listed.context["rows"][0]["editable"] is True


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"date": "2026-03-11"}, "date", "the date is in the future"),
        ({"date": "2023-12-31"}, "date", "before your appointment"),
        ({"date": "not a date"}, "date", "Enter a valid date."),
        ({"place": ""}, "place", "This field is required."),
        ({"consumers_met": "-1"}, "consumers_met", "greater than or equal to 0"),
        ({"consumers_met": "many"}, "consumers_met", "Enter a whole number."),
        ({"follow_ups": ""}, "follow_ups", "Describe the follow-ups that are still open."),
    ],
)
def test_bad_input_is_named_on_its_field(client, clock, tree, people, overrides, field, message):
    client.force_login(people.branch_officer)
    response = client.post(LIST, valid(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not ReceptionDay.objects.exists()


def test_officer_edits_own_reception_day(client, clock, tree, people):
    day = reception(people.branch_officer, tree.branch_a1, D(2026, 3, 2), met=2)
    client.force_login(people.branch_officer)
    assert client.get(edit_url(day)).status_code == 200
    response = client.post(edit_url(day), valid(consumers_met="5", follow_ups_open="0"))
    assert response.status_code == 302
    day.refresh_from_db()
    assert (day.consumers_met, day.follow_ups_open, day.place) == (5, 0, "上海分公司营业厅")
    bad = client.post(edit_url(day), valid(date="2026-04-01"))
    assert bad.status_code == 200 and "date" in bad.context["form"].errors
    day.refresh_from_db()
    assert day.date == D(2026, 3, 6)


def test_nobody_edits_another_officers_reception_day(client, clock, tree, people):
    day = reception(people.branch_officer, tree.branch_a1, D(2026, 3, 2), met=2)
    # in scope (the officer above, staff of the branch) but not theirs: 403
    for user in (people.head_officer, people.chief, people.staff):
        client.force_login(user)
        assert client.get(edit_url(day)).status_code == 403, user
        assert client.post(edit_url(day), valid()).status_code == 403, user
    # outside the scope (the sibling branch's officer): 404
    client.force_login(people.sibling_officer)
    assert client.get(edit_url(day)).status_code == 404
    assert client.post(edit_url(day), valid()).status_code == 404
    # and the list does not offer the edit link to the officer above
    client.force_login(people.head_officer)
    rows = client.get(LIST).context["rows"]
    assert [r["editable"] for r in rows] == [False]
    day.refresh_from_db()
    assert day.consumers_met == 2


def test_staff_read_but_do_not_log(client, clock, tree, people):
    reception(people.branch_officer, tree.branch_a1, D(2026, 3, 2))
    reception(people.sibling_officer, tree.branch_a2, D(2026, 3, 3))
    client.force_login(people.staff)
    page = client.get(LIST)
    assert page.status_code == 200
    assert page.context["form"] is None
    assert [r["day"].officer.org_unit for r in page.context["rows"]] == [tree.branch_a1]
    assert client.post(LIST, valid()).status_code == 403


def test_logged_days_show_on_the_parent_dashboard(client, clock, tree, people):
    client.force_login(people.branch_officer)
    client.post(LIST, valid(date="2026-02-12", consumers_met="8", follow_ups_open="1"))
    client.force_login(people.head_officer)
    response = client.get(unit_url(tree.head_a))
    row = next(r for r in response.context["children"] if r["unit"] == tree.branch_a1)
    assert (row["reception_days"], row["consumers_met"], row["follow_ups_open"]) == (1, 8, 1)
