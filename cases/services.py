"""Every write to a mediation case, and the showcase-case workflow.

The complaint side of mediation is reached only through ``complaints.services``: escalating
opens the case and moves the complaint to ``escalated`` in one transaction; settling or
failing the case closes the complaint with that outcome in the same transaction.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed

from complaints import services as complaint_services
from complaints.models import Complaint

from .models import (
    CaseEvent,
    CaseReferenceCounter,
    CaseStatus,
    MediationCase,
    MediationOrganization,
    MediationSession,
)

# ---- permissions ------------------------------------------------------------------------------


def mediator_organization_id(user) -> int | None:
    mediator = getattr(user, "mediator", None) if user.is_authenticated else None
    if mediator is None or not mediator.active:
        return None
    return mediator.organization_id


def _ensure(by, perm: str, case: MediationCase) -> None:
    if by is None or not by.has_perm(perm):
        raise PermissionDenied(_("Your role does not allow this."))
    if not by.has_perm(perm, case):
        raise PermissionDenied(_("This case is outside your scope."))


def _mediate(by, case: MediationCase) -> None:
    """Steps of the mediation itself are taken by the case's organisation's mediators."""
    _ensure(by, "cases.mediate_mediationcase", case)


# ---- helpers ----------------------------------------------------------------------------------


def allocate_case_reference(year: int) -> str:
    CaseReferenceCounter.objects.get_or_create(year=year)
    CaseReferenceCounter.objects.filter(year=year).update(last=F("last") + 1)
    last = CaseReferenceCounter.objects.values_list("last", flat=True).get(year=year)
    return f"TJ{year}-{last:06d}"


def _event(case, *, by, before="", text=""):
    return CaseEvent.objects.create(
        case=case,
        at=timezone.now(),
        actor=by,
        from_status=before,
        to_status=case.status if before else "",
        text=text,
    )


def _move(case: MediationCase, name: str) -> str:
    method = getattr(case, name)
    before = case.status
    if not can_proceed(method):
        raise ValidationError(
            {
                "status": _("A case that is “%(status)s” cannot do this.")
                % {"status": case.get_status_display()}
            },
            code="invalid_transition",
        )
    method()
    return before


def _save(case: MediationCase, by) -> None:
    case._history_user = by
    case.full_clean(exclude=["reference", "status", "created_by"])
    try:
        case.save()
    except ConcurrentTransition as exc:
        raise ValidationError(
            {"status": _("Someone else changed this case just now; reload and try again.")}
        ) from exc


# ---- opening a case ---------------------------------------------------------------------------


@transaction.atomic
def case_open_from_complaint(
    *,
    complaint: Complaint,
    organization: MediationOrganization,
    by,
    summary: str = "",
    claimed_amount: Decimal | None = None,
) -> MediationCase:
    """Escalate ``complaint`` to mediation: open the case and move the complaint to
    ``escalated`` together (both or neither)."""
    if not organization.active:
        raise ValidationError({"organization": _("This mediation organisation is not active.")})
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if MediationCase.objects.filter(complaint=complaint).exists():
        raise ValidationError({"complaint": _("This complaint is already in mediation.")})
    complaint_services.complaint_escalate(
        complaint=complaint, by=by, note=_("Sent to %(org)s") % {"org": organization.name}
    )
    now = timezone.now()
    case = MediationCase(
        reference=allocate_case_reference(timezone.localtime(now).year),
        organization=organization,
        complaint=complaint,
        insurer=complaint.insurer,
        org_unit=complaint.org_unit,
        claimed_amount=claimed_amount
        if claimed_amount is not None
        else complaint.amount_in_dispute,
        summary=summary or complaint.narrative[:5000],
        applied_at=now,
        created_by=by,
    )
    _save(case, by)
    _event(case, by=by, text=_("Escalated from complaint %(ref)s") % {"ref": complaint.reference})
    return case


@transaction.atomic
def case_apply(
    *,
    organization: MediationOrganization,
    insurer,
    org_unit,
    applicant_name: str,
    applicant_phone: str,
    summary: str,
    claimed_amount: Decimal | None = None,
    by=None,
) -> MediationCase:
    """A direct application to a mediation organisation, recorded by its mediator."""
    if by is not None and mediator_organization_id(by) != organization.pk and not by.is_superuser:
        raise PermissionDenied(_("Only this organisation's mediators record its applications."))
    errors = {}
    if org_unit is not None and insurer is not None and org_unit.insurer_id != insurer.pk:
        errors["org_unit"] = _("The unit must belong to the insurer.")
    if not applicant_name.strip():
        errors["applicant_name"] = _("Enter the applicant's name.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    case = MediationCase(
        reference=allocate_case_reference(timezone.localtime(now).year),
        organization=organization,
        insurer=insurer,
        org_unit=org_unit,
        applicant_name=applicant_name,
        applicant_phone=applicant_phone,
        claimed_amount=claimed_amount,
        summary=summary,
        applied_at=now,
        created_by=by,
    )
    _save(case, by)
    _event(case, by=by, text=_("Application received"))
    return case


# ---- the mediation ----------------------------------------------------------------------------


@transaction.atomic
def case_accept(*, case: MediationCase, by) -> MediationCase:
    _mediate(by, case)
    before = _move(case, "accept")
    case.accepted_at = timezone.now()
    _save(case, by)
    _event(case, by=by, before=before)
    return case


@transaction.atomic
def case_refuse(*, case: MediationCase, by, reason: str) -> MediationCase:
    """Refuse the application; a complaint behind it closes with the refusal as outcome
    (the complainant keeps every other remedy, such as the courts)."""
    _mediate(by, case)
    if not reason.strip():
        raise ValidationError({"refusal_reason": _("Give the reason for refusing.")})
    before = _move(case, "refuse")
    case.refusal_reason = reason
    case.concluded_at = timezone.now()
    _save(case, by)
    _event(case, by=by, before=before, text=reason)
    if case.complaint_id:
        _close_complaint(case, by, _("Mediation refused: %(reason)s") % {"reason": reason})
    return case


@transaction.atomic
def case_start(*, case: MediationCase, by) -> MediationCase:
    _mediate(by, case)
    before = _move(case, "start")
    _save(case, by)
    _event(case, by=by, before=before)
    return case


@transaction.atomic
def session_log(
    *,
    case: MediationCase,
    by,
    date: datetime.date,
    mode: str,
    attendees: str,
    notes: str = "",
    next_step: str = "",
) -> MediationSession:
    _mediate(by, case)
    errors = {}
    if case.status not in (CaseStatus.ACCEPTED, CaseStatus.IN_MEDIATION):
        errors["status"] = _("Sessions are held once a case is accepted and until it concludes.")
    if date and date < timezone.localtime(case.applied_at).date():
        errors["date"] = _("A session cannot be dated before the application (%(day)s).") % {
            "day": timezone.localtime(case.applied_at).date()
        }
    if date and date > timezone.localdate():
        errors["date"] = _("A session cannot be dated in the future.")
    if errors:
        raise ValidationError(errors)
    session = MediationSession(
        case=case,
        date=date,
        mode=mode,
        attendees=attendees,
        notes=notes,
        next_step=next_step,
        created_by=by,
    )
    session.full_clean()
    session.save()
    _event(case, by=by, text=_("Session on %(day)s") % {"day": date})
    return session


def _close_complaint(case: MediationCase, by, outcome: str) -> None:
    complaint = Complaint.objects.select_for_update().get(pk=case.complaint_id)
    complaint_services.complaint_close_after_mediation(complaint=complaint, by=by, outcome=outcome)


@transaction.atomic
def case_settle(
    *,
    case: MediationCase,
    by,
    amount: Decimal,
    terms: str,
    signed_on: datetime.date,
    note: str = "",
    judicially_confirmed: bool = False,
    court: str = "",
    confirmed_on: datetime.date | None = None,
) -> MediationCase:
    """Record the settlement agreement; the complaint behind the case closes with it."""
    _mediate(by, case)
    errors = {}
    if amount is None or amount < 0:
        errors["settlement_amount"] = _("Enter the amount agreed.")
    elif case.claimed_amount is not None and amount > case.claimed_amount and not note.strip():
        errors["settlement_amount"] = _(
            "The amount is above the %(claimed)s claimed; explain why in the note."
        ) % {"claimed": case.claimed_amount}
    if not terms.strip():
        errors["settlement_terms"] = _("Write down the terms agreed.")
    if signed_on and signed_on < timezone.localtime(case.applied_at).date():
        errors["signed_on"] = _("The agreement cannot be signed before the application.")
    if judicially_confirmed and (not court.strip() or confirmed_on is None):
        errors["court"] = _("A judicial confirmation names the court and the date.")
    if errors:
        raise ValidationError(errors)
    before = _move(case, "settle")
    case.settlement_amount = amount
    case.settlement_terms = terms
    case.signed_on = signed_on
    case.outcome_note = note
    case.judicially_confirmed = judicially_confirmed
    case.court = court
    case.confirmed_on = confirmed_on
    case.concluded_at = timezone.now()
    _save(case, by)
    _event(case, by=by, before=before, text=note or terms)
    if case.complaint_id:
        _close_complaint(
            case, by, _("Settled in mediation: CNY %(amount)s. %(terms)s") % {
                "amount": amount, "terms": terms}
        )  # fmt: skip
    return case


@transaction.atomic
def case_fail(*, case: MediationCase, by, note: str) -> MediationCase:
    """Mediation ended without agreement; the complaint behind it closes with that outcome."""
    _mediate(by, case)
    if not note.strip():
        raise ValidationError({"outcome_note": _("Record why no agreement was reached.")})
    before = _move(case, "fail")
    case.outcome_note = note
    case.concluded_at = timezone.now()
    _save(case, by)
    _event(case, by=by, before=before, text=note)
    if case.complaint_id:
        _close_complaint(case, by, _("Mediation failed: %(note)s") % {"note": note})
    return case


@transaction.atomic
def case_withdraw(*, case: MediationCase, by, note: str) -> MediationCase:
    """The applicant withdraws; recorded by the mediator or by insurer staff in scope."""
    _ensure(by, "cases.view_mediationcase", case)
    if not (
        by.has_perm("cases.mediate_mediationcase", case)
        or by.has_perm("cases.change_mediationcase", case)
    ):
        raise PermissionDenied(_("Your role does not allow this."))
    if not note.strip():
        raise ValidationError({"outcome_note": _("Record how the applicant withdrew.")})
    before = _move(case, "withdraw")
    case.outcome_note = note
    case.concluded_at = timezone.now()
    _save(case, by)
    _event(case, by=by, before=before, text=note)
    if case.complaint_id:
        _close_complaint(case, by, _("Mediation withdrawn: %(note)s") % {"note": note})
    return case


@transaction.atomic
def case_reveal_applicant(*, case: MediationCase, by) -> dict[str, str]:
    """A direct applicant's name and phone in full, for the case's mediators and insurer
    staff in scope; the reveal is on the case's timeline. (For a case from a complaint, the
    complainant's data is revealed through the complaint, and audited there.)"""
    _ensure(by, "cases.view_mediationcase", case)
    if case.complaint_id:
        raise ValidationError({"case": _("Open the complaint's personal data instead.")})
    _event(case, by=by, text=_("Applicant's personal data shown in full"))
    return {"name": case.applicant_name, "phone": case.applicant_phone}
