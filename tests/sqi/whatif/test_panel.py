"""The index panel and its what-if form: an htmx fragment, or a whole page without
JavaScript; CSRF-protected, scoped, and nothing saved."""

import re

import pytest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.translation import override

from sqi import methodology as m
from sqi import whatif
from sqi.models import IndexResult, IndexRun

FORM = {
    "period": "2025",
    "peer_group": "life",
    "insurer": "L01",
    "payment_cycle_days": "-1",
    "payment_cycle_days__kind": "delta",
    "complaints_per_100m_premium": "-10",
    "complaints_per_100m_premium__kind": "percent",
}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(unit) -> str:
    return reverse("sqi:what_if_panel", args=[unit.pk])


def expected_after() -> dict:
    run = IndexRun.objects.get(status="published")
    return m.what_if(
        run.inputs,
        "L01",
        {"payment_cycle_days": {"delta": -1}, "complaints_per_100m_premium": {"percent": -10}},
    )["after"]


@pytest.mark.django_db
def test_the_panel_alone_renders_the_position_and_the_form(published, org, rf: RequestFactory):
    request = rf.get("/")
    request.user = org.officer1
    html = render_to_string(
        "sqi/dashboard/_index_panel.html",
        {"index_position": whatif.index_position(insurer=org.l01), "unit": org.head1},
        request=request,
    )
    stored = IndexResult.objects.get(run=published, insurer=org.l01)
    assert str(stored.total) in html
    assert f"{stored.rank}<small> / 7" in html
    assert f'hx-post="{url(org.head1)}"' in html and f'action="{url(org.head1)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    for name in m.INDICATORS:
        assert f'name="{name}"' in html and f'name="{name}__kind"' in html
    assert "<svg" in html and "<script" not in html


@pytest.mark.django_db
def test_the_panel_without_a_position_says_why(org, rf):
    request = rf.get("/")
    request.user = org.officer1
    for unit_, expected in ((org.branch1, "part of an insurer"), (org.head1, "No published")):
        with override("en"):
            html = render_to_string(
                "sqi/dashboard/_index_panel.html",
                {"index_position": None, "unit": unit_},
                request=request,
            )
        assert expected in html and "<form" not in html


@pytest.mark.django_db
def test_htmx_post_answers_the_result_fragment(published, org):
    response = client_for(org.officer1).post(url(org.head1), FORM, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and "<form" not in html
    after = expected_after()
    assert f"{after['total']:.2f}" in html
    assert re.search(rf"→ {after['rank']}<small> / 7", html)
    assert response.context["what_if"]["after"] == after


@pytest.mark.django_db
def test_post_without_javascript_answers_a_whole_page_with_the_result(published, org):
    response = client_for(org.officer1).post(url(org.head1), FORM)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'id="sqi-index-panel"' in html and 'id="sqi-whatif-result"' in html
    assert f"{expected_after()['total']:.2f}" in html
    # what was typed is in the form again
    assert 'name="payment_cycle_days" value="-1"' in html
    assert re.search(r'<option value="percent" selected>', html)
    assert reverse("sqi:dashboard_unit", args=[org.head1.pk]) in html


@pytest.mark.django_db
def test_rates_are_changed_in_percentage_points(published, org):
    form = {**FORM, "claim_payment_rate": "1", "claim_payment_rate__kind": "delta"}
    for key in ("payment_cycle_days", "complaints_per_100m_premium"):
        form.pop(key)
        form.pop(f"{key}__kind")
    response = client_for(org.officer1).post(url(org.head1), form, HTTP_HX_REQUEST="true")
    run = IndexRun.objects.get(status="published")
    want = m.what_if(run.inputs, "L01", {"claim_payment_rate": {"delta": 0.01}})["after"]
    assert response.context["what_if"]["after"] == want


@pytest.mark.django_db
def test_get_shows_the_panel_page_and_a_group_picks_its_insurer(published, org):
    response = client_for(org.chief).get(url(org.group), {"insurer": "L02"})
    assert response.status_code == 200
    assert response.context["index_position"]["insurer"] == org.l02
    assert client_for(org.chief).get(url(org.group), {"insurer": "L03"}).status_code == 404


@pytest.mark.django_db
def test_errors_are_shown_not_computed(published, org):
    form = {**FORM, "complaints_per_100m_premium": "-150"}
    response = client_for(org.officer1).post(url(org.head1), form, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.context["what_if_errors"]
    assert "what_if" not in response.context or response.context.get("what_if") is None
    assert 'role="alert"' in response.content.decode()
    negative = {**FORM, "payment_cycle_days": "-500"}
    response = client_for(org.officer1).post(url(org.head1), negative, HTTP_HX_REQUEST="true")
    assert response.context["what_if_errors"]


@pytest.mark.django_db
def test_csrf_is_required(published, org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.officer1)
    assert client.post(url(org.head1), FORM).status_code == 403
    page = client.get(url(org.head1))
    token = get_token(page.wsgi_request)
    ok = client.post(url(org.head1), {**FORM, "csrfmiddlewaretoken": token})
    assert ok.status_code == 200


@pytest.mark.django_db
def test_scope(published, org):
    # another insurer's officer: the unit is not theirs
    assert client_for(org.officer2).post(url(org.head1), FORM).status_code == 404
    # branch staff: the branch is theirs but covers part of an insurer only
    response = client_for(org.staff1).get(url(org.branch1))
    assert response.status_code == 200 and response.context["index_position"] is None
    assert client_for(org.staff1).post(url(org.branch1), FORM).status_code == 404
    # the head office is above their unit
    assert client_for(org.staff1).get(url(org.head1)).status_code == 404
    # an index administrator sees every unit
    assert client_for(org.admin).post(url(org.head1), FORM).status_code == 200
    # anonymous: the login page
    assert Client().post(url(org.head1), FORM).status_code == 302


@pytest.mark.django_db
def test_nothing_is_saved(published, org):
    counts = IndexRun.objects.count(), IndexResult.objects.count()
    client_for(org.officer1).post(url(org.head1), FORM, HTTP_HX_REQUEST="true")
    assert (IndexRun.objects.count(), IndexResult.objects.count()) == counts


@pytest.mark.django_db
def test_the_dashboard_page_includes_the_panel(published, org):
    response = client_for(org.officer1).get(reverse("sqi:dashboard_unit", args=[org.head1.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="sqi-index-panel"' in html
    assert f'hx-post="{url(org.head1)}"' in html
