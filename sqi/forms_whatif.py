"""The what-if form of the index panel: one change per indicator, in its unit or in percent.

People type changes the way the figures are shown: days, complaints per 100 M CNY, and
rates in percentage points (a claim payment rate of 94.3 % raised by 1 is 95.3 %). The API
and :mod:`sqi.methodology` take rates as fractions, so a change in percentage points is
divided by 100 here. "Percent" is always relative: −10 % of 6.2 complaints is 5.58.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PERIOD_CODE, PeerGroup

DELTA, PERCENT = "delta", "percent"


def kind_field(name: str) -> str:
    return f"{name}__kind"


class WhatIfForm(forms.Form):
    period = forms.RegexField(regex=PERIOD_CODE, max_length=6, widget=forms.HiddenInput)
    peer_group = forms.ChoiceField(choices=PeerGroup.choices, widget=forms.HiddenInput)
    insurer = forms.SlugField(widget=forms.HiddenInput)

    def __init__(self, *args, indicators: list[dict], **kwargs):
        """``indicators``: rows of :func:`sqi.whatif.index_position` (key, label, unit…)."""
        super().__init__(*args, **kwargs)
        self.indicators = indicators
        for ind in indicators:
            unit = ind["unit_label"] if ind["unit"] != "%" else _("percentage points")
            self.fields[ind["key"]] = forms.FloatField(
                label=ind["label"], required=False, widget=forms.NumberInput({"step": "any"})
            )
            self.fields[kind_field(ind["key"])] = forms.ChoiceField(
                label=_("Change in"),
                choices=[(DELTA, unit), (PERCENT, _("percent of the current value"))],
                initial=DELTA,
                required=False,
            )

    def clean(self):
        cleaned = super().clean()
        changes: dict[str, dict] = {}
        for ind in self.indicators:
            key = ind["key"]
            amount = cleaned.get(key)
            if amount is None:
                continue
            if cleaned.get(kind_field(key)) == PERCENT:
                if amount < -100:
                    self.add_error(key, _("A change cannot be below −100 percent."))
                    continue
                changes[key] = {PERCENT: amount}
            else:
                changes[key] = {DELTA: amount / 100 if ind["unit"] == "%" else amount}
        if not changes and not self.errors:
            raise forms.ValidationError(_("Change at least one indicator."))
        cleaned["changes"] = changes
        return cleaned
