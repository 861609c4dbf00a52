"""Every workflow step of a complaint, allowed and forbidden, through the services."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from complaints import services
from complaints.models import Complaint, Event, EventKind, Notification, Status

pytestmark = pytest.mark.django_db
D = dt.date


def test_intake_numbers_dates_and_protects_the_id_number(clock, make_complaint, tree, people):
    complaint = make_complaint()
    assert complaint.reference == "TS2026-000001"
    assert make_complaint().reference == "TS2026-000002"
    assert complaint.status == Status.RECEIVED
    assert complaint.received_on == D(2026, 3, 2)
    assert complaint.due_date == D(2026, 3, 17)
    assert complaint.events.get().kind == EventKind.RECEIVED
    assert complaint.id_number_masked.count("*") == 10
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM complaints_complaint WHERE id = %s", [complaint.pk])
        raw = " ".join(str(v) for v in cursor.fetchone())
    plain = services.complaint_reveal_id_number(complaint=complaint, by=people.staff)
    assert len(plain) == 18 and plain not in raw and plain[6:14] not in raw
    assert complaint.events.filter(kind=EventKind.REVEAL, actor=people.staff).count() == 1
    history = complaint.history.values_list("id_number_masked", flat=True)
    assert all(plain not in (v or "") for v in history)


def test_elder_flag_comes_from_the_birth_date(clock, make_complaint):
    from tests.complaints.conftest import id_number

    assert make_complaint(complainant_id_number=id_number(D(1966, 3, 2))).is_elder  # 60 today
    assert not make_complaint(complainant_id_number=id_number(D(1966, 3, 3))).is_elder


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"complainant_id_number": "310101198005170011"}, "complainant_id_number"),
        ({"category": "nonsense"}, "category"),
        ({"category": "sales", "subcategory": "claim_denied"}, "subcategory"),
        ({"narrative": "长" * 5001}, "narrative"),
        ({"narrative": ""}, "narrative"),
        ({"complainant_phone": "12345"}, "complainant_phone"),
        ({"amount_in_dispute": Decimal("-1")}, "amount_in_dispute"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_bad_intake_names_the_field_and_saves_nothing(clock, make_complaint, overrides, field):
    with pytest.raises(ValidationError) as exc:
        make_complaint(**overrides)
    assert field in exc.value.message_dict
    assert not Complaint.objects.exists()


def test_unit_must_belong_to_the_insurer_and_to_the_scope(clock, tree, people):
    from tests.complaints.conftest import intake

    with pytest.raises(ValidationError) as exc:
        services.complaint_create(
            by=people.staff, insurer=tree.insurer_c, org_unit=tree.branch_a1, **intake()
        )
    assert "org_unit" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.complaint_create(
            by=people.staff, insurer=tree.insurer_a, org_unit=tree.branch_a2, **intake()
        )
    assert "org_unit" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.complaint_create(
            by=people.mediator, insurer=tree.insurer_a, org_unit=tree.branch_a1, **intake()
        )


def test_happy_path_is_audited(clock, make_complaint, people):
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)
    services.complaint_investigate(complaint=c, by=people.staff)
    services.complaint_decide(
        complaint=c, by=people.staff, decision="upheld", reply="同意赔付", remedy_amount=Decimal(1)
    )
    services.complaint_close(complaint=c, by=people.staff, satisfaction="satisfied")
    c.refresh_from_db()
    assert c.status == Status.CLOSED
    moves = list(c.events.filter(kind=EventKind.TRANSITION).values_list("from_status", "to_status"))
    assert moves == [
        ("received", "accepted"),
        ("accepted", "investigating"),
        ("investigating", "decided"),
        ("decided", "closed"),
    ]
    assert set(c.history.values_list("history_user", flat=True)) == {people.staff.pk}
    assert c.history.count() == 5


@pytest.mark.parametrize(
    ("path", "step"),
    [
        ([], "close"),  # closing an undecided complaint
        ([], "decide"),  # deciding before accepting
        ([], "investigate"),
        (["accept"], "accept"),
        (["accept"], "decline"),
        (["accept", "decide"], "investigate"),
        (["decline"], "accept"),
        (["accept", "decide", "close"], "decide"),
    ],
)
def test_forbidden_transitions(clock, make_complaint, people, path, step):
    c = make_complaint()
    args = {
        "accept": {},
        "investigate": {},
        "decline": {"reason": "duplicate"},
        "decide": {"decision": "not_upheld", "reply": "不予支持"},
        "close": {"satisfaction": "neutral"},
    }
    for done in path:
        getattr(services, f"complaint_{done}")(complaint=c, by=people.staff, **args[done])
    before = c.status
    with pytest.raises(ValidationError) as exc:
        getattr(services, f"complaint_{step}")(complaint=c, by=people.staff, **args[step])
    assert "status" in exc.value.message_dict
    c.refresh_from_db()
    assert c.status == before


def test_decline_needs_a_reason(clock, make_complaint, people):
    c = make_complaint()
    with pytest.raises(ValidationError) as exc:
        services.complaint_decline(complaint=c, by=people.staff, reason="")
    assert "decline_reason" in exc.value.message_dict
    assert Complaint.objects.get(pk=c.pk).status == Status.RECEIVED


@pytest.mark.parametrize("who", ["sibling_staff", "branch_officer", "mediator", "index_admin"])
def test_only_staff_in_scope_handle(clock, make_complaint, people, who):
    c = make_complaint()
    with pytest.raises(PermissionDenied):
        services.complaint_accept(complaint=c, by=getattr(people, who))
    assert Complaint.objects.get(pk=c.pk).status == Status.RECEIVED


def test_head_office_staff_handle_their_branches(clock, make_complaint, people):
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.head_staff)
    assert c.status == Status.ACCEPTED


def test_reveal_is_for_people_in_scope(clock, make_complaint, people):
    c = make_complaint()
    with pytest.raises(PermissionDenied):
        services.complaint_reveal_id_number(complaint=c, by=people.sibling_staff)
    with pytest.raises(PermissionDenied):
        services.complaint_reveal_id_number(complaint=c, by=people.index_admin)
    assert services.complaint_reveal_id_number(complaint=c, by=people.branch_officer)
    assert not c.events.filter(kind=EventKind.REVEAL, actor=people.sibling_staff).exists()


# ---- extensions --------------------------------------------------------------------------


def test_two_step_extension(clock, make_complaint, people, tree):
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)
    with pytest.raises(ValidationError) as exc:
        services.complaint_extend(complaint=c, by=people.staff, reason=" ")
    assert "reason" in exc.value.message_dict

    services.complaint_extend(complaint=c, by=people.staff, reason="需要调取交警事故认定")
    assert (c.status, c.extensions, c.due_date) == (Status.EXTENDED, 1, D(2026, 4, 1))

    # the second step needs a notice to the complainant …
    with pytest.raises(ValidationError) as exc:
        services.complaint_extend(complaint=c, by=people.staff, reason="案情特别复杂")
    assert "complainant_notice" in exc.value.message_dict
    ext = services.complaint_extend(
        complaint=c, by=people.staff, reason="案情特别复杂", complainant_notice="因需第三方鉴定…"
    )
    # … and is pending until the officer one level up (head office) approves it
    c.refresh_from_db()
    assert (c.extensions, c.due_date) == (1, D(2026, 4, 1))
    note = Notification.objects.get(user=people.head_officer)
    assert c.reference in note.subject
    with pytest.raises(PermissionDenied):
        services.extension_approve(extension=ext, by=people.branch_officer)  # the unit's own
    with pytest.raises(PermissionDenied):
        services.extension_approve(extension=ext, by=people.staff)
    services.extension_approve(extension=ext, by=people.head_officer)
    c.refresh_from_db()
    ext.refresh_from_db()
    assert (c.extensions, c.due_date) == (2, D(2026, 5, 1))
    assert ext.approved_by == people.head_officer and ext.complainant_notified_at
    assert c.events.filter(kind=EventKind.NOTE, data__notice=True).exists()

    with pytest.raises(ValidationError) as exc:
        services.complaint_extend(complaint=c, by=people.staff, reason="再延一次")
    assert "status" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.extension_approve(extension=ext, by=people.head_officer)  # decided already


def test_extension_after_the_deadline_is_refused(clock, make_complaint, people):
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)
    clock.move_to(D(2026, 3, 18))  # due 17 March
    with pytest.raises(ValidationError) as exc:
        services.complaint_extend(complaint=c, by=people.staff, reason="太迟了")
    assert "due_date" in exc.value.message_dict
    assert Complaint.objects.get(pk=c.pk).extensions == 0


def test_extension_is_not_for_received_or_decided(clock, make_complaint, people):
    c = make_complaint()
    with pytest.raises(ValidationError) as exc:
        services.complaint_extend(complaint=c, by=people.staff, reason="复杂")
    assert "status" in exc.value.message_dict


# ---- pauses ------------------------------------------------------------------------------


def test_pause_for_appraisal_stops_the_clock(clock, make_complaint, people):
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)
    clock.move_to(D(2026, 3, 5))
    services.complaint_pause(complaint=c, by=people.staff, kind="appraisal", reason="车辆定损鉴定")
    with pytest.raises(ValidationError):
        services.complaint_pause(complaint=c, by=people.staff, kind="appraisal", reason="again")
    with pytest.raises(ValidationError) as exc:
        services.complaint_decide(complaint=c, by=people.staff, decision="upheld", reply="x")
    assert "status" in exc.value.message_dict
    clock.move_to(D(2026, 3, 12))
    services.complaint_resume(complaint=c, by=people.staff)
    assert c.due_date == D(2026, 3, 24)  # 17 March + 7 paused days
    assert list(c.events.values_list("kind", flat=True)).count(EventKind.PAUSE) == 1


def test_pause_for_materials_is_off_by_default(clock, make_complaint, people, settings):
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)
    with pytest.raises(ValidationError) as exc:
        services.complaint_pause(complaint=c, by=people.staff, kind="materials", reason="补材料")
    assert "kind" in exc.value.message_dict
    settings.COMPLAINT_PAUSE_FOR_MATERIALS = True
    services.complaint_pause(complaint=c, by=people.staff, kind="materials", reason="补材料")


# ---- review (核查) ------------------------------------------------------------------------


def _decided(make_complaint, people):
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)
    services.complaint_decide(complaint=c, by=people.staff, decision="not_upheld", reply="不支持")
    return c


def test_review_within_30_days_goes_one_level_up(clock, make_complaint, people):
    c = _decided(make_complaint, people)
    services.complaint_close(complaint=c, by=people.staff, satisfaction="dissatisfied")
    clock.move_to(D(2026, 4, 1))  # decided 2 March: 30 days later
    services.complaint_request_review(complaint=c, by=people.staff, reason="对结果不服")
    assert c.status == Status.UNDER_REVIEW
    assert c.due_date == D(2026, 4, 16)
    with pytest.raises(PermissionDenied):
        services.complaint_decide(complaint=c, by=people.staff, decision="upheld", reply="改判")
    services.complaint_decide(complaint=c, by=people.head_staff, decision="upheld", reply="改判")
    assert c.status == Status.DECIDED
    with pytest.raises(ValidationError) as exc:
        services.complaint_request_review(complaint=c, by=people.staff, reason="再次核查")
    assert "status" in exc.value.message_dict


def test_review_after_30_days_is_refused(clock, make_complaint, people):
    c = _decided(make_complaint, people)
    clock.move_to(D(2026, 4, 2))
    with pytest.raises(ValidationError) as exc:
        services.complaint_request_review(complaint=c, by=people.staff, reason="太晚")
    assert "requested_at" in exc.value.message_dict
    assert Complaint.objects.get(pk=c.pk).status == Status.DECIDED


def test_escalation_and_close_after_mediation(clock, make_complaint, people):
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)
    services.complaint_escalate(complaint=c, by=people.staff, note="转调解")
    assert c.status == Status.ESCALATED
    with pytest.raises(ValidationError):
        services.complaint_close(complaint=c, by=people.staff, satisfaction="neutral")
    services.complaint_close_after_mediation(complaint=c, by=people.staff, outcome="调解成功")
    assert c.status == Status.CLOSED


def test_notes(clock, make_complaint, people):
    c = make_complaint()
    services.complaint_add_note(complaint=c, by=people.branch_officer, text="请关注")
    with pytest.raises(ValidationError):
        services.complaint_add_note(complaint=c, by=people.staff, text="  ")
    with pytest.raises(PermissionDenied):
        services.complaint_add_note(complaint=c, by=people.sibling_staff, text="越权")
    assert c.events.filter(kind=EventKind.NOTE).count() == 1


# ---- reminders and escalation on a frozen clock -------------------------------------------


def test_reminder_three_days_before_and_escalation_on_breach_each_once(
    clock, make_complaint, people
):
    people.staff.email = "staff@example.invalid"
    people.staff.save()
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)  # due 17 March

    clock.move_to(D(2026, 3, 13))
    assert services.deadline_sweep(today=clock.today()) == {"reminders": 0, "escalations": 0}
    clock.move_to(D(2026, 3, 14))
    assert services.deadline_sweep(today=clock.today()) == {"reminders": 1, "escalations": 0}
    assert services.deadline_sweep(today=clock.today()) == {"reminders": 0, "escalations": 0}
    clock.move_to(D(2026, 3, 15))
    assert services.deadline_sweep(today=clock.today()) == {"reminders": 0, "escalations": 0}
    reminder = Notification.objects.get(user=people.staff)
    assert "2026-03-17" in reminder.subject

    clock.move_to(D(2026, 3, 17))
    assert services.deadline_sweep(today=clock.today())["escalations"] == 0  # due today
    clock.move_to(D(2026, 3, 18))
    assert services.deadline_sweep(today=clock.today()) == {"reminders": 0, "escalations": 1}
    assert services.deadline_sweep(today=clock.today()) == {"reminders": 0, "escalations": 0}
    escalation = Notification.objects.get(user=people.branch_officer)
    assert c.reference in escalation.subject
    kinds = list(c.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.REMINDER) == 1 and kinds.count(EventKind.BREACH) == 1
    assert Event.objects.filter(kind=EventKind.BREACH).get().data["officer"] == (
        people.branch_officer.pk
    )


def test_extension_gives_a_fresh_reminder(clock, make_complaint, people):
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)
    clock.move_to(D(2026, 3, 14))
    services.deadline_sweep(today=clock.today())
    services.complaint_extend(complaint=c, by=people.staff, reason="复杂")  # due 1 April
    clock.move_to(D(2026, 3, 29))
    assert services.deadline_sweep(today=clock.today())["reminders"] == 1


def test_decided_complaints_are_not_chased(clock, make_complaint, people):
    c = _decided(make_complaint, people)
    clock.move_to(D(2026, 5, 1))
    assert services.deadline_sweep(today=clock.today()) == {"reminders": 0, "escalations": 0}
    assert c.events.filter(kind=EventKind.BREACH).count() == 0


def test_the_periodic_task_is_scheduled_and_runs(clock, make_complaint, people):
    from django_celery_beat.models import PeriodicTask

    from complaints.tasks import sweep_deadlines

    task = PeriodicTask.objects.get(task="complaints.tasks.sweep_deadlines")
    assert task.enabled and task.crontab.minute == "5"
    c = make_complaint()
    services.complaint_accept(complaint=c, by=people.staff)
    assert sweep_deadlines.apply(args=["2026-03-18"]).get() == {"reminders": 0, "escalations": 1}
    assert len(mail.outbox) == 0  # the officer has no email address: in-app only


def test_notification_email_is_sent_after_commit_and_a_mail_failure_is_harmless(
    clock, make_complaint, people, monkeypatch, django_capture_on_commit_callbacks
):
    people.staff.email = "staff@example.invalid"
    people.staff.save()
    c = make_complaint()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=people.staff, subject="s1", complaint=c)
    assert [m.subject for m in mail.outbox] == ["s1"]

    def broken(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(services, "send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=people.staff, subject="s2", complaint=c)
    assert Notification.objects.filter(subject="s2").exists()
