"""The service officer's dashboard (``/dashboard/``): the figures of one org unit's subtree for
a period, beside the period before; drill-down to child units; charts; CSV and XLSX export.

Who may open it: service officers (chief officers at group level), consumer-protection staff
and index administrators (:func:`may_use_dashboard`); anyone else signed in gets 403 and an
anonymous visitor the login page. Which units: those ``insurers.selectors.visible_units``
gives — the user's own units and everything below them. A unit outside that answers 404, as
every record outside one's scope does, and the breadcrumb climbs no higher than the user's
own top unit.

The figures come from :func:`sqi.dashboard.dashboard` (a fixed number of queries whatever the
number of child units); the rows, changes and chart data from :mod:`sqi.dashboard_table`;
the period from :mod:`sqi.dashboard_periods`. The index panel (position against the peer
median, what-if) is ``sqi/dashboard/_index_panel.html`` with ``index_position`` from
:func:`sqi.whatif.index_position`, for a unit that covers a whole insurer.
"""

import datetime
import functools
from dataclasses import replace

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from insurers import roles
from insurers.models import Level, OrgUnit
from insurers.selectors import unit_is_visible, user_root_paths, user_top_units, visible_units

from . import dashboard_table as table
from . import whatif
from .dashboard import DashboardFilters, dashboard
from .dashboard import trend as monthly_trend
from .dashboard_periods import (
    CUSTOM,
    MONTH,
    DashboardFilterForm,
    default_period,
    period_label,
    previous_label,
)

EXPORT_FORMATS = ("csv", "xlsx")
#: The monthly chart shows at least this many months, ending with the chosen period.
TREND_MONTHS = 12


def may_use_dashboard(user) -> bool:
    """Officers and consumer-protection staff placed in the org tree, and the market-wide
    (index administrators, superusers)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if roles.sees_every_unit(user):
        return True
    placed_role = roles.has_role(user, roles.OFFICER) or roles.has_role(user, roles.STAFF)
    return placed_role and bool(user_root_paths(user))


def dashboard_user(view):
    """Signed in (else the login page), allowed the dashboard (else 403), never cached."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not may_use_dashboard(request.user):
            raise PermissionDenied(gettext("The dashboard is for service officers and staff."))
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapped))


def scope_trail(*, user, unit: OrgUnit) -> list[OrgUnit]:
    """The breadcrumb: the unit's ancestors the user may see (down from their own top unit),
    then the unit itself. One query."""
    steplen = OrgUnit.steplen
    prefixes = [unit.path[: steplen * depth] for depth in range(1, unit.depth)]
    ancestors = OrgUnit.objects.filter(path__in=prefixes).order_by("depth") if prefixes else []
    return [a for a in ancestors if unit_is_visible(user=user, unit=a)] + [unit]


def _panel_insurer(unit: OrgUnit, form: DashboardFilterForm):
    """The insurer whose index position the panel shows: a head office's own, or the one a
    group's dashboard is filtered to. Below head office a unit is part of an insurer only."""
    if unit.level == Level.HEAD_OFFICE:
        return unit.insurer
    if unit.level == Level.GROUP:
        return form.cleaned_data.get("insurer")
    return None


def trend_window(filters: DashboardFilters) -> DashboardFilters | None:
    """The filters stretched back to ``TREND_MONTHS`` whole months ending with the period's
    last month, or None when the period is that long already. A month alone is a poor
    trend; the chart shades the chosen period within the year before it."""
    index = filters.end.year * 12 + filters.end.month - 1 - (TREND_MONTHS - 1)
    first = datetime.date(index // 12, index % 12 + 1, 1)
    if filters.start <= first:
        return None
    return replace(filters, start=first)


def _trend(*, unit: OrgUnit, filters: DashboardFilters, data: dict, today) -> list[dict]:
    window = trend_window(filters)
    rows = (
        data["trend"] if window is None else monthly_trend(unit=unit, filters=window, today=today)
    )
    first = f"{filters.start:%Y-%m}"
    return [{**row, "in_period": row["month"] >= first} for row in rows]


def _group_insurer_links(unit: OrgUnit, form: DashboardFilterForm) -> list[dict]:
    """On a group's dashboard without an insurer chosen: each insurer's view of the same
    period, where the index panel can show that insurer's position."""
    if unit.level != Level.GROUP or form.cleaned_data.get("insurer") is not None:
        return []
    base = form.query_params()
    url = reverse("sqi:dashboard_unit", args=[unit.pk])
    return [
        {"insurer": insurer, "url": f"{url}?{urlencode({**base, 'insurer': insurer.pk})}"}
        for insurer in form.fields["insurer"].queryset
    ]


def _report_links(unit: OrgUnit, form: DashboardFilterForm, today) -> dict:
    """The monthly report (PDF) of the chosen month once it is over, else of the last full
    month; and the list of all the unit's monthly reports."""
    chosen = form.chosen
    month = chosen if chosen.kind == MONTH and chosen.end < today else default_period(today)
    return {
        "report_label": period_label(MONTH, month.start, month.end),
        "report_pdf_url": reverse("sqi:unit_report_pdf", args=[unit.pk, month.value]),
        "reports_url": reverse("sqi:unit_report_list", args=[unit.pk]),
    }


def _period_code(form: DashboardFilterForm) -> str:
    period = form.chosen
    if period.kind == CUSTOM:
        return f"{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    return period.value


def _figures_context(*, request, unit: OrgUnit, form: DashboardFilterForm, today) -> dict:
    filters = form.filters()
    data = dashboard(unit=unit, filters=filters, today=today)
    rows = table.figure_rows(data["current"], data["previous"])
    child_query = form.query(for_child=True)
    on_time = table.BY_KEY["on_time_rate"]
    children = [
        {
            **row,
            "url": reverse("sqi:dashboard_unit", args=[row["unit"].pk]) + child_query,
            "on_time_text": table.display(on_time, row["on_time_rate"]),
        }
        for row in data["children"]
    ]
    trend_rows = _trend(unit=unit, filters=filters, data=data, today=today)
    current = data["current"]
    links = current.get("links") or {}
    sees_complaints = request.user.has_perm("complaints.view_complaint")
    snapshot = [
        {**row, "url": links.get(row["key"]) if sees_complaints else None}
        for row in rows
        if row["snapshot"]
    ]
    return {
        "data": data,
        "filters": filters,
        "period_label": form.chosen.label,
        "period_running": form.chosen.runs_past(today),
        "previous_label": previous_label(form.chosen.kind, filters),
        "rows": rows,
        "headline": table.headline(rows),
        "snapshot": snapshot,
        "current": current,
        "categories": table.category_rows(
            current.get("top_categories") or [],
            data["previous"].get("top_categories") or [],
            current.get("received"),
        ),
        "children": children,
        "trend": trend_rows,
        "trend_chart": table.trend_chart(trend_rows, first_month=f"{filters.start:%Y-%m}"),
        "category_chart": table.category_chart(current.get("top_categories") or []),
        "children_chart": table.children_chart(data["children"]),
    }


def render_dashboard(request, unit: OrgUnit):
    today = timezone.localdate()
    form = DashboardFilterForm(request.GET, unit=unit, today=today)
    context = {
        "unit": unit,
        "form": form,
        "nav_section": "dashboard",
        "trail": scope_trail(user=request.user, unit=unit),
        "today": today,
        "sees_complaints": request.user.has_perm("complaints.view_complaint"),
        "logs_reception": request.user.has_perm("insurers.add_receptionday"),
        "index_position": None,
        "panel_insurer": None,
    }
    context["valid"] = form.is_valid()
    if context["valid"]:
        context.update(_figures_context(request=request, unit=unit, form=form, today=today))
        context["up_query"] = form.query(for_child=True)
        query = form.query()
        export = reverse("sqi:dashboard_export", args=[unit.pk])
        joiner = "&" if query else "?"
        context["export_csv"] = f"{export}{query}{joiner}format=csv"
        context["export_xlsx"] = f"{export}{query}{joiner}format=xlsx"
        context.update(_report_links(unit, form, today))
        context["group_insurers"] = _group_insurer_links(unit, form)
        insurer = _panel_insurer(unit, form)
        context["panel_insurer"] = insurer
        if insurer is not None:
            context["index_position"] = whatif.index_position(insurer=insurer)
    return render(request, "sqi/dashboard/page.html", context)


@dashboard_user
@require_GET
def dashboard_home(request):
    """The user's own top unit; with several, a list to pick from."""
    tops = list(user_top_units(user=request.user).select_related("insurer").order_by("path"))
    if len(tops) == 1:
        return render_dashboard(request, tops[0])
    return render(request, "sqi/dashboard/pick.html", {"units": tops, "nav_section": "dashboard"})


def _unit_in_scope(request, unit_id: int) -> OrgUnit:
    return get_object_or_404(visible_units(user=request.user).select_related("insurer"), pk=unit_id)


@dashboard_user
@require_GET
def dashboard_unit(request, unit_id: int):
    return render_dashboard(request, _unit_in_scope(request, unit_id))


@dashboard_user
@require_GET
def dashboard_export(request, unit_id: int):
    """The figures table as CSV or XLSX (``?format=``), for the same filters as the page."""
    fmt = request.GET.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        raise Http404
    unit = _unit_in_scope(request, unit_id)
    today = timezone.localdate()
    query = request.GET.copy()
    query.pop("format", None)
    form = DashboardFilterForm(query, unit=unit, today=today)
    if not form.is_valid():
        back = reverse("sqi:dashboard_unit", args=[unit.pk])
        return redirect(f"{back}?{query.urlencode()}" if query else back)
    filters = form.filters()
    data = dashboard(unit=unit, filters=filters, today=today)
    rows = table.figure_rows(data["current"], data["previous"])
    current_label = form.chosen.label
    before_label = previous_label(form.chosen.kind, filters)
    header = table.export_header(current_label, before_label)
    filename = table.export_filename(unit_name=unit.name, period_code=_period_code(form), fmt=fmt)
    if fmt == "csv":
        return table.csv_response(header=header, rows=rows, filename=filename)
    cleaned = form.cleaned_data
    insurer = cleaned.get("insurer")
    about = [
        (gettext("Org unit"), unit.name),
        (gettext("Period"), current_label),
        (gettext("Compared with"), before_label),
        (gettext("Product line"), _choice_label(form, "product_line")),
        (gettext("Channel"), _choice_label(form, "channel")),
        (gettext("Insurer"), insurer.short_name if insurer else gettext("All")),
        (gettext("Open, due and overdue counted on"), today.isoformat()),
        (gettext("Exported"), table.generated_at(timezone.localtime())),
    ]
    return table.xlsx_response(header=header, rows=rows, filename=filename, about=about)


def _choice_label(form: DashboardFilterForm, name: str) -> str:
    value = form.cleaned_data.get(name)
    if not value:
        return gettext("All")
    return str(dict(form.fields[name].choices)[value])


urlpatterns = [
    path("dashboard/", dashboard_home, name="dashboard"),
    path("dashboard/<int:unit_id>/", dashboard_unit, name="dashboard_unit"),
    path("dashboard/<int:unit_id>/export/", dashboard_export, name="dashboard_export"),
]
