"""An insurer's index position for the officer dashboard, and the what-if tool.

Both read published runs only (through :mod:`sqi.selectors_public`, or a run the caller got
from it), and nothing here writes: the what-if recomputes a published run's peer group in
memory with some of one insurer's indicator values changed, through the same functions of
:mod:`sqi.methodology` that computed the published numbers.

Who may ask is decided here too: the index position and the what-if of an insurer are for
the people of that insurer (its officers and consumer-protection staff, whatever unit of it
they sit in) and for index administrators.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _

from insurers.models import Insurer, Level, OrgUnit
from insurers.roles import INDEX_ADMIN, OFFICER, STAFF, has_role, sees_every_unit
from insurers.selectors import insurer_list

from . import methodology as method
from . import selectors_public as selectors
from .models import IndexRun, RunStatus

# ---- who -----------------------------------------------------------------------------------


def unit_insurers(*, unit: OrgUnit) -> list[Insurer]:
    """The insurers a unit covers whole: a head office its insurer, a group its members.

    Below head office a unit holds part of an insurer, and an insurer's index position is
    not that unit's to answer for, so there is none.
    """
    if unit.level == Level.HEAD_OFFICE and unit.insurer_id:
        return [unit.insurer]
    if unit.level == Level.GROUP:
        return list(Insurer.objects.filter(group=unit).order_by("short_name", "pk"))
    return []


def unit_covers_insurer(*, unit: OrgUnit, insurer: Insurer) -> bool:
    if unit.level == Level.HEAD_OFFICE:
        return unit.insurer_id == insurer.pk
    if unit.level == Level.GROUP:
        return insurer.group_id == unit.pk
    return False


def may_use_what_if(*, user) -> bool:
    """Officers, consumer-protection staff and index administrators (and superusers)."""
    if not (user.is_authenticated and user.is_active):
        return False
    return sees_every_unit(user) or any(has_role(user, r) for r in (OFFICER, STAFF, INDEX_ADMIN))


def user_insurer(*, user, slug: str) -> Insurer | None:
    """The insurer ``slug`` if ``user`` works for it (has a unit of it in scope), else None."""
    return insurer_list(user=user).filter(slug=slug).first()


# ---- the index position --------------------------------------------------------------------


def _number(value) -> float | None:
    return None if value is None else float(value)


def value_text(value, unit: str) -> str:
    """An indicator value as shown: in its unit, rates as percentages, two decimals."""
    shown = selectors.display_value(_number(value), unit)
    return "—" if shown is None else str(shown)


def index_position(*, insurer: Insurer) -> dict | None:
    """The insurer's latest published result against its peers, or None when no published
    run scores it.

    ``{"run", "result", "insurer", "ranked", "band", "peer_median" {dimension: x},
    "peer_median_total", "dimensions" [rows], "indicators" [rows], "trend" [{"period",
    "peer_group", "total", "rank", "ranked"}]}``; the trend runs over every published
    period, oldest first. Three queries.
    """
    history = selectors.insurer_history(insurer=insurer)
    if not history:
        return None
    result = history[-1]
    run = result.run
    meth = run.methodology
    medians = selectors.peer_medians(run=run)
    dimensions, indicators = selectors.ranking_columns(run)
    own_dims = result.dimensions or {}
    own_inds = result.indicators or {}
    return {
        "run": run,
        "result": result,
        "insurer": insurer,
        "ranked": result.ranked,
        "band": result.band,
        "band_label": selectors.BAND_LABELS[result.band],
        "peer_median": dict(medians.dimensions),
        "peer_median_total": medians.total,
        "dimensions": [
            {
                "key": d["key"],
                "label": selectors.dimension_label(d["key"], meth.dimensions),
                "score": _number(own_dims.get(d["key"])),
                "median": _number(medians.dimensions.get(d["key"])),
            }
            for d in dimensions
        ],
        "indicators": [
            {
                "key": i["key"],
                "label": selectors.indicator_label(i["key"], meth.indicators),
                "unit": i["unit"],
                "unit_label": selectors.unit_label(i["unit"]),
                "better": i["better"],
                "weight": i["weight"],
                "value": _number((own_inds.get(i["key"]) or {}).get("value")),
                "score": _number((own_inds.get(i["key"]) or {}).get("score")),
                "median_value": _number((medians.indicators.get(i["key"]) or {}).get("value")),
                "value_text": value_text((own_inds.get(i["key"]) or {}).get("value"), i["unit"]),
                "median_text": value_text(
                    (medians.indicators.get(i["key"]) or {}).get("value"), i["unit"]
                ),
            }
            for i in indicators
        ],
        "trend": [
            {
                "period": r.run.period.code,
                "peer_group": r.run.peer_group,
                "total": float(r.total),
                "rank": r.rank,
                "ranked": r.ranked,
            }
            for r in history
        ],
    }


# ---- what if -------------------------------------------------------------------------------


def _change_message(error: method.ChangeError) -> str:
    messages = {
        "unknown": _("Unknown indicator."),
        "unused": _("This index does not use this indicator."),
        "kind": _("Give exactly one of delta, percent or value."),
        "number": _("Give a number."),
        "percent": _("A change cannot be below −100 percent."),
        "negative": _("The changed value cannot be below zero."),
        "above_one": _("A year-on-year improvement cannot be more than 100 percent."),
    }
    return messages.get(error.code, error.message)


class WhatIfError(Exception):
    """A what-if that cannot be answered: ``field`` is ``changes`` (then ``indicator`` says
    which), ``insurer`` or ``period``; ``message`` is in the user's language."""

    def __init__(self, field: str, message: str, indicator: str | None = None):
        super().__init__(message)
        self.field = field
        self.message = message
        self.indicator = indicator

    def detail(self) -> dict:
        """The error in the shape of DRF's serializer errors."""
        if self.indicator is not None:
            return {self.field: {self.indicator: [self.message]}}
        return {self.field: [self.message]}


def what_if(*, run: IndexRun, insurer: Insurer, changes: Mapping[str, Mapping | float]) -> dict:
    """``insurer``'s total, rank, dimension and indicator scores in the published ``run``,
    before and after ``changes`` (indicator → ``{"delta": -1}``, ``{"percent": -10}`` or
    ``{"value": 12.3}``; rates are fractions), recomputed over the run's stored inputs by
    :func:`sqi.methodology.what_if`.

    Raises :class:`WhatIfError` when the changes cannot be applied or the insurer is not
    scored in the run. Writes nothing.
    """
    if run.status != RunStatus.PUBLISHED or not run.inputs:
        raise WhatIfError("period", _("Nothing is published for this period and peer group."))
    try:
        result = method.what_if(run.inputs, insurer.slug, dict(changes))
    except method.ChangeError as exc:
        raise WhatIfError("changes", _change_message(exc), exc.field) from None
    except method.NotScored:
        raise WhatIfError("insurer", _("This insurer is not scored in this index.")) from None
    return {**result, "run": run, "insurer": insurer}
