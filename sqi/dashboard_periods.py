"""The officer dashboard's filters: query parameters in, ``DashboardFilters`` out.

A dashboard address carries its period as ``period`` (the kind: month, quarter, half, year
or custom) and ``value`` (``2026-01``, ``2026-Q1``, ``2026-H1``, ``2026``), or ``start`` and
``end`` for a custom range; then ``product_line``, ``channel`` and, on a group-level unit,
``insurer``. Every parameter may be left out: the default is the last full calendar month,
all product lines and channels. What is wrong is said on the form, beside the field, and the
page then shows no figures rather than figures for some other period.

The period arithmetic of the figures (which days a period holds, which period comes before
it) belongs to :class:`sqi.dashboard.DashboardFilters`; this module only names periods and
checks what a person typed.
"""

import datetime
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from complaints.models import Channel, ProductLine
from insurers.models import Insurer, Level, OrgUnit

from .dashboard import DashboardFilters

MONTH, QUARTER, HALF, YEAR, CUSTOM = "month", "quarter", "half", "year", "custom"
KIND_CHOICES = [
    (MONTH, _("Month")),
    (QUARTER, _("Quarter")),
    (HALF, _("Half-year")),
    (YEAR, _("Year")),
    (CUSTOM, _("Custom range")),
]
#: How many years back the period menus reach (older periods can still be typed in a URL).
YEARS_OFFERED = 5
#: The oldest day the dashboard answers for, and the longest custom range.
EARLIEST = datetime.date(2000, 1, 1)
LONGEST_RANGE_DAYS = 3 * 366

_PATTERNS = {
    MONTH: re.compile(r"^(\d{4})-(\d{2})$"),
    QUARTER: re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE),
    HALF: re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE),
    YEAR: re.compile(r"^(\d{4})$"),
}
_EXAMPLES = {
    MONTH: _("Choose a month, for example 2026-01."),
    QUARTER: _("Choose a quarter, for example 2026-Q1."),
    HALF: _("Choose a half-year, for example 2026-H1."),
    YEAR: _("Choose a year, for example 2026."),
}


def _month_end(year: int, month: int) -> datetime.date:
    if month == 12:
        return datetime.date(year, 12, 31)
    return datetime.date(year, month + 1, 1) - datetime.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """A named stretch of days: ``kind`` and ``value`` as in the address, and its bounds."""

    kind: str
    value: str
    start: datetime.date
    end: datetime.date

    @property
    def label(self) -> str:
        return period_label(self.kind, self.start, self.end)

    def runs_past(self, today: datetime.date) -> bool:
        """The period is still going on: its figures are so far, not final."""
        return self.end > today


def calendar_period(kind: str, value: str) -> Period | None:
    """The calendar period ``value`` names, or None when it names none of ``kind``."""
    match = _PATTERNS[kind].match(value.strip())
    if match is None:
        return None
    year = int(match.group(1))
    if year < EARLIEST.year:
        return None
    if kind == MONTH:
        month = int(match.group(2))
        if not 1 <= month <= 12:
            return None
        start, end = datetime.date(year, month, 1), _month_end(year, month)
        value = f"{year}-{month:02d}"
    elif kind == QUARTER:
        quarter = int(match.group(2))
        start = datetime.date(year, 3 * quarter - 2, 1)
        end = _month_end(year, 3 * quarter)
        value = f"{year}-Q{quarter}"
    elif kind == HALF:
        half = int(match.group(2))
        start = datetime.date(year, 6 * half - 5, 1)
        end = _month_end(year, 6 * half)
        value = f"{year}-H{half}"
    else:
        start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        value = str(year)
    return Period(kind=kind, value=value, start=start, end=end)


def period_value(kind: str, day: datetime.date) -> str:
    """The ``value`` of the period of ``kind`` that holds ``day``."""
    if kind == MONTH:
        return f"{day.year}-{day.month:02d}"
    if kind == QUARTER:
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if kind == HALF:
        return f"{day.year}-H{(day.month - 1) // 6 + 1}"
    return str(day.year)


def last_full(kind: str, today: datetime.date) -> Period:
    """The latest period of ``kind`` that has ended before ``today``."""
    current = calendar_period(kind, period_value(kind, today))
    return calendar_period(kind, period_value(kind, current.start - datetime.timedelta(days=1)))


def default_period(today: datetime.date) -> Period:
    """The last full calendar month."""
    return last_full(MONTH, today)


def period_label(kind: str, start: datetime.date, end: datetime.date) -> str:
    """How a period is named on the page and in file names' human-readable headers."""
    if kind == MONTH:
        return formats.date_format(start, "YEAR_MONTH_FORMAT")
    if kind == QUARTER:
        return gettext("Q%(quarter)s %(year)s") % {
            "quarter": (start.month - 1) // 3 + 1,
            "year": start.year,
        }
    if kind == HALF:
        if start.month <= 6:
            return gettext("First half of %(year)s") % {"year": start.year}
        return gettext("Second half of %(year)s") % {"year": start.year}
    if kind == YEAR:
        return gettext("Year %(year)s") % {"year": start.year}
    return gettext("%(start)s to %(end)s") % {"start": start.isoformat(), "end": end.isoformat()}


def previous_label(kind: str, filters: DashboardFilters) -> str:
    """The name of the period the figures are compared with (``filters.previous()``)."""
    before = filters.previous()
    return period_label(kind, before.start, before.end)


def period_choices(kind: str, today: datetime.date) -> list[tuple[str, str]]:
    """The periods of ``kind`` offered in the menu, newest first, the running one included."""
    choices = []
    period = calendar_period(kind, period_value(kind, today))
    oldest = datetime.date(today.year - YEARS_OFFERED + 1, 1, 1)
    while period is not None and period.start >= oldest:
        label = period.label
        if period.runs_past(today):
            label = gettext("%(period)s (so far)") % {"period": label}
        choices.append((period.value, label))
        before = period.start - datetime.timedelta(days=1)
        period = calendar_period(kind, period_value(kind, before))
    return choices


def group_insurers(unit: OrgUnit):
    """The insurers a group-level unit holds (the ``insurer`` filter's choices)."""
    return (
        Insurer.objects.filter(org_units__path__startswith=unit.path)
        .distinct()
        .order_by("short_name", "pk")
    )


class DashboardFilterForm(forms.Form):
    """The dashboard's GET filters. Bind it to ``request.GET`` (an empty query is valid: the
    defaults). The ``insurer`` field exists only on a group-level unit."""

    period = forms.ChoiceField(label=_("Period"), required=False, choices=KIND_CHOICES)
    value = forms.CharField(
        label=_("Which one"), required=False, max_length=10, widget=forms.Select()
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    product_line = forms.ChoiceField(
        label=_("Product line"),
        required=False,
        choices=[("", _("All product lines")), *ProductLine.choices],
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All channels")), *Channel.choices]
    )
    insurer = forms.ModelChoiceField(
        label=_("Insurer"), required=False, queryset=Insurer.objects.none(), empty_label=None
    )

    def __init__(self, data=None, *, unit: OrgUnit, today: datetime.date, **kwargs):
        data = data.copy() if data is not None else {}
        kind = data.get("period") or MONTH
        if kind in _PATTERNS and not data.get("value"):
            # The menu shows the period the figures are for, not merely its first entry.
            data["value"] = last_full(kind, today).value
        super().__init__(data, **kwargs)
        self.unit = unit
        self.today = today
        if unit.level == Level.GROUP:
            self.fields["insurer"].queryset = group_insurers(unit)
            self.fields["insurer"].empty_label = gettext("All insurers of the group")
        else:
            del self.fields["insurer"]
        kind = self.data.get("period") or MONTH
        if kind not in dict(KIND_CHOICES) or kind == CUSTOM:
            kind = MONTH
        self.fields["value"].widget.choices = period_choices(kind, today)
        self.fields["value"].help_text = ""

    def clean(self):
        data = super().clean()
        kind = data.get("period") or MONTH
        data["period"] = kind
        if "period" in self.errors:
            return data
        if kind == CUSTOM:
            data["chosen"] = self._clean_custom(data)
        else:
            data["chosen"] = self._clean_calendar(kind, data.get("value") or "")
        return data

    def _clean_calendar(self, kind: str, value: str) -> Period | None:
        if not value:
            return last_full(kind, self.today)
        period = calendar_period(kind, value)
        if period is None:
            self.add_error("value", ValidationError(_EXAMPLES[kind], code="bad_period"))
            return None
        if period.start > self.today:
            self.add_error(
                "value",
                ValidationError(_("This period has not started yet."), code="future_period"),
            )
            return None
        return period

    def _clean_custom(self, data: dict) -> Period | None:
        start, end = data.get("start"), data.get("end")
        if "start" in self.errors or "end" in self.errors:
            return None
        if start is None:
            self.add_error("start", ValidationError(_("Enter the first day."), code="required"))
        if end is None:
            self.add_error("end", ValidationError(_("Enter the last day."), code="required"))
        if start is None or end is None:
            return None
        problems = []
        if end < start:
            problems.append(("end", _("The last day comes before the first day."), "reversed"))
        elif (end - start).days + 1 > LONGEST_RANGE_DAYS:
            problems.append(("end", _("A range may span at most three years."), "too_long"))
        if start < EARLIEST:
            problems.append(("start", _("Choose a day in 2000 or later."), "too_early"))
        if end > self.today:
            problems.append(("end", _("The last day cannot be in the future."), "future"))
        for field, message, code in problems:
            self.add_error(field, ValidationError(message, code=code))
        if problems:
            return None
        return Period(kind=CUSTOM, value="", start=start, end=end)

    # ---- the cleaned result -----------------------------------------------------------------

    @property
    def chosen(self) -> Period:
        """The period asked for (valid forms only)."""
        return self.cleaned_data["chosen"]

    def filters(self) -> DashboardFilters:
        data = self.cleaned_data
        insurer = data.get("insurer")
        return DashboardFilters(
            start=self.chosen.start,
            end=self.chosen.end,
            product_line=data.get("product_line") or None,
            channel=data.get("channel") or None,
            insurer_id=insurer.pk if insurer is not None else None,
        )

    def query_params(self, *, for_child: bool = False) -> dict[str, str]:
        """The filters as query parameters, defaults left out; ``for_child`` drops the
        insurer (a unit below a group belongs to one insurer already)."""
        data = self.cleaned_data
        period = self.chosen
        params: dict[str, str] = {}
        if period.kind == CUSTOM:
            params.update(period=CUSTOM, start=period.start.isoformat(), end=period.end.isoformat())
        elif period != default_period(self.today):
            params.update(period=period.kind, value=period.value)
        for name in ("product_line", "channel"):
            if data.get(name):
                params[name] = data[name]
        if not for_child and data.get("insurer") is not None:
            params["insurer"] = str(data["insurer"].pk)
        return params

    def query(self, *, for_child: bool = False) -> str:
        """``?…`` to append to a dashboard address, or an empty string."""
        params = self.query_params(for_child=for_child)
        return f"?{urlencode(params)}" if params else ""
