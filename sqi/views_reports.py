"""Monthly reports of an org unit: the list, the printable page, the PDF, building again.

Who: officers, consumer-protection staff and index administrators (else 403), for units in
their scope (else 404, as every record outside one's scope). The PDF is never a public file:
it is streamed from storage here, after those checks. Only months that are over have a
report; a month still running answers 404.
"""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from insurers.models import OrgUnit
from insurers.selectors import visible_units

from . import reports, whatif
from .models_reports import UnitReport

#: Months offered on the list page, counting back from the last full month.
LISTED_MONTHS = 12


def _unit(request, unit_id: int) -> OrgUnit:
    if not whatif.may_use_what_if(user=request.user):
        raise PermissionDenied(_("Monthly reports are for service officers and staff."))
    return get_object_or_404(visible_units(user=request.user).select_related("insurer"), pk=unit_id)


def _month(code: str, today: datetime.date) -> datetime.date:
    try:
        month = reports.parse_month(code)
    except ValueError:
        raise Http404 from None
    if not reports.month_has_ended(month, today):
        raise Http404
    return month


def _stored_pdf(report: UnitReport | None) -> bool:
    return bool(report and report.pdf and report.pdf.storage.exists(report.pdf.name))


@login_required
@never_cache
@require_GET
def unit_report_list(request, unit_id: int):
    unit = _unit(request, unit_id)
    last = reports.last_full_month(timezone.localdate())
    built = {r.month: r for r in UnitReport.objects.filter(org_unit=unit)}
    months = [reports.add_months(last, -i) for i in range(LISTED_MONTHS)]
    older = sorted((m for m in built if m not in months), reverse=True)
    rows = [
        {"month": m, "code": reports.month_code(m), "report": built.get(m)} for m in months + older
    ]
    return render(request, "sqi/reports/list.html", {"unit": unit, "rows": rows})


@login_required
@never_cache
@require_GET
def unit_report(request, unit_id: int, month: str):
    """The printable page: the stored snapshot, or (not built yet) the figures counted now."""
    unit = _unit(request, unit_id)
    today = timezone.localdate()
    month = _month(month, today)
    report = UnitReport.objects.filter(org_unit=unit, month=month).first()
    snapshot = (
        report.figures
        if report is not None
        else reports.report_figures(unit=unit, month=month, today=today)
    )
    context = reports.report_context(unit=unit, month=month, snapshot=snapshot, report=report)
    return render(request, "sqi/reports/monthly.html", {**context, "for_pdf": False})


@login_required
@never_cache
@require_GET
def unit_report_pdf(request, unit_id: int, month: str):
    """The PDF, built first when there is none yet."""
    unit = _unit(request, unit_id)
    month = _month(month, timezone.localdate())
    report = UnitReport.objects.filter(org_unit=unit, month=month).first()
    if not _stored_pdf(report):
        report, _built = reports.unit_report_build(
            unit=unit, month=month, by=request.user, rebuild=report is not None
        )
    filename = f"{unit.name}-{reports.month_code(month)}.pdf"
    return FileResponse(
        report.pdf.open("rb"),
        as_attachment=True,
        filename=filename,
        content_type="application/pdf",
    )


@login_required
@never_cache
@require_POST
def unit_report_generate(request, unit_id: int, month: str):
    """Build the report (again) with the figures as they are now."""
    unit = _unit(request, unit_id)
    month = _month(month, timezone.localdate())
    reports.unit_report_build(unit=unit, month=month, by=request.user, rebuild=True)
    return redirect("sqi:unit_report", unit.pk, reports.month_code(month))


urlpatterns = [
    path("reports/<int:unit_id>/", unit_report_list, name="unit_report_list"),
    path("reports/<int:unit_id>/<str:month>/", unit_report, name="unit_report"),
    path("reports/<int:unit_id>/<str:month>/report.pdf", unit_report_pdf, name="unit_report_pdf"),
    path(
        "reports/<int:unit_id>/<str:month>/generate/",
        unit_report_generate,
        name="unit_report_generate",
    ),
]
