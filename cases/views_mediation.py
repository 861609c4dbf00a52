"""Mediation pages: the board, a case with its parties, timeline and sessions, the steps of
the mediation, a complaint's escalation and a direct application.

Who sees what is the selectors' and the rules' business: a mediator sees the cases of their
own organisation, insurer staff and officers the cases of their subtree; anyone else with a
login gets 403, and a case outside one's scope is 404. Writes go through ``services``: their
ValidationError lands on the form field it names (nothing is saved), their PermissionDenied
is a 403. Personal data is shown masked; the full name, phone and ID number of the consumer
behind a case are shown once, in the response to an audited POST. No page is cached.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_fsm import can_proceed

from complaints import selectors as complaint_selectors
from complaints import services as complaint_services
from complaints.models import Complaint
from complaints.step_forms import Step, step_forms
from complaints.views import works_with_complaints
from insurers.selectors import unit_is_visible

from . import selectors, services
from .forms_mediation import (
    CaseApplyForm,
    CaseFilterForm,
    EmptyStepForm,
    EscalateForm,
    NoteStepForm,
    RefuseForm,
    SessionForm,
    SettleForm,
)
from .models import OPEN_CASE_STATES, CaseStatus, MediationCase, MediationOrganization

#: States in which sessions are held.
#: The board's columns, left to right: the open states in their order, then the outcomes.
BOARD_ORDER = (
    CaseStatus.APPLIED,
    CaseStatus.ACCEPTED,
    CaseStatus.IN_MEDIATION,
    CaseStatus.SETTLED,
    CaseStatus.FAILED,
    CaseStatus.REFUSED,
    CaseStatus.WITHDRAWN,
)
#: Steps of the mediation itself, taken by the organisation's mediators.


# ---- who may do what ---------------------------------------------------------------------


def mediation_required(view):
    """Signed in (else the login page), with a role that works with mediation cases (else
    403), and never stored by a browser or proxy cache."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.has_perm("cases.view_mediationcase"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapped))


def _render(request, template: str, context: dict, status: int = 200):
    context.setdefault("works_with_complaints", works_with_complaints(request.user))
    context.setdefault("is_mediator", services.mediator_organization_id(request.user) is not None)
    return render(request, template, context, status=status)


def _case(request, reference: str) -> MediationCase:
    try:
        return selectors.case_get(user=request.user, reference=reference)
    except MediationCase.DoesNotExist:
        raise Http404 from None


def _detail_url(case: MediationCase, anchor: str = "") -> str:
    url = reverse("cases:case_detail", kwargs={"reference": case.reference})
    return f"{url}#{anchor}" if anchor else url


# ---- the board -----------------------------------------------------------------------------


@mediation_required
@require_GET
def board(request):
    user = request.user
    is_mediator = services.mediator_organization_id(user) is not None
    form = CaseFilterForm(request.GET or None, cases=selectors.scoped_cases(user=user))
    if is_mediator:
        del form.fields["organization"]  # their own organisation's cases only
    valid = form.is_valid() if form.is_bound else True
    filters = form.filters() if form.is_bound and valid else {}
    columns = selectors.board(user=user, filters=filters) if valid else []
    if filters.get("status"):
        columns = [c for c in columns if c["status"] == filters["status"]]
    columns.sort(key=lambda c: BOARD_ORDER.index(c["status"]))
    for column in columns:
        column["more"] = column["count"] - len(column["cases"])
        if column["more"] > 0 and not filters.get("status"):
            query = request.GET.copy()
            query["status"] = column["status"]
            column["more_url"] = f"?{query.urlencode()}"
    return _render(
        request,
        "cases/mediation/board.html",
        {
            "form": form,
            "valid": valid,
            "filtered": bool(filters),
            "columns": columns,
            "groups": [
                {
                    "name": name,
                    "title": title,
                    "columns": [c for c in columns if (c["status"] in OPEN_CASE_STATES) is is_open],
                }
                for name, title, is_open in (
                    ("open", _("Open"), True),
                    ("concluded", _("Concluded"), False),
                )
            ],
            "total": sum(c["count"] for c in columns),
            "is_mediator": is_mediator,
        },
    )


# ---- the case ------------------------------------------------------------------------------


STEPS: dict[str, Step] = {
    "accept": Step(
        EmptyStepForm,
        services.case_accept,
        gettext_lazy("Accept the case"),
        gettext_lazy("Case accepted."),
        "btn-primary",
        button_only=True,
    ),
    "refuse": Step(
        RefuseForm,
        services.case_refuse,
        gettext_lazy("Refuse the case"),
        gettext_lazy("Case refused."),
        "btn-danger",
    ),
    "start": Step(
        EmptyStepForm,
        services.case_start,
        gettext_lazy("Start the mediation"),
        gettext_lazy("Mediation started."),
        "btn-primary",
        button_only=True,
    ),
    "settle": Step(
        SettleForm,
        services.case_settle,
        gettext_lazy("Record the settlement"),
        gettext_lazy("Settlement recorded; the case is settled."),
        "btn-primary",
    ),
    "fail": Step(
        NoteStepForm,
        services.case_fail,
        gettext_lazy("Record that mediation failed"),
        gettext_lazy("Recorded: no agreement was reached."),
    ),
    "withdraw": Step(
        NoteStepForm,
        services.case_withdraw,
        gettext_lazy("Record a withdrawal"),
        gettext_lazy("Withdrawal recorded."),
        "btn-danger",
    ),
}


def _parties(case: MediationCase, *, revealed: str | None) -> dict:
    """The consumer's name and phone, masked unless ``revealed`` (the full ID number, or ""
    when none was given) came back from the audited reveal."""
    complaint = case.complaint
    if complaint is not None:
        name, phone = complaint.complainant_name, complaint.complainant_phone
        id_masked = complaint.id_number_masked
    else:
        name, phone, id_masked = case.applicant_name, case.applicant_phone, ""
    if revealed is not None:
        return {"name": name, "phone": phone, "id_number": revealed or id_masked, "full": True}
    return {
        "name": complaint_selectors.mask_name(name),
        "phone": complaint_selectors.mask_phone(phone),
        "id_number": id_masked,
        "full": False,
    }


def _may_open_complaint(user, complaint: Complaint | None) -> bool:
    """Link to the staff complaint page only for those who may see it there: mediators see
    the complaint's facts on the case page, not in the complaint workbench."""
    return bool(
        complaint is not None
        and works_with_complaints(user)
        and user.has_perm("complaints.view_complaint", complaint)
        and unit_is_visible(user=user, unit=complaint.org_unit)
    )


def _session_errors(form, *, shown: bool) -> list[str]:
    """Errors of a session form to show above the sessions: those not on a field, and all of
    them when the form itself is not on offer (the case is not in mediation any more)."""
    if form is None:
        return []
    if shown:
        return list(form.non_field_errors())
    return [error for errors in form.errors.values() for error in errors]


def _render_detail(
    request,
    case: MediationCase,
    *,
    bound: tuple[str, object] | None = None,
    session_form=None,
    revealed: str | None = None,
    denied: str = "",
    status: int = 200,
):
    user = request.user
    available = selectors.available_case_actions(case=case, user=user)
    steps, step_errors = step_forms(
        available=available,
        specs=STEPS,
        bound=bound,
        make_form=lambda spec, prefix: spec.form(case=case, prefix=prefix),
        url_for=lambda name: reverse(
            "cases:case_action", kwargs={"reference": case.reference, "action": name}
        ),
    )
    bound_name = bound[0] if bound else None
    complaint = case.complaint
    can_log = selectors.may_log_session(case=case, user=user)
    return _render(
        request,
        "cases/mediation/detail.html",
        {
            "case": case,
            "complaint": complaint,
            "may_open_complaint": _may_open_complaint(user, complaint),
            "parties": _parties(case, revealed=revealed),
            "can_reveal": complaint is not None
            and revealed is None
            and user.has_perm("complaints.reveal_personal_data", complaint),
            "events": list(selectors.case_timeline(case=case)),
            "sessions": list(case.sessions.select_related("created_by")),
            "can_log_session": can_log,
            "session_form": (session_form or SessionForm(prefix="session")) if can_log else None,
            "session_errors": _session_errors(session_form, shown=can_log),
            "steps": steps,
            "step_errors": step_errors,
            "failed_step": STEPS[bound_name].label if bound_name else "",
            "denied": denied,
        },
        status=status,
    )


@mediation_required
@require_http_methods(["GET", "POST"])
def case_detail(request, reference: str):
    """GET shows the case; POST shows the consumer's personal data in full in this one
    response (never in the session, the URL or a redirect), after the complaint's service
    has recorded the reveal on the complaint's timeline."""
    case = _case(request, reference)
    if request.method == "POST":
        if case.complaint is None:
            raise PermissionDenied
        number = complaint_services.complaint_reveal_id_number(
            complaint=case.complaint, by=request.user
        )
        return _render_detail(request, case, revealed=number)
    return _render_detail(request, case)


@mediation_required
@require_POST
def case_action(request, reference: str, action: str):
    spec = STEPS.get(action)
    if spec is None:
        raise Http404
    case = _case(request, reference)
    form = spec.form(request.POST, case=case, prefix=action)
    if form.is_valid():
        try:
            spec.service(case=case, by=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        except PermissionDenied as exc:
            return _render_detail(
                request,
                _case(request, reference),
                denied=str(exc) or _("Your role does not allow this."),
                status=403,
            )
        else:
            messages.success(request, str(spec.done))
            return redirect(_detail_url(case))
    # A failed step may have moved the object in memory before its transaction rolled back;
    # show the case as it is stored.
    return _render_detail(request, _case(request, reference), bound=(action, form))


@mediation_required
@require_POST
def session_log(request, reference: str):
    case = _case(request, reference)
    if not request.user.has_perm("cases.mediate_mediationcase", case):
        raise PermissionDenied
    form = SessionForm(request.POST, prefix="session")
    if form.is_valid():
        try:
            services.session_log(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Session recorded."))
            return redirect(_detail_url(case, "sessions"))
    return _render_detail(request, case, session_form=form)


# ---- opening a case ------------------------------------------------------------------------


def _escalation_required(view):
    """Insurer staff who handle complaints and may open mediation cases."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (works_with_complaints(user) and user.has_perm("cases.add_mediationcase")):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapped))


@_escalation_required
@require_http_methods(["GET", "POST"])
def escalate(request, complaint_reference: str):
    """Staff choose the mediation organisation and confirm; the service escalates the
    complaint and opens the case together."""
    user = request.user
    try:
        complaint = complaint_selectors.complaint_get(user=user, reference=complaint_reference)
    except Complaint.DoesNotExist:
        raise Http404 from None
    if not user.has_perm("complaints.change_complaint", complaint):
        raise PermissionDenied
    existing = getattr(complaint, "mediation_case", None)
    if existing is not None:
        messages.info(
            request,
            _("This complaint is already in mediation as case %(reference)s.")
            % {"reference": existing.reference},
        )
        return redirect(_detail_url(existing))
    form = EscalateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_open_from_complaint(
                complaint=complaint, by=user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                _("Complaint %(complaint)s sent to %(org)s as case %(case)s.")
                % {
                    "complaint": complaint.reference,
                    "org": case.organization.name,
                    "case": case.reference,
                },
            )
            return redirect(_detail_url(case))
    return _render(
        request,
        "cases/mediation/escalate.html",
        {
            "complaint": complaint,
            "complainant_name": complaint_selectors.mask_name(complaint.complainant_name),
            "may_escalate": can_proceed(complaint.escalate),
            "form": form,
        },
    )


@mediation_required
@require_http_methods(["GET", "POST"])
def case_apply(request):
    """A mediator records an application made directly to their organisation."""
    org_id = services.mediator_organization_id(request.user)
    if org_id is None:
        raise PermissionDenied
    organization = MediationOrganization.objects.get(pk=org_id)
    form = CaseApplyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_apply(
                organization=organization, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request, _("Application recorded as case %(case)s.") % {"case": case.reference}
            )
            return redirect(_detail_url(case))
    return _render(
        request, "cases/mediation/apply.html", {"form": form, "organization": organization}
    )
