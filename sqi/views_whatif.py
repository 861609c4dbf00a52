"""The what-if panel of the officer dashboard: ``/dashboard/<unit>/what-if/``.

The dashboard page includes ``sqi/dashboard/_index_panel.html``, whose form posts here. With
htmx the answer is the result fragment, swapped in under the form; without JavaScript the
same POST answers a whole page with the panel and the result. Nothing is saved either way:
the result is recomputed from the published run's stored inputs on every request.

Who: the unit must be in the user's scope (else 404) and cover a whole insurer (a head
office, or a group and one of its insurers); the user must be an officer, consumer-protection
staff or an index administrator (else 403).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from insurers.models import OrgUnit
from insurers.selectors import visible_units

from . import selectors_public as selectors
from . import whatif
from .forms_whatif import DELTA, WhatIfForm, kind_field


def _unit_in_scope(request, unit_id: int) -> OrgUnit:
    return get_object_or_404(visible_units(user=request.user).select_related("insurer"), pk=unit_id)


def present(result: dict, position: dict) -> dict:
    """A what-if result as the rows the fragment shows: values in their display units (rates
    in %), scores, dimension scores against the peer median, total and rank moving."""
    before, after = result["before"], result["after"]
    indicators = []
    for ind in position["indicators"]:
        key, unit = ind["key"], ind["unit"]
        b = before["indicators"].get(key)
        a = after["indicators"].get(key)
        if b is None or a is None:
            continue
        indicators.append(
            {
                "key": key,
                "label": ind["label"],
                "unit_label": ind["unit_label"],
                "before_value": whatif.value_text(b["value"], unit),
                "after_value": whatif.value_text(a["value"], unit),
                "before_score": f"{b['score']:.2f}",
                "after_score": f"{a['score']:.2f}",
                "changed": key in result["changes"],
                "derived": key in result["derived"],
            }
        )
    dimensions = [
        {
            "label": d["label"],
            "before": before["dimensions"].get(d["key"]),
            "after": after["dimensions"].get(d["key"]),
            "median": d["median"],
        }
        for d in position["dimensions"]
    ]
    return {
        "run": result["run"],
        "ranked": result["ranked"],
        "before": before,
        "after": after,
        "before_band": selectors.BAND_LABELS[before["band"]],
        "after_band": selectors.BAND_LABELS[after["band"]],
        "total_moved": round(after["total"] - before["total"], 2),
        "rank_up": max(0, before["rank"] - after["rank"]),
        "rank_down": max(0, after["rank"] - before["rank"]),
        "indicators": indicators,
        "dimensions": dimensions,
        "any_derived": bool(result["derived"]),
    }


def _with_inputs(position: dict, data) -> dict:
    """The panel's indicator rows with what was typed, so the form shows it again."""
    rows = [
        {
            **ind,
            "input": data.get(ind["key"], ""),
            "kind": data.get(kind_field(ind["key"]), DELTA),
        }
        for ind in position["indicators"]
    ]
    return {**position, "indicators": rows}


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def what_if_panel(request, unit_id: int):
    # The role first, as on every staff page: a role without the panel gets 403 for any
    # unit; only then does a unit outside the user's subtree answer 404.
    if not whatif.may_use_what_if(user=request.user):
        raise PermissionDenied(_("The index panel is for service officers and staff."))
    unit = _unit_in_scope(request, unit_id)
    insurers = whatif.unit_insurers(unit=unit)
    slug = request.POST.get("insurer") or request.GET.get("insurer")
    if slug:
        insurer = next((i for i in insurers if i.slug == slug), None)
        if insurer is None:
            raise Http404
    else:
        insurer = insurers[0] if insurers else None
    position = whatif.index_position(insurer=insurer) if insurer is not None else None
    context = {"unit": unit, "index_position": position, "panel_insurer": insurer}
    errors: list[str] = []
    if request.method == "POST" and position is not None:
        form = WhatIfForm(request.POST, indicators=position["indicators"])
        context["index_position"] = _with_inputs(position, request.POST)
        if form.is_valid():
            run = selectors.published_run(
                period=form.cleaned_data["period"], peer_group=form.cleaned_data["peer_group"]
            )
            if run is None:
                errors.append(_("This index is no longer published; reload the page."))
            else:
                try:
                    result = whatif.what_if(
                        run=run, insurer=insurer, changes=form.cleaned_data["changes"]
                    )
                except whatif.WhatIfError as exc:
                    label = next(
                        (i["label"] for i in position["indicators"] if i["key"] == exc.indicator),
                        "",
                    )
                    errors.append(f"{label}: {exc.message}" if label else exc.message)
                else:
                    context["what_if"] = present(result, position)
        else:
            labels = {i["key"]: i["label"] for i in position["indicators"]}
            for field, messages in form.errors.items():
                label = labels.get(field, "")
                errors += [f"{label}: {m}" if label else m for m in messages]
    context["what_if_errors"] = errors
    if request.headers.get("HX-Request") == "true":
        return render(request, "sqi/dashboard/_what_if_result.html", context)
    return render(request, "sqi/dashboard/what_if.html", context)


urlpatterns = [
    path("dashboard/<int:unit_id>/what-if/", what_if_panel, name="what_if_panel"),
]
