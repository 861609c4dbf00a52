"""Forms of the insurers pages: the reception day (接待日) an officer logs.

The form checks what a person typed; the services (``reception_day_log`` and
``reception_day_update``) validate the record, and their ``ValidationError`` is put back on
the field it names.
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import ReceptionDay
from .services import RECEPTION_FIELDS


class ReceptionDayForm(forms.ModelForm):
    class Meta:
        model = ReceptionDay
        fields = list(RECEPTION_FIELDS)
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "consumers_met": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
            "follow_ups_open": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
            "issues_raised": forms.Textarea(attrs={"rows": 3}),
            "follow_ups": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "place": _("Where consumers were received, e.g. the branch's service hall."),
            "issues_raised": _("What consumers raised; no names, phone or ID numbers."),
            "follow_ups": _("What was promised and who does it."),
            "follow_ups_open": _("How many of those follow-ups are not done yet."),
        }

    def __init__(self, *args, today: datetime.date, officer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.officer = officer

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day > self.today:
            raise ValidationError(
                _("A reception day is logged once it has been held: the date is in the future."),
                code="future",
            )
        officer = self.officer or getattr(self.instance, "officer", None)
        if officer is not None and day < officer.appointed:
            raise ValidationError(
                _("This date is before your appointment as service officer (%(day)s).")
                % {"day": officer.appointed.isoformat()},
                code="before_appointment",
            )
        return day

    def clean(self):
        data = super().clean()
        if data.get("follow_ups_open") and not (data.get("follow_ups") or "").strip():
            self.add_error(
                "follow_ups",
                ValidationError(
                    _("Describe the follow-ups that are still open."), code="follow_ups_missing"
                ),
            )
        return data

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in RECEPTION_FIELDS}

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)
