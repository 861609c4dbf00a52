"""The complaints admin: scoped like the pages (404 outside one's subtree), read-only where
the workflow owns the data, never showing an ID number in full, constant query counts."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from complaints import services
from complaints.models import Complaint, Event, ImportBatch, Notification, Status
from tests.complaints.conftest import id_number, intake
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/complaints/complaint/"
EVENTS = "/admin/complaints/event/"
NOTIFICATIONS = "/admin/complaints/notification/"


def change_url(complaint) -> str:
    return f"{LIST}{complaint.pk}/change/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["sqi_language"] = "en"
    return client


def file(unit, **overrides):
    """A complaint received on the public channel (no staff user needed)."""
    return services.complaint_create(
        by=None, insurer=unit.insurer, org_unit=unit, **intake(channel="online", **overrides)
    )


@pytest.fixture
def complaints(clock, tree):
    return {
        "own": file(tree.branch_a1),
        "child": file(tree.sub_a1a),
        "sibling": file(tree.branch_a2),
        "other_insurer": file(tree.head_c),
    }


def test_staff_see_only_their_subtree(complaints, people):
    html = client_for(people.staff).get(LIST).content.decode()
    assert complaints["own"].reference in html
    assert complaints["child"].reference in html
    assert complaints["sibling"].reference not in html
    assert complaints["other_insurer"].reference not in html


@pytest.mark.parametrize("target", ["sibling", "other_insurer"])
def test_out_of_scope_pages_are_404(complaints, people, target):
    client = client_for(people.staff)
    complaint = complaints[target]
    version = complaint.history.first().history_id
    for url in (
        change_url(complaint),
        f"{LIST}{complaint.pk}/history/",
        f"{LIST}{complaint.pk}/history/{version}/",
        f"{EVENTS}{complaint.events.first().pk}/change/",
    ):
        assert client.get(url).status_code == 404, url


def test_in_scope_pages_open(complaints, people):
    client = client_for(people.staff)
    complaint = complaints["child"]
    version = complaint.history.first().history_id
    for url in (
        change_url(complaint),
        f"{LIST}{complaint.pk}/history/",
        f"{LIST}{complaint.pk}/history/{version}/",
        f"{EVENTS}{complaint.events.first().pk}/change/",
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["mediator", "index_admin"])
def test_roles_outside_the_insurers_see_no_complaint_in_the_admin(complaints, people, role):
    """Index administrators see complaints only in aggregate; mediators have no org unit
    (the cases app may grant them the complaints behind their cases, never this list)."""
    client = client_for(getattr(people, role))
    response = client.get(LIST)
    assert response.status_code in (200, 403)
    html = response.content.decode()
    assert not any(c.reference in html for c in complaints.values())
    for complaint in complaints.values():
        assert client.get(change_url(complaint)).status_code in (403, 404)
    assert client_for(people.index_admin).get(LIST).status_code == 403


def test_no_admin_page_shows_the_id_number_in_full(clock, tree, people):
    plain = id_number(dt.date(1955, 8, 8))
    complaint = file(tree.branch_a1, complainant_id_number=plain)
    services.complaint_accept(complaint=complaint, by=people.staff)
    services.complaint_reveal_id_number(complaint=complaint, by=people.staff)
    superuser = UserFactory(is_superuser=True)
    version = complaint.history.first().history_id
    pages = [
        LIST,
        f"{LIST}?q={complaint.reference}",
        change_url(complaint),
        f"{LIST}{complaint.pk}/history/",
        f"{LIST}{complaint.pk}/history/{version}/",
        EVENTS,
        f"{EVENTS}{complaint.events.last().pk}/change/",
    ]
    for user in (people.staff, superuser):
        client = client_for(user)
        for url in pages:
            html = client.get(url).content.decode()
            assert plain not in html, (user, url)
            assert plain[6:14] not in html, (user, url)  # not even the birth date
            assert complaint.id_number_hash not in html
            assert complaint.id_number_encrypted[:24] not in html
    change = client_for(people.staff).get(change_url(complaint)).content.decode()
    assert complaint.id_number_masked in change


def test_search_finds_reference_and_phone_exactly(complaints, people, clock, tree):
    plain = id_number()
    target = file(tree.branch_a1, complainant_id_number=plain, complainant_phone="13511112222")
    client = client_for(people.staff)

    def found(term):
        response = client.get(LIST, {"q": term})
        return {c.reference for c in response.context["cl"].result_list}

    assert found(target.reference) == {target.reference}
    assert found(target.reference.lower()) == {target.reference}
    assert found("13511112222") == {target.reference}
    assert found("1351111") == set()  # exact only
    # Not by ID number: the search term would sit in URLs and access logs.
    assert found(plain) == set()
    # Out of scope stays out of scope, even by exact reference.
    assert found(complaints["sibling"].reference) == set()


def test_filters_work(complaints, people, tree, clock):
    elder = file(tree.branch_a1, complainant_id_number=id_number(dt.date(1950, 1, 1)))
    client = client_for(people.staff)
    response = client.get(LIST, {"is_elder__exact": "1"})
    assert [c.reference for c in response.context["cl"].result_list] == [elder.reference]
    response = client.get(LIST, {"insurer__licence_type": "life"})
    assert list(response.context["cl"].result_list) == []


def test_the_workflow_fields_are_read_only_and_nothing_is_added(complaints, people):
    client = client_for(people.staff)
    complaint = complaints["own"]
    response = client.get(change_url(complaint))
    form = response.context["adminform"].form
    assert set(form.fields) == {
        "product_line",
        "category",
        "subcategory",
        "amount_in_dispute",
        "narrative",
        "complainant_name",
        "complainant_phone",
    }
    assert client.get(f"{LIST}add/").status_code == 403
    assert client.post(f"{LIST}{complaint.pk}/delete/", {"post": "yes"}).status_code == 403


def _post_data(response, **changes) -> dict:
    """The change form's current values, inline management forms included."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for sub in [formset.management_form, *formset.forms]:
            for name in sub.fields:
                value = sub[name].value()
                data[sub.add_prefix(name)] = "" if value is None else value
    data.update(changes)
    return data


def test_a_correction_is_saved_with_history_and_the_status_cannot_be_posted(complaints, people):
    client = client_for(people.staff)
    complaint = complaints["own"]
    page = client.get(change_url(complaint))
    data = _post_data(page, narrative="更正后的投诉内容。", status="closed", reference="X")
    response = client.post(change_url(complaint), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    complaint.refresh_from_db()
    assert complaint.narrative == "更正后的投诉内容。"
    assert complaint.status == Status.RECEIVED and complaint.reference.startswith("TS")
    latest = complaint.history.first()
    assert latest.history_user == people.staff and latest.narrative == "更正后的投诉内容。"


def test_a_mismatched_subcategory_is_refused_in_the_admin(complaints, people):
    client = client_for(people.staff)
    complaint = complaints["own"]
    page = client.get(change_url(complaint))
    response = client.post(
        change_url(complaint), _post_data(page, category="sales", subcategory="claim_denied")
    )
    assert response.status_code == 200
    assert "subcategory" in response.context["adminform"].form.errors
    complaint.refresh_from_db()
    assert complaint.category == "claims"


def test_officers_read_but_cannot_save(complaints, people):
    client = client_for(people.branch_officer)
    complaint = complaints["own"]
    page = client.get(change_url(complaint))
    assert page.status_code == 200
    assert not page.context["adminform"].form.fields
    client.post(change_url(complaint), {"narrative": "改掉"})
    complaint.refresh_from_db()
    assert complaint.narrative != "改掉"


def test_history_cannot_be_reverted(complaints, people):
    client = client_for(UserFactory(is_superuser=True))
    complaint = complaints["own"]
    services.complaint_accept(complaint=complaint, by=people.staff)
    first = complaint.history.last().history_id
    page = client.get(f"{LIST}{complaint.pk}/history/{first}/")
    assert page.status_code == 200 and page.context["revert_disabled"]
    response = client.post(f"{LIST}{complaint.pk}/history/{first}/", {"narrative": "x"})
    assert response.status_code == 403
    complaint.refresh_from_db()
    assert complaint.status == Status.ACCEPTED


def test_timeline_inlines_are_read_only(complaints, people):
    client = client_for(people.staff)
    complaint = complaints["own"]
    page = client.get(change_url(complaint))
    names = {type(inline.opts).__name__: inline for inline in page.context["inline_admin_formsets"]}
    assert set(names) == {"PauseInline", "ExtensionInline", "EventInline", "AttachmentInline"}
    for inline in names.values():
        assert not inline.has_add_permission and not inline.has_change_permission
    assert "Received" in page.content.decode()  # the received event, shown


def test_events_admin_is_scoped(complaints, people):
    html = client_for(people.staff).get(EVENTS).content.decode()
    assert complaints["own"].reference in html
    assert complaints["sibling"].reference not in html


def test_notifications_are_ones_own(complaints, people):
    mine = services.notify(user=people.staff, subject="给我的提醒", complaint=complaints["own"])
    theirs = services.notify(user=people.sibling_staff, subject="给别人的提醒")
    client = client_for(people.staff)
    html = client.get(NOTIFICATIONS).content.decode()
    assert "给我的提醒" in html and "给别人的提醒" not in html
    assert client.get(f"{NOTIFICATIONS}{mine.pk}/change/").status_code == 200
    assert client.get(f"{NOTIFICATIONS}{theirs.pk}/change/").status_code == 404
    superuser = client_for(UserFactory(is_superuser=True))
    assert "给别人的提醒" in superuser.get(NOTIFICATIONS).content.decode()
    assert Notification.objects.count() == 2


def test_import_batches_show_where_errors_are_but_not_the_values(clock, people):
    batch = ImportBatch.objects.create(
        uploaded_by=people.staff,
        file_name="complaints.xlsx",
        file_sha256="a" * 64,
        rows=3,
        outcome=ImportBatch.Outcome.REJECTED,
        errors=[{"row": 2, "column": "phone", "message": "Bad phone.", "value": "1381234"}],
    )
    client = client_for(UserFactory(is_superuser=True))
    html = client.get(f"/admin/complaints/importbatch/{batch.pk}/change/").content.decode()
    assert "Bad phone." in html and "1381234" not in html
    assert client.get("/admin/complaints/importbatch/add/").status_code == 403


URLS = [LIST, f"{LIST}?status__exact=received", f"{LIST}?q=13800000000", EVENTS, NOTIFICATIONS]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_changelist_queries_are_constant(clock, tree, people, url, who):
    user = people.head_staff if who == "staff" else UserFactory(is_superuser=True)
    client = client_for(user)

    def grow(n):
        for i in range(n):
            complaint = file(
                [tree.branch_a1, tree.sub_a1a, tree.branch_a2][i % 3],
                complainant_phone="13800000000",
            )
            services.notify(user=user, subject=f"{complaint.reference} 提醒", complaint=complaint)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
            assert response.status_code == 200
        return len(ctx.captured_queries), response

    grow(2)
    small, first = queries()
    grow(6)
    large, second = queries()
    assert large == small
    assert len(second.context["cl"].result_list) > len(first.context["cl"].result_list)
    assert Complaint.objects.count() == 8 and Event.objects.count() >= 8
