"""The officer dashboard's figures as rows: for the page, its charts and its exports.

:func:`sqi.dashboard.dashboard` answers with nested dicts of raw numbers; this module names
each figure, says which way is better, works out the change against the previous period and
writes the same rows as a table on the page, as CSV (UTF-8 with a BOM, so that Excel shows
the Chinese labels) and as XLSX. A figure that could not be computed stays empty (``None``,
"—"), never 0.
"""

import csv
import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.http import HttpResponse
from django.utils import formats
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

COUNT, SHARE, RATIO, DAYS = "count", "share", "ratio", "days"
HIGHER, LOWER = "higher", "lower"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Figure:
    """One figure: ``key`` is its place in ``dashboard_figures``' dict (dots go deeper)."""

    key: str
    label: Promise
    kind: str
    better: str | None = None
    #: counted as of today over the whole scope: the same in every period, so no comparison
    snapshot: bool = False

    def value(self, figures: dict):
        value = figures
        for part in self.key.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value


FIGURES: tuple[Figure, ...] = (
    Figure("received", _("Complaints received"), COUNT),
    Figure("accepted", _("Complaints accepted"), COUNT, LOWER),
    Figure("per_100m_premium", _("Accepted complaints per 100 million CNY premium"), RATIO, LOWER),
    Figure("per_10k_policies", _("Accepted complaints per 10,000 policies"), RATIO, LOWER),
    Figure("decided", _("Complaints decided"), COUNT),
    Figure("on_time_rate", _("Decided within the deadline"), SHARE, HIGHER),
    Figure("decided_within.15", _("Decided within 15 days"), SHARE, HIGHER),
    Figure("decided_within.30", _("Decided within 30 days"), SHARE, HIGHER),
    Figure("decided_within.60", _("Decided within 60 days"), SHARE, HIGHER),
    Figure("days_to_decision.median", _("Median days to decision"), DAYS, LOWER),
    Figure("days_to_decision.p90", _("Days to decision, 90th percentile"), DAYS, LOWER),
    Figure("upheld_share", _("Decided in the complainant's favour (fully or partly)"), SHARE),
    Figure("reviews.requested", _("Reviews requested"), COUNT, LOWER),
    Figure("reviews.changed", _("Reviews that changed the decision"), COUNT, LOWER),
    Figure("reviews.upheld_original", _("Reviews that kept the decision"), COUNT),
    Figure("satisfaction.satisfied_share", _("Satisfied, of those who answered"), SHARE, HIGHER),
    # Counts of answers follow the number closed; only the share says better or worse.
    Figure("satisfaction.satisfied", _("Satisfied"), COUNT),
    Figure("satisfaction.neutral", _("Neither satisfied nor dissatisfied"), COUNT),
    Figure("satisfaction.dissatisfied", _("Dissatisfied"), COUNT),
    Figure("satisfaction.unreachable", _("Could not be reached"), COUNT),
    Figure("elder.received", _("Complaints from people aged 60 or over"), COUNT),
    Figure("elder.share", _("Share of complaints from people aged 60 or over"), SHARE),
    Figure("elder.on_time_rate", _("Complaints of older people decided on time"), SHARE, HIGHER),
    Figure("mediation.escalations", _("Escalated to mediation"), COUNT, LOWER),
    Figure("mediation.settled", _("Mediation cases settled"), COUNT),
    Figure("mediation.failed", _("Mediation cases failed"), COUNT, LOWER),
    Figure("mediation.settlement_rate", _("Mediation settlement rate"), SHARE, HIGHER),
    Figure("mediation.median_days_to_settle", _("Median days to settle"), DAYS, LOWER),
    Figure("open", _("Open now"), COUNT, snapshot=True),
    Figure("due_soon", _("Open and due within 3 days"), COUNT, LOWER, snapshot=True),
    Figure("overdue", _("Open and overdue"), COUNT, LOWER, snapshot=True),
)
BY_KEY = {figure.key: figure for figure in FIGURES}

#: The cards at the top of the page, in order.
HEADLINE = (
    "received",
    "per_100m_premium",
    "per_10k_policies",
    "on_time_rate",
    "days_to_decision.median",
    "satisfaction.satisfied_share",
)


def _unit_label(figure: Figure) -> str:
    if figure.kind == COUNT:
        return gettext("number")
    if figure.kind == SHARE:
        return "%"
    if figure.kind == DAYS:
        return gettext("days")
    return gettext("ratio")


def plain_value(figure: Figure, value):
    """The number as written to a file: shares as percentages, one or two decimals."""
    if value is None:
        return None
    if figure.kind == SHARE:
        return round(float(value) * 100, 1)
    if figure.kind == RATIO:
        return round(float(value), 2)
    if figure.kind == DAYS:
        return round(float(value), 1)
    return int(value)


def display(figure: Figure, value) -> str:
    """The number as shown on the page, in the page's language; "—" when not computable."""
    number = plain_value(figure, value)
    if number is None:
        return "—"
    if figure.kind == COUNT:
        return formats.number_format(number, force_grouping=True)
    decimals = 2 if figure.kind == RATIO else 1
    text = formats.number_format(number, decimals, force_grouping=True)
    return f"{text}%" if figure.kind == SHARE else text


def change(figure: Figure, current, previous) -> dict | None:
    """How the figure moved since the previous period, for the arrow beside it.

    ``direction`` is up, down or same; ``verdict`` better, worse or None (a figure with no
    better direction, like the number received). The difference is in the figure's own
    unit; shares move in percentage points.
    """
    if figure.snapshot or current is None or previous is None:
        return None
    now, before = plain_value(figure, current), plain_value(figure, previous)
    diff = round(now - before, 2)
    direction = "up" if diff > 0 else "down" if diff < 0 else "same"
    verdict = None
    if figure.better and direction != "same":
        verdict = "better" if (direction == "up") == (figure.better == HIGHER) else "worse"
    if figure.kind == COUNT:
        text = formats.number_format(abs(int(diff)), force_grouping=True)
    else:
        text = formats.number_format(abs(diff), 2 if figure.kind == RATIO else 1)
    if figure.kind == SHARE:
        text = gettext("%(points)s pp") % {"points": text}
    percent = None
    if figure.kind == COUNT and before:
        percent = formats.number_format(round(abs(diff) / before * 100), 0)
    return {
        "direction": direction,
        "verdict": verdict,
        "difference": diff,
        "text": text,
        "percent": percent,
    }


def figure_rows(current: dict, previous: dict) -> list[dict]:
    """Every figure, current and previous side by side (the table and the exports)."""
    rows = []
    for figure in FIGURES:
        now = figure.value(current)
        before = None if figure.snapshot else figure.value(previous)
        rows.append(
            {
                "key": figure.key,
                "label": figure.label,
                "kind": figure.kind,
                "snapshot": figure.snapshot,
                "current": now,
                "previous": before,
                "current_text": display(figure, now),
                "previous_text": "—" if figure.snapshot else display(figure, before),
                "change": change(figure, now, before),
            }
        )
    return rows


def headline(rows: list[dict]) -> list[dict]:
    by_key = {row["key"]: row for row in rows}
    return [by_key[key] for key in HEADLINE]


# ---- charts -------------------------------------------------------------------------------


def trend_chart(trend: list[dict], *, first_month: str) -> dict:
    """The monthly bars; ``period`` names the first and last month of the chosen period
    (shaded on the chart when the chart reaches further back)."""
    in_period = [row["month"] for row in trend if row["month"] >= first_month]
    return {
        "months": [row["month"] for row in trend],
        "period": [in_period[0], in_period[-1]]
        if in_period and len(in_period) < len(trend)
        else None,
        "received": [row["received"] for row in trend],
        "decided": [row["decided"] for row in trend],
        "overdue": [row["overdue"] for row in trend],
        "labels": {
            "received": gettext("Received"),
            "decided": gettext("Decided"),
            "overdue": gettext("Overdue"),
            "period": gettext("Chosen period"),
        },
    }


def category_chart(categories: list[dict]) -> dict:
    return {
        "categories": [str(row["label"]) for row in categories],
        "counts": [row["count"] for row in categories],
        "labels": {"count": gettext("Complaints received")},
    }


def children_chart(children: list[dict]) -> dict:
    return {
        "units": [row["unit"].name for row in children],
        "received": [row["received"] for row in children],
        "open": [row["open"] for row in children],
        "overdue": [row["overdue"] for row in children],
        "labels": {
            "received": gettext("Received"),
            "open": gettext("Open now"),
            "overdue": gettext("Overdue now"),
        },
    }


def category_rows(current: list[dict], previous: list[dict], received) -> list[dict]:
    """The top categories with their share of all received, and last period's count when
    the category was among its top ones too (otherwise unknown here: None)."""
    before = {row["category"]: row["count"] for row in previous}
    return [
        {
            **row,
            "share": (row["count"] / received) if received else None,
            "previous": before.get(row["category"]),
        }
        for row in current
    ]


# ---- exports ------------------------------------------------------------------------------


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export_header(current_label: str, previous_label: str) -> list[str]:
    return [
        gettext("Figure"),
        gettext("Unit of measure"),
        current_label,
        previous_label,
        gettext("Difference"),
    ]


def export_rows(rows: list[dict]) -> Iterable[list]:
    for row in rows:
        figure = BY_KEY[row["key"]]
        moved = row["change"]
        yield [
            str(row["label"]),
            _unit_label(figure),
            plain_value(figure, row["current"]),
            plain_value(figure, row["previous"]),
            moved["difference"] if moved else None,
        ]


def export_filename(*, unit_name: str, period_code: str, fmt: str) -> str:
    safe_name = "".join(ch for ch in unit_name if ch not in '\\/:*?"<>|').strip() or "unit"
    return f"dashboard_{safe_name}_{period_code}.{fmt}"


def _attachment(content: bytes, *, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def csv_response(*, header: list[str], rows: list[dict], filename: str) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_safe(cell) for cell in header])
    for line in export_rows(rows):
        writer.writerow(["" if cell is None else _safe(cell) for cell in line])
    content = ("\ufeff" + out.getvalue()).encode("utf-8")
    return _attachment(content, filename=filename, content_type="text/csv; charset=utf-8")


def xlsx_response(
    *, header: list[str], rows: list[dict], filename: str, about: list[tuple[str, str]]
) -> HttpResponse:
    """The figures on a first sheet; what they cover (unit, periods, filters) on a second."""
    book = Workbook()
    sheet = book.active
    sheet.title = gettext("Figures")[:31]
    sheet.append([_safe(cell) for cell in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for line in export_rows(rows):
        sheet.append([_safe(cell) for cell in line])
    sheet.freeze_panes = "A2"
    for index, width in enumerate((52, 14, 18, 18, 12), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    info = book.create_sheet(gettext("About")[:31])
    for label, value in about:
        info.append([_safe(label), _safe(value)])
    for cell in info["A"]:
        cell.font = Font(bold=True)
    info.column_dimensions["A"].width = 28
    info.column_dimensions["B"].width = 60
    out = io.BytesIO()
    book.save(out)
    return _attachment(
        out.getvalue(),
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def generated_at(now: datetime.datetime) -> str:
    return formats.date_format(now, "Y-m-d H:i")
