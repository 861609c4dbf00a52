"""Complaint file import: CSV or XLSX, every row validated, all or nothing.

A file either imports completely, in one transaction, or not at all; when it does not, the
person gets every problem at once, each with the row number as their spreadsheet shows it
(the header is row 1), the column name as written in their file, and a message. Every
upload, imported or rejected, is recorded as an ``ImportBatch`` (who, when, file hash,
rows, errors).

Column layout. The header row names the columns, in any order, either in Chinese or with
the English key; a trailing ``*`` or a parenthesised note (``争议金额（元）``) is ignored.

==================  ======================  ========  =======================================
Chinese header      English key             required  content
==================  ======================  ========  =======================================
保险公司            insurer                 yes       unified social credit code (统一社会信用
                                                      代码) or the insurer's short name
机构名称            org_unit                yes       the handling unit's name within that
                                                      insurer (``上级机构/机构`` if two units
                                                      share a name); in the uploader's scope
险种                product_line            yes       code (``motor``) or name (车险, Motor)
投诉类别            category                yes       code (``claims``) or name (理赔纠纷)
投诉子类            subcategory             no        code or name; must fit the category
渠道                channel                 yes       code (``hotline``) or name (客服热线)
争议金额            amount_in_dispute       no        CNY, e.g. ``12000.00``
投诉内容            narrative               yes       at most 5,000 characters
投诉人姓名          complainant_name        yes       at most 100 characters
投诉人电话          complainant_phone       yes       mobile (11 digits) or landline
身份证号            complainant_id_number   no        18 characters with a valid check digit
登记时间            received_at             yes       date or date and time, Beijing time
                                                      (Asia/Shanghai), not in the future
==================  ======================  ========  =======================================

Choice values are matched on the code, the Chinese name or the English name, ignoring case,
spaces and full-width punctuation. Files: CSV in UTF-8 (with or without BOM) or GBK/GB18030,
comma-separated; or XLSX (the first worksheet). At most 20 MB and 50,000 rows.

Each row goes through ``services.complaint_build`` — the same checks and messages as the
staff form, the public form and the API. Insurers and units are resolved from two queries
per file, and the per-row existence checks ``full_clean`` would make are answered from those
(see ``_query_free_validation``), so validating 10,000 rows costs the same few queries as
validating ten.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import datetime
import hashlib
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models.signals import post_init
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from insurers.models import Insurer, OrgUnit
from insurers.selectors import unit_is_visible, visible_units

from . import idnumber, services, summaries
from .models import (
    Category,
    Channel,
    Complaint,
    Event,
    EventKind,
    ImportBatch,
    ProductLine,
    Subcategory,
)

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
BATCH_SIZE = 1000
# A rejected batch keeps this many errors in the database; the result returns them all.
STORED_ERRORS_MAX = 1000
EARLIEST_RECEIPT = datetime.date(2000, 1, 1)
XLSX_MAX_COLUMNS = 64


# ---- the column layout ----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str  # the intake field, also the English header
    header: str  # the Chinese header
    required: bool
    description: str
    aliases: tuple[str, ...] = ()
    choices: type[models.TextChoices] | None = None


COLUMNS: tuple[Column, ...] = (
    Column(
        "insurer",
        "保险公司",
        True,
        gettext_lazy("The insurer's unified social credit code (18 characters) or its short name."),
        aliases=(
            "统一社会信用代码",
            "保险公司统一社会信用代码",
            "保险公司简称",
            "insurer_credit_code",
        ),
    ),
    Column(
        "org_unit",
        "机构名称",
        True,
        gettext_lazy(
            "The handling unit's name within that insurer, as in the organisation tree. If "
            "two of its units share a name, write the parent unit's name first: parent/unit. "
            "The unit must be in your part of the organisation."
        ),
        aliases=("处理机构", "处理机构名称", "handling_unit"),
    ),
    Column(
        "product_line",
        "险种",
        True,
        gettext_lazy("Code or name of the product line."),
        choices=ProductLine,
    ),
    Column(
        "category",
        "投诉类别",
        True,
        gettext_lazy("Code or name of the category."),
        choices=Category,
    ),
    Column(
        "subcategory",
        "投诉子类",
        False,
        gettext_lazy("Only for sales and claims disputes; it must belong to the category."),
        choices=Subcategory,
    ),
    Column(
        "channel",
        "渠道",
        True,
        gettext_lazy("How the complaint arrived: code or name."),
        aliases=("投诉渠道",),
        choices=Channel,
    ),
    Column(
        "amount_in_dispute",
        "争议金额",
        False,
        gettext_lazy("In CNY, e.g. 12000.00. Leave the cell empty if no amount is disputed."),
        aliases=("amount",),
    ),
    Column(
        "narrative",
        "投诉内容",
        True,
        gettext_lazy("What the complainant says, at most 5,000 characters."),
    ),
    Column(
        "complainant_name",
        "投诉人姓名",
        True,
        gettext_lazy("At most 100 characters."),
        aliases=("投诉人",),
    ),
    Column(
        "complainant_phone",
        "投诉人电话",
        True,
        gettext_lazy(
            "A mainland mobile number (11 digits) or a landline with its area code, "
            "e.g. 021-12345678."
        ),
        aliases=("联系电话",),
    ),
    Column(
        "complainant_id_number",
        "身份证号",
        False,
        gettext_lazy(
            "18 characters; the last is a check digit (0–9 or X). In Excel, format this "
            "column as text so that no digits are lost."
        ),
        aliases=("投诉人身份证号", "身份证号码"),
    ),
    Column(
        "received_at",
        "登记时间",
        True,
        gettext_lazy(
            "Date, or date and time, in Beijing time, e.g. 2026-03-01 or 2026-03-01 14:30. "
            "Not in the future."
        ),
        aliases=("接收时间", "投诉时间"),
    ),
)
COLUMN_ORDER = {c.key: i for i, c in enumerate(COLUMNS)}
# complaint_build's field names that are not columns, and the column they are about.
FIELD_COLUMN = {"received_on": "received_at", "due_date": "received_at"}
# A column checked against another that already has an error is not reported again (a
# subcategory cannot fit a category that was not understood, nor a unit a missing insurer).
DEPENDS_ON = {"subcategory": "category", "org_unit": "insurer"}


def _norm(text: str) -> str:
    """Comparison form: full-width to ASCII (NFKC), case-folded, without spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _header_key(text: str) -> str:
    key = _norm(text).strip("*")
    key = re.sub(r"\([^()]*\)$", "", key).strip("*")
    return key.replace("_", "").replace("-", "")


@cache
def _header_index() -> dict[str, str]:
    index = {}
    for column in COLUMNS:
        for name in (column.key, column.header, *column.aliases):
            index[_header_key(name)] = column.key
    return index


def choice_spellings(
    choices: type[models.TextChoices],
    *,
    languages: tuple[str, ...] = ("zh-hans", "en"),
    extra: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, str]:
    """Every way a person may write a choice: the code, its name in each of ``languages``,
    either part of a name like ``Motor (车险)`` and any ``extra`` spellings of a code. A
    spelling that would fit two choices is dropped rather than guessed. Shared by every
    file import."""
    index: dict[str, str] = {}
    clashes: set[str] = set()
    for value, label in choices.choices:
        names = {value, *(extra or {}).get(value, ())}
        for language in languages:
            with translation.override(language):
                text = unicodedata.normalize("NFKC", str(label)).strip()
            names.add(text)
            parts = re.fullmatch(r"(.+?)\s*\((.+)\)", text)
            if parts:
                names.update(parts.groups())
        for name in names:
            key = _norm(name)
            if index.get(key, value) != value:
                clashes.add(key)
            index[key] = value
    for key in clashes:
        del index[key]
    return index


@cache
def _choice_index(choices: type[models.TextChoices]) -> dict[str, str]:
    return choice_spellings(choices)


def column_docs() -> list[dict]:
    """The layout as the import page documents it, in the active language."""
    docs = []
    for column in COLUMNS:
        values = []
        if column.choices is not None:
            values = [{"code": value, "label": label} for value, label in column.choices.choices]
        docs.append(
            {
                "header": column.header,
                "key": column.key,
                "required": column.required,
                "description": column.description,
                "values": values,
            }
        )
    return docs


# ---- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` as the spreadsheet numbers it (None: the file as a whole)."""

    row: int | None
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    batch: ImportBatch
    references: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors if e.row is not None})


class FileRejected(Exception):
    """The file cannot be read as a table at all (encoding, format, size, header)."""

    def __init__(self, errors: list[RowError], rows: int = 0):
        super().__init__(errors)
        self.errors = errors
        self.rows = rows

    @classmethod
    def whole(cls, message: str, rows: int = 0) -> FileRejected:
        """A problem with the file as a whole (no row, no column)."""
        return cls([RowError(None, "", message)], rows=rows)


# ---- reading the file -----------------------------------------------------------------------


@dataclass
class Table:
    headers: list[str]  # as written in the file
    keys: list[str | None]  # the column each header is, by position
    rows: list[tuple[int, list]]  # (spreadsheet row number, cells)
    errors: list[RowError]


def _decode(data: bytes, file_name: str) -> str:
    """UTF-8 (a BOM is dropped) or GB18030, which includes GBK and GB2312; nothing else."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileRejected.whole(
            _(
                "The encoding of “%(file)s” was not recognised. Save it as CSV in "
                "UTF-8 or GBK (in Excel: “CSV UTF-8”), or as XLSX."
            )
            % {"file": file_name}
        ) from None


def _is_blank(cells) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _csv_rows(text: str):
    """(row number, cells) for each CSV record; a record with a quoted line break is still
    one spreadsheet row."""
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "," not in first_line and "\t" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _CsvBroken(number) from exc
        yield number, cells


class _CsvBroken(Exception):
    def __init__(self, row: int):
        super().__init__(row)
        self.row = row


XLSX_MAX_UNPACKED = 400 * 1024 * 1024


def _unreadable_xlsx(file_name: str) -> FileRejected:
    return FileRejected.whole(
        _("“%(file)s” could not be read as an XLSX workbook.") % {"file": file_name}
    )


def _xlsx_rows(data: bytes, file_name: str):
    """(row number, cells) of the first worksheet. The workbook is a ZIP of XML parts; one
    that would unpack to more than XLSX_MAX_UNPACKED is refused before anything is parsed."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable_xlsx(file_name) from exc
    if unpacked > XLSX_MAX_UNPACKED:
        raise FileRejected.whole(
            _("“%(file)s” unpacks to more than %(limit)s MB; split it into smaller files.")
            % {"file": file_name, "limit": XLSX_MAX_UNPACKED // 1048576}
        )
    # An uploaded file is untrusted: whatever breaks while parsing it means "unreadable".
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise _unreadable_xlsx(file_name) from exc
    try:
        sheet = workbook.worksheets[0]
        cells_by_row = sheet.iter_rows(min_row=1, max_col=XLSX_MAX_COLUMNS, values_only=True)
        number = 0
        while True:
            try:
                cells = next(cells_by_row)
            except StopIteration:
                return
            except Exception as exc:
                raise _unreadable_xlsx(file_name) from exc
            number += 1
            yield number, list(cells)
    finally:
        workbook.close()


def _kind(data: bytes, file_name: str) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected.whole(
            _(
                "“%(file)s” is an old Excel 97–2003 (.xls) workbook. Save it as XLSX "
                "or CSV and upload it again."
            )
            % {"file": file_name}
        )
    return "csv"


def read_rows(
    data: bytes,
    file_name: str,
    *,
    header,
    skip=_is_blank,
    too_many: str,
    no_rows: str,
) -> Table:
    """The header and the rows below it, with the layout problems found on the way; shared
    by every file import. ``header(cells, number)`` reads the header row (raising
    FileRejected), ``skip(cells)`` says which rows are not data, ``too_many`` (with
    ``%(max)s``) and ``no_rows`` are the import's own wording."""
    if not data.strip():
        raise FileRejected.whole(_("The file “%(file)s” is empty.") % {"file": file_name})
    kind = _kind(data, file_name)
    rows = _xlsx_rows(data, file_name) if kind == "xlsx" else _csv_rows(_decode(data, file_name))
    errors: list[RowError] = []
    headers: list[str] = []
    keys: list[str | None] = []
    body: list[tuple[int, list]] = []
    header_row = 0
    try:
        for number, cells in rows:
            if skip(cells):
                continue
            if not header_row:
                header_row = number
                headers, keys = header(cells, number)
                continue
            if len(body) >= MAX_ROWS:
                raise FileRejected.whole(
                    str(too_many) % {"max": formats.number_format(MAX_ROWS, force_grouping=True)},
                    rows=len(body),
                )
            cells = list(cells)
            if len(cells) > len(headers) and _is_blank(cells[len(headers) :]):
                cells = cells[: len(headers)]
            if len(cells) != len(headers) and kind == "csv":
                errors.append(
                    RowError(
                        number,
                        "",
                        _("This row has %(cells)s cells, but the header has %(columns)s.")
                        % {"cells": len(cells), "columns": len(headers)},
                    )
                )
                continue
            if len(cells) > len(headers):  # xlsx: something written right of the table
                errors.append(
                    RowError(
                        number,
                        "",
                        _("This row has values to the right of the last column (%(column)s).")
                        % {"column": headers[-1]},
                    )
                )
                continue
            cells += [None] * (len(headers) - len(cells))
            body.append((number, cells))
    except _CsvBroken as exc:
        errors.append(
            RowError(
                exc.row,
                "",
                _(
                    "The CSV file cannot be read from this row on: a quotation mark is probably "
                    "not closed, or is followed by other characters in the same cell."
                ),
            )
        )
    if not header_row:
        raise FileRejected.whole(_("The file “%(file)s” is empty.") % {"file": file_name})
    if not body and not errors:
        raise FileRejected.whole(str(no_rows))
    return Table(headers=headers, keys=keys, rows=body, errors=errors)


def read_table(data: bytes, file_name: str) -> Table:
    """The header and the non-blank rows, with the layout problems found on the way."""
    return read_rows(
        data,
        file_name,
        header=_read_header,
        too_many=_(
            "The file has more than %(max)s rows of complaints; split it into smaller files."
        ),
        no_rows=_("The file has a header row but no complaints below it."),
    )


def read_header(
    cells, number: int, *, index: dict[str, str], columns
) -> tuple[list[str], list[str | None], list[RowError]]:
    """(headers, column key per header, errors) of a header row: unknown, repeated, blank
    and missing required columns. Shared by every file import (``index`` maps a normalised
    header to its column key; ``columns`` are the layout's :class:`Column` objects)."""
    while cells and (cells[-1] is None or str(cells[-1]).strip() == ""):
        cells = cells[:-1]
    headers = ["" if c is None else str(c).strip() for c in cells]
    keys: list[str | None] = []
    errors: list[RowError] = []
    seen: dict[str, str] = {}
    for position, header in enumerate(headers, start=1):
        key = index.get(_header_key(header)) if header else None
        if not header:
            errors.append(RowError(number, "", _("Column %(n)s has no header.") % {"n": position}))
        elif key is None:
            errors.append(
                RowError(
                    number,
                    header,
                    _("“%(header)s” is not a column of the import layout.") % {"header": header},
                )
            )
        elif key in seen:
            errors.append(
                RowError(
                    number,
                    header,
                    _("“%(header)s” is the same column as “%(other)s”.")
                    % {"header": header, "other": seen[key]},
                )
            )
            key = None
        else:
            seen[key] = header
        keys.append(key)
    for column in columns:
        if column.required and column.key not in seen:
            errors.append(
                RowError(
                    number,
                    column.header,
                    _("The required column “%(header)s” (%(key)s) is missing.")
                    % {"header": column.header, "key": column.key},
                )
            )
    return headers, keys, errors


def _read_header(cells, number: int) -> tuple[list[str], list[str | None]]:
    headers, keys, errors = read_header(cells, number, index=_header_index(), columns=COLUMNS)
    if errors:
        raise FileRejected(errors)
    return headers, keys


# ---- reading one cell -----------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


class CellError(Exception):
    pass


SCIENTIFIC = re.compile(r"^\d+(\.\d+)?E\+?\d+$", re.IGNORECASE)


def _id_number(value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise CellError(
            _(
                "The spreadsheet stored this ID number as a number, which loses digits. Format "
                "the column as text and enter the number again."
            )
        )
    text = _text(value)
    if SCIENTIFIC.match(text):
        raise CellError(
            _(
                "This ID number was saved in scientific notation (like 1.1E+17) and its digits "
                "are lost. Format the column as text in Excel and enter the number again."
            )
        )
    return text


def _phone(value) -> str:
    text = _text(value)
    if SCIENTIFIC.match(text):
        raise CellError(
            _("This phone number was saved in scientific notation; format the column as text.")
        )
    return re.sub(r"\s+", "", text)


def _amount(value) -> Decimal | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = re.sub(r"[\s,，¥￥]|元$|CNY|RMB", "", unicodedata.normalize("NFKC", _text(value)))
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise CellError(_("Enter the amount as a number of yuan, e.g. 12000.00."))
    return amount


DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def _received_at(value) -> datetime.datetime:
    moment = None
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time())
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        plain = re.sub(r"[/.年月]", "-", text).replace("日", " ").replace("T", " ")
        plain = re.sub(r"\s+", " ", plain).strip()
        for fmt in DATETIME_FORMATS:
            try:
                moment = datetime.datetime.strptime(plain, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            with contextlib.suppress(ValueError):
                moment = datetime.datetime.fromisoformat(text)
    if moment is None:
        raise CellError(
            _("Enter a date such as 2026-03-01, or a date and time such as 2026-03-01 14:30.")
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    if timezone.localtime(moment).date() < EARLIEST_RECEIPT:
        raise CellError(
            _("The date of receipt cannot be before %(day)s.") % {"day": EARLIEST_RECEIPT}
        )
    return moment


def _choice(value, column: Column) -> str:
    text = _text(value)
    code = _choice_index(column.choices).get(_norm(text))
    if code is None:
        separator = "、" if translation.get_language().startswith("zh") else ", "
        names = separator.join(str(label) for _code, label in column.choices.choices)
        raise CellError(
            _("“%(value)s” is not a known value. Use one of: %(names)s.")
            % {"value": text[:50], "names": names}
        )
    return code


# ---- insurers and units ---------------------------------------------------------------------


class Directory:
    """Insurers and their units, loaded once per file, so that a row costs no query."""

    def __init__(self, *, user):
        self.user = user
        self.insurers_by_code: dict[str, Insurer] = {}
        self.insurers_by_name: dict[str, list[Insurer]] = defaultdict(list)
        for insurer in Insurer.objects.only(
            "id", "credit_code", "short_name", "name_zh", "name_en"
        ):
            self.insurers_by_code[insurer.credit_code.upper()] = insurer
            for name in {insurer.short_name, insurer.name_zh, insurer.name_en}:
                if name:
                    self.insurers_by_name[_norm(name)].append(insurer)
        self.units_by_name: dict[tuple[int, str], list[OrgUnit]] = defaultdict(list)
        self.units_by_path: dict[str, OrgUnit] = {}

    def insurer(self, value) -> Insurer:
        text = _text(value)
        found = self.insurers_by_code.get(text.upper().replace(" ", ""))
        if found is not None:
            return found
        matches = {i.pk: i for i in self.insurers_by_name.get(_norm(text), [])}
        if len(matches) == 1:
            return next(iter(matches.values()))
        if matches:
            raise CellError(
                _("More than one insurer is called “%(name)s”; use its credit code.")
                % {"name": text[:50]}
            )
        raise CellError(
            _("No insurer has the credit code or name “%(name)s”.") % {"name": text[:50]}
        )

    def load_units(self, insurer_ids: set[int]) -> None:
        units = OrgUnit.objects.filter(insurer_id__in=insurer_ids).only(
            "id", "name", "path", "depth", "insurer_id", "level"
        )
        for unit in units:
            self.units_by_name[(unit.insurer_id, _norm(unit.name))].append(unit)
            self.units_by_path[unit.path] = unit

    def unit(self, value, insurer: Insurer) -> OrgUnit:
        text = _text(value)
        name, parents = text, []
        candidates = self.units_by_name.get((insurer.pk, _norm(text)), [])
        if not candidates and re.search(r"[/／]", text):  # parent/unit
            *parents, name = [part for part in re.split(r"\s*[/／]\s*", text) if part] or [""]
            candidates = self.units_by_name.get((insurer.pk, _norm(name)), [])
        if parents:
            parent_name = _norm(parents[-1])
            candidates = [
                u
                for u in candidates
                if (p := self.units_by_path.get(u.path[: -OrgUnit.steplen])) is not None
                and _norm(p.name) == parent_name
            ]
        if not candidates:
            raise CellError(
                _("%(insurer)s has no unit called “%(name)s”.")
                % {"insurer": insurer.short_name, "name": text[:100]}
            )
        visible = [u for u in candidates if unit_is_visible(user=self.user, unit=u)]
        if not visible:
            raise CellError(
                _("“%(name)s” is outside your part of the organisation.") % {"name": text[:100]}
            )
        if len(visible) > 1:
            raise CellError(
                _(
                    "%(insurer)s has more than one unit called “%(name)s”; write the parent "
                    "unit's name first, as parent/unit."
                )
                % {"insurer": insurer.short_name, "name": name[:100]}
            )
        return visible[0]


# ---- validation without a query per row ---------------------------------------------------

# Set while a file is validated: the related rows known to exist (loaded by this import),
# and the outcome of each check constraint for the values seen so far.
_TRUSTED = contextvars.ContextVar("complaint_import_trusted", default=None)


@dataclass
class _Trusted:
    related: set[tuple[str, object]]
    constraint_outcomes: dict = field(default_factory=dict)


def _query_free_validation(sender, instance, **kwargs):
    """While an import validates its rows, make ``full_clean`` on each new complaint skip
    the queries that cannot change from row to row.

    ``full_clean`` asks the database, for every row, whether the insurer, the unit and the
    user exist (one query per foreign key) and whether the check constraint holds (a
    ``SELECT`` in a savepoint). The import has just loaded those insurers and units, and a
    check constraint's outcome depends only on the values of the fields it names, so both
    are answered from memory. Only instances created in this context are affected (the
    receiver does nothing elsewhere); every other check runs unchanged, as do these for a
    related row the import did not load itself.
    """
    trusted = _TRUSTED.get()
    if trusted is None:
        return
    model = type(instance)

    def clean_fields(exclude=None):
        skip = set(exclude or ())
        for f in model._meta.concrete_fields:
            if f.is_relation and (f.name, getattr(instance, f.attname)) in trusted.related:
                skip.add(f.name)
        return model.clean_fields(instance, exclude=skip)

    def validate_constraints(exclude=None):
        constraints = [c for _m, cs in instance.get_constraints() for c in cs]
        if not all(isinstance(c, models.CheckConstraint) for c in constraints):
            return model.validate_constraints(instance, exclude=exclude)
        names = sorted(
            {n for c in constraints for n in models.Q(c.condition).referenced_base_fields}
        )
        values = tuple(getattr(instance, model._meta.get_field(n).attname) for n in names)
        key = (frozenset(exclude or ()), values)
        if key not in trusted.constraint_outcomes:
            try:
                model.validate_constraints(instance, exclude=exclude)
                trusted.constraint_outcomes[key] = None
            except ValidationError as exc:
                trusted.constraint_outcomes[key] = exc
        if trusted.constraint_outcomes[key] is not None:
            raise trusted.constraint_outcomes[key]

    instance.clean_fields = clean_fields
    instance.validate_constraints = validate_constraints


post_init.connect(
    _query_free_validation, sender=Complaint, weak=False, dispatch_uid="complaint_import"
)


@contextlib.contextmanager
def _trusting(related: set[tuple[str, object]]):
    token = _TRUSTED.set(_Trusted(related=related))
    try:
        yield
    finally:
        _TRUSTED.reset(token)


# ---- the rows -------------------------------------------------------------------------------


def _build_rows(table: Table, *, by) -> tuple[list[Complaint], list[RowError]]:
    errors = list(table.errors)
    header_of = {key: header for key, header in zip(table.keys, table.headers, strict=True) if key}
    directory = Directory(user=by)

    # First pass: the insurer of each row, so that their units load in one query.
    records = []
    for number, cells in table.rows:
        values = {key: cells[i] for i, key in enumerate(table.keys) if key}
        row_errors: dict[str, str] = {}
        insurer = None
        if _text(values.get("insurer")):
            try:
                insurer = directory.insurer(values["insurer"])
            except CellError as exc:
                row_errors["insurer"] = str(exc)
        records.append((number, values, insurer, row_errors))
    directory.load_units({insurer.pk for _n, _v, insurer, _e in records if insurer is not None})

    related = {("insurer", pk) for pk in (i.pk for i in directory.insurers_by_code.values())}
    related |= {("org_unit", u.pk) for u in directory.units_by_path.values()}
    related.add(("created_by", by.pk))

    complaints: list[Complaint] = []
    with _trusting(related):
        for number, values, insurer, row_errors in records:
            fields = _row_fields(values, insurer, directory, row_errors)
            try:
                complaint = services.complaint_build(by=by, **fields)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    key = FIELD_COLUMN.get(name, name)
                    if DEPENDS_ON.get(key) in row_errors:
                        continue
                    if key not in row_errors:
                        row_errors[key] = " ".join(messages)
            else:
                complaints.append(complaint)
            for key in sorted(row_errors, key=lambda k: COLUMN_ORDER.get(k, len(COLUMNS))):
                column = header_of.get(key, "")
                errors.append(RowError(number, column, row_errors[key]))
    errors.sort(key=lambda e: (e.row or 0,))
    return complaints, errors


PARSERS = {
    "complainant_id_number": _id_number,
    "complainant_phone": _phone,
    "amount_in_dispute": _amount,
    "received_at": _received_at,
}


def _row_fields(values: dict, insurer, directory: Directory, row_errors: dict) -> dict:
    fields: dict = {}
    for column in COLUMNS:
        key = column.key
        if key in row_errors or (key not in values and not column.required):
            continue
        raw = values.get(key)
        if _text(raw) == "":
            if column.required:
                row_errors[key] = _("This column is required; the cell is empty.")
            continue
        try:
            if key == "insurer":
                fields[key] = insurer
            elif key == "org_unit":
                if insurer is not None:
                    fields[key] = directory.unit(raw, insurer)
            elif column.choices is not None:
                fields[key] = _choice(raw, column)
            elif key in PARSERS:
                fields[key] = PARSERS[key](raw)
            else:
                fields[key] = _text(raw)
        except CellError as exc:
            row_errors[key] = str(exc)
    if "received_at" not in fields:
        # complaint_build would take "now"; the row already has an error for it.
        fields["received_at"] = timezone.now()
    if "org_unit" in row_errors or "insurer" in row_errors:
        fields.pop("org_unit", None)
    return fields


# ---- the service ----------------------------------------------------------------------------


def _read_upload(file) -> tuple[bytes | None, str, int]:
    """The file's bytes (None when over the limit), its SHA-256 and its size."""
    if isinstance(file, bytes | bytearray):
        data = bytes(file)
        return data, hashlib.sha256(data).hexdigest(), len(data)
    digest = hashlib.sha256()
    size = 0
    kept = bytearray()
    if hasattr(file, "seek"):
        file.seek(0)
    chunks = file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(1 << 20), b"")
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if size <= MAX_BYTES:
            kept += chunk
    return (bytes(kept) if size <= MAX_BYTES else None), digest.hexdigest(), size


def _reject(*, by, file_name, sha256, rows, errors) -> ImportResult:
    stored = [e.as_dict() for e in errors[:STORED_ERRORS_MAX]]
    if len(errors) > STORED_ERRORS_MAX:
        stored.append(
            {
                "row": None,
                "column": "",
                "message": _("… and %(n)s more errors.") % {"n": len(errors) - STORED_ERRORS_MAX},
            }
        )
    batch = ImportBatch.objects.create(
        uploaded_by=by,
        file_name=file_name[-200:],
        file_sha256=sha256,
        rows=rows,
        outcome=ImportBatch.Outcome.REJECTED,
        errors=stored,
    )
    return ImportResult(batch=batch, errors=errors, rows=rows)


def _refuse_a_second_import(sha256: str) -> None:
    """The same bytes imported before would only duplicate every complaint (a re-sent form,
    a colleague uploading the same export)."""
    earlier = (
        ImportBatch.objects.filter(file_sha256=sha256, outcome=ImportBatch.Outcome.IMPORTED)
        .order_by("created")
        .first()
    )
    if earlier is not None:
        raise FileRejected.whole(
            _(
                "This file was already imported on %(day)s (%(rows)s complaints); importing it "
                "again would duplicate them."
            )
            % {
                "day": formats.date_format(
                    timezone.localtime(earlier.created), "SHORT_DATETIME_FORMAT"
                ),
                "rows": earlier.rows,
            }
        )


def complaints_import(*, by, file, file_name: str) -> ImportResult:
    """Import every complaint in a CSV or XLSX file, or none of them.

    ``file`` is an uploaded file, any binary file object, or bytes. Raises PermissionDenied
    if ``by`` may not log complaints; otherwise returns an ``ImportResult`` holding either
    the new references (in row order) or every error found, and records an ``ImportBatch``.
    """
    if by is None or not by.has_perm("complaints.add_complaint"):
        raise PermissionDenied(_("Your role does not allow logging complaints."))
    file_name = (file_name or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    data, sha256, size = _read_upload(file)
    try:
        if data is None:
            raise FileRejected.whole(
                _("The file is %(size)s MB; the limit is %(limit)s MB.")
                % {
                    "size": formats.number_format(size / 1048576, 1),
                    "limit": MAX_BYTES // 1048576,
                }
            )
        _refuse_a_second_import(sha256)
        table = read_table(data, file_name)
    except FileRejected as exc:
        return _reject(by=by, file_name=file_name, sha256=sha256, rows=exc.rows, errors=exc.errors)
    rows = len(table.rows) + sum(1 for e in table.errors if e.row)
    complaints, errors = _build_rows(table, by=by)
    if errors:
        return _reject(by=by, file_name=file_name, sha256=sha256, rows=rows, errors=errors)
    batch, references = _save(complaints, by=by, file_name=file_name, sha256=sha256)
    return ImportResult(batch=batch, references=references, rows=len(complaints))


@transaction.atomic
def _save(complaints: list[Complaint], *, by, file_name: str, sha256: str):
    """Write a validated file: references, complaints, their history and timeline, and the
    batch record, in one transaction and a fixed number of statements per 1,000 rows."""
    batch = ImportBatch.objects.create(
        uploaded_by=by,
        file_name=file_name[-200:],
        file_sha256=sha256,
        rows=len(complaints),
        outcome=ImportBatch.Outcome.IMPORTED,
    )
    by_year: dict[int, list[Complaint]] = defaultdict(list)
    for complaint in complaints:
        by_year[complaint.received_on.year].append(complaint)
    for year in sorted(by_year):
        for complaint, reference in zip(
            by_year[year], services.allocate_references(year, len(by_year[year])), strict=True
        ):
            complaint.reference = reference
    Complaint.objects.bulk_create(complaints, batch_size=BATCH_SIZE)
    summaries.complaint_added(complaints)  # the dashboard's summary tables
    if any(c.pk is None for c in complaints):  # a database that does not return new ids
        ids = {}
        references = [c.reference for c in complaints]
        for start in range(0, len(references), BATCH_SIZE):
            chunk = references[start : start + BATCH_SIZE]
            ids.update(Complaint.objects.filter(reference__in=chunk).values_list("reference", "pk"))
        for complaint in complaints:
            complaint.pk = ids[complaint.reference]
    now = timezone.now()
    Complaint.history.bulk_history_create(
        complaints,
        batch_size=BATCH_SIZE,
        default_user=by,
        default_date=now,
        default_change_reason=f"import {batch.pk}",
    )
    channel_label = dict(Channel.choices)
    Event.objects.bulk_create(
        [
            Event(
                complaint=complaint,
                at=now,
                actor=by,
                kind=EventKind.RECEIVED,
                text=str(channel_label[complaint.channel]),
                data={"import_batch": batch.pk},
            )
            for complaint in complaints
        ],
        batch_size=BATCH_SIZE,
    )
    return batch, [c.reference for c in complaints]


# ---- reads for the page ---------------------------------------------------------------------


def import_batches_for(*, user, limit: int = 10):
    """The user's own latest imports, newest first."""
    return ImportBatch.objects.filter(uploaded_by=user).order_by("-created", "-pk")[:limit]


# ---- downloadable templates -----------------------------------------------------------------


def template_rows(*, user) -> tuple[list[str], list[str]]:
    """The header row and one example row that imports as it stands for ``user``: headers
    in Chinese (or the English keys when the page is in English), values in the active
    language, the insurer and unit taken from the user's own part of the organisation."""
    english = translation.get_language() == "en"
    headers = [c.key if english else c.header for c in COLUMNS]
    unit = (
        visible_units(user=user)
        .filter(insurer__isnull=False)
        .select_related("insurer")
        .order_by("path")
        .first()
    )
    insurer = unit.insurer.credit_code if unit else "91310000000000000X"
    example = {
        "insurer": insurer,
        "org_unit": unit.name if unit else _("Shanghai branch"),
        "product_line": str(ProductLine.MOTOR.label),
        "category": str(Category.CLAIMS.label),
        "subcategory": str(Subcategory.CLAIM_DELAY.label),
        "channel": str(Channel.HOTLINE.label),
        "amount_in_dispute": "12000.00",
        "narrative": _(
            "More than a month after the accident, the claim for the car has still not been "
            "settled."
        ),
        "complainant_name": _("Zhang San"),
        "complainant_phone": "13800000000",
        "complainant_id_number": idnumber.make("310101", datetime.date(1980, 5, 17), 1),
        "received_at": timezone.localdate().isoformat(),
    }
    return headers, [example[c.key] for c in COLUMNS]


def template_csv(*, user) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the Chinese headers correctly."""
    headers, example = template_rows(user=user)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerow(example)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(*, user) -> bytes:
    """The template sheet (text columns where digits matter, drop-down lists of the choice
    values) and a second sheet describing every column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    headers, example = template_rows(user=user)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Complaints")[:31]
    sheet.append(headers)
    sheet.append(example)
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="0B3D6E")
    text_columns = {"complainant_phone", "complainant_id_number", "insurer", "received_at"}
    for position, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(position)
        cell = sheet.cell(row=1, column=position)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[letter].width = 40 if column.key == "narrative" else 20
        if column.key in text_columns:
            for row in range(2, 1002):
                sheet.cell(row=row, column=position).number_format = "@"
    sheet.freeze_panes = "A2"

    values = workbook.create_sheet(_("Values")[:31])
    guide = workbook.create_sheet(_("Columns")[:31])
    guide.append([_("Column"), _("English key"), _("Required"), _("What to enter")])
    for cell in guide[1]:
        cell.font, cell.fill = bold, fill
    for position, column in enumerate(COLUMNS, start=1):
        guide.append(
            [
                column.header,
                column.key,
                _("yes") if column.required else _("no"),
                str(column.description),
            ]
        )
        if column.choices is None:
            continue
        letter = get_column_letter(position)
        labels = [str(label) for _code, label in column.choices.choices]
        values.cell(row=1, column=position, value=headers[position - 1]).font = Font(bold=True)
        for row, label in enumerate(labels, start=2):
            values.cell(row=row, column=position, value=label)
        rule = DataValidation(
            type="list",
            formula1=f"'{values.title}'!${letter}$2:${letter}${len(labels) + 1}",
            allow_blank=True,
            showErrorMessage=False,  # a typed code (claims) is fine too
        )
        sheet.add_data_validation(rule)
        rule.add(f"{letter}2:{letter}1001")
    guide.column_dimensions["A"].width = 14
    guide.column_dimensions["B"].width = 24
    guide.column_dimensions["D"].width = 90
    for row in guide.iter_rows(min_row=2):
        row[3].alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
