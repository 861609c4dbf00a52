"""Monthly reports of an org unit: the dashboard's figures for a calendar month, kept as a
snapshot, shown as a printable page and printed to PDF on the server with WeasyPrint.

Built on the 1st of every month by ``sqi.tasks_reports.monthly_reports`` for each unit that
has an active service officer, and on demand from the report page. Building is idempotent:
one report per unit and month; building again changes nothing unless a rebuild is asked
for. The unit's officer is told once per unit and month (a notification with the link).

The figures are :func:`sqi.dashboard.dashboard` for the month (and the month before beside
it), the monthly trend over the twelve months up to it, and for a unit that covers a whole
insurer its position in the index (:func:`sqi.whatif.index_position`). The charts are SVG
drawn here (:mod:`sqi.charts_svg`), since WeasyPrint runs no JavaScript.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.services import notify
from insurers.models import OrgUnit, ServiceOfficer

from . import dashboard as figures
from . import dashboard_table as table
from . import whatif
from .charts_svg import bar_chart, line_chart
from .models_reports import UnitReport

logger = logging.getLogger(__name__)

MONTH_CODE = re.compile(r"^(\d{4})-(\d{2})$")
TREND_MONTHS = 12
#: Child units drawn in the report's chart (all of them are in its table).
CHART_CHILDREN = 12


# ---- months -----------------------------------------------------------------------------------


def parse_month(value: str | datetime.date) -> datetime.date:
    """The first day of a month given as ``2026-01`` (or any day of it); ValueError else."""
    if isinstance(value, datetime.date):
        return value.replace(day=1)
    match = MONTH_CODE.match(value or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise ValueError(f"not a month: {value!r} (expected YYYY-MM)")
    return datetime.date(int(match[1]), int(match[2]), 1)


def month_code(month: datetime.date) -> str:
    return f"{month:%Y-%m}"


def add_months(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_end(month: datetime.date) -> datetime.date:
    return add_months(month, 1) - datetime.timedelta(days=1)


def last_full_month(today: datetime.date) -> datetime.date:
    """The calendar month before ``today``'s: what the report of the 1st is about."""
    return add_months(today.replace(day=1), -1)


def month_has_ended(month: datetime.date, today: datetime.date) -> bool:
    """Reports are about months that are over: a running month's figures still move."""
    return month_end(month) < today


# ---- the figures snapshot ---------------------------------------------------------------------


class _SnapshotEncoder(DjangoJSONEncoder):
    """Dates as ISO strings (Django's encoder), decimals as numbers rather than strings."""

    def default(self, o):
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def _json_safe(data):
    return json.loads(json.dumps(data, cls=_SnapshotEncoder))


def _index_snapshot(unit: OrgUnit) -> list[dict]:
    """The index position of each insurer the unit covers whole (none below head office)."""
    rows = []
    for insurer in whatif.unit_insurers(unit=unit):
        position = whatif.index_position(insurer=insurer)
        if position is None:
            continue
        run, result = position["run"], position["result"]
        rows.append(
            {
                "insurer": insurer.short_name,
                "period": run.period.code,
                "peer_group": str(run.get_peer_group_display()),
                "total": float(result.total),
                "rank": result.rank,
                "ranked": position["ranked"],
                "band": position["band"],
                "band_label": str(position["band_label"]),
                "median_total": position["peer_median_total"],
                "dimensions": [
                    {k: d[k] for k in ("key", "label", "score", "median")}
                    for d in position["dimensions"]
                ],
            }
        )
    return rows


def report_figures(*, unit: OrgUnit, month: datetime.date, today: datetime.date) -> dict:
    """Everything a monthly report shows, as plain JSON data (the stored snapshot)."""
    filters = figures.DashboardFilters(start=month, end=month_end(month))
    data = figures.dashboard(unit=unit, filters=filters, today=today)
    year = figures.DashboardFilters(start=add_months(month, 1 - TREND_MONTHS), end=month_end(month))
    trend = figures.trend(unit=unit, filters=year, today=today)
    children = [
        {**{k: v for k, v in row.items() if k != "unit"}, "unit": row["unit"].name}
        for row in data["children"]
    ]
    return _json_safe(
        {
            "unit": {"id": unit.pk, "name": unit.name, "level": unit.level},
            "month": month_code(month),
            "previous_month": month_code(add_months(month, -1)),
            "counted_on": today,
            "current": data["current"],
            "previous": data["previous"],
            "children": children,
            "trend": trend,
            "index": _index_snapshot(unit),
        }
    )


# ---- rendering --------------------------------------------------------------------------------


def _charts(snapshot: dict) -> dict:
    current, previous = snapshot["current"], snapshot["previous"]
    this_month, month_before = snapshot["month"], snapshot["previous_month"]
    trend = snapshot.get("trend") or []
    charts = {
        "trend": line_chart(
            [row["month"][2:] for row in trend],
            [
                (_("Received"), [row["received"] for row in trend]),
                (_("Decided"), [row["decided"] for row in trend]),
                (_("Overdue"), [row["overdue"] for row in trend]),
            ],
            title=_("Complaints received, decided and overdue by month"),
        ),
        "months": bar_chart(
            [
                (_("Received"), [current.get("received"), previous.get("received")]),
                (_("Accepted"), [current.get("accepted"), previous.get("accepted")]),
                (_("Decided"), [current.get("decided"), previous.get("decided")]),
                (
                    _("Escalated to mediation"),
                    [
                        (current.get("mediation") or {}).get("escalations"),
                        (previous.get("mediation") or {}).get("escalations"),
                    ],
                ),
            ],
            [this_month, month_before],
            title=_("Complaints this month and the month before"),
        ),
    }
    categories = current.get("top_categories") or []
    if categories:
        charts["categories"] = bar_chart(
            [(str(row["label"]), [row["count"]]) for row in categories],
            [_("Complaints received")],
            title=_("Most frequent complaint categories"),
        )
    children = sorted(snapshot.get("children") or [], key=lambda r: -r["received"])
    if children:
        charts["children"] = bar_chart(
            [(row["unit"], [row["received"], row["overdue"]]) for row in children[:CHART_CHILDREN]],
            [_("Received"), _("Overdue now")],
            title=_("Complaints by unit below"),
        )
    charts["index"] = [
        bar_chart(
            [(d["label"], [d["score"], d["median"]]) for d in position["dimensions"]],
            [position["insurer"], _("Peer median")],
            title=_("Dimension scores (0–100) against the peer median"),
            max_value=100,
            places=2,
        )
        for position in snapshot.get("index") or []
    ]
    return charts


def report_context(
    *, unit: OrgUnit, month: datetime.date, snapshot: dict, report: UnitReport | None
) -> dict:
    """What ``sqi/reports/monthly.html`` needs, from a snapshot (stored or fresh)."""
    current, previous = snapshot["current"], snapshot["previous"]
    charts = _charts(snapshot)
    return {
        "unit": unit,
        "month": month,
        "snapshot": snapshot,
        "report": report,
        "rows": table.figure_rows(current, previous),
        "categories": table.category_rows(
            current.get("top_categories") or [],
            previous.get("top_categories") or [],
            current.get("received"),
        ),
        "children": snapshot.get("children") or [],
        "trend": snapshot.get("trend") or [],
        "index": [
            {**position, "chart": chart}
            for position, chart in zip(snapshot.get("index") or [], charts["index"], strict=True)
        ],
        "charts": charts,
        "month_label": snapshot["month"],
        "previous_label": snapshot["previous_month"],
    }


def render_report_html(context: dict, *, for_pdf: bool, request=None) -> str:
    return render_to_string(
        "sqi/reports/monthly.html", {**context, "for_pdf": for_pdf}, request=request
    )


def render_pdf(html: str) -> bytes:
    """The report page printed to PDF. Nothing is fetched: the page carries its styles and
    charts inline, and any other URL (an image, a font) is refused rather than downloaded."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # WeasyPrint logs every layout step at INFO: a line per page per report in the task's log.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

    fetcher = URLFetcher(allowed_protocols=["data"])
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


# ---- building ---------------------------------------------------------------------------------


def report_url(report: UnitReport) -> str:
    return reverse("sqi:unit_report", args=[report.org_unit_id, month_code(report.month)])


def active_officer(unit: OrgUnit) -> ServiceOfficer | None:
    return (
        ServiceOfficer.objects.filter(org_unit=unit, ended__isnull=True)
        .select_related("user")
        .first()
    )


def report_notify(*, report: UnitReport) -> None:
    """Tell the unit's active officer that the report is ready, once per unit and month."""
    officer = active_officer(report.org_unit)
    if officer is None:
        return
    month = month_code(report.month)
    notify(
        user=officer.user,
        subject=_("Monthly report %(month)s of %(unit)s is ready")
        % {"month": month, "unit": report.org_unit.name},
        body=_("The monthly report is at %(url)s (the PDF can be downloaded there).")
        % {"url": report_url(report)},
        dedupe_key=f"unit-report:{report.org_unit_id}:{month}",
    )


def unit_report_build(
    *,
    unit: OrgUnit,
    month: datetime.date | str,
    by=None,
    rebuild: bool = False,
    today: datetime.date | None = None,
) -> tuple[UnitReport, bool]:
    """The report of ``unit`` for ``month``, built if there is none yet (or ``rebuild``).

    Returns (report, built): ``built`` is False when an existing report was returned as it
    was. The figures are gathered and the PDF rendered outside any transaction; the row and
    its file are then written under a row lock, so two builders of the same unit and month
    (a redelivered task, a click during the monthly run) end with one report.
    """
    month = parse_month(month)
    today = today or timezone.localdate()
    if not month_has_ended(month, today):
        raise ValueError(f"{month_code(month)} has not ended yet")
    existing = UnitReport.objects.filter(org_unit=unit, month=month).first()
    if existing is not None and existing.pdf and not rebuild:
        return existing, False

    snapshot = report_figures(unit=unit, month=month, today=today)
    html = render_report_html(
        report_context(unit=unit, month=month, snapshot=snapshot, report=None), for_pdf=True
    )
    pdf = render_pdf(html)
    built_by = by if by is not None and by.is_authenticated else None

    try:
        with transaction.atomic():
            report, created = UnitReport.objects.select_for_update().get_or_create(
                org_unit=unit,
                month=month,
                defaults={"built": timezone.now(), "built_by": built_by, "figures": snapshot},
            )
            if not created and report.pdf and not rebuild:
                return report, False  # someone else built it meanwhile
            _store_pdf(report, pdf)
            report.figures = snapshot
            report.built = timezone.now()
            report.built_by = built_by
            report.save()
    except IntegrityError:
        # The other builder's insert won the race between our read and our insert.
        return UnitReport.objects.get(org_unit=unit, month=month), False
    report_notify(report=report)
    return report, True


def _store_pdf(report: UnitReport, pdf: bytes) -> None:
    """Write the PDF under its fixed name, replacing an earlier one (never ``…_abc123.pdf``)."""
    field = report.pdf
    name = field.field.generate_filename(report, "report.pdf")
    if field.name:
        field.storage.delete(field.name)
    if field.storage.exists(name):
        field.storage.delete(name)
    field.save(name, ContentFile(pdf), save=False)


# ---- the month's run ---------------------------------------------------------------------------


def units_with_officer():
    """Org units with an active service officer, in tree order."""
    serving = ServiceOfficer.objects.filter(org_unit=OuterRef("pk"), ended__isnull=True)
    return OrgUnit.objects.filter(Exists(serving)).order_by("path")


def monthly_reports_build(
    *, month: str | datetime.date | None = None, today: datetime.date | None = None
) -> dict:
    """The reports of ``month`` (default: the month before ``today``) for every unit with an
    active officer; those that exist are left as they are. A unit whose report fails is
    logged and counted, and the others are still built (the next run retries it)."""
    today = today or timezone.localdate()
    month = parse_month(month) if month else last_full_month(today)
    built = existing = 0
    failed: list[int] = []
    for unit in units_with_officer():
        try:
            _report, new = unit_report_build(unit=unit, month=month, today=today)
        except Exception:
            logger.exception("monthly report of unit %s for %s failed", unit.pk, month)
            failed.append(unit.pk)
            continue
        if new:
            built += 1
        else:
            existing += 1
    return {"month": month_code(month), "built": built, "existing": existing, "failed": failed}
