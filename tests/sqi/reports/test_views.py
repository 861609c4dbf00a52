"""The report pages: printable page, PDF download (built on demand), building again, the
list; all scoped like the dashboard (outside one's scope: 404)."""

import datetime as dt

import pytest
from django.middleware.csrf import get_token
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sqi import reports
from sqi.models import UnitReport

MONTH = "2026-02"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_url(unit, month=MONTH):
    return reverse("sqi:unit_report", args=[unit.pk, month])


def pdf_url(unit, month=MONTH):
    return reverse("sqi:unit_report_pdf", args=[unit.pk, month])


def generate_url(unit, month=MONTH):
    return reverse("sqi:unit_report_generate", args=[unit.pk, month])


@pytest.mark.django_db
def test_printable_page_before_the_report_is_built_counts_now_and_saves_nothing(story):
    response = client_for(story.officer_a1).get(page_url(story.tree.branch_a1))
    assert response.status_code == 200
    html = response.content.decode()
    assert story.tree.branch_a1.name in html and "2026-02" in html and "2026-01" in html
    assert response.context["report"] is None
    assert response.context["snapshot"]["current"]["received"] == 4
    assert "<svg" in html and "<script" not in html
    assert generate_url(story.tree.branch_a1) in html and pdf_url(story.tree.branch_a1) in html
    assert not UnitReport.objects.exists()


@pytest.mark.django_db
def test_printable_page_of_a_built_report_shows_its_snapshot(story):
    from .conftest import receive

    report, _ = reports.unit_report_build(unit=story.tree.branch_a1, month=MONTH)
    receive(story.staff_a1, story.tree.branch_a1, dt.date(2026, 2, 20))
    response = client_for(story.officer_a1).get(page_url(story.tree.branch_a1))
    assert response.context["report"] == report
    assert response.context["snapshot"]["current"]["received"] == 4  # as built, not 5


@pytest.mark.django_db
def test_pdf_is_built_on_demand_and_streamed(story):
    response = client_for(story.officer_a1).get(pdf_url(story.tree.branch_a1))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    report = UnitReport.objects.get()
    assert report.built_by == story.officer_a1
    again = client_for(story.officer_a1).get(pdf_url(story.tree.branch_a1))
    assert again.status_code == 200 and UnitReport.objects.get().built == report.built


@pytest.mark.django_db
def test_generate_rebuilds_and_needs_post_and_csrf(story):
    unit = story.tree.branch_a1
    client = Client(enforce_csrf_checks=True)
    client.force_login(story.officer_a1)
    assert client.get(generate_url(unit)).status_code == 405
    assert client.post(generate_url(unit)).status_code == 403  # no CSRF token
    page = client.get(page_url(unit))
    response = client.post(
        generate_url(unit), {"csrfmiddlewaretoken": get_token(page.wsgi_request)}
    )
    assert response.status_code == 302 and response["Location"] == page_url(unit)
    first = UnitReport.objects.get()
    client.post(generate_url(unit), {"csrfmiddlewaretoken": get_token(page.wsgi_request)})
    assert UnitReport.objects.get().built > first.built


@pytest.mark.django_db
def test_scope(story):
    tree = story.tree
    # a sibling unit's report is not there for A1's officer
    for url in (page_url(tree.branch_a2), pdf_url(tree.branch_a2), generate_url(tree.branch_a2)):
        client = client_for(story.officer_a1)
        response = client.post(url) if url.endswith("generate/") else client.get(url)
        assert response.status_code == 404, url
    # nor the head office above
    assert client_for(story.officer_a1).get(page_url(tree.head_a)).status_code == 404
    # the head office's officer sees the units below; the group's chief and an admin too
    assert client_for(story.officer_a).get(page_url(tree.branch_a1)).status_code == 200
    assert client_for(story.chief).get(page_url(tree.sub_a1a)).status_code == 200
    assert client_for(story.admin).get(page_url(tree.head_c)).status_code == 200
    # another insurer's officer
    assert client_for(story.officer_c).get(page_url(tree.branch_a1)).status_code == 404
    # no role: 403; anonymous: the login page
    assert client_for(story.mediator).get(page_url(tree.branch_a1)).status_code == 403
    assert Client().get(pdf_url(tree.branch_a1)).status_code == 302
    assert not UnitReport.objects.exists()


@pytest.mark.django_db
def test_months_that_are_not_over_or_not_months_are_404(story):
    running = f"{timezone.localdate():%Y-%m}"
    client = client_for(story.officer_a1)
    for month in (running, "2026-13", "next", "3000-01"):
        assert client.get(page_url(story.tree.branch_a1, month)).status_code == 404, month
        assert client.get(pdf_url(story.tree.branch_a1, month)).status_code == 404, month
    assert not UnitReport.objects.exists()


@pytest.mark.django_db
def test_list_of_months(story):
    reports.unit_report_build(unit=story.tree.branch_a1, month=MONTH)
    response = client_for(story.officer_a1).get(
        reverse("sqi:unit_report_list", args=[story.tree.branch_a1.pk])
    )
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) >= 12
    last = reports.last_full_month(timezone.localdate())
    assert rows[0]["month"] == last
    built = [r for r in rows if r["report"]]
    assert [r["code"] for r in built] == [MONTH]
    assert page_url(story.tree.branch_a1) in response.content.decode()
