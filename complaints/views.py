"""Staff complaint pages: the workbench, the list and its exports, staff intake, the detail
page with its workflow actions, notes, attachments and the ID-number reveal, and the
notification list.

Every page needs a signed-in user whose role may view complaints (403 otherwise) and reads
through the scoped selectors, so a complaint outside the user's part of the organisation is
a 404 everywhere. Writes go through the services: their ValidationError lands on the form
field it names, their PermissionDenied is a 403. No page is cached anywhere (personal data).
"""

import functools
import logging
import secrets
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insurers.roles import sees_every_unit
from insurers.selectors import user_root_paths

from . import exports, selectors, services
from .forms import (
    DEADLINE_STATE_LABELS,
    AttachmentForm,
    CloseForm,
    ComplaintFilterForm,
    DecideForm,
    DeclineForm,
    EmptyActionForm,
    ExtendForm,
    NoteForm,
    PauseForm,
    ReviewForm,
    SearchForm,
    StaffComplaintForm,
)
from .models import Attachment, Complaint, Extension, Status
from .step_forms import Step, step_forms

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
EXPORT_FORMATS = {"csv": exports.csv_response, "xlsx": exports.xlsx_response}


def works_with_complaints(user) -> bool:
    """Insurer-side people who handle or oversee the complaints of their org units: the role
    grants viewing complaints, and the user is placed in the org tree (or sees all of it).
    Mediators may view complaints too, but only the one behind each of their cases, on the
    mediation pages; the workbench is not theirs."""
    if not user.has_perm("complaints.view_complaint"):
        return False
    return sees_every_unit(user) or bool(user_root_paths(user))


def staff_required(view):
    """Signed in (else the login page), working with complaints (else 403), and never
    stored by a browser or proxy cache."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not works_with_complaints(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapped))


def _complaint(request, reference: str) -> Complaint:
    try:
        return selectors.complaint_get(user=request.user, reference=reference)
    except Complaint.DoesNotExist:
        raise Http404 from None


def _with_countdown(complaints, today):
    """Materialise rows with ``days_left`` (negative when overdue) for the countdown."""
    rows = list(complaints)
    for complaint in rows:
        complaint.days_left = (complaint.due_date - today).days if complaint.due_date else None
        complaint.days_overdue = -complaint.days_left if (complaint.days_left or 0) < 0 else 0
    return rows


def _list_url(**params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse("complaints:list") + (f"?{query}" if query else "")


# ---- workbench ----------------------------------------------------------------------------


@staff_required
@require_GET
def workbench(request):
    today = timezone.localdate()
    data = selectors.workbench(user=request.user, today=today)
    sections = [
        {
            "id": "queue",
            "title": _("My queue"),
            "lead": _("Open complaints of your units, the most urgent first."),
            "empty": _("Nothing open. Well done."),
            "rows": _with_countdown(data["queue"], today),
        },
        {
            "id": "due-soon",
            "title": _("Due within 3 days"),
            "lead": _("Decide these before their deadline passes."),
            "empty": _("No complaint is due in the next three days."),
            "rows": _with_countdown(data["due_soon"], today),
        },
        {
            "id": "overdue",
            "title": _("Overdue"),
            "lead": _("The legal deadline has passed; the service officer has been told."),
            "empty": _("No complaint is overdue."),
            "rows": _with_countdown(data["overdue"], today),
        },
        {
            "id": "recently-closed",
            "title": _("Recently closed"),
            "lead": _("Closed in the last 14 days."),
            "empty": _("No complaint was closed in the last 14 days."),
            "rows": _with_countdown(data["recently_closed"], today),
        },
    ]
    counts = [
        {
            "status": value,
            "label": label,
            "count": data["counts"][value],
            "url": _list_url(status=value),
        }
        for value, label in Status.choices
    ]
    return render(
        request,
        "complaints/staff/workbench.html",
        {
            "sections": sections,
            "counts": counts,
            "overdue_url": _list_url(overdue="on"),
            "at_risk_url": _list_url(deadline_state="at_risk"),
            "unread": selectors.notifications_for(user=request.user, unread_only=True).count(),
            "can_add": request.user.has_perm("complaints.add_complaint"),
        },
    )


# ---- list and exports ---------------------------------------------------------------------


SEARCHES_SESSION_KEY = "complaint_searches"
SEARCHES_KEPT = 20


def _searches(request) -> dict[str, str]:
    return request.session.get(SEARCHES_SESSION_KEY, {})


def _search(request):
    """A POSTed search: keep the term in the session, redirect to the list with a token for
    it (and the filters that were set), so the term never appears in a URL."""
    form = SearchForm(request.POST)
    keep = QueryDict(mutable=True)
    if form.is_valid():
        keep = QueryDict(form.cleaned_data["keep"], mutable=True)
    for key in ("s", "page"):
        keep.pop(key, None)
    term = form.cleaned_data.get("q", "").strip() if form.is_valid() else ""
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("q", [])) or _("Search again."))
    elif term:
        searches = _searches(request)
        token = secrets.token_urlsafe(6)
        searches[token] = term
        while len(searches) > SEARCHES_KEPT:
            searches.pop(next(iter(searches)))
        request.session[SEARCHES_SESSION_KEY] = searches
        keep["s"] = token
    query = keep.urlencode()
    return redirect(reverse("complaints:list") + (f"?{query}" if query else ""))


@staff_required
@require_http_methods(["GET", "POST"])
def complaint_list(request):
    if request.method == "POST":
        return _search(request)
    form = ComplaintFilterForm(request.GET or None, user=request.user, searches=_searches(request))
    valid = form.is_valid() if form.is_bound else True
    filters = form.filters() if form.is_bound and valid else {}
    today = timezone.localdate()
    complaints = selectors.complaint_list(user=request.user, filters=filters, today=today)
    if not valid:
        complaints = complaints.none()
    page = Paginator(complaints, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    keep = query.copy()
    keep.pop("s", None)
    context = {
        "form": form,
        "search_form": SearchForm(
            initial={"q": form.search_term if valid else "", "keep": keep.urlencode()}
        ),
        "valid": valid,
        "page": page,
        "rows": _with_countdown(page.object_list, today),
        "query": query.urlencode(),
        "can_export": request.user.has_perm("complaints.export_complaints"),
        "can_add": request.user.has_perm("complaints.add_complaint"),
        "export_limit": number_format(exports.EXPORT_MAX_ROWS, force_grouping=True),
    }
    if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
        return render(request, "complaints/staff/_results.html", context)
    return render(request, "complaints/staff/list.html", context)


@staff_required
@require_GET
def complaint_export(request, fmt: str):
    if fmt not in EXPORT_FORMATS:
        raise Http404
    if not request.user.has_perm("complaints.export_complaints"):
        raise PermissionDenied
    form = ComplaintFilterForm(request.GET, user=request.user, searches=_searches(request))
    back = reverse("complaints:list") + (f"?{request.GET.urlencode()}" if request.GET else "")
    if not form.is_valid():
        messages.error(request, _("Correct the filters before exporting."))
        return redirect(back)
    complaints = selectors.complaint_list(user=request.user, filters=form.filters())
    count = complaints.count()
    if count > exports.EXPORT_MAX_ROWS:
        messages.error(
            request,
            _(
                "%(count)s complaints match, more than the %(limit)s an export can hold. "
                "Narrow the filters (for example the date range) and export again."
            )
            % {
                "count": number_format(count, force_grouping=True),
                "limit": number_format(exports.EXPORT_MAX_ROWS, force_grouping=True),
            },
        )
        return redirect(back)
    # Who exported how much, never what (the search term may be a phone or ID number).
    logger.info("complaint export: user=%s format=%s rows=%s", request.user.pk, fmt, count)
    filename = f"complaints-{timezone.localdate():%Y%m%d}.{fmt}"
    return EXPORT_FORMATS[fmt](complaints, filename=filename)


# ---- staff intake -------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def complaint_new(request):
    if not request.user.has_perm("complaints.add_complaint"):
        raise PermissionDenied
    form = StaffComplaintForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                complaint = services.complaint_create(by=request.user, **form.service_fields())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request,
                    _("Complaint %(reference)s logged.") % {"reference": complaint.reference},
                )
                return redirect("complaints:detail", reference=complaint.reference)
        else:
            form.add_remaining_errors(services.complaint_build)
    return render(request, "complaints/staff/new.html", {"form": form})


# ---- detail and its actions ---------------------------------------------------------------


ACTIONS: dict[str, Step] = {
    "accept": Step(
        EmptyActionForm,
        services.complaint_accept,
        gettext_lazy("Accept"),
        gettext_lazy("Complaint accepted."),
        "btn-primary",
        button_only=True,
    ),
    "decline": Step(
        DeclineForm,
        services.complaint_decline,
        gettext_lazy("Decline"),
        gettext_lazy("Complaint declined."),
        "btn-danger",
    ),
    "investigate": Step(
        EmptyActionForm,
        services.complaint_investigate,
        gettext_lazy("Start investigating"),
        gettext_lazy("Investigation started."),
        button_only=True,
    ),
    "extend": Step(
        ExtendForm,
        services.complaint_extend,
        gettext_lazy("Extend the deadline"),
        gettext_lazy("Deadline extended."),
    ),
    "pause": Step(
        PauseForm,
        services.complaint_pause,
        gettext_lazy("Pause the clock"),
        gettext_lazy("Clock paused."),
    ),
    "resume": Step(
        EmptyActionForm,
        services.complaint_resume,
        gettext_lazy("Resume the clock"),
        gettext_lazy("Clock resumed; the due date has been recalculated."),
        button_only=True,
    ),
    "decide": Step(
        DecideForm,
        services.complaint_decide,
        gettext_lazy("Decide"),
        gettext_lazy("Decision recorded."),
        "btn-primary",
    ),
    "close": Step(
        CloseForm,
        services.complaint_close,
        gettext_lazy("Close"),
        gettext_lazy("Complaint closed."),
        "btn-primary",
    ),
    "request_review": Step(
        ReviewForm,
        services.complaint_request_review,
        gettext_lazy("Record a review request"),
        gettext_lazy("Review requested; it is decided one level up."),
    ),
}


def _may_approve(user, complaint: Complaint) -> bool:
    """The user is the active service officer of the handling unit's parent."""
    approver = selectors.extension_approver(complaint=complaint)
    return approver is not None and approver.user_id == user.pk


def _render_detail(
    request,
    complaint: Complaint,
    *,
    bound: tuple[str, object] | None = None,
    note_form=None,
    attachment_form=None,
    revealed: str = "",
    denied: str = "",
    status: int = 200,
):
    user = request.user
    today = timezone.localdate()
    extensions = list(complaint.extension_steps.select_related("approved_by").order_by("step"))
    pauses = list(complaint.pauses.order_by("start"))
    pending = next((e for e in extensions if e.step == 2 and e.approved_by_id is None), None)
    available = selectors.available_actions(complaint=complaint, user=user)
    if pending is not None and "extend" in available:
        available.remove("extend")  # asked for already; waiting on the approval
    actions, action_errors = step_forms(
        available=available,
        specs=ACTIONS,
        bound=bound,
        make_form=lambda spec, prefix: spec.form(complaint=complaint, prefix=prefix),
        url_for=lambda name: reverse(
            "complaints:action", kwargs={"reference": complaint.reference, "action": name}
        ),
    )
    bound_name = bound[0] if bound else None
    [row] = _with_countdown([complaint], today)
    return render(
        request,
        "complaints/staff/detail.html",
        {
            "complaint": row,
            "deadline_label": DEADLINE_STATE_LABELS.get(complaint.deadline_state, ""),
            "events": list(selectors.complaint_timeline(complaint=complaint)),
            "attachments": list(complaint.attachments.select_related("uploaded_by")),
            "extensions": extensions,
            "pauses": pauses,
            "paused": any(p.end is None for p in pauses),
            "pending_extension": pending,
            "may_approve": pending is not None and _may_approve(user, complaint),
            # Mediation lives in the cases app, which builds on this one: the page only links
            # to its escalation page (by URL name), it never imports it.
            "can_escalate": "escalate"
            in {t.name for t in complaint.get_available_status_transitions()}
            and user.has_perm("complaints.change_complaint", complaint)
            and user.has_perm("cases.add_mediationcase"),
            "actions": actions,
            "action_errors": action_errors,
            "failed_action": ACTIONS[bound_name].label if bound_name else "",
            "note_form": note_form or NoteForm(),
            "attachment_form": attachment_form or AttachmentForm(),
            "can_attach": user.has_perm("complaints.change_complaint", complaint),
            "can_reveal": bool(complaint.id_number_masked)
            and user.has_perm("complaints.reveal_personal_data", complaint),
            "revealed": revealed,
            "denied": denied,
        },
        status=status,
    )


@staff_required
@require_GET
def complaint_detail(request, reference: str):
    return _render_detail(request, _complaint(request, reference))


def _detail_url(complaint: Complaint, anchor: str = "") -> str:
    url = reverse("complaints:detail", kwargs={"reference": complaint.reference})
    return f"{url}#{anchor}" if anchor else url


@staff_required
@require_POST
def complaint_action(request, reference: str, action: str):
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    complaint = _complaint(request, reference)
    form = spec.form(request.POST, complaint=complaint, prefix=action)
    if form.is_valid():
        try:
            result = spec.service(complaint=complaint, by=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        except PermissionDenied as exc:
            return _render_detail(
                request,
                _complaint(request, reference),
                denied=str(exc) or _("Your role does not allow this."),
                status=403,
            )
        else:
            messages.success(request, _success_message(spec, result))
            return redirect(_detail_url(complaint))
    # A failed step may have changed the object in memory before its transaction rolled
    # back; show the complaint as it is stored.
    return _render_detail(request, _complaint(request, reference), bound=(action, form))


def _success_message(spec: Step, result) -> str:
    if isinstance(result, Extension):
        if result.approved_by_id is None and result.step == 2:
            return _(
                "Second extension requested. The service officer one level up has been asked "
                "to approve it."
            )
        return _("Deadline extended; the decision is now due on %(due)s.") % {
            "due": result.complaint.due_date
        }
    return str(spec.done)


@staff_required
@require_POST
def complaint_note(request, reference: str):
    complaint = _complaint(request, reference)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.complaint_add_note(complaint=complaint, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Note added."))
            return redirect(_detail_url(complaint, "timeline"))
    return _render_detail(request, complaint, note_form=form)


@staff_required
@require_POST
def attachment_upload(request, reference: str):
    complaint = _complaint(request, reference)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = services.attachment_add(
                complaint=complaint, by=request.user, upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("%(name)s attached.") % {"name": attachment.original_name})
            return redirect(_detail_url(complaint, "attachments"))
    return _render_detail(request, complaint, attachment_form=form)


@staff_required
@require_GET
def attachment_download(request, reference: str, pk: int):
    complaint = _complaint(request, reference)
    attachment = get_object_or_404(Attachment, complaint=complaint, pk=pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )


@staff_required
@require_POST
def reveal_id_number(request, reference: str):
    """Show the full ID number in this one response: never in the session, the URL or a
    redirect, so reloading or going back does not show it again. The service audits it."""
    complaint = _complaint(request, reference)
    number = services.complaint_reveal_id_number(complaint=complaint, by=request.user)
    return _render_detail(request, complaint, revealed=number)


@staff_required
@require_POST
def extension_approve(request, pk: int):
    extension = get_object_or_404(
        Extension.objects.select_related("complaint"),
        pk=pk,
        complaint__in=selectors.scoped_complaints(user=request.user),
    )
    try:
        complaint = services.extension_approve(extension=extension, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        complaint = extension.complaint
    else:
        messages.success(
            request,
            _("Second extension approved; the decision is now due on %(due)s.")
            % {"due": complaint.due_date},
        )
    return redirect(_detail_url(complaint))


# ---- notifications ------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def notification_list(request):
    """Anyone's own notifications (a mediator gets them too)."""
    page = Paginator(selectors.notifications_for(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    items = list(page.object_list)
    unread = [n.pk for n in items if n.read_at is None]
    if unread:
        # Seen once listed; the page still marks them as new this time.
        services.notification_mark_read(user=request.user, ids=unread)
    return render(
        request,
        "complaints/staff/notifications.html",
        {
            "page": page,
            "items": items,
            "unread": len(unread),
            "works_with_complaints": works_with_complaints(request.user),
        },
    )
