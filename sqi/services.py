"""Writes of the index's inputs: operating statistics entered through the API or the admin.

File imports live in :mod:`sqi.importing` (they validate thousands of rows without a query
each); index runs will live in ``sqi.runs``. Every function here validates with the model's
``full_clean`` so that the API, the admin and the import give the same field-named messages,
and records who made the change in the statistic's history.
"""

from django.db import transaction

from .models import OperatingStatistic, Source

# What the API and the admin may set; the source and the import are the service's business.
STATISTIC_FIELDS = (
    "insurer",
    "period",
    "product_line",
    "claims_reported",
    "claims_closed",
    "claims_paid",
    "claims_declined",
    "payment_days_total",
    "premium_cny",
    "policies_in_force",
    "insured_persons",
    "surrenders",
    "surrender_amount_cny",
)


def _apply(statistic: OperatingStatistic, data: dict) -> None:
    unknown = set(data) - set(STATISTIC_FIELDS)
    if unknown:
        raise TypeError(f"not fields of a statistic: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(statistic, name, value)


@transaction.atomic
def statistic_save(*, statistic: OperatingStatistic, by, source: str) -> OperatingStatistic:
    """Validate and save a statistic built or changed by its caller (the admin's form).

    Figures typed in by hand are no longer those of an import, so the link to the import
    is dropped and ``source`` says where they came from.
    """
    statistic.source = source
    statistic.source_import = None
    statistic.full_clean()
    statistic._history_user = by
    statistic.save()
    return statistic


def statistic_create(*, by, data: dict, source: str = Source.API) -> OperatingStatistic:
    """A new statistic from ``data`` (model field names; insurer and period as objects)."""
    statistic = OperatingStatistic()
    _apply(statistic, data)
    return statistic_save(statistic=statistic, by=by, source=source)


def statistic_update(
    *, statistic: OperatingStatistic, by, data: dict, source: str = Source.API
) -> OperatingStatistic:
    """Change the fields given in ``data``; the others keep their values."""
    _apply(statistic, data)
    return statistic_save(statistic=statistic, by=by, source=source)


@transaction.atomic
def statistic_delete(*, statistic: OperatingStatistic, by) -> None:
    statistic._history_user = by
    statistic.delete()
