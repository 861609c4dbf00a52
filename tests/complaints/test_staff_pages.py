"""The staff complaint pages: scope and roles, workbench, list and search, staff intake, the
detail page's actions, notes, attachments, the audited reveal, extension approval and
notifications — each through the pages, as a person would use them."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints import services
from complaints.models import Complaint, Event, EventKind, Notification, Status
from tests.complaints.conftest import id_number, intake

pytestmark = pytest.mark.django_db
D = dt.date
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def detail_url(complaint) -> str:
    return reverse("complaints:detail", args=[complaint.reference])


def action_url(complaint, action: str) -> str:
    return reverse("complaints:action", args=[complaint.reference, action])


def login(client, user, language="en"):
    """Sign in; pages in English so the assertions can quote the msgids."""
    client.force_login(user)
    client.cookies["sqi_language"] = language
    return client


def text(response) -> str:
    return response.content.decode()


def search(client, term: str, keep: str = "") -> str:
    """Search as the search box does (a POST); returns the list URL it redirects to."""
    response = client.post(reverse("complaints:list"), {"q": term, "keep": keep})
    assert response.status_code == 302
    return response["Location"]


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


# ---- access: login, roles and scope --------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page(client, clock, make_complaint):
    complaint = make_complaint()
    urls = [
        reverse("complaints:workbench"),
        reverse("complaints:list"),
        reverse("complaints:new"),
        reverse("complaints:export", args=["csv"]),
        reverse("complaints:notifications"),
        detail_url(complaint),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next=")
    response = client.post(action_url(complaint, "accept"))
    assert response.status_code == 302
    assert Complaint.objects.get().status == Status.RECEIVED


@pytest.mark.parametrize(
    ("who", "expected", "buttons"),
    [
        ("staff", 200, True),
        ("head_staff", 200, True),
        ("sibling_staff", 404, False),
        ("branch_officer", 200, False),
        ("head_officer", 200, False),
        ("mediator", 403, False),
        ("index_admin", 403, False),
    ],
)
def test_detail_scope_and_role_matrix(
    client, clock, people, make_complaint, who, expected, buttons
):
    complaint = make_complaint()
    login(client, getattr(people, who))
    response = client.get(detail_url(complaint))
    assert response.status_code == expected
    if expected != 200:
        assert complaint.complainant_name not in text(response)
        return
    page = text(response)
    assert complaint.reference in page
    accept = f'action="{action_url(complaint, "accept")}"'
    assert (accept in page) is buttons
    assert (f'action="{action_url(complaint, "decline")}"' in page) is buttons
    # Officers read (and may reveal) but do not handle: no action, no upload form.
    assert ('enctype="multipart/form-data"' in page) is buttons


@pytest.mark.parametrize("who", ["mediator", "index_admin", "unplaced_staff"])
def test_people_outside_the_insurers_get_403_on_the_staff_pages(client, clock, people, who):
    """Mediators see a complaint only behind their own cases, on the mediation pages; index
    administrators see complaints in aggregate only; staff not yet placed in a unit see
    nothing."""
    from insurers import roles
    from tests.factories import UserFactory

    user = UserFactory(roles=[roles.STAFF]) if who == "unplaced_staff" else getattr(people, who)
    login(client, user)
    for name in ("workbench", "list", "new"):
        assert client.get(reverse(f"complaints:{name}")).status_code == 403, name
    assert client.get(reverse("complaints:export", args=["csv"])).status_code == 403
    # their own notifications they do see
    services.notify(user=user, subject="您的调解案件有新进展")
    page = text(client.get(reverse("complaints:notifications")))
    assert "您的调解案件有新进展" in page
    assert f'href="{reverse("complaints:workbench")}"' not in page


def test_a_sibling_branch_gets_404_on_every_complaint_page(
    client, clock, people, make_complaint, tree
):
    complaint = make_complaint()
    attachment = services.attachment_add(
        complaint=complaint,
        by=people.staff,
        upload=SimpleUploadedFile("bill.pdf", PDF, content_type="application/pdf"),
    )
    login(client, people.sibling_staff)
    ref = complaint.reference
    gets = [
        detail_url(complaint),
        reverse("complaints:attachment_download", args=[ref, attachment.pk]),
    ]
    posts = [
        (action_url(complaint, "accept"), {}),
        (action_url(complaint, "decline"), {"decline-reason": "duplicate"}),
        (reverse("complaints:note", args=[ref]), {"text": "look"}),
        (reverse("complaints:reveal", args=[ref]), {}),
        (
            reverse("complaints:attachment_upload", args=[ref]),
            {"file": SimpleUploadedFile("x.pdf", PDF)},
        ),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    complaint.refresh_from_db()
    assert complaint.status == Status.RECEIVED
    assert not complaint.events.exclude(
        kind__in=[EventKind.RECEIVED, EventKind.ATTACHMENT]
    ).exists()
    assert complaint.attachments.count() == 1
    # …nor does it show up in their lists or search.
    page = text(client.get(search(client, ref)))
    assert detail_url(complaint) not in page and "0 complaints" in page
    assert ref not in text(client.get(reverse("complaints:workbench")))


def test_unknown_action_and_reference_are_404(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff)
    assert client.post(action_url(complaint, "teleport")).status_code == 404
    assert client.get(reverse("complaints:detail", args=["TS2026-999999"])).status_code == 404


# ---- workbench -----------------------------------------------------------------------------


def test_workbench_shows_queue_due_soon_overdue_closed_and_counts(
    client, clock, people, make_complaint
):
    overdue = make_complaint()  # received 2 March, due 17 March
    clock.move_to(D(2026, 3, 12))
    at_risk = make_complaint()  # due 27 March
    closed = make_complaint()
    for step in ("accept", "investigate"):
        getattr(services, f"complaint_{step}")(complaint=closed, by=people.staff)
    services.complaint_decide(complaint=closed, by=people.staff, decision="upheld", reply="已赔付")
    services.complaint_close(complaint=closed, by=people.staff, satisfaction="satisfied")
    clock.move_to(D(2026, 3, 24))

    login(client, people.staff)
    response = client.get(reverse("complaints:workbench"))
    assert response.status_code == 200
    page = text(response)
    sections = {
        name: page.split(f'id="{name}"')[1].split("</section>")[0]
        for name in ("queue", "due-soon", "overdue", "recently-closed")
    }
    assert overdue.reference in sections["queue"] and at_risk.reference in sections["queue"]
    assert closed.reference not in sections["queue"]
    assert at_risk.reference in sections["due-soon"]
    assert overdue.reference not in sections["due-soon"]
    assert overdue.reference in sections["overdue"]
    assert closed.reference in sections["recently-closed"]
    # the countdown and the badges, in words as well as colour
    assert "7 days overdue" in sections["overdue"]
    assert "deadline--breached" in sections["overdue"] and "Breached" in sections["overdue"]
    assert "3 days left" in sections["due-soon"] and "At risk" in sections["due-soon"]
    # counts per state link to the filtered list
    received_tile = re.search(
        r'href="/work/complaints/\?status=received">\s*<span class="stat-value">(\d+)', page
    )
    assert received_tile and received_tile.group(1) == "2"
    assert re.search(r'\?status=closed">\s*<span class="stat-value">1<', page)


def test_workbench_links_to_notifications_with_the_unread_count(client, clock, people):
    for n in range(2):
        services.notify(user=people.staff, subject=f"提醒 {n}")
    login(client, people.staff)
    page = text(client.get(reverse("complaints:workbench")))
    assert reverse("complaints:notifications") in page
    assert "2 unread" in page


def test_workbench_query_count_does_not_grow_with_complaints(client, clock, people, make_complaint):
    make_complaint()
    login(client, people.staff)
    few = count_queries(client, reverse("complaints:workbench"))
    for _ in range(8):
        complaint = make_complaint()
        services.complaint_accept(complaint=complaint, by=people.staff)
    clock.move_to(D(2026, 3, 15))
    for _ in range(3):
        make_complaint()
    assert count_queries(client, reverse("complaints:workbench")) == few


# ---- list, filters and search ---------------------------------------------------------------


def test_list_filters_by_status_and_deadline_state(client, clock, people, make_complaint):
    old = make_complaint()
    clock.move_to(D(2026, 3, 16))
    new = make_complaint()
    services.complaint_accept(complaint=new, by=people.staff)
    login(client, people.staff)
    url = reverse("complaints:list")

    page = text(client.get(url + "?status=accepted"))
    assert new.reference in page and old.reference not in page
    page = text(client.get(url + "?deadline_state=at_risk"))
    assert old.reference in page and new.reference not in page
    page = text(client.get(url + "?deadline_state=on_track"))
    assert new.reference in page and old.reference not in page
    page = text(client.get(url + "?received_from=2026-03-10"))
    assert new.reference in page and old.reference not in page
    page = text(client.get(url))
    assert new.reference in page and old.reference in page
    assert "2 complaints" in page


def test_list_unit_filter_covers_the_subtree_and_stays_in_scope(
    client, clock, people, make_complaint, tree
):
    at_branch = make_complaint()
    at_sub = make_complaint(unit=tree.sub_a1a)
    at_sibling = make_complaint(by=people.sibling_staff, unit=tree.branch_a2)
    login(client, people.head_staff)
    url = reverse("complaints:list")
    page = text(client.get(url + f"?within={tree.branch_a1.pk}"))
    assert at_branch.reference in page and at_sub.reference in page
    assert at_sibling.reference not in page
    # A unit outside the user's scope is not a choice: the field says so.
    login(client, people.staff)
    response = client.get(url + f"?within={tree.branch_a2.pk}")
    assert response.status_code == 200
    page = text(response)
    assert at_branch.reference not in page
    assert "Select a valid choice" in page


@pytest.mark.parametrize(
    ("query", "field_label", "message"),
    [
        ("received_from=2026-13-45", "Received from", "Enter a valid date."),
        (
            "received_from=2026-03-10&received_to=2026-03-01",
            "Received until",
            "The end date comes before the start date.",
        ),
        ("status=lost", "Status", "Select a valid choice."),
    ],
)
def test_bad_filters_name_the_field(
    client, clock, people, make_complaint, query, field_label, message
):
    complaint = make_complaint()
    login(client, people.staff)
    response = client.get(reverse("complaints:list") + "?" + query)
    assert response.status_code == 200
    page = text(response)
    assert complaint.reference not in page
    assert f"<strong>{field_label}</strong>: {message}" in page
    assert 'aria-invalid="true"' in page


def test_search_by_reference_phone_and_id_number(client, clock, people, make_complaint):
    number = id_number(D(1975, 8, 1))
    wanted = make_complaint(complainant_phone="13912345678", complainant_id_number=number)
    other = make_complaint()
    login(client, people.staff)
    for term in (wanted.reference, wanted.reference.lower(), "13912345678", number, number[:-1]):
        location = search(client, term)
        page = text(client.get(location))
        assert detail_url(other) not in page, term
        if term == number[:-1]:
            assert detail_url(wanted) not in page  # exact match only
        else:
            assert detail_url(wanted) in page, term
            assert "1 complaint" in page


def test_search_terms_never_appear_in_a_url(client, clock, people, make_complaint):
    make_complaint(complainant_phone="13912345678")
    login(client, people.staff)
    location = search(client, "13912345678", keep="status=received&page=3")
    assert "13912345678" not in location
    assert re.fullmatch(r"/work/complaints/\?status=received&s=[\w-]+", location)
    response = client.get(location)
    page = text(response)
    assert "1 complaint" in page
    # the box shows the term; no link (pagination, export) carries it
    assert 'value="13912345678"' in page
    assert not re.search(r'href="[^"]*13912345678', page)
    # a token from another session finds nothing and says so, naming the search box
    other = client_class_login(people.staff)
    page = text(other.get(location))
    assert "This search has expired" in page and "1 complaint" not in page
    # an empty search clears it, keeping the other filters
    assert search(client, "", keep="status=received") == "/work/complaints/?status=received"


def client_class_login(user):
    from django.test import Client

    return login(Client(), user)


def test_list_paginates_50_a_page(client, clock, people, make_complaint):
    refs = [make_complaint().reference for _ in range(52)]
    login(client, people.staff)
    first = text(client.get(reverse("complaints:list")))
    second = text(client.get(reverse("complaints:list") + "?page=2"))
    assert "52 complaints" in first
    assert sum(ref in first for ref in refs) == 50
    assert sum(ref in second for ref in refs) == 2
    assert "Page 2 of 2" in second


def test_list_answers_htmx_with_just_the_results(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff)
    location = search(client, complaint.reference)
    response = client.get(location, headers={"HX-Request": "true"})
    page = text(response)
    assert page.lstrip().startswith('<section id="results"')
    assert detail_url(complaint) in page and "<html" not in page


def test_list_query_count_does_not_grow_with_complaints(client, clock, people, make_complaint):
    make_complaint()
    login(client, people.staff)
    url = reverse("complaints:list") + "?status=received"
    few = count_queries(client, url)
    for _ in range(12):
        make_complaint()
    assert count_queries(client, url) == few


# ---- staff intake ---------------------------------------------------------------------------


def form_data(tree, **overrides):
    data = intake(received_at="", amount_in_dispute="12000.00")
    data.update(insurer=tree.insurer_a.pk, org_unit=tree.branch_a1.pk)
    data.update(overrides)
    return data


def test_staff_form_offers_only_units_and_insurers_in_scope(client, clock, people, tree):
    login(client, people.staff)
    response = client.get(reverse("complaints:new"))
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.fields["org_unit"].queryset) == {tree.branch_a1, tree.sub_a1a}
    assert set(form.fields["insurer"].queryset) == {tree.insurer_a}
    page = text(response)
    assert tree.branch_a2.name not in page
    insurer_select = re.search(r'<select name="insurer".*?</select>', page, re.S).group(0)
    assert f'value="{tree.insurer_c.pk}"' not in insurer_select
    assert f'value="{tree.insurer_a.pk}" selected' in insurer_select  # the only one
    # every channel, not only "online"; received now by default
    assert 'value="regulator"' in page and 'value="counter"' in page
    assert 'value="2026-03-02T09:00"' in page


def test_staff_form_logs_a_complaint(client, clock, people, tree):
    login(client, people.staff)
    data = form_data(tree, channel="counter", received_at="2026-03-01T15:30")
    response = client.post(reverse("complaints:new"), data)
    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(complaint)
    assert complaint.created_by == people.staff
    assert complaint.channel == "counter"
    assert complaint.received_on == D(2026, 3, 1)
    assert complaint.org_unit == tree.branch_a1


def test_staff_form_rejects_a_sibling_unit_naming_org_unit(client, clock, people, tree):
    login(client, people.staff)
    response = client.post(reverse("complaints:new"), form_data(tree, org_unit=tree.branch_a2.pk))
    assert response.status_code == 200
    assert "org_unit" in response.context["form"].errors
    assert 'id="id_org_unit_error"' in text(response)
    assert not Complaint.objects.exists()


def test_staff_form_names_every_bad_field_at_once(client, clock, people, tree):
    login(client, people.staff)
    data = form_data(
        tree,
        org_unit="",
        complainant_phone="12345",
        complainant_id_number="310101198005170011",
        category="sales",
        subcategory="claim_denied",
    )
    response = client.post(reverse("complaints:new"), data)
    errors = response.context["form"].errors
    assert {"org_unit", "complainant_phone", "complainant_id_number", "subcategory"} <= set(errors)
    page = text(response)
    assert "The complaint was not saved" in page
    assert "check digit" in page
    assert not Complaint.objects.exists()


def test_staff_form_insurer_outside_scope_is_named(client, clock, people, tree):
    login(client, people.head_staff)
    response = client.post(reverse("complaints:new"), form_data(tree, insurer=tree.insurer_c.pk))
    assert "insurer" in response.context["form"].errors
    assert 'id="id_insurer_error"' in text(response)
    assert not Complaint.objects.exists()


def test_officers_cannot_log_complaints(client, clock, people, tree):
    login(client, people.branch_officer)
    assert client.get(reverse("complaints:new")).status_code == 403
    assert client.post(reverse("complaints:new"), form_data(tree)).status_code == 403
    assert not Complaint.objects.exists()


# ---- actions -------------------------------------------------------------------------------


def post_action(client, complaint, action, **fields):
    data = {f"{action}-{key}": value for key, value in fields.items()}
    return client.post(action_url(complaint, action), data)


def status_of(complaint) -> str:
    return Complaint.objects.values_list("status", flat=True).get(pk=complaint.pk)


def test_each_action_through_the_page_moves_the_complaint(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff)
    steps = [
        ("accept", {}, Status.ACCEPTED),
        ("investigate", {}, Status.INVESTIGATING),
        ("extend", {"reason": "需要调取医院病历"}, Status.EXTENDED),
        ("pause", {"kind": "appraisal", "reason": "等待伤残鉴定"}, Status.EXTENDED),
        ("resume", {}, Status.EXTENDED),
        (
            "decide",
            {"decision": "partly_upheld", "reply": "部分支持", "remedy_amount": "800.00"},
            Status.DECIDED,
        ),
        ("close", {"satisfaction": "neutral"}, Status.CLOSED),
        ("request_review", {"reason": "对赔付金额有异议"}, Status.UNDER_REVIEW),
    ]
    for action, fields, expected in steps:
        page = text(client.get(detail_url(complaint)))
        assert f'action="{action_url(complaint, action)}"' in page, action
        response = post_action(client, complaint, action, **fields)
        assert response.status_code == 302, (action, text(response)[:0])
        assert response["Location"] == detail_url(complaint)
        assert status_of(complaint) == expected, action
    complaint.refresh_from_db()
    assert complaint.extensions == 1 and complaint.pauses.get().end == D(2026, 3, 2)
    assert complaint.remedy_amount == 800
    # the review is decided one level up: the head office's staff
    login(client, people.head_staff)
    response = post_action(client, complaint, "decide", decision="upheld", reply="核查后支持")
    assert response.status_code == 302
    assert status_of(complaint) == Status.DECIDED
    # every step is on the timeline, in order, with its actor
    page = text(client.get(detail_url(complaint)))
    timeline = page.split('id="timeline"')[1]
    for label in ("Accepted", "Investigating", "Deadline extended", "Clock paused", "Decided"):
        assert label in timeline
    assert "核查后支持" in timeline and "对赔付金额有异议" in timeline


def test_a_success_message_follows_the_redirect(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff)
    response = post_action(client, complaint, "accept")
    page = text(client.get(response["Location"]))
    assert "Complaint accepted." in page


def test_a_forbidden_move_shows_the_error_and_changes_nothing(
    client, clock, people, make_complaint
):
    complaint = make_complaint()
    login(client, people.staff)
    response = post_action(client, complaint, "close", satisfaction="satisfied")
    assert response.status_code == 200
    page = text(response)
    assert "was not done" in page
    assert "Not possible while the complaint is" in page
    assert status_of(complaint) == Status.RECEIVED
    assert complaint.events.count() == 1


def test_missing_action_fields_are_named_beside_the_field(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff)
    response = post_action(client, complaint, "decline", reason="", note="重复投诉")
    assert response.status_code == 200
    page = text(response)
    assert 'id="id_decline-reason_error"' in page
    assert re.search(r'<details class="action" open>\s*<summary[^>]*>Decline', page)
    assert status_of(complaint) == Status.RECEIVED

    services.complaint_accept(complaint=complaint, by=people.staff)
    response = post_action(client, complaint, "decide", decision="upheld", reply="  ")
    assert 'id="id_decide-reply_error"' in text(response)
    assert status_of(complaint) == Status.ACCEPTED


def test_service_errors_land_on_the_named_field(client, clock, people, make_complaint):
    complaint = make_complaint()
    services.complaint_accept(complaint=complaint, by=people.staff)
    services.complaint_extend(complaint=complaint, by=people.staff, reason="复杂")
    login(client, people.staff)
    # The second step needs a notice to the complainant: the service names the field.
    response = post_action(
        client, complaint, "extend", reason="需要更多时间", complainant_notice=""
    )
    page = text(response)
    assert 'id="id_extend-complainant_notice_error"' in page
    assert complaint.extension_steps.count() == 1


def test_officers_see_no_buttons_and_cannot_post_actions(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.branch_officer)
    response = post_action(client, complaint, "accept")
    assert response.status_code == 403
    page = text(response)
    # the detail page again, with the service's refusal in an alert
    assert complaint.reference in page
    assert re.search(r'class="alert alert--error" role="alert"><p>[^<]+</p>', page)
    assert status_of(complaint) == Status.RECEIVED


def test_a_review_decided_at_the_same_level_is_refused_on_the_page(
    client, clock, people, make_complaint
):
    complaint = make_complaint()
    services.complaint_accept(complaint=complaint, by=people.staff)
    services.complaint_decide(complaint=complaint, by=people.staff, decision="upheld", reply="好")
    services.complaint_request_review(complaint=complaint, by=people.staff, reason="有异议")
    login(client, people.staff)
    response = post_action(client, complaint, "decide", decision="not_upheld", reply="维持")
    assert response.status_code == 403
    page = text(response)
    assert "A review is decided by the next level up" in page
    assert complaint.reference in page  # the detail page, not a bare error page
    assert status_of(complaint) == Status.UNDER_REVIEW


def test_detail_query_count_does_not_grow_with_events(client, clock, people, make_complaint):
    complaint = make_complaint()
    services.complaint_accept(complaint=complaint, by=people.staff)
    login(client, people.staff)
    url = detail_url(complaint)
    few = count_queries(client, url)
    for n in range(10):
        services.complaint_add_note(complaint=complaint, by=people.head_staff, text=f"备注 {n}")
        services.attachment_add(
            complaint=complaint,
            by=people.staff,
            upload=SimpleUploadedFile(f"f{n}.pdf", PDF),
        )
    services.complaint_pause(complaint=complaint, by=people.staff, kind="appraisal", reason="鉴定")
    services.complaint_resume(complaint=complaint, by=people.staff)
    services.complaint_extend(complaint=complaint, by=people.staff, reason="复杂")
    assert count_queries(client, url) == few


# ---- notes, reveal, attachments -------------------------------------------------------------


def test_notes_go_on_the_timeline_and_empty_ones_are_refused(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.branch_officer)  # officers may write notes
    response = client.post(
        reverse("complaints:note", args=[complaint.reference]), {"text": "已电话回访"}
    )
    assert response.status_code == 302
    assert "已电话回访" in text(client.get(detail_url(complaint)))
    response = client.post(reverse("complaints:note", args=[complaint.reference]), {"text": ""})
    assert 'id="id_text_error"' in text(response)
    assert complaint.events.filter(kind=EventKind.NOTE).count() == 1


def test_reveal_shows_the_full_number_once_and_is_audited(client, clock, people, make_complaint):
    number = id_number(D(1970, 1, 9))
    complaint = make_complaint(complainant_id_number=number)
    login(client, people.staff)
    page = text(client.get(detail_url(complaint)))
    assert number not in page and complaint.id_number_masked in page
    assert reverse("complaints:reveal", args=[complaint.reference]) in page

    response = client.post(reverse("complaints:reveal", args=[complaint.reference]))
    assert response.status_code == 200
    assert number in text(response)
    assert "no-store" in response["Cache-Control"]
    event = complaint.events.get(kind=EventKind.REVEAL)
    assert event.actor == people.staff
    # Not kept anywhere: the next view shows the masked number again.
    page = text(client.get(detail_url(complaint)))
    assert number not in page
    assert number not in str(dict(client.session))
    # Officers may reveal too; mediators may not even see the complaint.
    login(client, people.branch_officer)
    assert number in text(client.post(reverse("complaints:reveal", args=[complaint.reference])))
    login(client, people.mediator)
    assert client.post(reverse("complaints:reveal", args=[complaint.reference])).status_code == 403
    assert complaint.events.filter(kind=EventKind.REVEAL).count() == 2


def test_reveal_is_only_a_post(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff)
    assert client.get(reverse("complaints:reveal", args=[complaint.reference])).status_code == 405
    assert not complaint.events.filter(kind=EventKind.REVEAL).exists()


def upload(client, complaint, name: str, content: bytes):
    return client.post(
        reverse("complaints:attachment_upload", args=[complaint.reference]),
        {"file": SimpleUploadedFile(name, content)},
    )


def test_attachment_upload_and_download(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff)
    response = upload(client, complaint, "理赔通知书.pdf", PDF)
    assert response.status_code == 302
    attachment = complaint.attachments.get()
    page = text(client.get(detail_url(complaint)))
    url = reverse("complaints:attachment_download", args=[complaint.reference, attachment.pk])
    assert url in page and "理赔通知书.pdf" in page
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")


def test_attachment_too_big_is_refused_naming_the_field(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff)
    response = upload(client, complaint, "big.pdf", PDF + b"0" * (11 * 1024 * 1024))
    assert response.status_code == 200
    page = text(response)
    assert 'id="id_file_error"' in page
    assert "the limit is 10 MB" in page
    assert not complaint.attachments.exists()


def test_text_renamed_pdf_is_refused_naming_the_field(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff)
    response = upload(client, complaint, "notes.pdf", "这只是一个文本文件".encode())
    page = text(response)
    assert 'id="id_file_error"' in page
    assert "Only PDF files and images" in page
    assert not complaint.attachments.exists()


def test_another_branchs_attachment_is_404(client, clock, people, make_complaint, tree):
    mine = make_complaint()
    theirs = make_complaint(by=people.sibling_staff, unit=tree.branch_a2)
    attachment = services.attachment_add(
        complaint=theirs, by=people.sibling_staff, upload=SimpleUploadedFile("a.pdf", PDF)
    )
    login(client, people.staff)
    for ref in (theirs.reference, mine.reference):  # also not through one's own complaint
        url = reverse("complaints:attachment_download", args=[ref, attachment.pk])
        assert client.get(url).status_code == 404


# ---- extension approval and notifications -----------------------------------------------------


def test_second_extension_is_approved_by_the_officer_one_level_up(
    client, clock, people, make_complaint
):
    complaint = make_complaint()
    login(client, people.staff)
    post_action(client, complaint, "accept")
    post_action(client, complaint, "extend", reason="案情复杂")
    response = post_action(
        client,
        complaint,
        "extend",
        reason="需第三方鉴定",
        complainant_notice="您的投诉处理期限将延长",
    )
    assert response.status_code == 302
    pending = complaint.extension_steps.get(step=2)
    approve = reverse("complaints:extension_approve", args=[pending.pk])
    page = text(client.get(detail_url(complaint)))
    assert "Second extension awaiting approval" in page
    assert approve not in page  # staff wait; they cannot approve
    assert f'action="{action_url(complaint, "extend")}"' not in page
    assert client.post(approve).status_code == 403

    login(client, people.branch_officer)  # the handling unit's own officer is not one level up
    assert approve not in text(client.get(detail_url(complaint)))

    login(client, people.head_officer)
    assert approve in text(client.get(detail_url(complaint)))
    response = client.post(approve)
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.extensions == 2
    assert complaint.due_date == D(2026, 5, 1)
    assert "Second extension approved" in text(client.get(response["Location"]))


def test_extension_of_a_complaint_out_of_scope_is_404(client, clock, people, make_complaint, tree):
    complaint = make_complaint(by=people.sibling_staff, unit=tree.branch_a2)
    services.complaint_accept(complaint=complaint, by=people.sibling_staff)
    extension = services.complaint_extend(complaint=complaint, by=people.sibling_staff, reason="x")
    login(client, people.branch_officer)
    url = reverse("complaints:extension_approve", args=[extension.pk])
    assert client.post(url).status_code == 404


def test_notifications_are_listed_and_marked_read(client, clock, people, make_complaint):
    complaint = make_complaint()
    services.notify(user=people.staff, subject="TS 提醒", complaint=complaint)
    services.notify(user=people.sibling_staff, subject="别人的提醒")
    login(client, people.staff)
    page = text(client.get(reverse("complaints:notifications")))
    assert "TS 提醒" in page and "别人的提醒" not in page
    assert "1 new" in page and detail_url(complaint) in page
    assert not Notification.objects.filter(user=people.staff, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=people.sibling_staff, read_at__isnull=True).exists()
    assert "Nothing new" in text(client.get(reverse("complaints:notifications")))


def test_notification_list_query_count_is_constant(client, clock, people):
    services.notify(user=people.staff, subject="一")
    login(client, people.staff)
    url = reverse("complaints:notifications")
    client.get(url)
    few = count_queries(client, url)
    for n in range(10):
        services.notify(user=people.staff, subject=f"提醒 {n}")
    client.get(url)  # marks them read (one extra update) …
    assert count_queries(client, url) == few  # … after which the page costs the same


def test_pages_render_in_chinese(client, clock, people, make_complaint):
    complaint = make_complaint()
    login(client, people.staff, language="zh-hans")
    page = text(client.get(detail_url(complaint)))
    assert '<html lang="zh-Hans">' in page
    assert "已登记" in page  # the status, from the catalogue
    assert Event.objects.filter(complaint=complaint).exists()
