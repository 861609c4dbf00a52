"""Statistics and raw claim records from CSV or XLSX files: every row validated, all or nothing.

The same rules as the complaint import (``complaints.importing``, whose file reading, cell
helpers and error types this module reuses): a file either imports completely, in one
transaction, or not at all; when it does not, the person gets every problem at once, each
with the row number as their spreadsheet shows it, the column name as written in their
file, and a message. The same file (by SHA-256) is never imported twice, and every accepted
file is recorded as a ``StatisticsImport`` (who, when, file name and hash, rows).

Operating statistics are keyed by insurer × period × product line. A row whose key is
already in the database *replaces* the stored figures of the columns the file has (an
insurer re-sends corrected figures); a column the file leaves out keeps its stored value,
an empty cell clears it. The same key twice in one file is an error on the later row.

Raw claim records are keyed by insurer and claim number; a claim number already loaded for
that insurer, or repeated in the file, is an error: claims are loaded once, never replaced.

Both imports look everything up in a few queries before the first row is checked (insurers,
periods, the existing rows for the file's keys) and write with ``bulk_create`` /
``bulk_update`` in batches, so 10,000 rows take about the same handful of statements per
batch as ten.

Rows whose first cell starts with ``#`` are notes (the templates start with some) and are
skipped, like empty rows.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from complaints.importing import (
    MAX_BYTES,
    MAX_ROWS,  # noqa: F401 - re-exported for the import pages
    SCIENTIFIC,
    CellError,
    Column,
    FileRejected,
    RowError,
    Table,
    _amount,
    _header_key,
    _is_blank,
    _norm,
    _read_upload,
    _text,
    choice_spellings,
    read_header,
    read_rows,
)
from complaints.models import ProductLine
from insurers.models import Insurer

from .models import (
    ClaimOutcome,
    OperatingStatistic,
    Period,
    RawClaim,
    Source,
    StatisticsImport,
)

BATCH_SIZE = 1000
# Keeps ``IN (…)`` lists well below every database's limit on query parameters.
LOOKUP_CHUNK = 2000
XLSX_TEMPLATE_ROWS = 1000
EARLIEST_CLAIM_DATE = datetime.date(1990, 1, 1)
# PositiveBigIntegerField holds up to 2**63 - 1; the amounts have 18 and 16 digits, 2 after
# the point.
MAX_COUNT = 2**63 - 1
MAX_AMOUNT = {"premium_cny": Decimal(10) ** 16, "surrender_amount_cny": Decimal(10) ** 16}
MAX_CLAIM_AMOUNT = Decimal(10) ** 14

STATISTICS = StatisticsImport.Kind.STATISTICS
CLAIMS = StatisticsImport.Kind.CLAIMS


# ---- the column layouts -------------------------------------------------------------------

INSURER_HELP = gettext_lazy(
    "The insurer's unified social credit code (18 characters), its full legal name in "
    "Chinese exactly as registered, or its slug (the last part of its public profile address)."
)
LINE_HELP = gettext_lazy("Code or name of the product line, e.g. motor or 车险.")


def _figure(key: str, header: str, description, *aliases: str) -> Column:
    return Column(key, header, False, description, aliases=aliases)


STATISTIC_COLUMNS: tuple[Column, ...] = (
    Column(
        "insurer",
        "保险公司",
        True,
        INSURER_HELP,
        aliases=("统一社会信用代码", "保险公司名称", "公司名称", "insurer_credit_code"),
    ),
    Column(
        "period",
        "统计期间",
        True,
        gettext_lazy(
            "A year such as 2025, or a half-year such as 2025H1. The period must already "
            "exist (an index administrator adds it in the admin)."
        ),
        aliases=("期间", "统计期", "报告期"),
    ),
    Column("product_line", "险种", True, LINE_HELP, aliases=("险类", "line"), choices=ProductLine),
    _figure(
        "claims_reported",
        "报案件数",
        gettext_lazy("Claims reported in the period: a whole number, 0 or more."),
        "报案数",
        "报案量",
    ),
    _figure(
        "claims_closed",
        "结案件数",
        gettext_lazy("Claims closed in the period (paid and declined): a whole number."),
        "结案数",
        "结案量",
    ),
    _figure(
        "claims_paid",
        "赔付件数",
        gettext_lazy("Claims paid in the period; at most the claims closed."),
        "赔付结案件数",
        "获赔件数",
    ),
    _figure(
        "claims_declined",
        "拒赔件数",
        gettext_lazy("Claims declined in the period: a whole number."),
        "拒赔数",
    ),
    _figure(
        "payment_days_total",
        "出险至支付天数合计",
        gettext_lazy(
            "Over the paid claims, the sum of the days from incident to payment. Divided by "
            "the claims paid it gives the average payment cycle."
        ),
        "支付周期天数合计",
        "出险支付天数合计",
    ),
    _figure(
        "premium_cny",
        "保费收入（元）",
        gettext_lazy("Premium income of the period in yuan, more than zero, e.g. 125000000.00."),
        "保费",
        "premium",
    ),
    _figure(
        "policies_in_force",
        "有效保单数",
        gettext_lazy("Policies in force at the end of the period: a whole number."),
        "有效保单件数",
        "policies",
    ),
    _figure(
        "insured_persons",
        "被保险人数",
        gettext_lazy("Insured persons at the end of the period: a whole number."),
        "承保人数",
    ),
    _figure(
        "surrenders",
        "退保件数",
        gettext_lazy("Policies surrendered in the period: a whole number."),
        "退保数",
    ),
    _figure(
        "surrender_amount_cny",
        "退保金额（元）",
        gettext_lazy("Amount paid out on surrenders in the period, in yuan, 0 or more."),
        "退保金",
    ),
)
COUNT_COLUMNS = (
    "claims_reported",
    "claims_closed",
    "claims_paid",
    "claims_declined",
    "payment_days_total",
    "policies_in_force",
    "insured_persons",
    "surrenders",
)
AMOUNT_COLUMNS = ("premium_cny", "surrender_amount_cny")
# The figure columns, in layout order.
FIGURES = tuple(c.key for c in STATISTIC_COLUMNS if not c.required)

CLAIM_COLUMNS: tuple[Column, ...] = (
    Column(
        "insurer",
        "保险公司",
        True,
        INSURER_HELP,
        aliases=("统一社会信用代码", "保险公司名称", "公司名称", "insurer_credit_code"),
    ),
    Column(
        "claim_no",
        "赔案号",
        True,
        gettext_lazy(
            "The insurer's claim number, at most 40 characters, unique per insurer. In Excel, "
            "format this column as text so that long numbers keep their digits."
        ),
        aliases=("赔案编号", "报案号", "claim_number"),
    ),
    Column("product_line", "险种", True, LINE_HELP, aliases=("险类", "line"), choices=ProductLine),
    Column(
        "incident_date",
        "出险日期",
        True,
        gettext_lazy("Date of the incident, e.g. 2025-03-01; not in the future."),
        aliases=("出险时间",),
    ),
    Column(
        "report_date",
        "报案日期",
        True,
        gettext_lazy("Date the claim was reported: on or after the incident date."),
        aliases=("报案时间",),
    ),
    Column(
        "close_date",
        "结案日期",
        False,
        gettext_lazy(
            "Date the claim was paid or declined: on or after the report date. Empty for an "
            "open claim."
        ),
        aliases=("结案时间", "支付日期"),
    ),
    Column(
        "outcome",
        "理赔结果",
        True,
        gettext_lazy(
            "paid (赔付), declined (拒赔) or open (未决). A paid or declined claim has a close "
            "date; an open one has none."
        ),
        aliases=("结案结果", "赔付结果", "案件状态"),
        choices=ClaimOutcome,
    ),
    Column(
        "amount_cny",
        "赔款金额（元）",
        False,
        gettext_lazy("Amount paid in yuan, e.g. 8600.00; only for a paid claim."),
        aliases=("赔付金额", "赔款"),
    ),
)

# Ways to write a claim outcome that its labels do not cover.
OUTCOME_SPELLINGS = {
    ClaimOutcome.PAID: ("赔付", "已赔付", "结案赔付", "给付", "已给付", "已决赔付"),
    ClaimOutcome.DECLINED: ("拒赔", "拒付", "已拒赔", "结案拒赔", "拒绝赔付"),
    ClaimOutcome.OPEN: ("未决", "未结案", "处理中", "在途"),
}


@dataclass(frozen=True)
class Layout:
    kind: str
    columns: tuple[Column, ...]

    @property
    def order(self) -> dict[str, int]:
        return {c.key: i for i, c in enumerate(self.columns)}


LAYOUTS = {STATISTICS: Layout(STATISTICS, STATISTIC_COLUMNS), CLAIMS: Layout(CLAIMS, CLAIM_COLUMNS)}


@cache
def _header_index(kind: str) -> dict[str, str]:
    index = {}
    for column in LAYOUTS[kind].columns:
        for name in (column.key, column.header, *column.aliases):
            index[_header_key(name)] = column.key
    return index


@cache
def _choice_index(choices: type[models.TextChoices], language: str) -> dict[str, str]:
    """The spellings of a choice (see ``choice_spellings``), in the page's language too; claim
    outcomes also accept their common synonyms."""
    return choice_spellings(
        choices,
        languages=("zh-hans", "en", language),
        extra=OUTCOME_SPELLINGS if choices is ClaimOutcome else None,
    )


def column_docs(kind: str) -> list[dict]:
    """The layout as the import page documents it, in the active language."""
    return [
        {
            "header": column.header,
            "key": column.key,
            "required": column.required,
            "description": column.description,
            "values": [{"code": value, "label": label} for value, label in column.choices.choices]
            if column.choices is not None
            else [],
        }
        for column in LAYOUTS[kind].columns
    ]


# ---- the result ---------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What became of one file: the import record and counts, or every error found."""

    kind: str
    file_name: str
    record: StatisticsImport | None = None
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors if e.row is not None})

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "kind": self.kind,
            "file_name": self.file_name,
            "import_id": self.record.pk if self.record else None,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "errors": [e.as_dict() for e in self.errors],
        }


# ---- reading the file ---------------------------------------------------------------------


def _is_note(cells) -> bool:
    first = next((c for c in cells if c is not None and str(c).strip()), None)
    return isinstance(first, str) and first.lstrip().startswith("#")


def read_table(data: bytes, file_name: str, layout: Layout) -> Table:
    """The header and the rows below it (blank and note rows skipped), with the layout
    problems found on the way. Raises FileRejected when the file is no table at all."""
    return read_rows(
        data,
        file_name,
        header=lambda cells, number: _read_header(cells, number, layout),
        skip=lambda cells: _is_blank(cells) or _is_note(cells),
        too_many=_("The file has more than %(max)s rows; split it into smaller files."),
        no_rows=_("The file has a header row but no rows below it."),
    )


def _read_header(cells, number: int, layout: Layout) -> tuple[list[str], list[str | None]]:
    headers, keys, errors = read_header(
        cells, number, index=_header_index(layout.kind), columns=layout.columns
    )
    seen = {key for key in keys if key}
    if layout.kind == STATISTICS and not errors and not seen & set(FIGURES):
        errors.append(
            RowError(
                number,
                "",
                _("The file has no column of figures; add at least one, such as 报案件数."),
            )
        )
    if errors:
        raise FileRejected(errors)
    return headers, keys


# ---- reading one cell ---------------------------------------------------------------------


def _count(value) -> int | None:
    """A whole number ≥ 0, as typed (``1,234``) or as the spreadsheet stored it."""
    if isinstance(value, bool):
        raise CellError(_("Enter a whole number, e.g. 1200."))
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise CellError(_("Enter a whole number, e.g. 1200."))
        number = int(value)
    else:
        text = re.sub(r"[\s,，]", "", unicodedata.normalize("NFKC", _text(value)))
        if not text:
            return None
        if not re.fullmatch(r"[+-]?\d+(\.0*)?", text):
            raise CellError(_("Enter a whole number, e.g. 1200."))
        number = int(text.split(".")[0])
    if number < 0:
        raise CellError(_("Cannot be negative."))
    if number > MAX_COUNT:
        raise CellError(_("This number is too large."))
    return number


def _money(value, limit: Decimal) -> Decimal | None:
    amount = _amount(value)
    if amount is None:
        return None
    if abs(amount) >= limit:
        raise CellError(_("This amount is too large."))
    if amount != amount.quantize(Decimal("0.01")):
        raise CellError(_("Use at most two decimal places."))
    return amount.quantize(Decimal("0.01"))


DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d")


def _date(value) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    else:
        text = unicodedata.normalize("NFKC", _text(value)).strip()
        if not text:
            return None
        text = re.sub(r"[\sT]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", text)
        plain = re.sub(r"[/.年月]", "-", text).replace("日", "").strip()
        day = None
        for fmt in DATE_FORMATS:
            try:
                day = datetime.datetime.strptime(plain, fmt).date()
                break
            except ValueError:
                continue
        if day is None:
            raise CellError(_("Enter a date such as 2025-03-01."))
    if day < EARLIEST_CLAIM_DATE:
        raise CellError(_("The date cannot be before %(day)s.") % {"day": EARLIEST_CLAIM_DATE})
    if day > timezone.localdate():
        raise CellError(_("The date cannot be in the future."))
    return day


def _choice(value, column: Column) -> str:
    text = _text(value)
    code = _choice_index(column.choices, translation.get_language() or "").get(_norm(text))
    if code is None:
        separator = "、" if (translation.get_language() or "").startswith("zh") else ", "
        names = separator.join(str(label) for _code, label in column.choices.choices)
        raise CellError(
            _("“%(value)s” is not a known value. Use one of: %(names)s.")
            % {"value": text[:50], "names": names}
        )
    return code


class Directory:
    """Insurers and periods, loaded once per file, so that a row costs no query."""

    def __init__(self, *, periods: bool):
        self.insurers: dict[str, Insurer] = {}
        for insurer in Insurer.objects.only("id", "credit_code", "name_zh", "slug", "short_name"):
            # A credit code, a legal name and a slug cannot be mistaken for one another: a
            # slug is lower-case ASCII, a credit code upper-case, a legal name Chinese.
            if insurer.credit_code:
                self.insurers.setdefault(_norm(insurer.credit_code), insurer)
            self.insurers.setdefault(_norm(insurer.name_zh), insurer)
            if insurer.slug:
                self.insurers.setdefault(_norm(insurer.slug), insurer)
        self.periods: dict[str, Period] = {}
        if periods:
            self.periods = {p.code: p for p in Period.objects.only("id", "code")}

    def insurer(self, value) -> Insurer:
        text = _text(value)
        found = self.insurers.get(_norm(text))
        if found is None:
            raise CellError(
                _("No insurer has the credit code, legal name or slug “%(value)s”.")
                % {"value": text[:60]}
            )
        return found

    def period(self, value) -> Period:
        code = _norm(_text(value)).upper()
        found = self.periods.get(code)
        if found is not None:
            return found
        if not re.fullmatch(r"\d{4}(H[12])?", code):
            raise CellError(_("Write a year such as 2025 or a half-year such as 2025H1."))
        raise CellError(
            _("The period %(code)s does not exist yet; an index administrator adds it first.")
            % {"code": code}
        )


# ---- checking the rows --------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    values: dict
    errors: dict[str, str] = field(default_factory=dict)


def _rows(table: Table) -> list[_Row]:
    return [
        _Row(number, {key: cells[i] for i, key in enumerate(table.keys) if key})
        for number, cells in table.rows
    ]


def _required(row: _Row, column: Column) -> bool:
    """False (with an error) when a required cell is empty."""
    if _text(row.values.get(column.key)) == "":
        row.errors[column.key] = _("This column is required; the cell is empty.")
        return False
    return True


def _parse(row: _Row, key: str, parser, *args):
    try:
        return parser(row.values.get(key), *args)
    except CellError as exc:
        row.errors[key] = str(exc)
        return None


def _model_errors(row: _Row, exc: ValidationError) -> None:
    """The model's own messages (the same as the admin and the API give), by column."""
    for name, messages in exc.message_dict.items():
        if name not in row.errors:
            row.errors[name] = " ".join(messages)


def _collect(rows: list[_Row], table: Table, layout: Layout) -> list[RowError]:
    header_of = {key: header for key, header in zip(table.keys, table.headers, strict=True) if key}
    order = layout.order
    errors = list(table.errors)
    for row in rows:
        for key in sorted(row.errors, key=lambda k: order.get(k, len(order))):
            errors.append(RowError(row.number, header_of.get(key, ""), row.errors[key]))
    errors.sort(key=lambda e: e.row or 0)
    return errors


def _check_statistics(
    table: Table, directory: Directory
) -> tuple[list[OperatingStatistic], list[OperatingStatistic], list[RowError]]:
    """(new rows, changed rows, errors) — nothing is written here."""
    rows = _rows(table)
    present = [key for key in FIGURES if key in table.keys]
    columns = {c.key: c for c in STATISTIC_COLUMNS}
    keyed: list[tuple[_Row, tuple | None, dict]] = []
    for row in rows:
        key_parts: dict = {}
        if _required(row, columns["insurer"]):
            key_parts["insurer"] = _parse(row, "insurer", directory.insurer)
        if _required(row, columns["period"]):
            key_parts["period"] = _parse(row, "period", directory.period)
        if _required(row, columns["product_line"]):
            key_parts["product_line"] = _parse(
                row, "product_line", _choice, columns["product_line"]
            )
        figures = {}
        for key in present:
            if key in AMOUNT_COLUMNS:
                figures[key] = _parse(row, key, _money, MAX_AMOUNT[key])
            else:
                figures[key] = _parse(row, key, _count)
        complete = all(key_parts.get(k) is not None for k in ("insurer", "period", "product_line"))
        key = (
            (key_parts["insurer"].pk, key_parts["period"].pk, key_parts["product_line"])
            if complete
            else None
        )
        keyed.append((row, key, {**key_parts, **figures}))

    existing = _existing_statistics({k for _r, k, _f in keyed if k is not None})
    first_row: dict[tuple, int] = {}
    created: list[OperatingStatistic] = []
    changed: list[OperatingStatistic] = []
    for row, key, values in keyed:
        if key is None:
            continue
        if key in first_row:
            row.errors.setdefault(
                "product_line",
                _(
                    "Row %(row)s already has figures for this insurer, period and product "
                    "line; give each only once."
                )
                % {"row": first_row[key]},
            )
            continue
        first_row[key] = row.number
        statistic = existing.get(key)
        if statistic is None:
            statistic = OperatingStatistic(
                insurer=values["insurer"],
                period=values["period"],
                product_line=values["product_line"],
            )
        for name in present:
            if name not in row.errors:
                setattr(statistic, name, values[name])
        try:
            statistic.clean()
        except ValidationError as exc:
            _model_errors(row, exc)
        if not row.errors:
            (created if statistic.pk is None else changed).append(statistic)
    return created, changed, _collect(rows, table, LAYOUTS[STATISTICS])


def _existing_statistics(keys: set[tuple]) -> dict[tuple, OperatingStatistic]:
    """The stored rows for the file's keys, in one query (a few for very many insurers)."""
    if not keys:
        return {}
    insurer_ids = sorted({k[0] for k in keys})
    period_ids = sorted({k[1] for k in keys})
    found: dict[tuple, OperatingStatistic] = {}
    for start in range(0, len(insurer_ids), LOOKUP_CHUNK):
        queryset = OperatingStatistic.objects.filter(
            insurer_id__in=insurer_ids[start : start + LOOKUP_CHUNK], period_id__in=period_ids
        )
        for statistic in queryset:
            key = (statistic.insurer_id, statistic.period_id, statistic.product_line)
            if key in keys:
                found[key] = statistic
    return found


def _check_claims(table: Table, directory: Directory) -> tuple[list[RawClaim], list[RowError]]:
    rows = _rows(table)
    columns = {c.key: c for c in CLAIM_COLUMNS}
    parsed: list[tuple[_Row, dict]] = []
    for row in rows:
        values: dict = {}
        if _required(row, columns["insurer"]):
            values["insurer"] = _parse(row, "insurer", directory.insurer)
        if _required(row, columns["claim_no"]):
            values["claim_no"] = _parse(row, "claim_no", _claim_no)
        for key in ("product_line", "outcome"):
            if _required(row, columns[key]):
                values[key] = _parse(row, key, _choice, columns[key])
        for key in ("incident_date", "report_date"):
            if _required(row, columns[key]):
                values[key] = _parse(row, key, _date)
        values["close_date"] = _parse(row, "close_date", _date)
        values["amount_cny"] = _parse(row, "amount_cny", _money, MAX_CLAIM_AMOUNT)
        _check_claim_dates(row, values)
        parsed.append((row, values))

    taken = _existing_claim_numbers(
        {v["claim_no"] for _r, v in parsed if v.get("claim_no")},
    )
    first_row: dict[tuple, int] = {}
    claims: list[RawClaim] = []
    for row, values in parsed:
        insurer, claim_no = values.get("insurer"), values.get("claim_no")
        if insurer is not None and claim_no:
            key = (insurer.pk, claim_no)
            if key in first_row:
                row.errors.setdefault(
                    "claim_no",
                    _("Row %(row)s has the same claim number for this insurer.")
                    % {"row": first_row[key]},
                )
            elif key in taken:
                row.errors.setdefault(
                    "claim_no",
                    _("Claim %(no)s of %(insurer)s is already loaded; claims are loaded once.")
                    % {"no": claim_no, "insurer": insurer.short_name},
                )
            first_row.setdefault(key, row.number)
        if row.errors:
            continue
        claim = RawClaim(**values)
        claim.derive()
        claims.append(claim)
    return claims, _collect(rows, table, LAYOUTS[CLAIMS])


def _claim_no(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        raise CellError(_("Enter the claim number as text."))
    text = unicodedata.normalize("NFKC", _text(value)).strip()
    if SCIENTIFIC.match(text):
        raise CellError(
            _(
                "This claim number was saved in scientific notation and its digits are lost; "
                "format the column as text and enter it again."
            )
        )
    if len(text) > 40:
        raise CellError(_("At most 40 characters."))
    return text


def _check_claim_dates(row: _Row, values: dict) -> None:
    """Report ≥ incident, close ≥ report, and the outcome consistent with the close date."""
    incident, report = values.get("incident_date"), values.get("report_date")
    close, outcome = values.get("close_date"), values.get("outcome")
    if incident and report and report < incident:
        row.errors.setdefault(
            "report_date",
            _("A claim cannot be reported before the incident (%(day)s).")
            % {"day": incident.isoformat()},
        )
    if report and close and close < report:
        row.errors.setdefault(
            "close_date",
            _("A claim cannot be closed before it was reported (%(day)s).")
            % {"day": report.isoformat()},
        )
    if outcome == ClaimOutcome.OPEN and close:
        row.errors.setdefault(
            "close_date",
            _(
                "An open claim has no close date: empty the cell, or give the outcome "
                "(paid or declined)."
            ),
        )
    if outcome in (ClaimOutcome.PAID, ClaimOutcome.DECLINED) and close is None:
        row.errors.setdefault("close_date", _("A paid or declined claim needs its close date."))
    amount = values.get("amount_cny")
    if outcome and outcome != ClaimOutcome.PAID and amount:
        row.errors.setdefault("amount_cny", _("Only a paid claim has an amount paid."))
    if amount is not None and amount < 0:
        row.errors.setdefault("amount_cny", _("Cannot be negative."))


def _existing_claim_numbers(numbers: set[str]) -> set[tuple[int, str]]:
    ordered = sorted(numbers)
    taken: set[tuple[int, str]] = set()
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        taken.update(
            RawClaim.objects.filter(claim_no__in=ordered[start : start + LOOKUP_CHUNK]).values_list(
                "insurer_id", "claim_no"
            )
        )
    return taken


# ---- the services -------------------------------------------------------------------------


def _clean_name(file_name: str) -> str:
    return ((file_name or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload")[-255:]


def _refuse_a_second_import(sha256: str) -> None:
    """Re-sending the same bytes is a mistake (a double click, a colleague's copy); corrected
    figures come in a corrected, hence different, file."""
    earlier = StatisticsImport.objects.filter(sha256=sha256).order_by("at").first()
    if earlier is not None:
        raise FileRejected.whole(
            _("This file was already imported on %(day)s (%(rows)s rows).")
            % {
                "day": formats.date_format(timezone.localtime(earlier.at), "SHORT_DATETIME_FORMAT"),
                "rows": earlier.rows,
            }
        )


def _open(*, by, file, file_name: str, kind: str, perm: str):
    """(table, sha256) of an upload, or a rejected ImportResult."""
    if by is None or not by.has_perm(perm):
        raise PermissionDenied(_("Only index administrators can import statistics."))
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
        table = read_table(data, file_name, LAYOUTS[kind])
    except FileRejected as exc:
        return None, sha256, ImportResult(kind, file_name, errors=exc.errors, rows=exc.rows)
    return table, sha256, None


def statistics_import(*, by, file, file_name: str) -> ImportResult:
    """Import (insert or update) every operating statistic in a CSV or XLSX file, or none.

    ``file`` is an uploaded file, a binary file object or bytes. Raises PermissionDenied
    unless ``by`` may add statistics; otherwise returns an ``ImportResult`` with the import
    record and counts, or with every error found (and nothing saved).
    """
    file_name = _clean_name(file_name)
    table, sha256, rejected = _open(
        by=by, file=file, file_name=file_name, kind=STATISTICS, perm="sqi.add_operatingstatistic"
    )
    if rejected is not None:
        return rejected
    rows = len(table.rows) + sum(1 for e in table.errors if e.row)
    created, changed, errors = _check_statistics(table, Directory(periods=True))
    if errors:
        return ImportResult(STATISTICS, file_name, errors=errors, rows=rows)
    present = [key for key in FIGURES if key in table.keys]
    record = _save_statistics(created, changed, present, by=by, file_name=file_name, sha256=sha256)
    return ImportResult(
        STATISTICS, file_name, record=record, rows=rows, created=len(created), updated=len(changed)
    )


def claims_import(*, by, file, file_name: str) -> ImportResult:
    """Load every raw claim record in a CSV or XLSX file, or none of them."""
    file_name = _clean_name(file_name)
    table, sha256, rejected = _open(
        by=by, file=file, file_name=file_name, kind=CLAIMS, perm="sqi.add_rawclaim"
    )
    if rejected is not None:
        return rejected
    rows = len(table.rows) + sum(1 for e in table.errors if e.row)
    claims, errors = _check_claims(table, Directory(periods=False))
    if errors:
        return ImportResult(CLAIMS, file_name, errors=errors, rows=rows)
    record = _save_claims(claims, by=by, file_name=file_name, sha256=sha256)
    return ImportResult(CLAIMS, file_name, record=record, rows=rows, created=len(claims))


@transaction.atomic
def _save_statistics(created, changed, present, *, by, file_name, sha256) -> StatisticsImport:
    record = StatisticsImport.objects.create(
        kind=STATISTICS, by=by, file_name=file_name, sha256=sha256, rows=len(created) + len(changed)
    )
    now = timezone.now()
    history = {
        "default_user": by,
        "default_change_reason": f"import {record.pk}",
        "default_date": now,
        "batch_size": BATCH_SIZE,
    }
    for statistic in (*created, *changed):
        statistic.source = Source.IMPORT
        statistic.source_import = record
        statistic.updated = now
    if created:
        bulk_create_with_history(created, OperatingStatistic, **history)
    if changed:
        # An upsert on the key (INSERT … ON CONFLICT DO UPDATE, on PostgreSQL and SQLite)
        # writes a batch in one statement; bulk_update's CASE per row and field is ten times
        # slower. The rows exist (they were read above), so every one takes the update path.
        pks = [statistic.pk for statistic in changed]
        for statistic in changed:
            statistic.pk = None
        OperatingStatistic.objects.bulk_create(
            changed,
            batch_size=BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["insurer", "period", "product_line"],
            update_fields=[*present, "source", "source_import", "updated"],
        )
        for statistic, pk in zip(changed, pks, strict=True):
            statistic.pk = pk
        OperatingStatistic.history.bulk_history_create(changed, update=True, **history)
    return record


@transaction.atomic
def _save_claims(claims: list[RawClaim], *, by, file_name, sha256) -> StatisticsImport:
    record = StatisticsImport.objects.create(
        kind=CLAIMS, by=by, file_name=file_name, sha256=sha256, rows=len(claims)
    )
    for claim in claims:
        claim.source_import = record
    RawClaim.objects.bulk_create(claims, batch_size=BATCH_SIZE)
    return record


# ---- downloadable templates ---------------------------------------------------------------


def template_notes(kind: str) -> list[str]:
    """The explanation a template carries (note rows in CSV, a sheet in XLSX)."""
    common = [
        _(
            "Rows that start with # are notes and are skipped; you may delete them. Enter one "
            "row per line below the header."
        ),
        _(
            "All or nothing: if any row has a problem, nothing is saved and every problem is "
            "listed with its row and column. The same file cannot be imported twice."
        ),
    ]
    if kind == STATISTICS:
        return [
            _(
                "Operating statistics: one row per insurer, period and product line. The "
                "insurer is its credit code, Chinese legal name or slug; the period must exist."
            ),
            _(
                "A row for an insurer, period and product line that already has figures "
                "replaces them (corrected figures): each column in the file overwrites the "
                "stored figure, an empty cell clears it, a column left out keeps it."
            ),
            _(
                "Counts are whole numbers, 0 or more; paid claims cannot exceed closed claims; "
                "premium income must be more than zero. Amounts are in yuan."
            ),
            *common,
        ]
    return [
        _(
            "Raw claim records: one row per claim. The claim number is unique per insurer; a "
            "claim already loaded cannot be loaded again."
        ),
        _(
            "Dates as 2025-03-01: reported on or after the incident, closed on or after the "
            "report. A paid or declined claim has a close date, an open one has none."
        ),
        *common,
    ]


def template_headers(kind: str) -> list[str]:
    """Chinese headers, or the English keys when the page is in English."""
    english = (translation.get_language() or "").startswith("en")
    return [c.key if english else c.header for c in LAYOUTS[kind].columns]


def template_csv(kind: str) -> bytes:
    """UTF-8 with a BOM (so that Excel shows the Chinese headers): note rows, then the
    header. It has no example row: an example would be imported as real figures."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for note in template_notes(kind):
        writer.writerow(["# " + note])
    writer.writerow(template_headers(kind))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    """A data sheet (header row, text format where digits matter, drop-down lists for the
    fixed values), a sheet of notes describing every column, and the list values."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    layout = LAYOUTS[kind]
    headers = template_headers(kind)
    workbook = Workbook()
    sheet = workbook.active
    title = _("Statistics") if kind == STATISTICS else _("Claims")
    sheet.title = title[:31]
    sheet.append(headers)
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="0B3D6E")
    text_columns = {"insurer", "period", "claim_no"}
    date_columns = {"incident_date", "report_date", "close_date"}
    notes = workbook.create_sheet(_("Instructions")[:31])
    values = workbook.create_sheet(_("Values")[:31])
    for position, column in enumerate(layout.columns, start=1):
        letter = get_column_letter(position)
        cell = sheet.cell(row=1, column=position)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[letter].width = 24 if column.key == "insurer" else 16
        number_format = (
            "@"
            if column.key in text_columns
            else "yyyy-mm-dd"
            if column.key in date_columns
            else None
        )
        if number_format:
            for row in range(2, XLSX_TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=position).number_format = number_format
        if column.choices is None:
            continue
        labels = [str(label) for _code, label in column.choices.choices]
        values.cell(row=1, column=position, value=headers[position - 1]).font = Font(bold=True)
        for row, label in enumerate(labels, start=2):
            values.cell(row=row, column=position, value=label)
        rule = DataValidation(
            type="list",
            formula1=f"'{values.title}'!${letter}$2:${letter}${len(labels) + 1}",
            allow_blank=True,
            showErrorMessage=False,  # a typed code (motor) is fine too
        )
        sheet.add_data_validation(rule)
        rule.add(f"{letter}2:{letter}{XLSX_TEMPLATE_ROWS + 1}")
    sheet.freeze_panes = "A2"

    for note in template_notes(kind):
        notes.append([note])
        notes.merge_cells(
            start_row=notes.max_row, end_row=notes.max_row, start_column=1, end_column=4
        )
        notes.row_dimensions[notes.max_row].height = 32
    notes.append([])
    notes.append([_("Column"), _("English key"), _("Required"), _("What to enter")])
    for cell in notes[notes.max_row]:
        cell.font, cell.fill = bold, fill
    for column in layout.columns:
        notes.append(
            [
                column.header,
                column.key,
                _("yes") if column.required else _("no"),
                str(column.description),
            ]
        )
    notes.column_dimensions["A"].width = 22
    notes.column_dimensions["B"].width = 24
    notes.column_dimensions["C"].width = 10
    notes.column_dimensions["D"].width = 90
    for row in notes.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
