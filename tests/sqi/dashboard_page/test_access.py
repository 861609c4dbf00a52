"""Who opens which dashboard: the scope matrix (DESIGN.md §1: outside one's scope is 404)."""

import pytest
from django.urls import reverse

from tests.sqi.dashboard_page.conftest import export_url, unit_url

pytestmark = pytest.mark.django_db


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_anonymous_is_sent_to_the_login_page(client, tree):
    for url in (reverse("sqi:dashboard"), unit_url(tree.branch_a1), export_url(tree.branch_a1)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["mediator", "nobody"])
def test_people_without_an_officer_or_staff_role_are_refused(client, tree, people, who):
    user = getattr(people, who)
    assert get(client, user, reverse("sqi:dashboard")).status_code == 403
    assert get(client, user, unit_url(tree.branch_a1)).status_code == 403


def test_branch_officer_sees_own_branch_and_below_only(client, clock, tree, people):
    client.force_login(people.branch_officer)
    home = client.get(reverse("sqi:dashboard"))
    assert home.status_code == 200
    assert home.context["unit"] == tree.branch_a1
    assert client.get(unit_url(tree.branch_a1)).status_code == 200
    assert client.get(unit_url(tree.sub_a1a)).status_code == 200
    # the sibling branch, the parent head office, the group, another insurer: not there
    for unit in (tree.branch_a2, tree.head_a, tree.group, tree.head_b, tree.branch_c1):
        assert client.get(unit_url(unit)).status_code == 404, unit
        assert client.get(export_url(unit, format="csv")).status_code == 404, unit
    assert client.get(reverse("sqi:dashboard_unit", args=[999_999])).status_code == 404


def test_staff_of_a_branch_use_its_dashboard(client, clock, tree, people):
    response = get(client, people.staff, reverse("sqi:dashboard"))
    assert response.status_code == 200
    assert response.context["unit"] == tree.branch_a1
    assert get(client, people.staff, unit_url(tree.branch_a2)).status_code == 404


def test_chief_drills_down_two_levels_and_the_breadcrumb_leads_back(client, clock, tree, people):
    client.force_login(people.chief)
    top = client.get(reverse("sqi:dashboard"))
    assert top.context["unit"] == tree.group
    children = [row["unit"] for row in top.context["children"]]
    assert children == sorted([tree.head_a, tree.head_b], key=lambda u: u.name)
    head_link = next(r["url"] for r in top.context["children"] if r["unit"] == tree.head_a)
    assert head_link == unit_url(tree.head_a)
    assert f'href="{head_link}"' in top.content.decode()

    head = client.get(head_link)
    assert head.status_code == 200
    assert [u.name for u in head.context["trail"]] == [tree.group.name, tree.head_a.name]
    branch_link = next(r["url"] for r in head.context["children"] if r["unit"] == tree.branch_a1)

    branch = client.get(branch_link)
    assert branch.status_code == 200
    assert branch.context["trail"] == [tree.group, tree.head_a, tree.branch_a1]
    html = branch.content.decode()
    assert f'href="{unit_url(tree.group)}"' in html
    assert f'href="{unit_url(tree.head_a)}"' in html
    # the standalone insurer C is not the chief's
    assert client.get(unit_url(tree.head_c)).status_code == 404


def test_breadcrumb_stops_at_the_users_own_unit(client, clock, tree, people):
    response = get(client, people.head_officer, unit_url(tree.sub_a1a))
    assert response.status_code == 200
    assert response.context["trail"] == [tree.head_a, tree.branch_a1, tree.sub_a1a]
    assert f'href="{unit_url(tree.group)}"' not in response.content.decode()


def test_index_admin_picks_one_of_the_top_units(client, clock, tree, people):
    response = get(client, people.index_admin, reverse("sqi:dashboard"))
    assert response.status_code == 200
    assert "sqi/dashboard/pick.html" in [t.name for t in response.templates]
    assert set(response.context["units"]) == {tree.group, tree.head_c}
    html = response.content.decode()
    assert f'href="{unit_url(tree.head_c)}"' in html
    assert get(client, people.index_admin, unit_url(tree.branch_c1)).status_code == 200


def test_home_page_card_points_at_the_dashboard(client, people):
    client.force_login(people.branch_officer)
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("sqi:dashboard")}"' in html
