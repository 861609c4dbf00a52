"""Reads for the index's intake: statistics lists and the record of imports.

The public pages' reads are in :mod:`sqi.selectors_public`.
"""

from django.db.models import QuerySet

from .models import OperatingStatistic, StatisticsImport


def statistic_list(*, filters: dict | None = None) -> QuerySet[OperatingStatistic]:
    """Statistics, newest period first; ``filters``: period (code), insurer (slug),
    product_line (code)."""
    filters = filters or {}
    qs = OperatingStatistic.objects.select_related("insurer", "period")
    if filters.get("period"):
        qs = qs.filter(period__code=filters["period"])
    if filters.get("insurer"):
        qs = qs.filter(insurer__slug=filters["insurer"])
    if filters.get("product_line"):
        qs = qs.filter(product_line=filters["product_line"])
    return qs.order_by("-period__end", "period__kind", "insurer__short_name", "product_line", "pk")


def statistics_imports(*, kind: str | None = None, limit: int = 10) -> list[StatisticsImport]:
    """The latest accepted imports (of one kind), newest first, with who made them."""
    qs = StatisticsImport.objects.select_related("by")
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("-at", "-pk")[:limit])
