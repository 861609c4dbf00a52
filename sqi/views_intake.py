"""The index administrators' import pages: statistics and raw claim records from files.

Signed-in users who are not index administrators (or superusers) get 403, anonymous
visitors the login page. The work is done by ``sqi.importing``; these views take the upload
and show the outcome, the templates and the latest imports.
"""

from functools import wraps

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from insurers.roles import sees_every_unit

from . import importing, selectors

# The page lists at most this many errors; the rest are counted.
ERRORS_SHOWN = 1000
RECENT_IMPORTS = 10


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        error_messages={
            "required": _("Choose a file to upload."),
            "empty": _("The file is empty."),
        },
    )


def index_admin_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not sees_every_unit(request.user):
            raise PermissionDenied(gettext("Only index administrators can import statistics."))
        return view(request, *args, **kwargs)

    return wrapper


IMPORTERS = {
    importing.STATISTICS: importing.statistics_import,
    importing.CLAIMS: importing.claims_import,
}


def _import_page(request, kind: str):
    result = None
    form = ImportForm()
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            result = IMPORTERS[kind](by=request.user, file=upload, file_name=upload.name)
            form = ImportForm()
    context = {
        "kind": kind,
        "form": form,
        "result": result,
        "errors_shown": result.errors[:ERRORS_SHOWN] if result else [],
        "errors_hidden": max(0, len(result.errors) - ERRORS_SHOWN) if result else 0,
        "columns": importing.column_docs(kind),
        "imports": selectors.statistics_imports(kind=kind, limit=RECENT_IMPORTS),
        "max_mb": importing.MAX_BYTES // (1024 * 1024),
        "max_rows": importing.MAX_ROWS,
        "template_url_name": f"sqi:{kind}_import_template",
    }
    return render(request, "sqi/intake/import.html", context)


@index_admin_only
@require_http_methods(["GET", "POST"])
def statistics_import(request):
    return _import_page(request, importing.STATISTICS)


@index_admin_only
@require_http_methods(["GET", "POST"])
def claims_import(request):
    return _import_page(request, importing.CLAIMS)


TEMPLATE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _template(kind: str, fmt: str) -> HttpResponse:
    if fmt not in TEMPLATE_TYPES:
        raise Http404
    build = importing.template_csv if fmt == "csv" else importing.template_xlsx
    base = (
        gettext("statistics-import-template")
        if kind == importing.STATISTICS
        else gettext("claims-import-template")
    )
    return HttpResponse(
        build(kind),
        content_type=TEMPLATE_TYPES[fmt],
        headers={"Content-Disposition": content_disposition_header(True, f"{base}.{fmt}")},
    )


@index_admin_only
@require_GET
def statistics_import_template(request, fmt):
    return _template(importing.STATISTICS, fmt)


@index_admin_only
@require_GET
def claims_import_template(request, fmt):
    return _template(importing.CLAIMS, fmt)


urlpatterns = [
    path("index/statistics/import/", statistics_import, name="statistics_import"),
    path(
        "index/statistics/import/template.<str:fmt>",
        statistics_import_template,
        name="statistics_import_template",
    ),
    path("index/claims/import/", claims_import, name="claims_import"),
    path(
        "index/claims/import/template.<str:fmt>",
        claims_import_template,
        name="claims_import_template",
    ),
]
