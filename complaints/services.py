"""Every write to a complaint: intake and each workflow step.

Each step checks that the actor's role allows it and that the complaint lies in their scope,
validates its input (field errors, nothing saved on error), moves the state through the
protected FSM field, recomputes the deadline, writes the timeline, and saves — in one
transaction. The history table (django-simple-history) records every saved version and who
saved it.
"""

import datetime
import hashlib
import json
import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed

from insurers.models import OrgUnit, ServiceOfficer, UnitMembership
from insurers.roles import STAFF
from insurers.selectors import unit_is_visible, user_root_paths
from outbox.services import outbox_enqueue

from . import crypto, deadlines, idnumber, summaries
from .models import (
    SUBCATEGORIES,
    Attachment,
    Complaint,
    Event,
    EventKind,
    Extension,
    IdempotencyKey,
    Notification,
    Pause,
    PauseReason,
    ReferenceCounter,
    Status,
)
from .selectors import DEADLINE_STATES, extension_approver

logger = logging.getLogger(__name__)

ELDER_AGE = 60


def _id_number_error(reason: str) -> str:
    return {
        "length": _("An ID number has 18 characters."),
        "digits": _("An ID number is 17 digits followed by a digit or X."),
        "region": _("The first two digits are not a province code."),
        "birth_date": _("The birth date in the ID number (digits 7–14) is not a real date."),
        "checksum": _(
            "The check digit (the 18th character) does not match; please check the number."
        ),
    }[reason]


# ---- permissions --------------------------------------------------------------------------


def _ensure(by, perm: str, complaint: Complaint) -> None:
    """The actor's role grants ``perm`` and the object rules (``complaints/rules.py``, which
    higher apps may widen) grant it on this complaint."""
    if by is None or not by.has_perm(perm, complaint):
        raise PermissionDenied(_("You may not do this on this complaint."))


def _handle(by, complaint: Complaint) -> None:
    _ensure(by, "complaints.change_complaint", complaint)


# ---- deadlines ----------------------------------------------------------------------------


def deadline_calendar():
    """The calendar the deadlines count in (settings.COMPLAINT_DEADLINE_CALENDAR)."""
    if getattr(settings, "COMPLAINT_DEADLINE_CALENDAR", "calendar") == "working":
        return deadlines.WorkingDays(
            holidays=frozenset(getattr(settings, "COMPLAINT_HOLIDAYS", ())),
            workdays=frozenset(getattr(settings, "COMPLAINT_MAKEUP_WORKDAYS", ())),
        )
    return deadlines.CALENDAR_DAYS


def _refresh_due(complaint: Complaint, today: datetime.date | None = None) -> None:
    today = today or timezone.localdate()
    if complaint.status == Status.UNDER_REVIEW:
        start = timezone.localtime(complaint.review_requested_at).date()
        complaint.due_date = deadlines.due_date(
            received=start, pauses=[], today=today, calendar=deadline_calendar()
        )
        return
    pauses = [p.as_tuple() for p in complaint.pauses.all()] if complaint.pk else []
    complaint.due_date = deadlines.due_date(
        received=complaint.received_on,
        extensions=complaint.extensions,
        pauses=pauses,
        today=today,
        calendar=deadline_calendar(),
    )


# ---- timeline and notifications -------------------------------------------------------------


def _event(complaint, *, by, kind, text="", before="", data=None, dedupe_key=None, at=None):
    return Event.objects.create(
        complaint=complaint,
        at=at or timezone.now(),
        actor=by,
        kind=kind,
        from_status=before,
        to_status=complaint.status if before else "",
        text=text,
        data=data or {},
        dedupe_key=dedupe_key,
    )


def notify(*, user, subject: str, body: str = "", complaint=None, dedupe_key=None):
    """An in-app notification, and an email once the transaction commits. With a
    ``dedupe_key`` a second call does nothing (returns None)."""
    if dedupe_key and Notification.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    notification = Notification.objects.create(
        user=user, complaint=complaint, subject=subject, body=body, dedupe_key=dedupe_key
    )
    if user.email:
        transaction.on_commit(lambda: _send_email(subject, body, user.email))
    return notification


def _send_email(subject: str, body: str, address: str) -> None:
    """Email is a courtesy copy of the in-app notification: a mail server that is down must
    not fail the request that has already been committed."""
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    except Exception:
        logger.exception("notification email could not be sent")


def _save(complaint: Complaint, by) -> None:
    complaint._history_user = by
    complaint.full_clean(exclude=["reference", "status"])
    # The dashboard's summary tables follow every change, in this transaction.
    before = summaries.stored_contribution(complaint.pk)
    try:
        complaint.save()
    except ConcurrentTransition as exc:
        raise ValidationError(
            {"status": _("Someone else changed this complaint just now; reload and try again.")},
            code="concurrent_change",
        ) from exc
    summaries.apply_change(complaint=complaint, before=before)


STEP_LABELS = {
    "accept": gettext_lazy("acceptance"),
    "decline": gettext_lazy("declining"),
    "investigate": gettext_lazy("investigation"),
    "extend": gettext_lazy("extension"),
    "decide": gettext_lazy("making a decision"),
    "close": gettext_lazy("closing"),
    "escalate": gettext_lazy("escalation to mediation"),
    "close_after_mediation": gettext_lazy("closing after mediation"),
    "request_review": gettext_lazy("review request"),
}


def _move(complaint: Complaint, transition: str, *, by, text="", data=None) -> str:
    """Run an FSM transition; a forbidden one is a validation error on ``status``."""
    method = getattr(complaint, transition)
    before = complaint.status
    if not can_proceed(method):
        raise ValidationError(
            {
                "status": _("Not possible while the complaint is “%(status)s”: %(action)s.")
                % {"status": complaint.get_status_display(), "action": STEP_LABELS[transition]}
            },
            code="invalid_transition",
        )
    try:
        method()
    except TransitionNotAllowed as exc:  # pragma: no cover - can_proceed said yes
        raise ValidationError({"status": str(exc)}) from exc
    return before


# ---- intake -------------------------------------------------------------------------------


def allocate_references(year: int, count: int = 1) -> list[str]:
    """``count`` fresh reference numbers for ``year``, e.g. TS2026-000123.

    One row per year, created or bumped by a single ``INSERT … ON CONFLICT DO UPDATE …
    RETURNING`` (PostgreSQL and SQLite): concurrent intakes queue on that row for the length
    of their transaction and never get the same number.
    """
    table = connection.ops.quote_name(ReferenceCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("year", "last") VALUES (%s, %s) '  # noqa: S608 - model's
            f'ON CONFLICT ("year") DO UPDATE SET "last" = {table}."last" + EXCLUDED."last" '
            'RETURNING "last"',
            [year, count],
        )
        last = cursor.fetchone()[0]
    return [f"TS{year}-{n:06d}" for n in range(last - count + 1, last + 1)]


INTAKE_FIELDS = (
    "insurer",
    "org_unit",
    "product_line",
    "category",
    "subcategory",
    "channel",
    "amount_in_dispute",
    "narrative",
    "complainant_name",
    "complainant_phone",
    "complainant_id_number",
    "received_at",
)


INTAKE_RELATIONS = ("insurer", "org_unit", "created_by")
#: The unique fields and constraints of Complaint, none of which intake validation checks
#: (see complaint_build).
INTAKE_UNCHECKED = {"unique": ("reference",), "constraints": ("complaint_at_most_two_extensions",)}


def complaint_build(*, by=None, **fields) -> Complaint:
    """Validate intake fields and return an unsaved complaint (no reference yet).

    Shared by every channel (staff form, public form, API, file import), so that each gives
    the same messages for the same mistakes. Raises ValidationError naming every bad field.
    """
    unknown = set(fields) - set(INTAKE_FIELDS)
    if unknown:
        raise ValueError(f"unexpected fields: {sorted(unknown)}")
    errors: dict[str, list[str]] = {}
    id_number = idnumber.normalise(fields.pop("complainant_id_number", "") or "")
    now = timezone.now()
    received_at = fields.pop("received_at", None) or now
    if received_at > now + datetime.timedelta(minutes=5):
        errors.setdefault("received_at", []).append(
            _("The date of receipt cannot be in the future.")
        )
    complaint = Complaint(**fields, received_at=received_at, created_by=by)
    complaint.received_on = timezone.localtime(received_at).date()
    if id_number:
        reason = idnumber.problem(id_number)
        if reason:
            errors.setdefault("complainant_id_number", []).append(_id_number_error(reason))
        else:
            complaint.id_number_encrypted = crypto.encrypt(id_number)
            complaint.id_number_hash = crypto.search_hash(id_number)
            complaint.id_number_masked = idnumber.mask(id_number)
            age = idnumber.age_on(id_number, complaint.received_on)
            complaint.is_elder = age is not None and age >= ELDER_AGE
    allowed_sub = SUBCATEGORIES.get(complaint.category, ())
    if complaint.subcategory and complaint.subcategory not in allowed_sub:
        errors.setdefault("subcategory", []).append(
            _("This subcategory does not belong to the chosen category.")
        )
    unit, insurer_id = complaint.org_unit if complaint.org_unit_id else None, complaint.insurer_id
    if unit is not None and insurer_id and unit.insurer_id != insurer_id:
        errors.setdefault("org_unit", []).append(
            _("The handling unit must belong to the insurer complained about.")
        )
    if complaint.received_on:
        _refresh_due(complaint)
    # Not validated here: the reference and status the service sets, the extension count (0
    # at intake), and relations that arrive as loaded rows (the form, serializer or import
    # fetched them; asking again costs a query each). The model's only unique field is the
    # reference and its only constraint the extension count, so neither check has anything
    # left to do (Django would still build a query of every field to find that out);
    # INTAKE_UNCHECKED pins that, and a test fails when the model gains another.
    exclude = ["reference", "status", "extensions"]
    exclude += [name for name in INTAKE_RELATIONS if getattr(Complaint, name).is_cached(complaint)]
    try:
        complaint.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return complaint


@transaction.atomic
def complaint_create(*, by=None, **fields) -> Complaint:
    """Receive a complaint on any channel. ``by`` is the staff user or API client, or None
    for the public form (then the caller has checked nothing: anyone may complain)."""
    if by is not None:
        unit = fields.get("org_unit")
        if not by.has_perm("complaints.add_complaint"):
            raise PermissionDenied(_("Your role does not allow logging complaints."))
        if unit is not None and not unit_is_visible(user=by, unit=unit):
            raise ValidationError(
                {"org_unit": _("Choose a unit in your part of the organisation.")}
            )
    complaint = complaint_build(by=by, **fields)
    complaint.reference = allocate_references(complaint.received_on.year)[0]
    complaint._history_user = by
    # The dashboard's summary tables and the unit's notifications follow within a second or
    # so, from the batched task (one run for all complaints received meanwhile), not in
    # this request: the flag and the outbox row commit with the complaint, so neither is
    # lost, and the task does each exactly once.
    complaint.summary_pending = True
    complaint.save()
    _event(complaint, by=by, kind=EventKind.RECEIVED, text=complaint.get_channel_display())
    outbox_enqueue(
        task="complaints.tasks.complaints_received",
        args=[complaint.pk],
        key=f"received:{complaint.pk}",
        batch=True,
    )
    return complaint


def complaints_received_process(*, complaint_ids: list[int]) -> dict[str, int]:
    """The work intake leaves to after the request, for many complaints at once: their
    contributions to the dashboard's summary tables (exactly once), then a notification to
    each handling unit's staff (once per complaint and person). Safe to run again."""
    summarised = summaries.summaries_catch_up(complaint_ids)
    wanted, staff = [], {}
    for complaint in (
        Complaint.objects.select_related("org_unit").filter(pk__in=complaint_ids).order_by("pk")
    ):
        if complaint.org_unit_id is None:
            continue
        if complaint.org_unit_id not in staff:
            staff[complaint.org_unit_id] = list(_unit_staff(complaint.org_unit))
        wanted += _received_notices(complaint, staff[complaint.org_unit_id])
    return {"summarised": summarised, "notified": notify_many(wanted)}


@transaction.atomic
def notify_many(items) -> int:
    """``notify`` for many (user, complaint, subject, dedupe key) at once: one query for the
    keys already used, one insert for the rest, their emails after commit. Returns how many
    notifications it created. (Two runs racing over the same keys still create each
    notification once: the insert skips a key another run took meanwhile; that person may
    then get the courtesy email twice.)"""
    keys = [key for _user, _complaint, _subject, key in items]
    taken = set(
        Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
    )
    new = [
        Notification(user=user, complaint=complaint, subject=subject, dedupe_key=key)
        for user, complaint, subject, key in items
        if key not in taken
    ]
    Notification.objects.bulk_create(new, ignore_conflicts=True)
    for notification in new:
        if notification.user.email:
            transaction.on_commit(
                lambda n=notification: _send_email(n.subject, n.body, n.user.email)
            )
    return len(new)


def complaint_received_notify(*, complaint: Complaint) -> int:
    """Tell the handling unit's staff (but not whoever logged it) that a complaint arrived.
    Idempotent: once per complaint and person, however often it runs. Returns how many
    notifications this call created."""
    if complaint.org_unit_id is None:
        return 0
    return notify_many(_received_notices(complaint, list(_unit_staff(complaint.org_unit))))


def _received_notices(complaint: Complaint, staff: list) -> list[tuple]:
    """(user, complaint, subject, dedupe key) for each of the unit's ``staff`` but the
    author: what ``notify_many`` takes."""
    subject = _("New complaint %(ref)s for your unit") % {"ref": complaint.reference}
    return [
        (user, complaint, subject, f"received:{complaint.pk}:{user.pk}")
        for user in staff
        if user.pk != complaint.created_by_id
    ]


def request_fingerprint(payload: dict) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


def complaint_create_idempotent(*, by, key: str, payload: dict, **fields) -> tuple[Complaint, bool]:
    """Create once per (client, key): a retry with the same body returns the first complaint
    (``created`` False); the same key with another body raises IdempotencyConflict.

    The key row and the complaint commit together; a concurrent duplicate hits the unique
    constraint, rolls back its own complaint and answers with the winner's.
    """
    fingerprint = request_fingerprint(payload)
    existing = IdempotencyKey.objects.filter(user=by, key=key).select_related("complaint").first()
    if existing is None:
        try:
            with transaction.atomic():
                complaint = complaint_create(by=by, **fields)
                IdempotencyKey.objects.create(
                    user=by, key=key, request_hash=fingerprint, complaint=complaint
                )
                return complaint, True
        except IntegrityError:
            existing = IdempotencyKey.objects.select_related("complaint").get(user=by, key=key)
    if existing.request_hash != fingerprint:
        raise IdempotencyConflict(key)
    return existing.complaint, False


# ---- workflow -----------------------------------------------------------------------------


@transaction.atomic
def complaint_accept(*, complaint: Complaint, by) -> Complaint:
    _handle(by, complaint)
    before = _move(complaint, "accept", by=by)
    complaint.accepted_at = timezone.now()
    _save(complaint, by)
    _event(complaint, by=by, kind=EventKind.TRANSITION, before=before)
    return complaint


@transaction.atomic
def complaint_decline(*, complaint: Complaint, by, reason: str, note: str = "") -> Complaint:
    _handle(by, complaint)
    if not reason:
        raise ValidationError({"decline_reason": _("Give the reason for declining.")})
    before = _move(complaint, "decline", by=by)
    complaint.decline_reason = reason
    _save(complaint, by)
    _event(complaint, by=by, kind=EventKind.TRANSITION, before=before, text=note)
    return complaint


@transaction.atomic
def complaint_investigate(*, complaint: Complaint, by) -> Complaint:
    _handle(by, complaint)
    before = _move(complaint, "investigate", by=by)
    _save(complaint, by)
    _event(complaint, by=by, kind=EventKind.TRANSITION, before=before)
    return complaint


@transaction.atomic
def complaint_extend(
    *, complaint: Complaint, by, reason: str, complainant_notice: str = ""
) -> Extension:
    """Extend the deadline one step.

    Step 1 (to 30 days) takes effect at once, with the reason recorded. Step 2 (to 60 days
    in all) is only requested here: it takes effect when the service officer one level up
    approves it (``extension_approve``), and the complainant must be told why.
    """
    _handle(by, complaint)
    today = timezone.localdate()
    errors = {}
    if not reason.strip():
        errors["reason"] = _("Record why the case needs more time.")
    step = complaint.extensions + 1
    if step > 2:
        errors["status"] = _("A complaint can be extended at most twice (to 60 days in all).")
    elif complaint.extension_steps.filter(step=step).exists():
        errors["status"] = _("This extension has already been requested.")
    if complaint.due_date and complaint.due_date < today:
        errors["due_date"] = _(
            "The deadline (%(due)s) has already passed; an extension must be made before it."
        ) % {"due": complaint.due_date}
    if step == 2 and not complainant_notice.strip():
        errors["complainant_notice"] = _(
            "Write the notice telling the complainant about the extension and why."
        )
    if step == 2 and extension_approver(complaint=complaint) is None:
        errors["status"] = _("No service officer one level up can approve a second extension.")
    if not can_proceed(complaint.extend):
        errors["status"] = _("A complaint that is “%(status)s” cannot be extended.") % {
            "status": complaint.get_status_display()
        }
    if errors:
        raise ValidationError(errors)
    extension = Extension.objects.create(
        complaint=complaint,
        step=step,
        reason=reason,
        complainant_notice=complainant_notice,
        created_by=by,
    )
    if step == 1:
        _apply_extension(complaint, extension, by=by)
    else:
        approver = extension_approver(complaint=complaint)
        _event(
            complaint,
            by=by,
            kind=EventKind.NOTE,
            text=_("Second extension requested: %(reason)s") % {"reason": reason},
            data={"extension": extension.pk, "approver": approver.user_id},
        )
        notify(
            user=approver.user,
            complaint=complaint,
            subject=_("Approve a second extension for %(ref)s") % {"ref": complaint.reference},
            body=reason,
            dedupe_key=f"extension-request:{extension.pk}",
        )
    return extension


def _apply_extension(complaint: Complaint, extension: Extension, *, by) -> None:
    before = _move(complaint, "extend", by=by)
    complaint.extensions = extension.step
    _refresh_due(complaint)
    _save(complaint, by)
    _event(
        complaint,
        by=by,
        kind=EventKind.EXTENSION,
        before=before,
        text=extension.reason,
        data={"step": extension.step, "due_date": complaint.due_date.isoformat()},
    )


@transaction.atomic
def extension_approve(*, extension: Extension, by) -> Complaint:
    """The service officer one level up approves a second extension; the complainant's
    notice is recorded as sent at the same moment."""
    complaint = Complaint.objects.select_for_update().get(pk=extension.complaint_id)
    officer = extension_approver(complaint=complaint)
    if officer is None or officer.user_id != by.pk:
        raise PermissionDenied(
            _("Only the service officer one level above the handling unit can approve this.")
        )
    if extension.approved_by_id is not None or extension.step != complaint.extensions + 1:
        raise ValidationError({"status": _("This extension has already been decided.")})
    if complaint.due_date and complaint.due_date < timezone.localdate():
        raise ValidationError(
            {"due_date": _("The deadline has already passed; the extension came too late.")}
        )
    extension.approved_by = by
    extension.complainant_notified_at = timezone.now()
    extension.save()
    _apply_extension(complaint, extension, by=by)
    _event(
        complaint,
        by=by,
        kind=EventKind.NOTE,
        text=_("Complainant told: %(notice)s") % {"notice": extension.complainant_notice},
        data={"extension": extension.pk, "notice": True},
    )
    return complaint


@transaction.atomic
def complaint_pause(
    *, complaint: Complaint, by, kind: str, reason: str, start: datetime.date | None = None
) -> Pause:
    """Stop the clock while waiting on an outside appraisal, test or assessment."""
    _handle(by, complaint)
    errors = {}
    if kind == PauseReason.MATERIALS and not getattr(
        settings, "COMPLAINT_PAUSE_FOR_MATERIALS", False
    ):
        errors["kind"] = _("Pausing while waiting for materials is not enabled.")
    if kind not in PauseReason.values:
        errors["kind"] = _("Choose what the complaint is waiting for.")
    if not reason.strip():
        errors["reason"] = _("Say what the complaint is waiting for.")
    if complaint.status not in (Status.ACCEPTED, Status.INVESTIGATING, Status.EXTENDED):
        errors["status"] = _("Only a complaint being handled can be paused.")
    if complaint.pauses.filter(end__isnull=True).exists():
        errors["status"] = _("The clock is already paused.")
    start = start or timezone.localdate()
    if start > timezone.localdate():
        errors["start"] = _("A pause cannot start in the future.")
    if errors:
        raise ValidationError(errors)
    pause = Pause.objects.create(
        complaint=complaint, kind=kind, reason=reason, start=start, created_by=by
    )
    _refresh_due(complaint)
    _save(complaint, by)
    _event(complaint, by=by, kind=EventKind.PAUSE, text=reason, data={"start": start.isoformat()})
    return pause


@transaction.atomic
def complaint_resume(*, complaint: Complaint, by, end: datetime.date | None = None) -> Complaint:
    _handle(by, complaint)
    pause = complaint.pauses.filter(end__isnull=True).first()
    if pause is None:
        raise ValidationError({"status": _("The clock is not paused.")})
    end = end or timezone.localdate()
    if end < pause.start:
        raise ValidationError({"end": _("A pause cannot end before it starts.")})
    pause.end = end
    pause.save()
    _refresh_due(complaint)
    _save(complaint, by)
    _event(
        complaint,
        by=by,
        kind=EventKind.RESUME,
        data={"end": end.isoformat(), "due_date": complaint.due_date.isoformat()},
    )
    return complaint


def _reviewer_may_decide(by, complaint: Complaint) -> bool:
    """A review (核查) is decided one level up: the actor works in a unit strictly above the
    handling unit."""
    if by.is_superuser:
        return True
    return any(
        complaint.org_unit.path.startswith(root) and complaint.org_unit.path != root
        for root in user_root_paths(by)
    )


@transaction.atomic
def complaint_decide(
    *,
    complaint: Complaint,
    by,
    decision: str,
    reply: str,
    remedy_amount: Decimal | None = None,
) -> Complaint:
    _handle(by, complaint)
    if complaint.status == Status.UNDER_REVIEW and not _reviewer_may_decide(by, complaint):
        raise PermissionDenied(_("A review is decided by the next level up in the organisation."))
    if complaint.pauses.filter(end__isnull=True).exists():
        raise ValidationError({"status": _("Resume the clock before deciding.")})
    if not reply.strip():
        raise ValidationError({"reply": _("Write the reply to the complainant.")})
    before = _move(complaint, "decide", by=by)
    now = timezone.now()
    complaint.decision = decision
    complaint.reply = reply
    complaint.remedy_amount = remedy_amount
    complaint.decided_at = now
    complaint.first_decided_at = complaint.first_decided_at or now
    _save(complaint, by)
    on_time = timezone.localtime(now).date() <= complaint.due_date if complaint.due_date else True
    _event(
        complaint,
        by=by,
        kind=EventKind.TRANSITION,
        before=before,
        text=reply,
        data={"decision": decision, "on_time": on_time, "review": before == Status.UNDER_REVIEW},
    )
    return complaint


@transaction.atomic
def complaint_close(*, complaint: Complaint, by, satisfaction: str) -> Complaint:
    _handle(by, complaint)
    if not satisfaction:
        raise ValidationError({"satisfaction": _("Record the complainant's satisfaction.")})
    before = _move(complaint, "close", by=by)
    complaint.satisfaction = satisfaction
    complaint.closed_at = timezone.now()
    _save(complaint, by)
    _event(complaint, by=by, kind=EventKind.TRANSITION, before=before)
    return complaint


@transaction.atomic
def complaint_request_review(
    *, complaint: Complaint, by, reason: str, requested_at: datetime.datetime | None = None
) -> Complaint:
    """The complainant asks for a review (核查) within 30 days of the decision, once."""
    _handle(by, complaint)
    requested_at = requested_at or timezone.now()
    errors = {}
    if complaint.review_requested_at is not None:
        errors["status"] = _("A review can be requested only once.")
    elif complaint.first_decided_at is not None:
        last_day = deadlines.review_open_until(
            timezone.localtime(complaint.first_decided_at).date()
        )
        if timezone.localtime(requested_at).date() > last_day:
            errors["requested_at"] = _(
                "A review must be requested within 30 days of the decision (by %(day)s)."
            ) % {"day": last_day}
    if not reason.strip():
        errors["reason"] = _("Record what the complainant disputes.")
    if errors:
        raise ValidationError(errors)
    before = _move(complaint, "request_review", by=by)
    complaint.review_requested_at = requested_at
    _refresh_due(complaint)
    _save(complaint, by)
    _event(complaint, by=by, kind=EventKind.TRANSITION, before=before, text=reason)
    return complaint


@transaction.atomic
def complaint_escalate(*, complaint: Complaint, by, note: str = "") -> Complaint:
    """Move the complaint to mediation. Called by the cases app, which opens the mediation
    case in the same transaction."""
    _handle(by, complaint)
    before = _move(complaint, "escalate", by=by)
    complaint.escalated_at = timezone.now()
    _save(complaint, by)
    _event(complaint, by=by, kind=EventKind.TRANSITION, before=before, text=note)
    return complaint


@transaction.atomic
def complaint_close_after_mediation(*, complaint: Complaint, by, outcome: str) -> Complaint:
    """Close an escalated complaint with the mediation's outcome (called by the cases app)."""
    before = _move(complaint, "close_after_mediation", by=by)
    complaint.closed_at = timezone.now()
    _save(complaint, by)
    _event(complaint, by=by, kind=EventKind.TRANSITION, before=before, text=outcome)
    return complaint


@transaction.atomic
def complaint_add_note(*, complaint: Complaint, by, text: str) -> Event:
    _ensure(by, "complaints.view_complaint", complaint)
    if not text.strip():
        raise ValidationError({"text": _("A note cannot be empty.")})
    if len(text) > 5000:
        raise ValidationError({"text": _("A note has at most 5,000 characters.")})
    return _event(complaint, by=by, kind=EventKind.NOTE, text=text)


@transaction.atomic
def complaint_reveal_id_number(*, complaint: Complaint, by) -> str:
    """The complainant's full ID number, for staff in scope; the reveal is on the timeline."""
    _ensure(by, "complaints.reveal_personal_data", complaint)
    # Recorded even when there is no ID number: callers show the name and phone with it.
    _event(complaint, by=by, kind=EventKind.REVEAL, text=_("Personal data shown in full"))
    if not complaint.id_number_encrypted:
        return ""
    return crypto.decrypt(complaint.id_number_encrypted)


# ---- deadlines: reminders and escalation ----------------------------------------------------


def _unit_staff(unit: OrgUnit):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(
        pk__in=UnitMembership.objects.filter(org_unit=unit).values("user_id"),
        groups__name=STAFF,
        is_active=True,
    )


@transaction.atomic
def deadline_remind(*, complaint: Complaint, today: datetime.date) -> bool:
    """Remind the handling unit's staff three days before the due date. Once per due date."""
    key = f"reminder:{complaint.pk}:{complaint.due_date.isoformat()}"
    if Event.objects.filter(dedupe_key=key).exists():
        return False
    left = deadlines.days_left(complaint.due_date, today)
    _event(
        complaint,
        by=None,
        kind=EventKind.REMINDER,
        text=_("%(days)s days left until the decision is due on %(due)s.")
        % {"days": left, "due": complaint.due_date},
        dedupe_key=key,
    )
    for user in _unit_staff(complaint.org_unit):
        notify(
            user=user,
            complaint=complaint,
            subject=_("%(ref)s: decision due on %(due)s")
            % {"ref": complaint.reference, "due": complaint.due_date},
            dedupe_key=f"{key}:{user.pk}",
        )
    return True


@transaction.atomic
def deadline_escalate(*, complaint: Complaint, today: datetime.date) -> bool:
    """On breach, tell the handling unit's service officer. Once per due date."""
    key = f"breach:{complaint.pk}:{complaint.due_date.isoformat()}"
    if Event.objects.filter(dedupe_key=key).exists():
        return False
    officer = (
        ServiceOfficer.objects.filter(org_unit=complaint.org_unit, ended__isnull=True)
        .select_related("user")
        .first()
    )
    _event(
        complaint,
        by=None,
        kind=EventKind.BREACH,
        text=_("The decision was due on %(due)s.") % {"due": complaint.due_date},
        data={"officer": officer.user_id if officer else None},
        dedupe_key=key,
    )
    if officer is not None:
        notify(
            user=officer.user,
            complaint=complaint,
            subject=_("Overdue: %(ref)s was due on %(due)s")
            % {"ref": complaint.reference, "due": complaint.due_date},
            dedupe_key=f"{key}:{officer.user_id}",
        )
    return True


def _due_soon(today: datetime.date) -> Q:
    return Q(
        due_date__gte=today, due_date__lte=today + datetime.timedelta(days=deadlines.AT_RISK_DAYS)
    )


def _overdue(today: datetime.date) -> Q:
    return Q(due_date__lt=today)


def deadline_sweep(*, today: datetime.date | None = None) -> dict[str, int]:
    """Send every reminder and escalation that is due and has not been sent yet.

    Idempotent: each complaint gets one reminder and one escalation per due date, however
    often this runs (the events' ``dedupe_key`` is unique). Complaints already handled are
    filtered out in SQL, so a second run does no per-complaint work.
    """
    today = today or timezone.localdate()
    watched = Complaint.objects.filter(
        status__in=DEADLINE_STATES, due_date__isnull=False
    ).select_related("org_unit")
    sent = {"reminders": 0, "escalations": 0}
    for prefix, counter, window, action in (
        ("reminder:", "reminders", _due_soon, deadline_remind),
        ("breach:", "escalations", _overdue, deadline_escalate),
    ):
        key = Concat(
            Value(prefix),
            Cast("pk", CharField()),
            Value(":"),
            Cast("due_date", CharField()),
            output_field=CharField(),
        )
        pending = (
            watched.filter(window(today))
            .annotate(sweep_key=key)
            .filter(~Exists(Event.objects.filter(dedupe_key=OuterRef("sweep_key"))))
        )
        for complaint in pending.iterator(chunk_size=500):
            if action(complaint=complaint, today=today):
                sent[counter] += 1
    return sent


# ---- attachments --------------------------------------------------------------------------

# Recognised by their first bytes, never by the file name or the browser's claimed type.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_content_type(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@transaction.atomic
def attachment_add(*, complaint: Complaint, by, upload) -> Attachment:
    """Attach an uploaded file (PDF or image, at most ATTACHMENT_MAX_BYTES)."""
    _ensure(by, "complaints.change_complaint", complaint)
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"file": _("The file is %(size)s MB; the limit is %(limit)s MB.")
             % {"size": round(upload.size / 1048576, 1), "limit": limit // 1048576}}
        )  # fmt: skip
    if upload.size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    upload.seek(0)
    head = upload.read(16)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError(
            {"file": _("Only PDF files and images (PNG, JPEG, GIF, WebP) can be attached.")}
        )
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    name = (getattr(upload, "name", "") or "file")[-200:]
    attachment = Attachment(
        complaint=complaint,
        original_name=name,
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_by=by,
    )
    attachment.file.save("upload", upload, save=False)
    attachment.save()
    _event(
        complaint, by=by, kind=EventKind.ATTACHMENT, text=name, data={"attachment": attachment.pk}
    )
    return attachment


def notification_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones, or those in ``ids``)."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
