"""Exports of the staff complaint list: CSV (streamed) and XLSX (openpyxl, write-only).

What goes in: one row per complaint in the user's scope that matches the list's filters, with
the fields people sort and count by (insurer, unit, product line, category, channel, status,
deadline state, dates, decision, satisfaction, amounts).

What stays out, on purpose:
- the complainant's name, phone and ID number appear only masked (张*, 138****0001,
  3101**********1234) — an export leaves the system's access control behind;
- the narrative, the reply and the notes are not exported at all: free text may hold anyone's
  name, phone, ID or policy number, and no masking of free text is reliable.

Text cells that a spreadsheet would run as a formula (starting with = + - @) get a leading
apostrophe. Exports are capped at ``EXPORT_MAX_ROWS`` rows; the view says so rather than
truncating silently.
"""

import csv
import tempfile
from collections.abc import Iterable, Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .forms import DEADLINE_STATE_LABELS
from .models import Complaint
from .selectors import mask_name, mask_phone

EXPORT_MAX_ROWS = 100_000
CHUNK = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _day(value):
    return timezone.localtime(value).date() if value else None


def headers() -> list[str]:
    return [
        _("Reference"),
        _("Insurer"),
        _("Handling unit"),
        _("Product line"),
        _("Category"),
        _("Subcategory"),
        _("Channel"),
        _("Status"),
        _("Deadline"),
        _("Received on"),
        _("Decision due"),
        _("Extensions"),
        _("Decided on"),
        _("Decision"),
        _("Remedy amount (CNY)"),
        _("Closed on"),
        _("Satisfaction"),
        _("Amount in dispute (CNY)"),
        _("Elder complainant"),
        _("Complainant (masked)"),
        _("Phone (masked)"),
        _("ID number (masked)"),
    ]


def row(c: Complaint) -> list:
    deadline = getattr(c, "deadline_state", "")
    return [
        c.reference,
        c.insurer.short_name,
        c.org_unit.name,
        c.get_product_line_display(),
        c.get_category_display(),
        c.get_subcategory_display() if c.subcategory else "",
        c.get_channel_display(),
        c.get_status_display(),
        str(DEADLINE_STATE_LABELS[deadline]) if deadline else "",
        c.received_on,
        c.due_date,
        c.extensions,
        _day(c.decided_at),
        c.get_decision_display() if c.decision else "",
        c.remedy_amount,
        _day(c.closed_at),
        c.get_satisfaction_display() if c.satisfaction else "",
        c.amount_in_dispute,
        _("Yes") if c.is_elder else _("No"),
        mask_name(c.complainant_name),
        mask_phone(c.complainant_phone),
        c.id_number_masked,
    ]


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def rows(complaints: Iterable[Complaint]) -> Iterator[list]:
    for complaint in complaints:
        yield [_safe(value) for value in row(complaint)]


def _in_language(language: str, generate):
    """Run a generator in the request's language: a streamed body is produced after the view
    has returned, when the request's translation may no longer be active."""
    with translation.override(language):
        yield from generate()


class _Echo:
    """A file-like object whose ``write`` hands the formatted line back to the caller."""

    def write(self, value: str) -> str:
        return value


def csv_response(queryset, *, filename: str) -> StreamingHttpResponse:
    language = translation.get_language()

    def generate():
        writer = csv.writer(_Echo())
        # A BOM so that Excel opens the UTF-8 file with its Chinese text intact.
        yield "\ufeff" + writer.writerow(headers())
        for values in rows(queryset.iterator(chunk_size=CHUNK)):
            yield writer.writerow(["" if v is None else v for v in values])

    response = StreamingHttpResponse(
        _in_language(language, generate), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(queryset, *, filename: str) -> FileResponse:
    """A write-only workbook keeps one row in memory at a time; the finished file is spooled
    to a temporary file and streamed from there (a zip cannot be written as a stream)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Complaints"))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for text in headers():
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for values in rows(queryset.iterator(chunk_size=CHUNK)):
        sheet.append(values)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
