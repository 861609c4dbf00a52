"""Public complaint pages (anonymous): filing a complaint and looking up its status.

Privacy: these pages never show a complainant's name, phone, ID number, narrative, handling
unit or the insurer's reply. The status lookup is a POST (with CSRF), so the phone number
never appears in a URL, a browser history or an access log; a wrong reference and a wrong
phone give the same answer, so nobody can learn which references exist.

Rate limits (django-ratelimit, counted in the default cache; settings override the
defaults below):

* ``PUBLIC_COMPLAINT_RATE_IP`` — form submissions from one IP address, corrections included;
* ``PUBLIC_COMPLAINT_RATE_PHONE`` — complaints filed with one phone number (only complaints
  actually filed count, so correcting a mistake never uses one up);
* ``PUBLIC_STATUS_RATE_IP`` — status look-ups from one IP address.

The IP address is ``REMOTE_ADDR`` (django-ratelimit's default). Behind a reverse proxy every
visitor would share the proxy's address: set ``RATELIMIT_IP_META_KEY`` to a function that
reads the client address the proxy appends to ``X-Forwarded-For``.
"""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import get_usage
from django_ratelimit.decorators import ratelimit

from . import selectors, services
from .forms_public import PublicComplaintForm, StatusLookupForm
from .models import OPEN_STATES, Status

logger = logging.getLogger(__name__)

RECEIPT_SESSION_KEY = "complaints_public_receipt"
PHONE_GROUP = "complaints.public_new.phone"

DEFAULT_RATES = {
    "PUBLIC_COMPLAINT_RATE_IP": "10/h",
    "PUBLIC_COMPLAINT_RATE_PHONE": "3/d",
    "PUBLIC_STATUS_RATE_IP": "20/h",
}


def _rate(setting: str):
    """A django-ratelimit rate callable reading ``setting`` at request time."""

    def rate(group, request) -> str:
        return getattr(settings, setting, DEFAULT_RATES[setting])

    return rate


def _phone_usage(request, phone: str, *, increment: bool):
    return get_usage(
        request,
        group=PHONE_GROUP,
        key=lambda group, request: phone,
        rate=_rate("PUBLIC_COMPLAINT_RATE_PHONE"),
        method="POST",
        increment=increment,
    )


def _phone_limit_reached(request, phone: str) -> bool:
    """True when ``phone`` has filed as many complaints as the rate allows. Looked at
    without counting: only a complaint actually filed counts (``_count_phone``)."""
    usage = _phone_usage(request, phone, increment=False)
    return usage is not None and usage["count"] >= usage["limit"]


def _count_phone(request, phone: str) -> None:
    _phone_usage(request, phone, increment=True)


def _limited(request, *, kind: str):
    # No personal data in the log line: the kind of limit only.
    logger.warning("public %s rate-limited", kind)
    return render(request, "complaints/public/limited.html", {"kind": kind}, status=429)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(key="ip", rate=_rate("PUBLIC_COMPLAINT_RATE_IP"), method="POST", block=False)
def complaint_new(request):
    """The public complaint form. A complaint filed here is routed to the insurer's branch
    in the complainant's province (else its head office) and received on the online
    channel; the receipt page then shows its reference number."""
    if request.method == "POST":
        if request.limited:
            return _limited(request, kind="complaint")
        form = PublicComplaintForm(request.POST)
        if form.is_valid():
            phone = form.cleaned_data["complainant_phone"]
            if _phone_limit_reached(request, phone):
                return _limited(request, kind="complaint")
            try:
                complaint = services.complaint_create(by=None, **form.intake())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                _count_phone(request, phone)
                request.session[RECEIPT_SESSION_KEY] = {
                    "reference": complaint.reference,
                    "insurer": complaint.insurer.short_name,
                    "insurer_en": complaint.insurer.name_en,
                    "received_on": complaint.received_on.isoformat(),
                    "due_date": complaint.due_date.isoformat() if complaint.due_date else "",
                }
                logger.info("public complaint received: %s", complaint.reference)
                return redirect("complaints:public_received")
    else:
        form = PublicComplaintForm()
    return render(request, "complaints/public/form.html", {"form": form})


@never_cache
@require_http_methods(["GET", "HEAD"])
def complaint_received(request):
    """The receipt after filing. The reference comes from the session, never from the URL,
    so nobody can read other people's receipts by changing a number."""
    receipt = request.session.get(RECEIPT_SESSION_KEY)
    if not receipt:
        return redirect("complaints:public_new")
    return render(
        request,
        "complaints/public/received.html",
        {
            "receipt": receipt,
            "insurer": _insurer_name(receipt.get("insurer", ""), receipt.get("insurer_en", "")),
            "received_on": _date(receipt.get("received_on")),
            "due_date": _date(receipt.get("due_date")),
        },
    )


def _insurer_name(short_name: str, name_en: str) -> str:
    """The insurer as the form named it: its short name, or its English name in English."""
    english = (get_language() or "").startswith("en")
    return (name_en or short_name) if english else short_name


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(key="ip", rate=_rate("PUBLIC_STATUS_RATE_IP"), method="POST", block=False)
def complaint_status(request):
    """Look a complaint up by reference number and phone: status and dates only."""
    complaint = None
    searched = False
    if request.method == "POST":
        if request.limited:
            return _limited(request, kind="status")
        form = StatusLookupForm(request.POST)
        if form.is_valid():
            searched = True
            for phone in form.phone_candidates:
                complaint = selectors.public_status(
                    reference=form.cleaned_data["reference"], phone=phone
                )
                if complaint is not None:
                    break
            # The phone is never written back into the page. After a miss the reference
            # stays, to be corrected; after a hit the form is empty for the next look-up.
            reference = form.cleaned_data["reference"] if complaint is None else ""
            form = StatusLookupForm(initial={"reference": reference})
    else:
        form = StatusLookupForm()
    return render(
        request,
        "complaints/public/status.html",
        {
            "form": form,
            "searched": searched,
            "result": _public_view(complaint) if complaint is not None else None,
        },
    )


# The four steps a complainant follows, and the step each status stands at.
PROGRESS_STEPS = (Status.RECEIVED, Status.ACCEPTED, Status.DECIDED, Status.CLOSED)
PROGRESS_AT = {
    Status.RECEIVED: 0,
    Status.ACCEPTED: 1,
    Status.INVESTIGATING: 1,
    Status.EXTENDED: 1,
    Status.DECIDED: 2,
    Status.UNDER_REVIEW: 2,
    Status.CLOSED: 3,
}


def _progress(status: str) -> list[dict]:
    """Declined and escalated complaints leave the usual path: no progress bar for them."""
    at = PROGRESS_AT.get(status)
    if at is None:
        return []
    return [
        {"label": step.label, "done": i < at or status == Status.CLOSED, "current": i == at}
        for i, step in enumerate(PROGRESS_STEPS)
    ]


def _public_view(complaint) -> dict:
    """Exactly what the public may see of a complaint, and nothing else."""
    status = complaint.status
    return {
        "progress": _progress(status),
        "reference": complaint.reference,
        "status": status,
        "status_label": Status(status).label,
        "insurer": _insurer_name(
            complaint.insurer.short_name,
            complaint.insurer.name_en if (get_language() or "").startswith("en") else "",
        ),
        "received_on": timezone.localtime(complaint.received_at).date(),
        "due_date": complaint.due_date if status in OPEN_STATES else None,
        "decided_on": (
            timezone.localtime(complaint.decided_at).date() if complaint.decided_at else None
        ),
        "closed_on": (
            timezone.localtime(complaint.closed_at).date() if complaint.closed_at else None
        ),
        "is_open": status in OPEN_STATES,
    }
