"""Forms of the staff complaint pages: the list filters, staff intake and each workflow step.

The forms only parse and check the shape of the input; the services decide everything
else and their ``ValidationError`` is put back on the same fields (``add_service_errors``),
so a page and the API give the same messages for the same mistakes.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from insurers.models import OrgUnit
from insurers.roles import sees_every_unit
from insurers.selectors import insurer_list, user_root_paths, visible_units

from .models import (
    NARRATIVE_MAX,
    SUBCATEGORIES,
    Category,
    Channel,
    Complaint,
    Decision,
    DeclineReason,
    PauseReason,
    ProductLine,
    Satisfaction,
    Status,
    Subcategory,
)

DEADLINE_STATE_CHOICES = [
    ("on_track", _("On track")),
    ("at_risk", _("At risk")),
    ("breached", _("Breached")),
]
DEADLINE_STATE_LABELS = dict(DEADLINE_STATE_CHOICES)


def _label(field: str):
    """The model field's own (translated) name, so forms, admin and exports agree."""
    return capfirst(Complaint._meta.get_field(field).verbose_name)


def _blank(label) -> list[tuple[str, object]]:
    return [("", label)]


class UnitChoiceField(forms.ModelChoiceField):
    """Org units in tree order, indented by depth below the user's own top units, so the
    hierarchy reads in a plain select."""

    base_depth = 1

    def for_user(self, user) -> None:
        units = visible_units(user=user).order_by("path")
        self.queryset = units
        roots = () if sees_every_unit(user) else user_root_paths(user)
        self.base_depth = min((len(p) // OrgUnit.steplen for p in roots), default=1)

    def label_from_instance(self, obj: OrgUnit) -> str:
        return "\u3000" * max(obj.depth - self.base_depth, 0) + obj.name


class ServiceErrorsMixin:
    """Put a service's ValidationError on this form: each message on the field it names,
    or on the form as a whole when the form has no such field (status, due date …)."""

    #: service field name → form field name, where they differ
    error_aliases: dict[str, str] = {}

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for field, messages in error.message_dict.items():
            target = self.error_aliases.get(field, field)
            if target not in self.fields:
                target = None
            for message in messages:
                self.add_error(target, message)


# ---- the list filters ---------------------------------------------------------------------


class SearchForm(forms.Form):
    """The search box. It is POSTed, never sent in a URL: a phone or ID number in a query
    string would end up in access logs, browser history and bookmarks. The list keeps the
    term in the session and refers to it by a token (``s``)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=40,
        help_text=_("Exact reference, phone number or ID number."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    #: the list's other filters (a query string) to keep while searching
    keep = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class ComplaintFilterForm(forms.Form):
    """GET filters of the complaint list and its exports; choices limited to the user's
    scope (an insurer or unit outside it is simply not a valid choice). The search term
    arrives as a token ``s`` for a term kept in the session (see ``SearchForm``)."""

    s = forms.CharField(label=_("Search"), required=False, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label=_label("status"), required=False, choices=_blank(_("Any")) + Status.choices
    )
    deadline_state = forms.ChoiceField(
        label=_("Deadline"), required=False, choices=_blank(_("Any")) + DEADLINE_STATE_CHOICES
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    insurer = forms.ModelChoiceField(
        label=_label("insurer"), required=False, queryset=None, empty_label=_("Any")
    )
    within = UnitChoiceField(
        label=_("Unit (with the units below it)"),
        required=False,
        queryset=None,
        empty_label=_("Any"),
    )
    product_line = forms.ChoiceField(
        label=_label("product_line"), required=False, choices=_blank(_("Any")) + ProductLine.choices
    )
    category = forms.ChoiceField(
        label=_label("category"), required=False, choices=_blank(_("Any")) + Category.choices
    )
    channel = forms.ChoiceField(
        label=_label("channel"), required=False, choices=_blank(_("Any")) + Channel.choices
    )
    received_from = forms.DateField(
        label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    received_to = forms.DateField(
        label=_("Received until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, searches: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.searches = searches or {}
        self.fields["insurer"].queryset = insurer_list(user=user)
        self.fields["within"].for_user(user)

    def clean_s(self) -> str:
        """The search term the token stands for."""
        token = self.cleaned_data["s"]
        if token and token not in self.searches:
            raise ValidationError(
                _("This search has expired; please search again."), code="expired_search"
            )
        return self.searches.get(token, "")

    @property
    def search_term(self) -> str:
        if self.is_bound and hasattr(self, "cleaned_data"):
            return self.cleaned_data.get("s", "")
        return ""

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", _("The end date comes before the start date."))
        return data

    def filters(self) -> dict:
        """The cleaned filters in the shape ``selectors.complaint_list`` takes."""
        data = self.cleaned_data
        filters = {key: value for key, value in data.items() if value not in (None, "", False)}
        if "overdue" in filters:
            filters["overdue"] = True
        if "s" in filters:
            filters["q"] = filters.pop("s")
        return filters


# ---- staff intake -------------------------------------------------------------------------


def subcategory_choices() -> list:
    """Second-level categories grouped under their first-level one (an <optgroup> each)."""
    labels = dict(Category.choices)
    sub_labels = dict(Subcategory.choices)
    return _blank(_("None")) + [
        (labels[category], [(sub, sub_labels[sub]) for sub in subs])
        for category, subs in SUBCATEGORIES.items()
    ]


class StaffComplaintForm(ServiceErrorsMixin, forms.Form):
    """A complaint logged by staff on any channel, for an insurer and unit in their scope."""

    insurer = forms.ModelChoiceField(label=_label("insurer"), queryset=None)
    org_unit = UnitChoiceField(label=_label("org_unit"), queryset=None)
    channel = forms.ChoiceField(label=_label("channel"), choices=Channel.choices)
    received_at = forms.DateTimeField(
        label=_label("received_at"),
        required=False,
        help_text=_("Leave as it is if the complaint came in just now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    product_line = forms.ChoiceField(
        label=_label("product_line"), choices=_blank("—") + ProductLine.choices
    )
    category = forms.ChoiceField(label=_label("category"), choices=_blank("—") + Category.choices)
    subcategory = forms.ChoiceField(
        label=_label("subcategory"), required=False, choices=subcategory_choices
    )
    amount_in_dispute = forms.DecimalField(
        label=_label("amount_in_dispute"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
    )
    narrative = forms.CharField(
        label=_("What happened"),
        max_length=NARRATIVE_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    complainant_name = forms.CharField(label=_label("complainant_name"), max_length=100)
    complainant_phone = forms.CharField(
        label=_label("complainant_phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    complainant_id_number = forms.CharField(
        label=_("Complainant's ID number"),
        required=False,
        max_length=22,
        help_text=_("Stored encrypted and shown masked."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        insurers = insurer_list(user=user)
        self.fields["org_unit"].for_user(user)
        # Only units of an insurer handle complaints (a group-level unit has none).
        self.fields["org_unit"].queryset = self.fields["org_unit"].queryset.filter(
            insurer__isnull=False
        )
        self.fields["insurer"].queryset = insurers
        if not self.is_bound:
            self.initial.setdefault(
                "received_at", timezone.localtime().replace(second=0, microsecond=0)
            )
            only = list(insurers[:2])
            if len(only) == 1:
                self.initial.setdefault("insurer", only[0].pk)

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)

    def add_remaining_errors(self, build) -> None:
        """After the form's own checks failed, run the service's intake checks on the fields
        that passed, so that one submission names every bad field, not just the first few."""
        fields = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        if "category" in self.errors:
            fields.pop("subcategory", None)
        failed = set(self.errors)
        try:
            build(**fields)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                if field in self.fields and field not in failed:
                    for message in messages:
                        self.add_error(field, message)


# ---- workflow steps -----------------------------------------------------------------------


class ActionForm(ServiceErrorsMixin, forms.Form):
    """A workflow step's input; ``service_kwargs`` are passed to its service as they are."""

    def __init__(self, *args, complaint=None, **kwargs):
        self.complaint = complaint
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class EmptyActionForm(ActionForm):
    pass


class DeclineForm(ActionForm):
    error_aliases = {"decline_reason": "reason"}

    reason = forms.ChoiceField(
        label=_("Reason for declining"), choices=_blank("—") + DeclineReason.choices
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ExtendForm(ActionForm):
    reason = forms.CharField(
        label=_("Why the case needs more time"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    complainant_notice = forms.CharField(
        label=_("Notice to the complainant"),
        required=False,
        max_length=2000,
        help_text=_("A second extension (to 60 days) needs approval one level up."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.complaint is not None and self.complaint.extensions == 0:
            # The first step (to 30 days) tells nobody; only the second needs a notice.
            del self.fields["complainant_notice"]


class PauseForm(ActionForm):
    kind = forms.ChoiceField(label=_("Waiting for"), choices=PauseReason.choices)
    reason = forms.CharField(
        label=_("Details"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    start = forms.DateField(
        label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not getattr(settings, "COMPLAINT_PAUSE_FOR_MATERIALS", False):
            self.fields["kind"].choices = [
                (PauseReason.APPRAISAL.value, PauseReason.APPRAISAL.label)
            ]

    def service_kwargs(self) -> dict:
        kwargs = dict(self.cleaned_data)
        if kwargs.get("start") is None:
            kwargs.pop("start", None)
        return kwargs


class DecideForm(ActionForm):
    decision = forms.ChoiceField(label=_label("decision"), choices=_blank("—") + Decision.choices)
    remedy_amount = forms.DecimalField(
        label=_label("remedy_amount"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    reply = forms.CharField(
        label=_label("reply"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )


class CloseForm(ActionForm):
    satisfaction = forms.ChoiceField(
        label=_("Complainant's satisfaction"), choices=_blank("—") + Satisfaction.choices
    )


class ReviewForm(ActionForm):
    reason = forms.CharField(
        label=_("What the complainant disputes"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class NoteForm(ServiceErrorsMixin, forms.Form):
    text = forms.CharField(
        label=_("Add a note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class AttachmentForm(ServiceErrorsMixin, forms.Form):
    file = forms.FileField(
        label=_("Attach a file"),
        widget=forms.FileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,.gif,.webp,application/pdf,image/*"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = gettext(
            "PDF or image (PNG, JPEG, GIF, WebP), at most %(limit)s MB."
        ) % {"limit": settings.ATTACHMENT_MAX_BYTES // 1048576}
