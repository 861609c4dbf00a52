"""Reception days (接待日) for service officers: the list of their scope's reception days, a
form to log one, and editing their own.

Everyone whose role may view reception days and who is placed in the org tree (officers,
consumer-protection staff, index administrators) reads the list of their subtree; only an
officer with an active appointment logs one, always under that appointment. Editing follows
the object rules (``insurers.rules``): a reception day outside the user's scope is a 404, one
in scope that is not theirs a 403. Writes go through ``services.reception_day_log`` and
``reception_day_update``.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .forms import ReceptionDayForm
from .roles import sees_every_unit

PAGE_SIZE = 30


def reception_reader(view):
    """Signed in (else the login page), allowed to read reception days and placed in the
    tree (else 403), never cached."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        placed = sees_every_unit(user) or bool(selectors.user_root_paths(user))
        if not (user.has_perm("insurers.view_receptionday") and placed):
            raise PermissionDenied(_("Reception days are for service officers and staff."))
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapped))


def _own_officer(user):
    """The user's active appointment when they may log reception days, else None."""
    if not user.has_perm("insurers.add_receptionday"):
        return None
    return selectors.active_officer_of(user=user)


@reception_reader
@require_http_methods(["GET", "POST"])
def reception_days(request):
    today = timezone.localdate()
    officer = _own_officer(request.user)
    form = None
    if officer is not None:
        if request.method == "POST":
            form = ReceptionDayForm(request.POST, today=today, officer=officer)
            if form.is_valid():
                try:
                    services.reception_day_log(officer=officer, **form.service_data())
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    messages.success(request, _("The reception day is logged."))
                    return redirect("insurers:reception_days")
        else:
            form = ReceptionDayForm(initial={"date": today}, today=today, officer=officer)
    elif request.method == "POST":
        raise PermissionDenied(_("Only a service officer in post logs reception days."))
    days = Paginator(selectors.reception_day_list(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {"day": day, "editable": request.user.has_perm("insurers.change_receptionday", day)}
        for day in days.object_list
    ]
    return render(
        request,
        "insurers/reception_days.html",
        {
            "form": form,
            "officer": officer,
            "page": days,
            "rows": rows,
            "nav_section": "reception",
        },
    )


@reception_reader
@require_http_methods(["GET", "POST"])
def reception_day_edit(request, pk: int):
    day = get_object_or_404(selectors.reception_day_list(user=request.user), pk=pk)
    if not request.user.has_perm("insurers.change_receptionday", day):
        raise PermissionDenied(_("You can only change the reception days you held."))
    today = timezone.localdate()
    if request.method == "POST":
        form = ReceptionDayForm(request.POST, instance=day, today=today)
        if form.is_valid():
            try:
                services.reception_day_update(day=day, data=form.service_data())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("The reception day is updated."))
                return redirect("insurers:reception_days")
    else:
        form = ReceptionDayForm(instance=day, today=today)
    return render(
        request,
        "insurers/reception_day_edit.html",
        {"form": form, "day": day, "nav_section": "reception"},
    )
