"""Reads of complaints: the scoped list with its filters, the workbench, the public lookup."""

import datetime

from django.db.models import Case, CharField, Count, Q, QuerySet, Value, When
from django.utils import timezone

from insurers.models import OrgUnit, ServiceOfficer
from insurers.selectors import visible_units

from . import crypto, deadlines, idnumber
from .models import OPEN_STATES, Complaint, Notification, Status

# States in which a decision is still owed and the deadline therefore watched.
DEADLINE_STATES = (
    Status.RECEIVED,
    Status.ACCEPTED,
    Status.INVESTIGATING,
    Status.EXTENDED,
    Status.UNDER_REVIEW,
)


def scoped_complaints(*, user) -> QuerySet[Complaint]:
    """Complaints handled in the user's part of the organisation."""
    return Complaint.objects.filter(org_unit__in=visible_units(user=user))


def with_deadline_state(qs: QuerySet[Complaint], today: datetime.date) -> QuerySet[Complaint]:
    """Annotate ``deadline_state``: on_track, at_risk (≤ 3 days left), breached, or "" when no
    decision is owed. Computed in SQL so lists can filter and sort on it."""
    at_risk_from = today + datetime.timedelta(days=deadlines.AT_RISK_DAYS)
    watched = Q(status__in=DEADLINE_STATES, due_date__isnull=False)
    return qs.annotate(
        deadline_state=Case(
            When(watched & Q(due_date__lt=today), then=Value("breached")),
            When(watched & Q(due_date__lte=at_risk_from), then=Value("at_risk")),
            When(watched, then=Value("on_track")),
            default=Value(""),
            output_field=CharField(),
        )
    )


def search_q(term: str) -> Q:
    """Exact match on reference, phone or ID number (the ID number through its keyed hash)."""
    term = term.strip()
    if not term:
        return Q()
    condition = Q(reference__iexact=term) | Q(complainant_phone=term)
    normalised = idnumber.normalise(term)
    if len(normalised) == 18:
        condition |= Q(id_number_hash=crypto.search_hash(normalised))
    return condition


def complaint_list(*, user, filters: dict | None = None, today: datetime.date | None = None):
    """The user's complaints, newest first, filtered. ``filters`` keys: status, insurer,
    within (an OrgUnit), product_line, category, channel, deadline_state, overdue (bool),
    received_from, received_to, q (search)."""
    today = today or timezone.localdate()
    filters = filters or {}
    qs = with_deadline_state(scoped_complaints(user=user), today).select_related(
        "insurer", "org_unit"
    )
    for field in ("status", "product_line", "category", "channel", "insurer"):
        value = filters.get(field)
        if value:
            qs = qs.filter(**{f"{field}__in" if isinstance(value, list | tuple) else field: value})
    if filters.get("within") is not None:
        qs = qs.filter(org_unit__path__startswith=filters["within"].path)
    if filters.get("deadline_state"):
        qs = qs.filter(deadline_state=filters["deadline_state"])
    if filters.get("overdue") is True:
        qs = qs.filter(deadline_state="breached")
    if filters.get("received_from"):
        qs = qs.filter(received_on__gte=filters["received_from"])
    if filters.get("received_to"):
        qs = qs.filter(received_on__lte=filters["received_to"])
    if filters.get("q"):
        qs = qs.filter(search_q(filters["q"]))
    return qs.order_by("-received_at", "-pk")


def deadline_state_of(complaint: Complaint, today: datetime.date) -> str:
    """The ``deadline_state`` that :func:`with_deadline_state` computes in SQL, for a
    complaint in hand."""
    if complaint.status not in DEADLINE_STATES or complaint.due_date is None:
        return ""
    return deadlines.deadline_state(complaint.due_date, today)


def complaint_created_view(*, complaint: Complaint, user) -> Complaint:
    """A complaint ``user`` created in this request, made ready for the detail serializer
    from memory (what :func:`complaint_get` would read back, without reading it back)."""
    complaint.deadline_state = deadline_state_of(complaint, timezone.localdate())
    complaint.allowed_actions = available_actions(complaint=complaint, user=user, paused=False)
    return complaint


def complaint_get(*, user, reference: str) -> Complaint:
    """One complaint in the user's scope; raises Complaint.DoesNotExist otherwise (a 404)."""
    return (
        with_deadline_state(scoped_complaints(user=user), timezone.localdate())
        .select_related("insurer", "org_unit", "created_by")
        .get(reference=reference)
    )


def complaint_timeline(*, complaint: Complaint):
    return complaint.events.select_related("actor").order_by("at", "pk")


def workbench(*, user, today: datetime.date | None = None) -> dict:
    """The staff workbench: counts per state, and the four lists a handler works from."""
    today = today or timezone.localdate()
    base = with_deadline_state(scoped_complaints(user=user), today).select_related(
        "insurer", "org_unit"
    )
    counts = dict(
        scoped_complaints(user=user).values_list("status").annotate(n=Count("pk")).order_by()
    )
    soon = today + datetime.timedelta(days=deadlines.AT_RISK_DAYS)
    recent = today - datetime.timedelta(days=14)
    return {
        "counts": {status: counts.get(status, 0) for status in Status.values},
        "queue": base.filter(status__in=OPEN_STATES).order_by("due_date", "received_at")[:25],
        "due_soon": base.filter(
            status__in=DEADLINE_STATES, due_date__gte=today, due_date__lte=soon
        ).order_by("due_date")[:25],
        "overdue": base.filter(status__in=DEADLINE_STATES, due_date__lt=today).order_by("due_date")[
            :25
        ],
        "recently_closed": base.filter(status=Status.CLOSED, closed_at__date__gte=recent).order_by(
            "-closed_at"
        )[:25],
    }


def public_status(*, reference: str, phone: str) -> Complaint | None:
    """The public lookup: only a matching reference *and* phone find a complaint."""
    return (
        Complaint.objects.filter(
            reference__iexact=reference.strip(), complainant_phone=phone.strip()
        )
        .only(
            "reference",
            "status",
            "received_at",
            "due_date",
            "decided_at",
            "closed_at",
            "insurer__short_name",
            "insurer__name_en",
        )
        .select_related("insurer")
        .first()
    )


def notifications_for(*, user, unread_only: bool = False):
    qs = Notification.objects.filter(user=user).select_related("complaint")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created")


# The workflow actions a person can take, named as in the API and the pages.
ACTIONS = {
    "accept": "accept",
    "decline": "decline",
    "investigate": "investigate",
    "extend": "extend",
    "pause": None,
    "resume": None,
    "decide": "decide",
    "close": "close",
    "request_review": "request_review",
}


def available_actions(*, complaint: Complaint, user, paused: bool | None = None) -> list[str]:
    """The actions ``user`` may take on ``complaint`` now: the role and scope allow handling,
    and the state allows the move (pause and resume depend on the clock). ``paused`` may be
    given when the caller knows (a complaint created just now has no pause)."""
    if not user.has_perm("complaints.change_complaint", complaint):
        return []
    moves = {t.name for t in complaint.get_available_status_transitions()}
    if paused is None:
        paused = complaint.pauses.filter(end__isnull=True).exists()
    actions = []
    for action, transition in ACTIONS.items():
        if action == "pause":
            ok = complaint.status in (Status.ACCEPTED, Status.INVESTIGATING, Status.EXTENDED)
            ok = ok and not paused
        elif action == "resume":
            ok = paused
        elif action == "extend":
            ok = transition in moves and complaint.extensions < 2 and not paused
        elif action == "decide":
            ok = transition in moves and not paused
        elif action == "request_review":
            ok = transition in moves and complaint.review_requested_at is None
        else:
            ok = transition in moves
        if ok:
            actions.append(action)
    return actions


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the surname stays, the given name does not."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "*" * len(phone)


def extension_approver(*, complaint: Complaint) -> ServiceOfficer | None:
    """Who approves a second extension: the active service officer one level above the
    handling unit (None at the top of the tree or while that post is vacant)."""
    parent = OrgUnit.objects.get_parent(complaint.org_unit)
    if parent is None:
        return None
    return (
        ServiceOfficer.objects.filter(org_unit=parent, ended__isnull=True)
        .select_related("user")
        .first()
    )
