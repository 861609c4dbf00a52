"""The public complaint form and the status lookup form (anonymous visitors).

The forms only parse what the browser sent (choices, numbers, required fields); every rule
about a complaint itself — the ID number's check digit, the category taxonomy, the phone
format, the narrative's length — is checked by ``services.complaint_build``, shared with the
staff form, the API and the file import, and its errors are put back on the fields here.
"""

import re

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from insurers.models import Insurer, Level, LicenceType, OrgUnit

from .models import (
    NARRATIVE_MAX,
    PHONE_VALIDATOR,
    SUBCATEGORIES,
    Category,
    Channel,
    ProductLine,
    Subcategory,
)

# Provinces, autonomous regions and municipalities of the mainland (GB/T 2260 codes).
PROVINCES: tuple[tuple[str, str], ...] = (
    ("110000", _("Beijing")),
    ("120000", _("Tianjin")),
    ("130000", _("Hebei")),
    ("140000", _("Shanxi")),
    ("150000", _("Inner Mongolia")),
    ("210000", _("Liaoning")),
    ("220000", _("Jilin")),
    ("230000", _("Heilongjiang")),
    ("310000", _("Shanghai")),
    ("320000", _("Jiangsu")),
    ("330000", _("Zhejiang")),
    ("340000", _("Anhui")),
    ("350000", _("Fujian")),
    ("360000", _("Jiangxi")),
    ("370000", _("Shandong")),
    ("410000", _("Henan")),
    ("420000", _("Hubei")),
    ("430000", _("Hunan")),
    ("440000", _("Guangdong")),
    ("450000", _("Guangxi")),
    ("460000", _("Hainan")),
    ("500000", _("Chongqing")),
    ("510000", _("Sichuan")),
    ("520000", _("Guizhou")),
    ("530000", _("Yunnan")),
    ("540000", _("Tibet")),
    ("610000", _("Shaanxi")),
    ("620000", _("Gansu")),
    ("630000", _("Qinghai")),
    ("640000", _("Ningxia")),
    ("650000", _("Xinjiang")),
)

# Which first-level category each second-level one belongs to (for the subcategory select).
PARENT_CATEGORY: dict[str, str] = {
    str(sub): str(category) for category, subs in SUBCATEGORIES.items() for sub in subs
}

REFERENCE_RE = re.compile(r"^TS\d{4}-\d{6}$")


def normalise_phone(value: str) -> str:
    """``138 0013 8000`` → ``13800138000``, ``021-1234 5678`` → ``02112345678``: people
    type spaces and hyphens in different places, so the public pages keep digits only."""
    return re.sub(r"[\s\-\u3000]", "", value or "")


def route_public_complaint(*, insurer: Insurer, province_code: str) -> OrgUnit | None:
    """The unit that handles a complaint filed online: the insurer's branch in the
    complainant's province (the first two digits of the GB/T 2260 code), else its head
    office. None when the insurer has no head office (it cannot receive complaints).

    Should two branches share a province, the one registered for the province itself
    (310000 rather than a city code) wins, then the older one: the choice never depends on
    how the units happen to be named."""
    prefix = (province_code or "")[:2]
    units = OrgUnit.objects.filter(
        insurer=insurer, level__in=(Level.BRANCH, Level.HEAD_OFFICE)
    ).only("pk", "level", "region", "insurer_id", "name", "path", "depth")
    branches, head_office = [], None
    for unit in units.order_by("pk"):
        if unit.level == Level.HEAD_OFFICE:
            head_office = head_office or unit
        elif len(prefix) == 2 and unit.region[:2] == prefix:
            branches.append(unit)
    if branches:
        return min(branches, key=lambda unit: (unit.region != province_code, unit.pk))
    return head_office


def public_insurers():
    """Insurers a visitor can complain about: active, with a head office to receive it."""
    return Insurer.objects.filter(active=True, org_units__level=Level.HEAD_OFFICE).order_by(
        "licence_type", "short_name", "pk"
    )


class SubcategorySelect(forms.Select):
    """A select whose options say which category they belong to (``data-category``), so the
    page script can offer only the options that fit the chosen category."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        parent = PARENT_CATEGORY.get(str(value))
        if parent:
            option["attrs"]["data-category"] = parent
        return option


def _subcategory_choices():
    choices = [("", _("— Not applicable —"))]
    for category, subs in SUBCATEGORIES.items():
        choices.append((Category(category).label, [(str(s), Subcategory(s).label) for s in subs]))
    return choices


class ServiceErrorsMixin:
    """Put a ValidationError from a service back on the form's fields."""

    #: service field name → form field name, where they differ
    service_field_map: dict[str, str] = {}

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            for message in exc.messages:
                self.add_error(None, message)
            return
        for field, messages in exc.message_dict.items():
            target = self.service_field_map.get(field, field)
            if target == NON_FIELD_ERRORS or target not in self.fields:
                target = None
            for message in messages:
                self.add_error(target, message)


class PublicComplaintForm(ServiceErrorsMixin, forms.Form):
    """What a member of the public tells us when they complain online."""

    service_field_map = {"org_unit": "province"}

    insurer = forms.ChoiceField(
        label=_("Insurance company"),
        error_messages={"required": _("Choose the insurance company you complain about.")},
    )
    province = forms.ChoiceField(
        label=_("Province"),
        error_messages={"required": _("Choose your province.")},
        help_text=_(
            "Where you bought the insurance or where you live. Your complaint goes to the "
            "company's branch in this province, or to its head office if it has none there."
        ),
    )
    product_line = forms.ChoiceField(
        label=_("Type of insurance"),
        error_messages={"required": _("Choose the type of insurance.")},
    )
    category = forms.ChoiceField(
        label=_("What the complaint is about"),
        error_messages={"required": _("Choose what the complaint is about.")},
    )
    subcategory = forms.ChoiceField(
        label=_("More precisely (optional)"), required=False, widget=SubcategorySelect
    )
    amount_in_dispute = forms.DecimalField(
        label=_("Amount in dispute, in yuan (optional)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    narrative = forms.CharField(
        label=_("What happened"),
        max_length=NARRATIVE_MAX,
        error_messages={"required": _("Describe what happened.")},
        strip=True,
        help_text=_(
            "What happened, what you have already done, and what you would like the company "
            "to do. At most 5,000 characters."
        ),
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    complainant_name = forms.CharField(
        label=_("Your name"),
        max_length=100,
        error_messages={"required": _("Enter your name.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    complainant_phone = forms.CharField(
        label=_("Phone number"),
        max_length=30,
        error_messages={"required": _("Enter your phone number.")},
        help_text=_(
            "A mobile number, or a landline with its area code (e.g. 021-12345678). The "
            "company uses it to contact you, and you need it to track your complaint."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    complainant_id_number = forms.CharField(
        label=_("ID card number (optional)"),
        max_length=30,
        required=False,
        help_text=_(
            "18 characters; the last may be X. It helps the company find your policy. It is "
            "stored encrypted and only ever shown masked."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    consent = forms.BooleanField(
        label=_(
            "I agree that my name, phone number and ID number are used to handle this "
            "complaint, as described above."
        ),
        error_messages={
            "required": _(
                "Please agree to the use of your personal information; without it the "
                "complaint cannot be handled."
            )
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The error summary names the consent box briefly rather than with its whole label.
        self.fields["consent"].summary_label = _("Consent")
        english = (get_language() or "").startswith("en")
        self._insurers: dict[str, Insurer] = {}
        groups: dict[str, list] = {}
        for insurer in public_insurers():
            self._insurers[str(insurer.pk)] = insurer
            label = (insurer.name_en or insurer.short_name) if english else insurer.short_name
            groups.setdefault(insurer.licence_type, []).append((str(insurer.pk), label))
        # Grouped by licence type, in the order the types are declared (property first).
        self.fields["insurer"].choices = [("", _("— Choose the company —"))] + [
            (label, groups[kind]) for kind, label in LicenceType.choices if kind in groups
        ]
        self.fields["province"].choices = [("", _("— Choose a province —")), *PROVINCES]
        self.fields["product_line"].choices = [("", _("— Choose —")), *ProductLine.choices]
        self.fields["category"].choices = [("", _("— Choose —")), *Category.choices]
        self.fields["subcategory"].choices = _subcategory_choices()

    def clean_insurer(self) -> Insurer:
        return self._insurers[self.cleaned_data["insurer"]]

    def clean_complainant_phone(self) -> str:
        return normalise_phone(self.cleaned_data["complainant_phone"])

    def clean_complainant_name(self) -> str:
        return " ".join(self.cleaned_data["complainant_name"].split())

    def clean(self):
        cleaned = super().clean()
        insurer, province = cleaned.get("insurer"), cleaned.get("province")
        if insurer is not None and province:
            unit = route_public_complaint(insurer=insurer, province_code=province)
            if unit is None:
                self.add_error(
                    "insurer",
                    _("This company cannot receive complaints online yet; call 12378."),
                )
            cleaned["org_unit"] = unit
        return cleaned

    def intake(self) -> dict:
        """The fields for ``services.complaint_create``."""
        data = self.cleaned_data
        return {
            "insurer": data["insurer"],
            "org_unit": data["org_unit"],
            "product_line": data["product_line"],
            "category": data["category"],
            "subcategory": data.get("subcategory") or "",
            "channel": Channel.ONLINE,
            "amount_in_dispute": data.get("amount_in_dispute"),
            "narrative": data["narrative"],
            "complainant_name": data["complainant_name"],
            "complainant_phone": data["complainant_phone"],
            "complainant_id_number": data.get("complainant_id_number") or "",
        }


class StatusLookupForm(forms.Form):
    """Reference number and phone: both must match for anything to be shown."""

    reference = forms.CharField(
        label=_("Reference number"),
        max_length=20,
        error_messages={"required": _("Enter the reference number.")},
        help_text=_("As on your receipt, e.g. TS2026-000123."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=30,
        error_messages={"required": _("Enter your phone number.")},
        help_text=_("The number you gave when you complained."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_reference(self) -> str:
        value = "".join(self.cleaned_data["reference"].split()).upper()
        if not REFERENCE_RE.match(value):
            raise ValidationError(
                _("Enter the reference number as on your receipt, e.g. TS2026-000123."),
                code="reference_format",
            )
        return value

    def clean_phone(self) -> str:
        raw = "".join(self.cleaned_data["phone"].split())
        digits = normalise_phone(raw)
        PHONE_VALIDATOR(digits)
        # Staff may have typed a landline with its hyphen; try both spellings.
        self.phone_candidates = [digits] + ([raw] if raw != digits else [])
        return digits
