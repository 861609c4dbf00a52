"""The complaint file-import page and its downloadable templates.

Both are for consumer-protection staff (the people who log complaints): anyone else who is
signed in gets 403, anonymous visitors the login page. The work is done by
``complaints.importing``; these views only take the upload and show the outcome.
"""

from functools import wraps

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from insurers.roles import STAFF, has_role

from . import importing

# The page lists at most this many errors and new references; the rest are counted.
ERRORS_SHOWN = 1000
REFERENCES_SHOWN = 500


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        error_messages={
            "required": _("Choose a file to upload."),
            "empty": _("The file is empty."),
        },
    )


def staff_only(view):
    """Consumer-protection staff who may log complaints (and superusers)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        allowed = user.is_superuser or (
            has_role(user, STAFF) and user.has_perm("complaints.add_complaint")
        )
        if not allowed:
            raise PermissionDenied(gettext("Only consumer-protection staff can import complaints."))
        return view(request, *args, **kwargs)

    return wrapper


@staff_only
@require_http_methods(["GET", "POST"])
def import_page(request):
    result = None
    form = ImportForm()
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            result = importing.complaints_import(
                by=request.user, file=upload, file_name=upload.name
            )
            form = ImportForm()
    context = {
        "form": form,
        "result": result,
        "errors_shown": result.errors[:ERRORS_SHOWN] if result else [],
        "errors_hidden": max(0, len(result.errors) - ERRORS_SHOWN) if result else 0,
        "references_shown": result.references[:REFERENCES_SHOWN] if result else [],
        "references_hidden": max(0, len(result.references) - REFERENCES_SHOWN) if result else 0,
        "columns": importing.column_docs(),
        "batches": importing.import_batches_for(user=request.user),
        "max_mb": importing.MAX_BYTES // (1024 * 1024),
        "max_rows": importing.MAX_ROWS,
    }
    return render(request, "complaints/import.html", context)


TEMPLATE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@staff_only
@require_GET
def import_template(request, fmt):
    if fmt not in TEMPLATE_TYPES:
        raise Http404
    build = importing.template_csv if fmt == "csv" else importing.template_xlsx
    name = gettext("complaint-import-template") + "." + fmt
    return HttpResponse(
        build(user=request.user),
        content_type=TEMPLATE_TYPES[fmt],
        headers={
            "Content-Disposition": content_disposition_header(True, name),
            # The example row names the user's own unit.
            "Cache-Control": "private, no-store",
        },
    )
