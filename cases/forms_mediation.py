"""Forms of the mediation pages: the board's filters, escalation, a direct application,
each step of a case and the session log.

The forms check only the shape of the input (types, lengths, required fields); the services
decide the rest, and their ``ValidationError`` is put back on the field it names
(``ServiceErrorsMixin.add_service_errors``), so a page and the API give the same messages.
"""

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from complaints.forms import ServiceErrorsMixin
from insurers.models import Insurer, Level, OrgUnit

from .models import CaseStatus, MediationCase, MediationOrganization, MediationSession, SessionMode

SUMMARY_MAX = 5000
NOTE_MAX = 5000
REASON_MAX = 2000
SEARCH_MAX = 40


def _label(field: str, model=MediationCase):
    """The model field's own (translated) name, so forms, admin and the API agree."""
    return capfirst(model._meta.get_field(field).verbose_name)


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _text(rows: int):
    return forms.Textarea(attrs={"rows": rows})


# ---- the board's filters -------------------------------------------------------------------


class CaseFilterForm(forms.Form):
    """GET filters of the board. The insurer and organisation choices are those of the
    cases the user can see, so a choice outside the scope is simply not valid."""

    status = forms.ChoiceField(
        label=_label("status"), required=False, choices=[("", _("Any")), *CaseStatus.choices]
    )
    insurer = forms.ModelChoiceField(
        label=_label("insurer"), required=False, queryset=None, empty_label=_("Any")
    )
    organization = forms.ModelChoiceField(
        label=_label("organization"), required=False, queryset=None, empty_label=_("Any")
    )
    applied_from = forms.DateField(label=_("Applied from"), required=False, widget=_date_input())
    applied_to = forms.DateField(label=_("Applied until"), required=False, widget=_date_input())
    q = forms.CharField(
        label=_("Case or complaint reference"),
        required=False,
        max_length=SEARCH_MAX,
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "placeholder": "TJ2026-000123"}
        ),
    )

    def __init__(self, *args, cases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["insurer"].queryset = Insurer.objects.filter(
            pk__in=cases.order_by().values("insurer_id")
        ).order_by("short_name", "pk")
        self.fields["organization"].queryset = MediationOrganization.objects.filter(
            pk__in=cases.order_by().values("organization_id")
        ).order_by("name")

    def clean(self):
        data = super().clean()
        start, end = data.get("applied_from"), data.get("applied_to")
        if start and end and start > end:
            self.add_error("applied_to", _("The end date comes before the start date."))
        return data

    def filters(self) -> dict:
        """The cleaned filters in the shape ``selectors.case_list`` takes."""
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


# ---- opening a case ------------------------------------------------------------------------


class EscalateForm(ServiceErrorsMixin, forms.Form):
    """Staff send a complaint to a mediation organisation."""

    organization = forms.ModelChoiceField(
        label=_label("organization"),
        queryset=MediationOrganization.objects.filter(active=True).order_by("name"),
        empty_label="—",
    )
    claimed_amount = forms.DecimalField(
        label=_label("claimed_amount"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("Leave empty to take the amount in dispute from the complaint."),
    )
    summary = forms.CharField(
        label=_label("summary"),
        required=False,
        max_length=SUMMARY_MAX,
        help_text=_("Leave empty to send the complaint's own account."),
        widget=_text(5),
    )


class UnitSelect(forms.Select):
    """Options that say which insurer they belong to (``data-insurer``), so the page script
    can offer only the units of the chosen insurer."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-insurer"] = instance.insurer_id
        return option


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{obj.insurer.short_name} · {obj.name}"


class CaseApplyForm(ServiceErrorsMixin, forms.Form):
    """A direct application recorded by a mediator for their own organisation."""

    insurer = forms.ModelChoiceField(
        label=_label("insurer"),
        queryset=Insurer.objects.filter(active=True).order_by("licence_type", "short_name", "pk"),
        empty_label="—",
    )
    org_unit = UnitChoiceField(
        label=_label("org_unit"),
        queryset=OrgUnit.objects.filter(
            insurer__isnull=False, level__in=(Level.HEAD_OFFICE, Level.BRANCH)
        )
        .select_related("insurer")
        .order_by("insurer__short_name", "path"),
        empty_label="—",
        widget=UnitSelect(attrs={"data-filter-by": "id_insurer"}),
        help_text=_("The head office or branch the dispute is with."),
    )
    applicant_name = forms.CharField(label=_label("applicant_name"), max_length=100)
    applicant_phone = forms.CharField(
        label=_label("applicant_phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    claimed_amount = forms.DecimalField(
        label=_label("claimed_amount"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
    )
    summary = forms.CharField(label=_label("summary"), max_length=SUMMARY_MAX, widget=_text(6))


# ---- the steps of a case -------------------------------------------------------------------


class StepForm(ServiceErrorsMixin, forms.Form):
    """A step's input; ``service_kwargs`` are what its service takes."""

    def __init__(self, *args, case=None, **kwargs):
        self.case = case
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class EmptyStepForm(StepForm):
    pass


class RefuseForm(StepForm):
    error_aliases = {"refusal_reason": "reason"}

    reason = forms.CharField(label=_label("refusal_reason"), max_length=REASON_MAX, widget=_text(3))


class SettleForm(StepForm):
    error_aliases = {"settlement_amount": "amount", "settlement_terms": "terms"}

    amount = forms.DecimalField(
        label=_label("settlement_amount"), min_value=0, max_digits=14, decimal_places=2
    )
    terms = forms.CharField(label=_label("settlement_terms"), max_length=NOTE_MAX, widget=_text(4))
    signed_on = forms.DateField(label=_label("signed_on"), widget=_date_input())
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        help_text=_("Needed when the amount is above the amount claimed."),
        widget=_text(3),
    )
    judicially_confirmed = forms.BooleanField(label=_label("judicially_confirmed"), required=False)
    court = forms.CharField(label=_label("court"), required=False, max_length=200)
    confirmed_on = forms.DateField(
        label=_label("confirmed_on"), required=False, widget=_date_input()
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.case is not None and self.case.claimed_amount is not None:
            self.fields["amount"].help_text = _("Claimed: CNY %(amount)s.") % {
                "amount": self.case.claimed_amount
            }


class NoteStepForm(StepForm):
    """Failing and withdrawing: the outcome in a few words."""

    error_aliases = {"outcome_note": "note"}

    note = forms.CharField(label=_label("outcome_note"), max_length=NOTE_MAX, widget=_text(3))


class SessionForm(ServiceErrorsMixin, forms.Form):
    date = forms.DateField(label=_label("date", MediationSession), widget=_date_input())
    mode = forms.ChoiceField(
        label=_label("mode", MediationSession), choices=SessionMode.choices, initial="offline"
    )
    attendees = forms.CharField(label=_label("attendees", MediationSession), max_length=500)
    notes = forms.CharField(
        label=_label("notes", MediationSession),
        required=False,
        max_length=NOTE_MAX,
        widget=_text(4),
    )
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=500)
